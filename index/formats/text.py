"""Plain text (``.txt``): paragraphs are separated by blank lines."""

from __future__ import annotations

from pathlib import Path

from index.documents import MAX_TITLE_CHARS, Document, _blocks, _decode, _pretty_stem, _read_bytes


def load(path: Path, doc_id: str) -> Document:
    text = _decode(path, _read_bytes(path))
    first_line = next((line.strip() for line in text.split("\n") if line.strip()), "")
    title = first_line if 0 < len(first_line) <= MAX_TITLE_CHARS else _pretty_stem(path)
    return Document(doc_id=doc_id, title=title, text=text, paragraphs=tuple(_blocks(text)))
