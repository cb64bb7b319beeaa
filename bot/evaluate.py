"""Evaluation on SQuAD-format files: each article is its own corpus.

For every article the bot serves that article alone; each of its questions is
asked, and the quotes are scored against the gold answer strings:

* ``hit@1`` / ``hit@3``: a gold answer string occurs in the first quote / in
  one of the first three quotes (the quotes shown to the user; when the bot
  abstains these are its closest matches);
* ``mrr``: mean reciprocal rank of the first quote holding an answer (0 past 3);
* ``median_first_quote_chars``: median length of the first quote;
* ``in_article_answer_rate``: share of the article's own questions answered
  rather than abstained on;
* ``off_article_abstention``: share of questions taken from *other* articles
  on which the bot says the corpus does not answer;
* ``latency_ms_p50`` / ``latency_ms_p95``: time of ``QuoteService.ask``, question
  embedding included.
"""

from __future__ import annotations

import hashlib
import json
import random
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bot.errors import CorpusError
from index.documents import Document

OFF_ARTICLE_PER_ARTICLE = 20


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


def load_squad(path: Path | str) -> list[SquadArticle]:
    """The articles of a SQuAD v1.1/v2.0 JSON file; unanswerable questions are dropped."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))["data"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CorpusError(
            f"{path} is not a readable SQuAD JSON file ({type(exc).__name__})."
        ) from exc
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


def hit_rank(quotes: Sequence[str], answers: Sequence[str], depth: int = 3) -> int | None:
    """1-based rank of the first quote containing a gold answer, within ``depth``."""
    for rank, quote in enumerate(quotes[:depth], start=1):
        if any(a in quote for a in answers):
            return rank
    return None


def ranking_metrics(
    ranked: Sequence[Sequence[str]], gold: Sequence[Sequence[str]]
) -> dict[str, float]:
    """hit@1, hit@3, MRR (over 3) and median first-quote length of ranked quote lists."""
    ranks = [hit_rank(r, g) for r, g in zip(ranked, gold, strict=True)]
    n = max(1, len(ranks))
    firsts = [len(r[0]) for r in ranked if r]
    return {
        "hit@1": sum(r == 1 for r in ranks) / n,
        "hit@3": sum(r is not None for r in ranks) / n,
        "mrr": sum(1.0 / r for r in ranks if r) / n,
        "median_first_quote_chars": float(statistics.median(firsts)) if firsts else 0.0,
        "questions": len(ranks),
    }


class CachedEmbedder:
    """Wraps an embedder with an on-disk cache, so repeated evaluations skip re-embedding."""

    def __init__(self, inner: Any, folder: Path) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def encode(
        self, texts: Sequence[str], *, progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        key = hashlib.sha256(("\0".join([self.name, *texts])).encode()).hexdigest()[:24]
        path = self.folder / f"{key}.npy"
        if path.exists():
            return np.load(path)
        vectors = self.inner.encode(texts, progress=progress)
        np.save(path, vectors)
        return vectors


def _percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else 0.0


def off_article_questions(
    articles: Sequence[SquadArticle], i: int, count: int, seed: int = 0
) -> list[str]:
    """``count`` questions drawn from the other ``articles``, deterministically."""
    rng = random.Random(seed * 1000 + i)
    pool = [q.question for j, a in enumerate(articles) if j != i for q in a.questions]
    return rng.sample(pool, min(count, len(pool)))


def evaluate(
    path: Path | str,
    articles: tuple[int, int] = (24, 48),
    *,
    build_embedder: Any = None,
    query_embedder: Any = None,
    ranker: Any = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Score quotebot on ``articles[0]:articles[1]`` of a SQuAD file."""
    from bot.service import QuoteService
    from index.search import Searcher
    from index.store import build_index

    chosen = load_squad(path)[articles[0] : articles[1]]
    if not chosen:
        raise CorpusError(f"No articles in range {articles[0]}:{articles[1]} of {path}.")
    ranked: list[list[str]] = []
    gold: list[tuple[str, ...]] = []
    latencies: list[float] = []
    answered = 0
    off_abstained = off_total = 0
    for i, article in enumerate(chosen):
        if progress:
            progress(f"article {articles[0] + i}: {article.title}")
        index = build_index([article.document()], build_embedder)
        service = QuoteService(index, Searcher(index, query_embedder, ranker))
        for q in article.questions:
            t0 = time.perf_counter()
            answer = service.ask(q.question)
            latencies.append((time.perf_counter() - t0) * 1000)
            shown = answer.closest if answer.abstained else answer.quotes
            ranked.append([quote.text for quote in shown])
            gold.append(q.answers)
            answered += not answer.abstained
        for question in off_article_questions(chosen, i, OFF_ARTICLE_PER_ARTICLE):
            off_total += 1
            off_abstained += service.ask(question).abstained
    metrics: dict[str, Any] = ranking_metrics(ranked, gold)
    metrics.update(
        {
            "in_article_answer_rate": answered / max(1, len(gold)),
            "off_article_abstention": off_abstained / max(1, off_total),
            "off_article_questions": off_total,
            "latency_ms_p50": _percentile(latencies, 50),
            "latency_ms_p95": _percentile(latencies, 95),
            "articles": f"{articles[0]}:{articles[1]}",
        }
    )
    return metrics
