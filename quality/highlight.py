"""Fitting the linear phrase marker of :mod:`index.highlight` on SQuAD: its
weights (a softmax over each quote's phrases and "no phrase"), its sureness model
and its threshold (``python -m bench.tune_highlight`` writes ``highlight.json``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from index.highlight import (
    FACT_KINDS,
    Candidates,
    Highlighter,
    answer_kind,
    candidates,
    choose,
    sure_features,
    token_f1,
)
from index.logistic import adam_step, fit_logistic


def best_f1(prediction: str, answers: Sequence[str]) -> float:
    return max((token_f1(prediction, a) for a in answers), default=0.0)


@dataclass(frozen=True)
class Example:
    """One quote for one question, and the gold answers (none when the quote lacks them)."""

    question: str
    text: str
    answers: tuple[str, ...]
    weight: float = 1.0


def _labels(found: Candidates, text: str, answers: Sequence[str]) -> np.ndarray:
    """Which rows are right: candidates with token F1 ≥ 0.5, or "no phrase" when none is."""
    labels = np.zeros(len(found.features), dtype=bool)
    for k, (i, j) in enumerate(found.spans):
        phrase = text[found.tokens[i].start : found.tokens[j - 1].end]
        labels[k + 1] = best_f1(phrase, answers) >= 0.5
    if not labels.any():
        labels[0] = True
    return labels


def fit(
    examples: Sequence[Example],
    *,
    precision: float = 0.9,
    l2: float = 1e-3,
    steps: int = 300,
    progress: Any = None,
) -> tuple[Highlighter, dict[str, Any]]:
    """Fit the weights (softmax over each quote's phrases and "no phrase") and the threshold.

    The threshold is the lowest at which the marks on ``examples`` reach
    ``precision`` (weighted), so as many questions as possible get a mark.
    """
    feats, labels, groups, weights, kept = [], [], [], [], []
    for n, ex in enumerate(examples):
        if answer_kind(ex.question) not in FACT_KINDS:
            continue
        found = candidates(ex.question, ex.text)
        feats.append(found.features)
        labels.append(_labels(found, ex.text, ex.answers) if ex.answers else _null(found))
        groups.append(len(found.features))
        weights.append(ex.weight)
        kept.append((ex, found))
        if progress and n % 1000 == 0:
            progress(f"candidates: {n} of {len(examples)}")
    x = np.concatenate(feats).astype(np.float64)
    y = np.concatenate(labels)
    sizes = np.array(groups)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    group_weight = np.array(weights) / np.sum(weights)
    row_group = np.repeat(np.arange(len(sizes)), sizes)
    mean, std = x.mean(0), x.std(0) + 1e-6
    xs = (x - mean) / std
    w = np.zeros(x.shape[1])
    moments = {"w": (np.zeros_like(w), np.zeros_like(w))}
    for t in range(1, steps + 1):
        s = xs @ w
        s = s - np.maximum.reduceat(s, starts)[row_group]
        e = np.exp(s)
        p = e / np.add.reduceat(e, starts)[row_group]
        pos = p * y
        q = pos / np.add.reduceat(pos, starts)[row_group]
        grad = xs.T @ ((p - q) * group_weight[row_group]) + l2 * w
        adam_step({"w": w}, {"w": grad}, moments, t, rate=0.05)  # updates w in place
        if progress and t % 100 == 0:
            loss = -np.sum(group_weight * np.log(np.add.reduceat(pos, starts) + 1e-12))
            progress(f"step {t}: loss {loss:.4f}")
    raw = w / std  # the constant shift is the same for every row of a quote
    rows, right, wt = [], [], []
    for (ex, found), weight in zip(kept, weights, strict=True):
        span, mass, p = choose(found, raw)
        if span is None:
            continue
        i, j = span
        phrase = ex.text[found.tokens[i].start : found.tokens[j - 1].end]
        rows.append(sure_features(found, p, span, mass))
        right.append(bool(ex.answers) and best_f1(phrase, ex.answers) >= 0.5)
        wt.append(weight)
    x_sure, y_sure, w_sure = np.array(rows), np.array(right), np.array(wt)
    sure_w, sure_b = fit_logistic(x_sure, y_sure.astype(np.float64), w_sure)
    conf = 1 / (1 + np.exp(-(x_sure @ sure_w + sure_b)))
    threshold, report = pick_threshold(conf, y_sure, w_sure, precision)
    report["questions"] = len(kept)
    return Highlighter(raw, threshold, sure_w, sure_b), report


def _null(found: Candidates) -> np.ndarray:
    labels = np.zeros(len(found.features), dtype=bool)
    labels[0] = True
    return labels


def pick_threshold(
    conf: np.ndarray, right: np.ndarray, weight: np.ndarray, precision: float
) -> tuple[float, dict[str, Any]]:
    """The lowest threshold whose marks reach ``precision``; and the precision/coverage there."""
    order = np.argsort(-conf, kind="stable")
    hits = np.cumsum((right * weight)[order])
    marks = np.cumsum(weight[order])
    ok = np.nonzero(hits / marks >= precision)[0]
    # The largest prefix that is precise enough, cut where the confidence changes.
    cut = int(ok.max()) if len(ok) else 0
    threshold = float(conf[order][cut]) if len(ok) else 1.0
    chosen = conf >= threshold
    total = weight.sum()
    report = {
        "threshold": threshold,
        "precision": float((right * weight)[chosen].sum() / max(1e-9, weight[chosen].sum())),
        "marked_share": float(weight[chosen].sum() / total),
        "right_when_marked_all": float((right * weight).sum() / total),
        "questions": len(conf),
    }
    return threshold, report
