"""SQuAD-format files: their articles and questions, the ranges and paths the
command line takes, and the chat-style noise the tuning questions are asked with."""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.errors import CorpusError, QuotebotError
from index.documents import Document


@dataclass(frozen=True)
class SquadQuestion:
    question: str
    answers: tuple[str, ...]
    paragraph: int = 0  # index of its context in the article


@dataclass(frozen=True)
class SquadArticle:
    title: str
    contexts: list[str]
    questions: list[SquadQuestion]

    def document(self) -> Document:
        """The article as one document, one paragraph per context."""
        parts, spans, cursor = [], [], 0
        for context in self.contexts:
            text = context.strip()
            spans.append((cursor, cursor + len(text)))
            parts.append(text)
            cursor += len(text) + 2
        title = self.title.replace("_", " ")
        return Document(f"{self.title}.txt", title, "\n\n".join(parts), tuple(spans))


def _squad_data(path: Path | str) -> list[dict[str, Any]]:
    try:
        data: list[dict[str, Any]] = json.loads(Path(path).read_text(encoding="utf-8"))["data"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CorpusError(
            f"{path} is not a readable SQuAD JSON file ({type(exc).__name__})."
        ) from exc
    return data


def load_squad(path: Path | str) -> list[SquadArticle]:
    """The articles of a SQuAD v1.1/v2.0 JSON file; unanswerable questions are dropped."""
    data = _squad_data(path)
    articles = []
    for article in data:
        contexts, questions = [], []
        for number, paragraph in enumerate(article["paragraphs"]):
            contexts.append(paragraph["context"])
            for qa in paragraph["qas"]:
                answers = tuple(dict.fromkeys(a["text"] for a in qa.get("answers", [])))
                if answers and not qa.get("is_impossible", False):
                    questions.append(SquadQuestion(qa["question"], answers, number))
        articles.append(SquadArticle(article.get("title", "article"), contexts, questions))
    return articles


def off_article_questions(
    articles: Sequence[SquadArticle], i: int, count: int, seed: int = 0
) -> list[str]:
    """``count`` questions drawn from the other ``articles``, deterministically."""
    rng = random.Random(seed * 1000 + i)
    pool = [q.question for j, a in enumerate(articles) if j != i for q in a.questions]
    return rng.sample(pool, min(count, len(pool)))


# Chat-style noise, seeded: how people type to a bot, not how SQuAD's writers did.
_OPENERS = (
    "hey quotebot, ",
    "hi! ",
    "@quotebot ",
    "quick question: ",
    "hello, can you tell me ",
    "ok so ",
    "<@U024BE7LH> ",
)


_CLOSERS = (
    " thanks!",
    " thx",
    " 🙏",
    " please",
    "?? thank you",
    ". Please answer carefully and cite the paragraph, thanks",
    " - thanks in advance",
)


def chat_noise(question: str, rng: random.Random) -> str:
    """``question`` as typed in chat: an opener or a closer, lower case, a typo, no "?"."""
    text = question.strip()
    if rng.random() < 0.7:
        text = text.rstrip("?").rstrip()
    if rng.random() < 0.5:
        text = text.lower()
    tokens = text.split(" ")
    long = [i for i, t in enumerate(tokens) if len(t) >= 5 and t.isalpha()]
    if long and rng.random() < 0.6:
        i = rng.choice(long)
        word = tokens[i]
        j = rng.randrange(1, len(word) - 2)
        if rng.random() < 0.5:  # two letters swapped
            word = word[:j] + word[j + 1] + word[j] + word[j + 2 :]
        else:  # a letter dropped
            word = word[:j] + word[j + 1 :]
        tokens[i] = word
        text = " ".join(tokens)
    roll = rng.random()
    if roll < 0.35:
        text = rng.choice(_OPENERS) + text
    elif roll < 0.7:
        text = text + rng.choice(_CLOSERS)
    elif roll < 0.85:
        text = rng.choice(_OPENERS) + text + rng.choice(_CLOSERS)
    return text


def paragraph_groups(article: SquadArticle, size: int) -> list[SquadArticle]:
    """``article`` cut into corpora of ``size`` consecutive paragraphs, with their questions."""
    out = []
    for first in range(0, len(article.contexts), size):
        last = min(first + size, len(article.contexts))
        questions = [
            SquadQuestion(q.question, q.answers, q.paragraph - first)
            for q in article.questions
            if first <= q.paragraph < last
        ]
        out.append(SquadArticle(article.title, article.contexts[first:last], questions))
    return out


def article_range(text: str, flag: str = "--articles") -> tuple[int, int]:
    """``"A:B"`` as the articles ``A`` to ``B - 1``; bad input is a :class:`QuotebotError`."""
    try:
        a, b = (int(x) for x in text.split(":"))
    except ValueError:
        raise QuotebotError(f"{flag} takes A:B, like 24:48, not {text!r}.") from None
    if not 0 <= a < b:
        raise QuotebotError(f"{flag} needs 0 <= A < B, got {text!r}.")
    return a, b


def article_arg(text: str) -> tuple[int, int]:
    """:func:`article_range` as an argparse ``type``: bad input is one usage line."""
    try:
        return article_range(text, "a range")
    except QuotebotError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def squad_arg(text: str) -> Path:
    """A SQuAD JSON file as an argparse ``type``, read once to check it: a missing or
    malformed file is one usage line, before a long run starts."""
    try:
        _squad_data(text)
    except QuotebotError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return Path(text)


def load_squad_v2(path: Path | str) -> dict[str, tuple[SquadArticle, list[str]]]:
    """By title: the v2.0 article (answerable questions) and its unanswerable questions."""
    data = _squad_data(path)
    answerable = {a.title: a for a in load_squad(path)}
    out = {}
    for article in data:
        title = article.get("title", "article")
        impossible = [
            qa["question"]
            for paragraph in article["paragraphs"]
            for qa in paragraph["qas"]
            if qa.get("is_impossible", False)
        ]
        out[title] = (answerable[title], impossible)
    return out
