"""An answer as the JSON a store keeps, and back."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from bot.answers import Answer, Quote


def encode_answer(answer: Answer) -> str:
    """The JSON kept for an answer: all that its buttons and "Share" need to show it again."""
    return json.dumps(
        {
            "question": answer.question,
            "quotes": [asdict(q) for q in answer.quotes],
            "closest": [asdict(q) for q in answer.closest],
            "abstained": answer.abstained,
            "confidence": answer.confidence,
            "truncated": answer.truncated,
            "declined_below": answer.declined_below,
        },
        ensure_ascii=False,
    )


def _quote(data: dict[str, Any]) -> Quote:
    # JSON has no tuples; answers stored before highlights (or sections) have none.
    mark = data.pop("highlight", None)
    header = data.pop("header", None)
    data["section"] = tuple(data.get("section", ()))
    return Quote(
        **data,
        highlight=(int(mark[0]), int(mark[1])) if mark else None,
        header=(int(header[0]), int(header[1])) if header else None,
    )


def decode_answer(answer_id: str, text: str) -> Answer:
    data: dict[str, Any] = json.loads(text)
    return Answer(
        question=data["question"],
        quotes=tuple(_quote(q) for q in data["quotes"]),
        abstained=bool(data["abstained"]),
        confidence=float(data["confidence"]),
        closest=tuple(_quote(q) for q in data["closest"]),
        truncated=bool(data["truncated"]),
        declined_below=data.get("declined_below"),  # None in answers stored before the bar
        id=answer_id,
    )
