"""Test doubles shared by the test modules."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence

import numpy as np

from index.text import stems


def bare_environment() -> dict[str, str]:
    """This process's environment without quotebot's, Discord's and Slack's settings and
    without proxies, for a ``quotebot`` process that must see only what it is given."""
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("QUOTEBOT_", "DISCORD_", "SLACK_")) and "proxy" not in k.lower()
    }


class FakeEmbedder:
    """Hashes stemmed words into a fixed-size bag-of-words vector.

    Deterministic, instant, no model: texts that share words are similar, which
    is all the service needs to be exercised end to end in fast tests.
    """

    name = "fake-bow"
    dim = 64

    def __init__(self) -> None:
        self.calls = 0

    def encode(
        self, texts: Sequence[str], *, progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        self.calls += 1
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in stems(text) or ["<empty>"]:
                h = int(hashlib.md5(word.encode()).hexdigest()[:8], 16)
                out[i, h % self.dim] += 1.0 if (h >> 8) % 2 else -1.0
            out[i] /= max(float(np.linalg.norm(out[i])), 1e-9)
        if progress:
            progress(len(texts))
        return out


def fake_factory(name: str) -> FakeEmbedder:
    """An ``embedder_factory`` for bot.app: the fake embedder whatever the model name."""
    return FakeEmbedder()
