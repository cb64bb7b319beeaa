"""Sentences with exact character offsets: the units quotes are made of."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from index.documents import PROSE, Document

# A "sentence" shorter than this is glued to its neighbour: pysbd splits on
# abbreviations and list markers now and then, and a 5-character quote helps nobody.
MIN_SENTENCE_CHARS = 20


@dataclass(frozen=True)
class Sentence:
    """``documents[doc].text[start:end]`` is the sentence, stripped of surrounding space."""

    doc: int  # position of the document in the index's document list
    paragraph: int  # 1-based
    start: int
    end: int


@lru_cache(maxsize=1)
def _segmenter():  # type: ignore[no-untyped-def]
    import pysbd

    return pysbd.Segmenter(language="en", clean=False)


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """(start, end) offsets of the sentences of ``text[start:end]``, trimmed of space."""
    end = len(text) if end is None else end
    block = text[start:end]
    spans: list[tuple[int, int]] = []
    cursor = 0
    for piece in _segmenter().segment(block):
        stripped = piece.strip()
        if not stripped:
            continue
        # pysbd returns the pieces verbatim and in order; find() keeps offsets exact
        # even when the same sentence appears twice.
        at = block.find(stripped, cursor)
        if at < 0:  # pragma: no cover - pysbd changed its text; fall back to one span
            return [_trim(text, start, end)]
        spans.append((start + at, start + at + len(stripped)))
        cursor = at + len(stripped)
    merged: list[tuple[int, int]] = []
    for s, e in spans:
        if merged and (
            e - s < MIN_SENTENCE_CHARS
            or merged[-1][1] - merged[-1][0] < MIN_SENTENCE_CHARS
            or _wrapped(text, merged[-1], (s, e))
        ):
            merged[-1] = (merged[-1][0], e)
        else:
            merged.append((s, e))
    return merged


# A sentence ends with one of these, perhaps inside closing quotes or brackets.
_FINAL = re.compile(r"[.!?:;…][\"'”’)\]]*$")
# pysbd ends a sentence at every line break; a hard-wrapped line (PDF, plain text) goes on.
WRAPPED_LIMIT = 400


def _wrapped(text: str, before: tuple[int, int], after: tuple[int, int]) -> bool:
    """Whether ``after`` continues ``before`` across a hard line wrap, not a new sentence."""
    gap = text[before[1] : after[0]]
    return (
        gap.count("\n") == 1
        and not gap.strip()
        and not _FINAL.search(text[before[0] : before[1]])
        and text[after[0]].isalnum()
        and after[1] - before[0] <= WRAPPED_LIMIT
    )


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def split_document(
    doc: Document, doc_index: int, *, paragraph_done: Callable[[], None] | None = None
) -> list[Sentence]:
    """Every unit of every paragraph of ``doc``, in reading order.

    A prose paragraph is split into sentences; a list item, a table row and a code
    block are one unit each (a sentence splitter would cut code and cells apart).
    ``paragraph_done()`` is called after each paragraph (a long document takes minutes).
    """
    out: list[Sentence] = []
    for number, (p_start, p_end) in enumerate(doc.paragraphs, start=1):
        if doc.block(number).kind == PROSE:
            spans = sentence_spans(doc.text, p_start, p_end)
        else:
            spans = [_trim(doc.text, p_start, p_end)]
        for s, e in spans:
            out.append(Sentence(doc_index, number, s, e))
        if paragraph_done:
            paragraph_done()
    return out
