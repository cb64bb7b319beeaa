"""The FAISS index over passage vectors, its kind chosen by corpus size."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

# Below this many vectors exact search is fast enough and has perfect recall.
EXACT_LIMIT = 50_000
KINDS = ("auto", "flat", "hnsw")


def choose_kind(n: int, requested: str = "auto") -> str:
    """The FAISS index kind for ``n`` vectors: ``flat`` (exact) or ``hnsw``."""
    if requested not in KINDS:
        raise ValueError(f"index kind must be one of {KINDS}, got {requested!r}")
    if requested != "auto":
        return requested
    return "flat" if n < EXACT_LIMIT else "hnsw"


def build(vectors: np.ndarray, kind: str = "auto") -> Any:
    """A FAISS inner-product index over L2-normalised ``vectors``."""
    import faiss

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    dim = vectors.shape[1]
    kind = choose_kind(len(vectors), kind)
    if kind == "flat":
        index = faiss.IndexFlatIP(dim)
    else:
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        index.hnsw.efSearch = 64
    index.add(vectors)
    return index


def kind_of(index: Any) -> str:
    import faiss

    return "hnsw" if isinstance(index, faiss.IndexHNSWFlat) else "flat"


def search(index: Any, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Scores and ids of the ``k`` nearest vectors for each query row (ids -1 when fewer)."""
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    k = max(1, min(k, index.ntotal))
    return index.search(queries, k)


def save(index: Any, path: Path) -> None:
    import faiss

    faiss.write_index(index, str(path))


def load(path: Path) -> Any:
    import faiss

    return faiss.read_index(str(path))
