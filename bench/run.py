"""``make bench``: every benchmark in one run, written to ``bench/RESULTS.md`` and a chart.

    python -m bench.run --squad ../shared/squad/squad_v1.1_dev.json [--quick]

``--quick`` is a smoke run (two articles, fewer repeats, 10k and 60k vectors);
its results go to ``.quotebot/bench/`` instead of replacing the committed ones.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from pathlib import Path
from typing import Any

from bench import report
from bench.machine import machine, versions

ROOT = Path(__file__).resolve().parent.parent


def _load() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the quotebot benchmarks.")
    parser.add_argument("--squad", type=Path, required=True, help="SQuAD v1.1 dev JSON")
    parser.add_argument("--quick", action="store_true", help="a small smoke run")
    parser.add_argument(
        "--only", nargs="+", choices=["quality", "speed", "scale"], help="run only these sections"
    )
    parser.add_argument("--sizes", type=int, nargs="+", help="scale sizes (default 10k 100k 1M)")
    parser.add_argument(
        "--out", type=Path, help="results folder (default bench/, quick: .quotebot/bench/)"
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

    workdir = ROOT / ".quotebot" / "bench"
    workdir.mkdir(parents=True, exist_ok=True)
    out = args.out or (workdir if args.quick else ROOT / "bench")
    out.mkdir(parents=True, exist_ok=True)
    sections = args.only or ["quality", "speed", "scale"]
    sizes = args.sizes or ([10_000, 60_000] if args.quick else [10_000, 100_000, 1_000_000])
    articles = (24, 26) if args.quick else (24, 48)

    started = time.perf_counter()
    results: dict[str, Any] = {
        "command": "python -m bench.run " + shlex.join(sys.argv[1:] if argv is None else argv),
        "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": machine(),
        "versions": versions(),
        "load_start": _load(),
        "notes": [],
    }
    m = results["machine"]
    print(f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB; load {_load()}")
    print("Libraries: " + ", ".join(f"{k} {v}" for k, v in results["versions"].items()))

    if "quality" in sections:
        from bench.quality import quality

        results["quality"] = quality(args.squad, articles, workdir)
    if "speed" in sections:
        from bench.speed import speed

        results["speed"] = speed(
            workdir,
            repeats=2 if args.quick else 3,
            cold_repeats=3 if args.quick else 5,
            serve_questions=100 if args.quick else 400,
        )
    if "scale" in sections:
        from bench.scale import scale

        uniform = [] if args.quick or args.sizes else [100_000]
        results["scale"] = scale(sizes, workdir, args.squad, uniform_sizes=uniform)

    results["load_end"] = _load()
    results["seconds"] = time.perf_counter() - started
    if args.quick:
        results["notes"].append("Quick smoke run: 2 articles, fewer repeats; not for quoting.")
    results["notes"] += report.STANDING_NOTES
    (out / "results.json").write_text(json.dumps(results, indent=2))
    chart = out / "results.png"
    report.write_chart(results, chart)
    report.write_results(results, out / "RESULTS.md", chart)
    print(f"Wrote {out / 'RESULTS.md'} and {chart} in {results['seconds'] / 60:.1f} min")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
