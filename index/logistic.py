"""The weighted logistic regression the fitted models share (abstention, confidence,
how sure a marked phrase is): small enough to read, no dependency beyond numpy."""

from __future__ import annotations

import numpy as np


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
