"""The 👍 / 👎 users gave, turned into an evaluation set and a weekly summary.

:func:`export_squad` writes the rated answers in SQuAD's layout, so that
``quotebot eval`` measures a new model or setting on a team's own questions:
one article per collection (its ``title``), one paragraph per rated answer
whose ``context`` is the quoted passages, and one question whose ``answers``
are the quotes of an answer voted 👍 and whose ``negatives`` are those of an
answer voted 👎 (the majority of its votes decides; a tie is kept with both
counts and no side). Nothing in the file says who voted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot import messages
from bot.answers import Quote, shown_quotes
from bot.errors import ConfigError
from bot.storage import Rated

SEPARATOR = " "  # between the quotes of one context


def parse_since(text: str) -> float:
    """``YYYY-MM-DD`` (UTC midnight) or a full ISO time, as a Unix time."""
    try:
        when = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(messages.FEEDBACK_SINCE_INVALID.format(text=text)) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.timestamp()


def _span(quote: Quote, at: int) -> dict[str, Any]:
    return {"text": quote.text, "answer_start": at}


def export_squad(rated: Sequence[Rated]) -> dict[str, Any]:
    """The rated answers as a SQuAD v2.0-style dict (``{"version", "data": [...]}``)."""
    by_collection: dict[str, list[dict[str, Any]]] = {}
    for r in rated:
        if r.answer is None:  # stored before answers were kept whole: no quotes to show
            continue
        quotes = shown_quotes(r.answer)
        if not quotes:
            continue
        offsets, cursor = [], 0
        for q in quotes:
            offsets.append(cursor)
            cursor += len(q.text) + len(SEPARATOR)
        context = SEPARATOR.join(q.text for q in quotes)
        spans = [_span(q, at) for q, at in zip(quotes, offsets, strict=True)]
        good = r.ups > r.downs
        bad = r.downs > r.ups
        # A 👍 on "not found" says the documents do not answer: an unanswerable question.
        answers = spans if good and not r.answer.abstained else []
        qa = {
            "id": r.answer_id,
            "question": r.question,
            "answers": answers,
            "negatives": spans if bad else [],
            "is_impossible": not answers,
            "abstained": r.answer.abstained,
            "votes": {"up": r.ups, "down": r.downs},
            "asked": _iso(r.created),
            "platform": r.platform,
        }
        by_collection.setdefault(r.collection, []).append({"context": context, "qas": [qa]})
    return {
        "version": "quotebot-feedback-1",
        "data": [
            {"title": title, "paragraphs": paragraphs}
            for title, paragraphs in sorted(by_collection.items())
        ],
    }


def _iso(when: float) -> str:
    return dt.datetime.fromtimestamp(when, dt.UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class WeekStats:
    collection: str
    week: str  # ISO week of the votes, like 2026-W48
    votes: int
    up: int

    @property
    def up_share(self) -> float:
        return self.up / self.votes if self.votes else 0.0


def week_of(when: float) -> str:
    year, week, _ = dt.datetime.fromtimestamp(when, dt.UTC).isocalendar()
    return f"{year}-W{week:02d}"


def stats(rated: Sequence[Rated]) -> list[WeekStats]:
    """Votes and 👍 per collection and ISO week (of the vote), sorted by collection then week."""
    counts: dict[tuple[str, str], list[int]] = {}
    for r in rated:
        for when, vote in r.votes:
            cell = counts.setdefault((r.collection, week_of(when)), [0, 0])
            cell[0] += 1
            cell[1] += vote == "up"
    return [WeekStats(c, w, n, up) for (c, w), (n, up) in sorted(counts.items())]


def stats_table(rows: Sequence[WeekStats]) -> str:
    """A plain-text table of :func:`stats`, with a total line."""
    if not rows:
        return messages.FEEDBACK_NONE
    header = ("collection", "week", "votes", "up", "down", "up share")
    lines = [
        (r.collection, r.week, str(r.votes), str(r.up), str(r.votes - r.up), f"{r.up_share:.0%}")
        for r in rows
    ]
    votes, up = sum(r.votes for r in rows), sum(r.up for r in rows)
    lines.append(("all", "", str(votes), str(up), str(votes - up), f"{up / votes:.0%}"))
    widths = [max(len(row[i]) for row in (header, *lines)) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            cell.ljust(width) if i < 2 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return "\n".join([line(header), *(line(cells) for cells in lines)])
