"""Speed and memory on the seed article: quotebot against LangChain's RAG retrieval.

Every figure comes from fresh processes (``bench.workers``), so start-up, imports
and memory are measured as a user meets them:

* warm per-question latency: ``QuoteService.ask`` against ``similarity_search`` (question
  embedding included in both), p50/p95 over the questions after the first round;
* cold: wall time of ``quotebot ask "..."`` with the index already built, against a
  LangChain script that imports, loads, splits, embeds, indexes and answers once;
* peak RSS of a process answering 400 questions;
* index build: ``quotebot index --rebuild`` against the same LangChain script's
  ``FAISS.from_documents``, both as whole processes (wall) and as the build step alone.

    python -m bench.speed
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from bench.questions import DENVER_QUESTIONS

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "corpus" / "denver-ordinance.md"
SERVE_QUESTIONS = 400


def spread(values: list[float]) -> dict[str, float]:
    """Median, min and max of repeated measurements."""
    return {
        "median": float(statistics.median(values)),
        "min": float(min(values)),
        "max": float(max(values)),
        "runs": len(values),
    }


def _timed(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:3])} failed ({done.returncode}): {done.stderr[-1500:]}")
    return seconds, done.stdout


def _worker(args: list[str], env: dict[str, str], cwd: Path) -> tuple[float, dict[str, Any]]:
    seconds, out = _timed([sys.executable, "-m", "bench.workers", *args], env, cwd)
    return seconds, json.loads(out.strip().splitlines()[-1])


def speed(
    workdir: Path,
    *,
    repeats: int = 3,
    cold_repeats: int = 5,
    serve_questions: int = SERVE_QUESTIONS,
    progress: Callable[[str], None] = print,
) -> dict[str, Any]:
    """quotebot and LangChain timings and memory on the seed article, one run each per repeat."""
    corpus = workdir / "speed-corpus"
    shutil.rmtree(corpus, ignore_errors=True)
    corpus.mkdir(parents=True)
    shutil.copy(SEED, corpus / SEED.name)
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "PYTHONPATH": str(ROOT),
        "QUOTEBOT_CORPUS": str(corpus),
        "QUOTEBOT_INDEX_DIR": str(workdir / "speed-index"),
        "QUOTEBOT_FEEDBACK_DB": str(workdir / "feedback.sqlite3"),
    }
    quotebot = str(Path(sys.executable).with_name("quotebot"))
    seed = str(corpus / SEED.name)
    question = DENVER_QUESTIONS[0]
    out: dict[str, Any] = {"serve_questions": serve_questions}

    progress("Speed: index builds")
    builds = [_timed([quotebot, "index", "--rebuild"], env, workdir)[0] for _ in range(repeats)]
    out["quotebot_index_s"] = spread(builds)

    progress("Speed: cold processes")
    cold = [_timed([quotebot, "ask", question], env, workdir)[0] for _ in range(cold_repeats)]
    out["quotebot_cold_s"] = spread(cold)
    lc_cold, lc_build = [], []
    for _ in range(repeats):
        seconds, result = _worker(["langchain-cold", seed, question], env, workdir)
        lc_cold.append(seconds)
        lc_build.append(result["index_build_s"])
        out["langchain_chunks"] = result["chunks"]
    out["langchain_cold_s"] = spread(lc_cold)
    out["langchain_index_step_s"] = spread(lc_build)

    progress(f"Speed: serving {serve_questions} questions")
    variants = (
        ("quotebot", ["quotebot-serve", str(serve_questions)], {}),
        ("langchain", ["langchain-serve", seed, str(serve_questions)], {}),
        (
            "langchain_1thread",
            ["langchain-serve", seed, str(serve_questions)],
            {"BENCH_TORCH_THREADS": "1"},
        ),
    )
    for name, args, extra in variants:
        p50s, p95s, rss, ready = [], [], [], []
        for _ in range(repeats):
            _, result = _worker(args, {**env, **extra}, workdir)
            warm = np.asarray(result["latencies_ms"][len(DENVER_QUESTIONS) :])
            p50s.append(float(np.percentile(warm, 50)))
            p95s.append(float(np.percentile(warm, 95)))
            rss.append(result["peak_rss_mb"])
            ready.append(result["ready_s"])
            if "index_kind" in result:
                out["quotebot_index_kind"] = result["index_kind"]
        out[f"{name}_p50_ms"] = spread(p50s)
        out[f"{name}_p95_ms"] = spread(p95s)
        out[f"{name}_peak_rss_mb"] = spread(rss)
        out[f"{name}_ready_s"] = spread(ready)
    # LangChain is credited with its faster configuration (see bench.workers._torch_threads).
    if out["langchain_1thread_p50_ms"]["median"] < out["langchain_p50_ms"]["median"]:
        out["langchain_default_threads"] = {
            k: out[f"langchain_{k}"] for k in ("p50_ms", "p95_ms", "peak_rss_mb", "ready_s")
        }
        for k in ("p50_ms", "p95_ms", "peak_rss_mb", "ready_s"):
            out[f"langchain_{k}"] = out[f"langchain_1thread_{k}"]
        out["langchain_threads"] = "1 (faster here than torch's default)"
    else:
        out["langchain_threads"] = "torch default (faster here than 1 thread)"

    def ratio(a: str, b: str) -> float:
        return out[a]["median"] / out[b]["median"]

    out["ratios"] = {
        "warm_p50": ratio("quotebot_p50_ms", "langchain_p50_ms"),
        "warm_p95": ratio("quotebot_p95_ms", "langchain_p95_ms"),
        "cold": ratio("quotebot_cold_s", "langchain_cold_s"),
        "peak_rss": ratio("quotebot_peak_rss_mb", "langchain_peak_rss_mb"),
        "index_build": ratio("quotebot_index_s", "langchain_cold_s"),
    }
    return out


def main() -> None:
    workdir = ROOT / ".quotebot" / "bench"
    workdir.mkdir(parents=True, exist_ok=True)
    print(json.dumps(speed(workdir), indent=2))


if __name__ == "__main__":
    main()
