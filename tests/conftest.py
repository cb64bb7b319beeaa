"""Shared fixtures: a deterministic fake embedder, the seed corpus, a ready service."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest

from bot.service import QuoteService
from index.documents import Document, load_corpus
from index.search import Searcher
from index.store import CorpusIndex, build_index
from index.text import stems

ROOT = Path(__file__).resolve().parent.parent
SEED_CORPUS = ROOT / "corpus"


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


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture(scope="session")
def seed_documents() -> list[Document]:
    return load_corpus(SEED_CORPUS)


@pytest.fixture(scope="session")
def seed_index(seed_documents: list[Document]) -> CorpusIndex:
    return build_index(seed_documents, FakeEmbedder())


@pytest.fixture
def service(seed_index: CorpusIndex) -> QuoteService:
    """A real QuoteService over the seed article, with the fake embedder (no torch)."""
    return QuoteService(seed_index, Searcher(seed_index, FakeEmbedder()))
