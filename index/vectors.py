"""The FAISS index over passage vectors, its kind chosen by corpus size.

Three kinds, picked by ``choose_kind`` unless the user asks for one:

* ``flat``: exact inner-product search. Perfect recall; a query scans every vector,
  which stays within a few milliseconds below ``EXACT_LIMIT`` vectors.
* ``hnsw``: a graph index. About a millisecond per query at 100k vectors with
  recall@10 of 0.99 or more on embedding-like data (see ``bench/RESULTS.md``), at the cost of a
  build about ten times slower than ``ivf``.
* ``ivf``: inverted lists over k-means cells. From ``IVF_LIMIT`` vectors an HNSW build
  takes many minutes on a small machine; IVF trains on a sample and builds in a fraction
  of that, with similar query times.

The parameters below were set from the scale benchmark (``python -m bench.scale``).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

# Below this many vectors exact search is fast enough (about 10 ms on one core at 50k)
# and has perfect recall.
EXACT_LIMIT = 50_000
# From this many vectors an IVF index replaces HNSW, whose build time grows fastest.
IVF_LIMIT = 500_000
KINDS = ("auto", "flat", "hnsw", "ivf")

HNSW_M = 32  # graph links per vector
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 128  # candidates kept per query: recall against latency
IVF_CELLS_PER_SQRT_N = 4  # nlist = 4 * sqrt(n), the usual FAISS guideline
IVF_TRAIN_PER_CELL = 40  # k-means sample per cell (FAISS asks for at least 39)
IVF_TRAIN_ITERATIONS = 10  # k-means rounds: 1M builds in ~2 min, not ~3 (default 25), recall -0.01
IVF_NPROBE = 32  # cells scanned per query


def choose_kind(n: int, requested: str = "auto") -> str:
    """The FAISS index kind for ``n`` vectors: ``flat`` (exact), ``hnsw`` or ``ivf``."""
    if requested not in KINDS:
        raise ValueError(f"index kind must be one of {KINDS}, got {requested!r}")
    if requested != "auto":
        return requested
    if n < EXACT_LIMIT:
        return "flat"
    return "hnsw" if n < IVF_LIMIT else "ivf"


def build(vectors: np.ndarray, kind: str = "auto") -> Any:
    """A FAISS inner-product index over L2-normalised ``vectors``."""
    import faiss

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n, dim = vectors.shape
    kind = choose_kind(n, kind)
    if kind == "ivf" and n < 2:
        kind = "flat"  # k-means needs at least as many points as cells
    index: Any
    if kind == "flat":
        index = faiss.IndexFlatIP(dim)
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    else:
        cells = max(1, min(n // IVF_TRAIN_PER_CELL, int(IVF_CELLS_PER_SQRT_N * math.sqrt(n))))
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, cells, faiss.METRIC_INNER_PRODUCT)
        index.cp.niter = IVF_TRAIN_ITERATIONS
        sample = min(n, cells * IVF_TRAIN_PER_CELL)
        rows = np.random.default_rng(0).choice(n, sample, replace=False) if sample < n else None
        index.train(vectors if rows is None else vectors[np.sort(rows)])
    index.add(vectors)
    _set_search_params(index)
    return index


def _set_search_params(index: Any) -> None:
    """Apply the query-time parameters, which a saved index may not carry."""
    import faiss

    if isinstance(index, faiss.IndexHNSW):
        index.hnsw.efSearch = HNSW_EF_SEARCH
    elif isinstance(index, faiss.IndexIVF):
        index.nprobe = min(IVF_NPROBE, index.nlist)


def kind_of(index: Any) -> str:
    """``flat``, ``hnsw`` or ``ivf``: the kind of a built or loaded index."""
    import faiss

    if isinstance(index, faiss.IndexHNSW):
        return "hnsw"
    if isinstance(index, faiss.IndexIVF):
        return "ivf"
    return "flat"


def search(index: Any, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Scores and ids of the ``k`` nearest vectors for each query row (ids -1 when fewer)."""
    import faiss

    queries = np.ascontiguousarray(queries, dtype=np.float32)
    k = max(1, min(k, index.ntotal))
    if len(queries) != 1:
        return index.search(queries, k)
    # One query gains nothing from OpenMP threads, and on a busy machine it waits for
    # them: 16 ms instead of 2 ms over 10k vectors (bench/RESULTS.md). The thread count
    # is a per-thread OpenMP setting, so this touches only the calling thread.
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        return index.search(queries, k)
    finally:
        faiss.omp_set_num_threads(threads)


def save(index: Any, path: Path) -> None:
    import faiss

    # Serialised in memory and written by Python, so a full disk raises OSError
    # (faiss.write_index reports it as a RuntimeError without the errno).
    path.write_bytes(faiss.serialize_index(index).tobytes())


def load(path: Path) -> Any:
    import faiss

    index = faiss.read_index(str(path))
    _set_search_params(index)
    return index
