"""Scale: the FAISS index quotebot picks at 10k, 100k and 1M passages.

Embedding a million passages with MiniLM would take hours on a small machine, so
the corpora are precomputed random unit vectors (384-d, seeded). They are
*clustered* like sentence embeddings: each vector is a random centroid (one per
100 vectors) plus isotropic noise of the same norm, so a vector's cosine with its
centroid is about 0.71 and with an unrelated vector about 0. Queries are stored
vectors plus noise (cosine about 0.78 with their source), like a question close
to the passage that answers it. ``--distribution uniform`` draws plain uniform
vectors instead: the worst case, where no approximate index reaches high recall.

For each size: build time and throughput (against MiniLM's raw encoding rate on
real SQuAD sentences), single-query search p50/p95 with the kind
``index.vectors.choose_kind`` picks, recall@10 against exact search, and load time
and resident memory of the saved index in a fresh process.

    python -m bench.scale --sizes 10000 100000 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench.speed import spread
from index import vectors

DIM = 384
QUERIES = 200
ROUNDS = 3
K = 10


def _unit(x: np.ndarray) -> np.ndarray:
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def synthetic(
    n: int, queries: int = QUERIES, distribution: str = "clustered", seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` unit vectors and ``queries`` query vectors near some of them."""
    rng = np.random.default_rng(seed)
    data = np.empty((n, DIM), dtype=np.float32)
    step = 100_000  # generated in blocks to keep the peak memory near the final array
    if distribution == "clustered":
        centroids = _unit(rng.standard_normal((max(n // 100, 10), DIM), dtype=np.float32))
        for i in range(0, n, step):
            m = min(step, n - i)
            noise = _unit(rng.standard_normal((m, DIM), dtype=np.float32))
            data[i : i + m] = _unit(centroids[rng.integers(0, len(centroids), m)] + noise)
    else:
        for i in range(0, n, step):
            data[i : i + min(step, n - i)] = _unit(
                rng.standard_normal((min(step, n - i), DIM), dtype=np.float32)
            )
    sources = rng.integers(0, n, queries)
    noise = 0.8 * _unit(rng.standard_normal((queries, DIM), dtype=np.float32))
    return data, _unit(data[sources] + noise)


def encoder_throughput(squad: Path | None, sentences: int = 320) -> dict[str, Any]:
    """Sentences per second MiniLM encodes (sentence-transformers, as quotebot builds)."""
    from bench.peers import split_sentences
    from index.embedder import SentenceTransformerEmbedder
    from quality.squad import load_squad

    texts: list[str] = []
    if squad is not None:
        for article in load_squad(squad)[24:48]:
            texts.extend(split_sentences(article.contexts))
            if len(texts) >= sentences:
                break
    texts = texts[:sentences]
    embedder = SentenceTransformerEmbedder()
    embedder.encode(texts[:32])  # warm-up
    rates = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        embedder.encode(texts)
        rates.append(len(texts) / (time.perf_counter() - started))
    return {
        "sentences": len(texts),
        "mean_chars": float(np.mean([len(t) for t in texts])),
        "per_s": spread(rates),
    }


def _load_in_fresh_process(path: Path) -> dict[str, Any]:
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(root)}
    done = subprocess.run(
        [sys.executable, "-m", "bench.workers", "load-index", str(path)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def measure(n: int, workdir: Path, distribution: str = "clustered") -> dict[str, Any]:
    """Build, search, save and load the auto-chosen index over ``n`` synthetic vectors."""
    import faiss

    data, queries = synthetic(n, distribution=distribution)
    started = time.perf_counter()
    index = vectors.build(data, "auto")
    build_s = time.perf_counter() - started
    kind = vectors.kind_of(index)

    exact = faiss.IndexFlatIP(DIM)
    exact.add(data)
    _, truth = exact.search(queries, K)
    del exact

    p50s, p95s, found = [], [], []
    for _ in range(ROUNDS):
        times = []
        found = []
        for q in queries:
            t0 = time.perf_counter()
            _, ids = vectors.search(index, q[None, :], K)
            times.append((time.perf_counter() - t0) * 1000)
            found.append(ids[0])
        p50s.append(float(np.percentile(times, 50)))
        p95s.append(float(np.percentile(times, 95)))
    recall = float(np.mean([len(set(f) & set(t)) / K for f, t in zip(found, truth, strict=True)]))

    path = workdir / f"scale-{n}.faiss"
    vectors.save(index, path)
    del index, data
    loads = [_load_in_fresh_process(path) for _ in range(ROUNDS)]
    size_mb = path.stat().st_size / 2**20
    path.unlink()
    return {
        "n": n,
        "distribution": distribution,
        "kind": kind,
        "build_s": build_s,
        "build_per_s": n / build_s,
        "search_p50_ms": spread(p50s),
        "search_p95_ms": spread(p95s),
        "recall_at_10": recall,
        "load_s": spread([r["load_s"] for r in loads]),
        "rss_mb": spread([r["rss_mb"] for r in loads]),
        "file_mb": size_mb,
    }


def scale(
    sizes: Sequence[int],
    workdir: Path,
    squad: Path | None,
    distribution: str = "clustered",
    progress: Callable[[str], None] = print,
    uniform_sizes: Sequence[int] = (),
) -> dict[str, Any]:
    """Encoder throughput, then one row per size (and per ``uniform_sizes``, the worst case)."""
    progress("Scale: encoder throughput")
    out: dict[str, Any] = {"encoder": encoder_throughput(squad), "sizes": []}
    runs = [(n, distribution) for n in sizes] + [(n, "uniform") for n in uniform_sizes]
    for n, kind in runs:
        progress(f"Scale: {n:,} {kind} vectors")
        out["sizes"].append(measure(n, workdir, kind))
        row = out["sizes"][-1]
        progress(
            f"  {row['kind']}: build {row['build_s']:.1f} s, p50 "
            f"{row['search_p50_ms']['median']:.2f} ms, recall@10 {row['recall_at_10']:.3f}"
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--distribution", choices=["clustered", "uniform"], default="clustered")
    parser.add_argument("--squad", type=Path)
    args = parser.parse_args()
    workdir = Path(__file__).resolve().parent.parent / ".quotebot" / "bench"
    workdir.mkdir(parents=True, exist_ok=True)
    print(json.dumps(scale(args.sizes, workdir, args.squad, args.distribution), indent=2))


if __name__ == "__main__":
    main()
