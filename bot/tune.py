"""Fit the ranker weights and the abstention model on a SQuAD tuning split.

    quotebot tune ../shared/squad/squad_v1.1_dev.json --articles 0:24

writes ``index/ranker.json``. Only the tuning split (articles 0-23 of v1.1
dev) may be used here; results are reported on 24-47 with ``quotebot eval``.

The ranker is linear over :data:`index.search.FEATURES`, fitted with a
listwise softmax loss (the probability mass on candidates that contain a gold
answer), which targets the first quote directly. The abstention model is a
logistic regression on the best candidate's features, in-article questions
against questions drawn from other articles; its threshold is set so that a
target share of in-article questions is answered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bot.evaluate import (
    OFF_ARTICLE_PER_ARTICLE,
    SquadArticle,
    load_squad,
    off_article_questions,
)
from index.search import ABSTAIN_FEATURES, FEATURES, RANKER_FILE, Ranker, Searcher, default_ranker
from index.store import build_index

SMALL_CORPUS_PARAGRAPHS = 12


@dataclass
class Sample:
    features: np.ndarray  # (candidates, FEATURES)
    labels: np.ndarray  # bool, candidate holds a gold answer
    searcher: Searcher
    question: str
    vector: np.ndarray


def collect(
    path: Path | str,
    articles: tuple[int, int],
    embedder: Any,
    progress: Callable[[str], None] | None = None,
) -> tuple[list[Sample], list[tuple[Searcher, str, np.ndarray]]]:
    """Candidate features for every in-article question, and the off-article questions."""
    chosen = load_squad(path)[articles[0] : articles[1]]
    samples: list[Sample] = []
    off: list[tuple[Searcher, str, np.ndarray]] = []
    for i, article in enumerate(chosen):
        if progress:
            progress(f"article {articles[0] + i}: {article.title}")
        others = off_article_questions(chosen, i, OFF_ARTICLE_PER_ARTICLE)
        # The whole article, and a short stretch of it: a bot often serves a corpus
        # as small as one news article, and the abstention model must hold there too.
        for corpus in (article, _excerpt(article, SMALL_CORPUS_PARAGRAPHS)):
            index = build_index([corpus.document()], embedder)
            searcher = Searcher(index, embedder)
            vectors = embedder.encode([q.question for q in corpus.questions])
            for q, v in zip(corpus.questions, vectors, strict=True):
                result = searcher.search(q.question, vector=v)
                texts = [index.sentence_text(int(r)) for r in result.candidates]
                labels = np.array([any(a in t for a in q.answers) for t in texts])
                samples.append(Sample(result.features, labels, searcher, q.question, v))
            for text, v in zip(others, embedder.encode(others), strict=True):
                off.append((searcher, text, v))
    return samples, off


def _excerpt(article: SquadArticle, paragraphs: int) -> SquadArticle:
    """The first ``paragraphs`` contexts of ``article`` and the questions about them."""
    return SquadArticle(
        article.title,
        article.contexts[:paragraphs],
        [q for q in article.questions if q.paragraph < paragraphs],
    )


def fit_ranker(samples: list[Sample], l2: float = 1e-3, steps: int = 400) -> np.ndarray:
    """Weights maximising the softmax mass on answer-bearing candidates (Adam, full batch)."""
    usable = [s for s in samples if s.labels.any()]
    x = np.concatenate([s.features for s in usable])
    mean, std = x.mean(0), x.std(0) + 1e-9
    w = np.zeros(len(FEATURES))
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    bounds = np.cumsum([0] + [len(s.labels) for s in usable])
    xs = (x - mean) / std
    labels = np.concatenate([s.labels for s in usable])
    for t in range(1, steps + 1):
        scores = xs @ w
        grad = np.zeros_like(w)
        for a, b in zip(bounds[:-1], bounds[1:], strict=True):
            s = scores[a:b] - scores[a:b].max()
            p = np.exp(s) / np.exp(s).sum()
            pos = labels[a:b]
            q = p * pos / (p[pos].sum())
            grad += xs[a:b].T @ (p - q)
        grad = grad / len(usable) + l2 * w
        m = 0.9 * m + 0.1 * grad
        v = 0.999 * v + 0.001 * grad**2
        w -= 0.05 * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
    return w / std  # back to raw feature units (the constant shift does not change ranks)


def top1(samples: list[Sample], w: np.ndarray) -> float:
    return float(np.mean([s.labels[int(np.argmax(s.features @ w))] for s in samples]))


def fit_abstention(
    inside: np.ndarray, outside: np.ndarray, answer_rate: float
) -> tuple[np.ndarray, float, float]:
    """Logistic regression in-article (1) vs off-article (0); threshold for ``answer_rate``."""
    x = np.concatenate([inside, outside])
    y = np.concatenate([np.ones(len(inside)), np.zeros(len(outside))])
    weight = np.where(y == 1, 0.5 / len(inside), 0.5 / len(outside))
    mean, std = x.mean(0), x.std(0) + 1e-9
    xs = (x - mean) / std
    w = np.zeros(x.shape[1])
    b = 0.0
    for _ in range(3000):
        p = 1 / (1 + np.exp(-(xs @ w + b)))
        g = (p - y) * weight
        w -= 0.5 * (xs.T @ g + 1e-4 * w)
        b -= 0.5 * g.sum()
    raw_w = w / std
    raw_b = b - float((mean / std) @ w)
    z = inside @ raw_w + raw_b
    p_in = 1 / (1 + np.exp(-z))
    threshold = float(np.quantile(p_in, 1 - answer_rate))
    return raw_w, raw_b, threshold


def tune(
    path: Path | str,
    articles: tuple[int, int],
    embedder: Any,
    *,
    answer_rate: float = 0.975,
    out: Path = RANKER_FILE,
    progress: Callable[[str], None] | None = None,
) -> dict[str, float]:
    samples, off = collect(path, articles, embedder, progress)
    before = top1(samples, default_ranker().weights)
    w = fit_ranker(samples)
    after = top1(samples, w)
    ranker = Ranker(w, np.zeros(len(ABSTAIN_FEATURES)), 0.0, 0.5)
    inside = []
    for s in samples:
        s.searcher.ranker = ranker
        inside.append(s.searcher.search(s.question, vector=s.vector).abstain_features)
    outside = []
    for searcher, q, v in off:
        searcher.ranker = ranker
        outside.append(searcher.search(q, vector=v).abstain_features)
    aw, ab, threshold = fit_abstention(np.array(inside), np.array(outside), answer_rate)
    final = Ranker(w, aw, ab, threshold)
    import json

    out.write_text(json.dumps(final.to_dict(), indent=2) + "\n")
    z_out = np.array(outside) @ aw + ab
    abstained = float(np.mean(1 / (1 + np.exp(-z_out)) < threshold))
    return {
        "questions": len(samples),
        "top1_sentence_before": before,
        "top1_sentence_after": after,
        "off_article_abstention": abstained,
        "threshold": threshold,
    }
