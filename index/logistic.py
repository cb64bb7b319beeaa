"""What the fitted models share: the logistic function, the weighted logistic
regression (abstention, confidence, how sure a marked phrase is), a monotone
calibration map and an Adam step. Small enough to read, no dependency beyond numpy."""

from __future__ import annotations

import math
from typing import overload

import numpy as np


@overload
def sigmoid(z: float) -> float: ...
@overload
def sigmoid(z: np.ndarray) -> np.ndarray: ...
def sigmoid(z: float | np.ndarray) -> float | np.ndarray:
    """The logistic function, ``z`` clipped to ±50 so that ``exp`` never overflows."""
    if isinstance(z, np.ndarray):
        return 1 / (1 + np.exp(-np.clip(z, -50, 50)))
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


def fit_logistic(
    x: np.ndarray, y: np.ndarray, weight: np.ndarray, l2: float = 1e-4, steps: int = 3000
) -> tuple[np.ndarray, float]:
    """Weighted logistic regression by gradient descent on standardised features.

    Returns weights and bias in the raw features' units.
    """
    mean, std = x.mean(0), x.std(0) + 1e-9
    xs = (x - mean) / std
    weight = weight / weight.sum()
    w = np.zeros(x.shape[1])
    b = 0.0
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(xs @ w + b)))
        g = (p - y) * weight
        w -= 0.5 * (xs.T @ g + l2 * w)
        b -= 0.5 * g.sum()
    return w / std, b - float((mean / std) @ w)


def fit_monotone(p: np.ndarray, y: np.ndarray, bins: int = 40) -> tuple[list[float], list[float]]:
    """A non-decreasing map from a probability to the share of ``y`` that holds there.

    ``bins`` equal-count bins of ``p``, each at its mean ``p``, then pooled with
    their neighbours until the shares of ``y`` never fall (pool-adjacent-violators,
    weighted by count). Read it with ``np.interp(p, xs, ys)``: linear between the
    bins' means, flat beyond the first and last.
    """
    order = np.argsort(p, kind="stable")
    chunks = [c for c in np.array_split(order, min(bins, len(order))) if len(c)]
    xs = [float(p[c].mean()) for c in chunks]
    blocks: list[list[float]] = []  # [share, weight, bins pooled]
    for c in chunks:
        blocks.append([float(y[c].mean()), float(len(c)), 1.0])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            share, weight, n = blocks.pop()
            prev = blocks[-1]
            total = prev[1] + weight
            blocks[-1] = [(prev[0] * prev[1] + share * weight) / total, total, prev[2] + n]
    ys = [share for share, _, n in blocks for _ in range(int(n))]
    return xs, ys


def adam_step(
    params: dict[str, np.ndarray],
    grads: dict[str, np.ndarray],
    moments: dict[str, tuple[np.ndarray, np.ndarray]],
    t: int,
    rate: float = 0.01,
) -> None:
    """One Adam update of ``params`` in place (step ``t`` from 1; ``moments`` start at 0)."""
    for k, grad in grads.items():
        m, v = moments[k]
        m[...] = 0.9 * m + 0.1 * grad
        v[...] = 0.999 * v + 0.001 * grad**2
        params[k] -= rate * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
