"""The FAISS index kind: chosen by corpus size, and approximate kinds still find the neighbours."""

from __future__ import annotations

import numpy as np
import pytest

from index import vectors


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def clustered(n: int, queries: int, dim: int = 384, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors around random centroids, and queries near stored vectors."""
    rng = np.random.default_rng(seed)
    centroids = _unit(rng.standard_normal((max(n // 100, 4), dim)))
    noise = _unit(rng.standard_normal((n, dim)))
    data = _unit(centroids[rng.integers(0, len(centroids), n)] + noise)
    sources = rng.integers(0, n, queries)
    return data, _unit(data[sources] + 0.8 * _unit(rng.standard_normal((queries, dim))))


def recall_at_10(index: object, data: np.ndarray, queries: np.ndarray) -> float:
    exact = vectors.build(data, "flat")
    _, truth = vectors.search(exact, queries, 10)
    found = [vectors.search(index, q[None, :], 10)[1][0] for q in queries]
    return float(np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth, strict=True)]))


def test_auto_picks_exact_search_for_small_corpora_and_approximate_for_large():
    assert vectors.choose_kind(10) == "flat"
    assert vectors.choose_kind(vectors.EXACT_LIMIT - 1) == "flat"
    assert vectors.choose_kind(vectors.EXACT_LIMIT) == "hnsw"
    assert vectors.choose_kind(vectors.IVF_LIMIT - 1) == "hnsw"
    assert vectors.choose_kind(vectors.IVF_LIMIT) == "ivf"


def test_a_requested_kind_wins_over_the_size_rule():
    assert vectors.choose_kind(10, "hnsw") == "hnsw"
    assert vectors.choose_kind(10**7, "flat") == "flat"
    with pytest.raises(ValueError, match="index kind"):
        vectors.choose_kind(10, "annoy")


def test_auto_builds_the_kind_it_chose(monkeypatch):
    data, _ = clustered(300, 1, dim=32)
    assert vectors.kind_of(vectors.build(data)) == "flat"
    monkeypatch.setattr(vectors, "EXACT_LIMIT", 200)
    assert vectors.kind_of(vectors.build(data)) == "hnsw"


@pytest.mark.parametrize("kind", ["hnsw", "ivf"])
def test_approximate_kinds_find_the_exact_top_10(kind, tmp_path):
    data, queries = clustered(4000, 100)
    index = vectors.build(data, kind)
    assert vectors.kind_of(index) == kind
    assert recall_at_10(index, data, queries) >= 0.95

    vectors.save(index, tmp_path / "dense.faiss")
    loaded = vectors.load(tmp_path / "dense.faiss")
    assert vectors.kind_of(loaded) == kind
    assert recall_at_10(loaded, data, queries) >= 0.95


def test_search_on_fewer_vectors_than_asked_returns_them_all():
    data, queries = clustered(3, 1, dim=16)
    scores, ids = vectors.search(vectors.build(data), queries, 10)
    assert sorted(ids[0].tolist()) == [0, 1, 2]
    assert scores.shape == (1, 3)
