"""A document's text built piece by piece, with exact offsets and an outline.

For formats whose text is not a file's own characters (Word, reStructuredText),
the loader appends each heading and block it extracts; the builder joins them
with blank lines and records where each one landed, so every paragraph is
exactly ``text[start:end]`` and every block knows its kind and its section.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field

from index.documents import ITEM, PROSE, Block, Document, Section, Span
from index.formats.outline import Outline

SEPARATOR = "\n\n"


@dataclass
class TextBuilder:
    """Accumulates headings and blocks into one text."""

    pieces: list[str] = field(default_factory=list)
    paragraphs: list[Span] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    outline: Outline = field(default_factory=Outline)
    _length: int = 0
    _groups: int = 0
    # The list the last block belonged to, so a list interrupted by anything
    # else starts a new group when it resumes.
    _last_list: Hashable | None = None

    @property
    def sections(self) -> list[Section]:
        return self.outline.sections

    def heading(self, title: str, level: int, anchor: str = "") -> None:
        """Open a heading at ``level`` (1 = top), closing any at that level or deeper.

        The heading's text goes into ``text`` (a reader sees it) but is not a
        paragraph. A heading without text is left out.
        """
        title = " ".join(title.split())
        if title:
            self.outline.heading(title, max(1, level), anchor)
            self._append(title)
            self._last_list = None

    def question(self, title: str) -> None:
        """Open a FAQ entry one level below the heading it is under, until :meth:`answered`."""
        title = " ".join(title.split())
        if title:
            self.outline.question(title)
            self._append(title)
            self._last_list = None

    def answered(self) -> None:
        """Close the open FAQ entries: what follows belongs to the heading above them."""
        self.outline.end_questions()

    def paragraph(
        self, text: str, kind: str = PROSE, group: int | None = None, depth: int = 0
    ) -> bool:
        """Append one block; leading and trailing whitespace is left out of its span.

        Returns False (and appends nothing) when ``text`` is blank.
        """
        stripped = text.strip()
        if not stripped:
            return False
        start = self._append(stripped)
        self.paragraphs.append((start, start + len(stripped)))
        self.blocks.append(Block(kind, self.outline.current, group, depth))
        self._last_list = None
        return True

    def item(self, text: str, list_key: Hashable, kind: str = ITEM, depth: int = 0) -> bool:
        """Append a list item (or table row) of the list ``list_key``.

        Consecutive items of one list share a group; a list interrupted by
        another block continues in a new group, so each group is contiguous.
        ``depth`` is how deeply the item's list is nested (0: the outermost).
        """
        last = self._last_list
        if last is None or last != list_key:
            self._groups += 1
        if not self.paragraph(text, kind, self._groups, depth):
            self._last_list = last
            return False
        self._last_list = list_key
        return True

    def document(self, doc_id: str, title: str, *, source: str = "", date: str = "") -> Document:
        return Document(
            doc_id=doc_id,
            title=title,
            text="".join(self.pieces),
            paragraphs=tuple(self.paragraphs),
            source=source,
            date=date,
            blocks=tuple(self.blocks),
            sections=tuple(self.sections),
        )

    def _append(self, piece: str) -> int:
        if self.pieces:
            self.pieces.append(SEPARATOR)
            self._length += len(SEPARATOR)
        start = self._length
        self.pieces.append(piece)
        self._length += len(piece)
        return start
