"""The values the answering service hands to every front end."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Quote:
    """A verbatim extract: ``document.text[start:end] == text``."""

    text: str
    document: str  # the document id: its path relative to the corpus
    title: str
    paragraph: int  # 1-based paragraph number within the document
    start: int  # character offsets into the document text
    end: int
    score: float
    source: str = ""  # the document's source URL, empty when unknown
    # The words answering the question, as document offsets within [start, end); first quote only.
    highlight: tuple[int, int] | None = None
    # The headings above the quote, outermost first, without the document's own title.
    section: tuple[str, ...] = ()
    anchor: str = ""  # fragment of the innermost heading that has one: ``source#anchor``
    kind: str = "prose"  # what the quoted paragraph is: prose, item, row, header or code
    # A table row's header row, as document offsets, to show above the row.
    header: tuple[int, int] | None = None

    @property
    def id(self) -> str:
        """A stable reference to this quote, short enough for a button id."""
        return f"{self.document}:{self.start}-{self.end}"


@dataclass(frozen=True)
class Answer:
    """The service's reply to one question.

    When the corpus does not answer, ``abstained`` is true, ``quotes`` is empty
    and ``closest`` holds the nearest passages, which front ends must label as
    closest matches rather than as an answer.
    """

    question: str
    quotes: tuple[Quote, ...]
    abstained: bool
    confidence: float  # 0..1, the calibrated probability that the corpus answers
    closest: tuple[Quote, ...] = ()
    truncated: bool = False  # the question was cut to the length limit
    # The confidence bar (QUOTEBOT_MIN_CONFIDENCE or the collection's) that declined
    # an answer the bot would otherwise have given; None for any other answer.
    declined_below: float | None = None
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])

    @property
    def confidence_label(self) -> str:
        if self.abstained:
            return "not found" if self.declined_below is None else "below the bar"
        if self.confidence >= 0.8:
            return "high"
        if self.confidence >= 0.5:
            return "medium"
        return "low"

    def to_dict(self) -> dict[str, object]:
        """The JSON shape of ``quotebot ask --json``."""

        def quote_dict(q: Quote) -> dict[str, object]:
            return {
                "text": q.text,
                "document": q.document,
                "title": q.title,
                "paragraph": q.paragraph,
                "start": q.start,
                "end": q.end,
                "score": round(q.score, 4),
                "source": q.source,
                "highlight": (
                    {"start": q.highlight[0], "end": q.highlight[1]} if q.highlight else None
                ),
                "section": list(q.section),
                "anchor": q.anchor,
                "kind": q.kind,
                "header": {"start": q.header[0], "end": q.header[1]} if q.header else None,
            }

        return {
            "id": self.id,
            "question": self.question,
            "abstained": self.abstained,
            "confidence": round(self.confidence, 4),
            "confidence_label": self.confidence_label,
            "truncated": self.truncated,
            "declined_below": self.declined_below,
            "quotes": [quote_dict(q) for q in self.quotes],
            "closest": [quote_dict(q) for q in self.closest],
        }


@dataclass(frozen=True)
class SourceInfo:
    """One indexed document, as ``/sources`` lists it."""

    document: str
    title: str
    paragraphs: int
    source: str = ""


@dataclass(frozen=True)
class Context:
    """The sentences around a quote, for a "More context" request."""

    quote: Quote
    text: str  # verbatim document text from start to end
    start: int
    end: int


def shown_quotes(answer: Answer) -> tuple[Quote, ...]:
    """The quotes a front end displays: the answer, or the closest matches."""
    return answer.closest if answer.abstained else answer.quotes
