"""One module per document format, each with ``load(path, doc_id) -> Document``.

:func:`index.documents.load_document` chooses the module by the file's suffix.
"""
