"""Processes the speed benchmarks time from the outside, one measurement per process.

    python -m bench.workers langchain-cold CORPUS_FILE QUESTION
    python -m bench.workers langchain-serve CORPUS_FILE N
    python -m bench.workers quotebot-serve N        (QUOTEBOT_* variables point at the index)
    python -m bench.workers load-index FAISS_FILE

Each prints one JSON line on stdout. Heavy imports happen inside the functions,
so import time is part of what a cold process measures.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far.

    ``VmHWM`` rather than ``ru_maxrss``: Linux carries ``ru_maxrss`` over ``execve``, so a
    worker started by a large parent would report the parent's peak.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    import psutil

    return float(psutil.Process().memory_info().rss) / 2**20


def questions(n: int) -> list[str]:
    from bench.questions import DENVER_QUESTIONS

    return [DENVER_QUESTIONS[i % len(DENVER_QUESTIONS)] for i in range(n)]


def langchain_cold(corpus_file: str, question: str) -> dict[str, Any]:
    """What a LangChain user's script does: import, load, split, embed, index, answer once."""
    from bench.peers import langchain_embeddings, langchain_store

    text = Path(corpus_file).read_text(encoding="utf-8")
    embeddings = langchain_embeddings()
    started = time.perf_counter()
    store = langchain_store(text, embeddings)
    built = time.perf_counter() - started
    first = store.similarity_search(question, k=3)[0].page_content
    return {"index_build_s": built, "chunks": store.index.ntotal, "answer": first[:80]}


def _torch_threads() -> None:
    """Apply ``BENCH_TORCH_THREADS``: torch's default of one thread per core slows to a
    crawl when other processes compete for the cores, so LangChain is also measured
    with one thread and credited with the faster of the two."""
    threads = os.environ.get("BENCH_TORCH_THREADS")
    if threads:
        import torch

        torch.set_num_threads(int(threads))


def langchain_serve(corpus_file: str, n: int) -> dict[str, Any]:
    """Answer ``n`` questions with ``similarity_search``, timing each one."""
    from bench.peers import langchain_embeddings, langchain_store

    _torch_threads()
    started = time.perf_counter()
    store = langchain_store(Path(corpus_file).read_text(encoding="utf-8"), langchain_embeddings())
    ready = time.perf_counter() - started
    latencies = []
    for question in questions(n):
        t0 = time.perf_counter()
        store.similarity_search(question, k=3)
        latencies.append((time.perf_counter() - t0) * 1000)
    return {"ready_s": ready, "latencies_ms": latencies, "peak_rss_mb": peak_rss_mb()}


def quotebot_serve(n: int) -> dict[str, Any]:
    """Answer ``n`` questions with ``QuoteService.ask`` over the built index, timing each one."""
    from bot.app import build_service, quiet_libraries
    from bot.config import Settings

    quiet_libraries()
    started = time.perf_counter()
    service = build_service(Settings.from_env(dotenv=False))
    ready = time.perf_counter() - started
    latencies = []
    for question in questions(n):
        t0 = time.perf_counter()
        service.ask(question)
        latencies.append((time.perf_counter() - t0) * 1000)
    return {
        "ready_s": ready,
        "latencies_ms": latencies,
        "peak_rss_mb": peak_rss_mb(),
        "index_kind": service.index.kind,
    }


def load_index(path: str) -> dict[str, Any]:
    """Load a saved FAISS index; report the time and the memory it takes."""
    import faiss  # noqa: F401  (imported first so its own footprint is not counted)

    from index import vectors

    before = current_rss_mb()
    started = time.perf_counter()
    index = vectors.load(Path(path))
    seconds = time.perf_counter() - started
    return {
        "load_s": seconds,
        "rss_mb": current_rss_mb() - before,
        "kind": vectors.kind_of(index),
        "ntotal": int(index.ntotal),
    }


def main(argv: list[str]) -> None:
    command, *rest = argv
    if command == "langchain-cold":
        result = langchain_cold(rest[0], rest[1])
    elif command == "langchain-serve":
        result = langchain_serve(rest[0], int(rest[1]))
    elif command == "quotebot-serve":
        result = quotebot_serve(int(rest[0]))
    elif command == "load-index":
        result = load_index(rest[0])
    else:
        raise SystemExit(f"unknown worker {command!r}")
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
