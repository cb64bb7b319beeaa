"""The answering service: a question in, an :class:`~bot.answers.Answer` of cited quotes out.

It knows no chat platform. Front ends call :meth:`QuoteService.ask` (blocking,
a few milliseconds of CPU: run it in a worker thread from async code) and
render the answer.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace
from typing import Any

import numpy as np

from bot import followup, messages
from bot.answers import Answer, Context, Quote, SourceInfo
from bot.errors import QuestionError
from bot.followup import Turn
from index.documents import CODE, HEADER, ITEM, PROSE, ROW, Document
from index.highlight import Highlighter, default_highlighter
from index.search import Searcher, refers_back
from index.store import CorpusIndex

MAX_QUOTES = 3
# A first quote at least this likely to hold the answer is shown as an answer.
SHOW_CONFIDENCE = 0.5
# Adjacent sentences that both rank high are shown as one quote, up to this length.
MERGE_LIMIT = 320
# A list is quoted from its lead-in sentence through its items, up to this length.
LIST_LIMIT = 2 * MERGE_LIMIT
# A code block is quoted whole; with the sentence leading into it up to this length.
CODE_LIMIT = 1200
# A sentence ending like this, last in its paragraph, introduces the block after it.
_LEADS_IN = re.compile(r"(?::|\.\.\.|…)\W{0,2}$")
# Once the quotes are chosen, sentences ranked down to here that sit next to one
# still join it: the answer often lies in the sentence beside the best one.
MERGE_DEPTH = 8

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_SPACE = re.compile(r"\s+")


def clean_question(text: str, limit: int) -> tuple[str, bool]:
    """Normalise a question typed by a user; return it and whether it was cut to ``limit``."""
    text = unicodedata.normalize("NFKC", text)
    text = _CONTROL.sub(" ", text)
    text = _SPACE.sub(" ", text).strip()
    if len(text) <= limit:
        return text, False
    cut = text[:limit]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut, True


class QuoteService:
    """Answers questions about one index with verbatim quotes."""

    def __init__(
        self,
        index: CorpusIndex,
        searcher: Searcher,
        *,
        max_question_chars: int = 500,
        max_quotes: int = MAX_QUOTES,
        highlighter: Highlighter | None = None,
        min_confidence: float = 0.0,
    ) -> None:
        """``min_confidence``: answers whose first quote is less likely than this to
        hold the answer are declined too (a stricter bot: fewer wrong answers, more
        "not found")."""
        self.index = index
        self.highlighter = highlighter or default_highlighter()
        self.searcher = searcher
        self.max_question_chars = max_question_chars
        self.max_quotes = max_quotes
        self.min_confidence = min_confidence
        self._docs = {d.doc_id: (i, d) for i, d in enumerate(index.documents)}

    def ask(self, question: str, previous: Turn | None = None) -> Answer:
        """Answer ``question``; raises QuestionError when there is nothing to ask.

        ``previous``: the turn before it in the same conversation (a thread); a
        question that refers back to it is searched with it as context.
        """
        return self.explain(question, previous=previous)[0]

    def explain(
        self, question: str, vector: np.ndarray | None = None, *, previous: Turn | None = None
    ) -> tuple[Answer, Any]:
        """The answer and the search behind it (``vector``: the prepared question's embedding)."""
        text, truncated = clean_question(question or "", self.max_question_chars)
        if not any(c.isalnum() for c in text):
            raise QuestionError(messages.EMPTY_QUESTION)
        found = None
        if previous is not None and vector is None:
            found = followup.context(self.searcher, text, previous)
        if found is not None:
            result = self.searcher.search(
                text, k=12, vector=found.vector, context_stems=found.stems
            )
        else:
            result = self.searcher.search(text, k=12, vector=vector)
        quotes = self._quotes([(h.row, h.score) for h in result.hits])
        # Abstain when the corpus probably does not answer *and* the first quote is
        # probably not the answer (a quote more likely right than wrong is shown), or
        # when the answer is less sure than this bot was told to be.
        likely = result.answerable >= self.searcher.ranker.threshold
        would = bool(quotes) and (likely or result.confidence >= SHOW_CONFIDENCE)
        answered = would and result.confidence >= self.min_confidence
        if answered:
            quotes[0] = self._marked(text, quotes[0], result.confidence)
        answer = Answer(
            question=text,
            quotes=tuple(quotes) if answered else (),
            abstained=not answered,
            confidence=result.confidence,
            closest=() if answered else tuple(quotes),
            truncated=truncated,
            declined_below=self.min_confidence if would and not answered else None,
        )
        return answer, result

    def _quotes(self, hits: list[tuple[int, float]]) -> list[Quote]:
        """Turn ranked sentence rows into at most ``max_quotes`` quotes, merging neighbours."""
        spans: list[list[int]] = []  # [doc, start, end, paragraph] per quote
        scores: list[float] = []
        sentences = self.index.sentences
        texts = self.index.texts
        for rank, (row, score) in enumerate(hits):
            doc, paragraph, start, end = (int(x) for x in sentences[row])
            kind = self.index.documents[doc].block(paragraph).kind
            led = self._led_in(row) if kind == PROSE else None
            if kind != PROSE or led is not None:
                start, end = led or self._block_span(row)
                # A list quote spans paragraphs: it stands for its own item's paragraph.
                if any(s[0] == doc and s[1] <= start < s[2] for s in spans) or any(
                    s[0] == doc and start <= s[1] < end for s in spans
                ):
                    continue
                if len(spans) == self.max_quotes:
                    if rank < MERGE_DEPTH:
                        continue
                    break
                spans.append([doc, start, end, paragraph])
                scores.append(score)
                continue
            if not spans and refers_back(texts[row]) and row > 0:
                # "He threatened the French…": the quote starts where "he" is named.
                p_doc, p_paragraph, p_start, _ = (int(x) for x in sentences[row - 1])
                if (p_doc, p_paragraph) == (doc, paragraph) and end - p_start <= MERGE_LIMIT:
                    start = p_start
            if any(span[0] == doc and span[1] <= start and end <= span[2] for span in spans):
                continue  # already inside a list quote
            merged = False
            for span in spans:
                if span[0] != doc or span[3] != paragraph:
                    continue
                if self.index.documents[doc].block(span[3]).kind != PROSE:
                    continue
                if start <= span[2] and end >= span[1]:  # overlapping: nothing new
                    merged = True
                    break
                gap = self.index.documents[doc].text[min(end, span[2]) : max(start, span[1])]
                adjacent = gap.strip() == ""
                if adjacent and max(end, span[2]) - min(start, span[1]) <= MERGE_LIMIT:
                    span[1], span[2] = min(start, span[1]), max(end, span[2])
                    merged = True
                    break
            if merged:
                continue
            if len(spans) == self.max_quotes:
                if rank < MERGE_DEPTH:
                    continue  # no room for another quote, but a lower one may still join
                break
            spans.append([doc, start, end, paragraph])
            scores.append(score)
        return [
            self._make_quote(self.index.documents[d], s, e, p, score)
            for (d, s, e, p), score in zip(spans, scores, strict=True)
        ]

    def _block_span(self, row: int) -> tuple[int, int]:
        """What to quote for a unit that is not prose: a list item with its list's lead-in.

        An item is quoted from the lead-in sentence (the end of the prose paragraph
        just before its list) through as many items as fit in ``LIST_LIMIT``, cut
        on an item boundary and always through the item that matched; without
        room for the lead-in, the item alone. A table row, a code block: the unit.
        """
        doc_i, paragraph, start, end = (int(x) for x in self.index.sentences[row])
        doc = self.index.documents[doc_i]
        block = doc.block(paragraph)
        if block.kind != ITEM:
            return doc.paragraphs[paragraph - 1]  # a row, a code block: whole
        first = paragraph
        while first > 1 and _same_list(doc, first - 1, block.group, block.section, ITEM):
            first -= 1
        lead = self._lead_in(doc_i, first - 1, block.section) if first > 1 else None
        if lead is None:
            lead = doc.paragraphs[first - 1][0]
        if end - lead > LIST_LIMIT:
            return start, end
        last = paragraph
        while (
            last < len(doc.paragraphs)
            and _same_list(doc, last + 1, block.group, block.section, ITEM)
            and doc.paragraphs[last][1] - lead <= LIST_LIMIT
        ):
            last += 1
        return lead, doc.paragraphs[last - 1][1]

    def _led_in(self, row: int) -> tuple[int, int] | None:
        """A sentence that leads into a list, table or code ("…you can either:") with it.

        The sentence must end its paragraph, and the block must follow it under the
        same heading; a list or table is cut on an item or row boundary.
        """
        doc_i, paragraph, start, end = (int(x) for x in self.index.sentences[row])
        doc = self.index.documents[doc_i]
        if paragraph >= len(doc.paragraphs) or end < doc.paragraphs[paragraph - 1][1]:
            return None
        if not _LEADS_IN.search(doc.text[start:end]):
            return None
        here, after = doc.block(paragraph), doc.block(paragraph + 1)
        if after.section != here.section or after.kind == PROSE:
            return None
        if after.kind == CODE:
            code_end = doc.paragraphs[paragraph][1]
            return (start, code_end) if code_end - start <= CODE_LIMIT else None
        last = paragraph + 1
        if doc.paragraphs[last - 1][1] - start > LIST_LIMIT:
            return None
        while (
            last < len(doc.paragraphs)
            and after.group is not None
            and doc.block(last + 1).group == after.group
            and doc.block(last + 1).section == after.section
            and doc.block(last + 1).kind in (after.kind, ROW)
            and doc.paragraphs[last][1] - start <= LIST_LIMIT
        ):
            last += 1
        return start, doc.paragraphs[last - 1][1]

    def _lead_in(self, doc_i: int, paragraph: int, section: int | None) -> int | None:
        """The start of the last sentence of prose ``paragraph``, when it leads into a list."""
        doc = self.index.documents[doc_i]
        lead = doc.block(paragraph)
        if lead.kind != PROSE or lead.section != section:
            return None
        rows = self.index.sentences
        mine = np.nonzero((rows[:, 0] == doc_i) & (rows[:, 1] == paragraph))[0]
        if len(mine) == 0:
            return None
        return int(rows[mine[-1], 2])

    def _header(self, doc: Document, paragraph: int) -> tuple[int, int] | None:
        """The header row of the table holding the row ``paragraph``, as document offsets."""
        block = doc.block(paragraph)
        if block.kind != ROW or block.group is None:
            return None
        at = paragraph - 1
        while at >= 1 and doc.block(at).group == block.group:
            if doc.block(at).kind == HEADER:
                return doc.paragraphs[at - 1]
            at -= 1
        return None

    def _marked(self, question: str, quote: Quote, confidence: float) -> Quote:
        """``quote`` with the words answering ``question`` marked, when they are clear enough.

        ``confidence``: the probability that the quote holds the answer at all.
        """
        mark = self.highlighter.mark(question, quote.text, confidence)
        if mark is None:
            return quote
        return replace(quote, highlight=(quote.start + mark[0], quote.start + mark[1]))

    def _make_quote(
        self, doc: Document, start: int, end: int, paragraph: int, score: float
    ) -> Quote:
        section, anchor = where(doc, paragraph)
        return Quote(
            header=self._header(doc, paragraph),
            text=doc.text[start:end],
            document=doc.doc_id,
            title=doc.title,
            paragraph=paragraph,
            start=start,
            end=end,
            score=score,
            source=doc.source,
            section=section,
            anchor=anchor,
            kind=doc.block(paragraph).kind,
        )

    def sources(self) -> list[SourceInfo]:
        return [
            SourceInfo(d.doc_id, d.title, len(d.paragraphs), d.source) for d in self.index.documents
        ]

    def quote(self, quote_id: str) -> Quote | None:
        """The quote a ``Quote.id`` refers to, or None if the index no longer has it."""
        doc_id, _, span = quote_id.rpartition(":")
        start_s, _, end_s = span.partition("-")
        found = self._docs.get(doc_id)
        if found is None or not (start_s.isdigit() and end_s.isdigit()):
            return None
        _, doc = found
        start, end = int(start_s), int(end_s)
        if not 0 <= start < end <= len(doc.text):
            return None
        try:
            paragraph = doc.paragraph_of(start)
        except ValueError:
            return None
        return self._make_quote(doc, start, end, paragraph, 0.0)

    def context(self, quote_id: str, sentences: int = 2) -> Context | None:
        """The quote with up to ``sentences`` sentences on each side, within its paragraph."""
        quote = self.quote(quote_id)
        if quote is None:
            return None
        doc_index, doc = self._docs[quote.document]
        rows = self.index.sentences
        mine = np.nonzero((rows[:, 0] == doc_index) & (rows[:, 1] == quote.paragraph))[0]
        if len(mine) == 0:
            return Context(quote, quote.text, quote.start, quote.end)
        starts, ends = rows[mine, 2], rows[mine, 3]
        first = int(np.searchsorted(ends, quote.start, side="right"))
        last = int(np.searchsorted(starts, quote.end, side="left")) - 1
        first = max(0, first - sentences)
        last = min(len(mine) - 1, max(last, first) + sentences)
        start = min(int(starts[first]), quote.start)
        end = max(int(ends[last]), quote.end)
        return Context(quote, doc.text[start:end], start, end)


def _same_list(
    doc: Document, paragraph: int, group: int | None, section: int | None, kind: str
) -> bool:
    """Whether the 1-based ``paragraph`` is another item of the same list."""
    if not 1 <= paragraph <= len(doc.paragraphs):
        return False
    block = doc.block(paragraph)
    return block.kind == kind and block.group == group and block.section == section


def where(doc: Document, paragraph: int) -> tuple[tuple[str, ...], str]:
    """The heading titles above the 1-based ``paragraph`` and the anchor to link to.

    A top heading that repeats the document's title is left out (the citation starts
    with the title already); the anchor is the innermost heading's that has one.
    """
    chain = doc.trail(paragraph)
    if chain and chain[0].level == 1 and chain[0].title == doc.title:
        chain = chain[1:]  # linking to the top of the page adds nothing to its address
    anchor = next((s.anchor for s in reversed(chain) if s.anchor), "")
    return tuple(s.title for s in chain), anchor
