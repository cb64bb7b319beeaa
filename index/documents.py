"""Documents and the loaders that read them from the corpus folder."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Document:
    """One source document.

    ``text`` is what quotes are cut from: every quote is ``text[start:end]``.
    ``paragraphs`` holds the (start, end) offsets of each paragraph in ``text``,
    in order; paragraph numbers shown to users are 1-based indexes into it.
    """

    doc_id: str  # path relative to the corpus root, with forward slashes
    title: str
    text: str
    paragraphs: tuple[tuple[int, int], ...]
    source: str = ""  # URL, empty when unknown
    date: str = ""

    def paragraph_of(self, offset: int) -> int:
        """The 1-based number of the paragraph containing ``offset``."""
        for n, (start, end) in enumerate(self.paragraphs, start=1):
            if start <= offset < end:
                return n
        raise ValueError(f"offset {offset} is outside every paragraph of {self.doc_id}")
