"""The outline of a document being read: sections met so far and the chain still open."""

from __future__ import annotations

from index.documents import Section


class Outline:
    """Builds ``Document.sections`` in reading order.

    A heading closes every open section at its level or deeper. A *question* (a bold
    question line, a ``dt``, a ``summary``) sits one level below the heading it is
    under and is closed by the next question or heading, or by :meth:`end_questions`.
    """

    def __init__(self) -> None:
        self.sections: list[Section] = []
        self._open: list[tuple[int, int, bool]] = []  # (section index, level, is a question)

    @property
    def current(self) -> int | None:
        """The index of the innermost open section: the one new paragraphs belong to."""
        return self._open[-1][0] if self._open else None

    def heading(self, title: str, level: int, anchor: str = "") -> None:
        """Open a heading. One with no text (a lone ``#``) only closes those it outranks:
        a blank step in a citation's trail would help nobody."""
        while self._open and self._open[-1][1] >= level:
            self._open.pop()
        if title.strip():
            self._add(title, level, anchor, question=False)

    def question(self, title: str, anchor: str = "") -> None:
        self.end_questions()
        if not title.strip():
            return
        level = self._open[-1][1] + 1 if self._open else 1
        self._add(title, level, anchor, question=True)

    def end_questions(self) -> None:
        while self._open and self._open[-1][2]:
            self._open.pop()

    def _add(self, title: str, level: int, anchor: str, *, question: bool) -> None:
        self.sections.append(Section(title, level, self.current, anchor))
        self._open.append((len(self.sections) - 1, level, question))
