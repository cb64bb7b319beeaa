"""Warm latency against an earlier commit, both measured in one session on this machine.

    python -m bench.baseline 55894f0 --squad ../shared/squad/squad_v1.1_dev.json

Targets such as "a warm answer takes under twice as long as before the readers"
compare two versions of quotebot; figures taken on different days or machines
do not. This checks the earlier commit out into ``.quotebot/baseline/<commit>``
(a git worktree), gives it a virtualenv with its own dependencies, held to this
checkout's ``constraints.txt`` so both run the same library versions where they
share them, and runs each checkout's own ``python -m bench.run --only speed``
in turn, ``--rounds`` times each, alternating so that a slow spell of the
machine falls on both. It prints the medians over the rounds of each one's
warm p50 and p95 and of LangChain's p50 in the same runs, and their ratios,
and writes them to ``.quotebot/bench/baseline.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WORKDIR = ROOT / ".quotebot" / "bench"
MEASURES = ("quotebot_p50_ms", "quotebot_p95_ms", "langchain_p50_ms", "quotebot_cold_s")


def _run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:4])} failed ({done.returncode}): {done.stderr[-800:]}")
    return done.stdout


def checkout(commit: str) -> tuple[Path, Path]:
    """The worktree of ``commit`` and its Python, made on first use."""
    full = _run(["git", "rev-parse", "--verify", f"{commit}^{{commit}}"], ROOT).strip()
    tree = ROOT / ".quotebot" / "baseline" / full[:12]
    python = tree / ".venv" / "bin" / "python"
    if not tree.exists():
        print(f"Checking out {full[:12]} into {tree}", flush=True)
        _run(["git", "worktree", "add", "--detach", str(tree), full], ROOT)
    if not (tree / ".venv" / ".installed-baseline").exists():
        print("Installing its dependencies (a few minutes)", flush=True)
        _run([sys.executable, "-m", "venv", str(tree / ".venv")], tree)
        pip = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
        # The CPU build of torch first, so nothing later pulls a CUDA build.
        _run([*pip, "torch==2.13.0"], tree)
        _run([*pip, "-c", str(ROOT / "constraints.txt"), "-e", ".[dev,bench]"], tree)
        (tree / ".venv" / ".installed-baseline").touch()
    return tree, python


def speed_run(python: Path, cwd: Path, squad: Path, out: Path) -> dict[str, float]:
    """One ``bench.run --only speed`` of the checkout in ``cwd``: the medians it reports."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    cmd = [str(python), "-m", "bench.run", "--squad", str(squad), "--only", "speed"]
    _run([*cmd, "--out", str(out)], cwd, env)
    speed = json.loads((out / "results.json").read_text())["speed"]
    return {m: float(speed[m]["median"]) for m in MEASURES}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("commit", help="the earlier commit to measure against")
    parser.add_argument("--squad", type=Path, required=True, help="SQuAD v1.1 dev JSON")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each checkout")
    args = parser.parse_args(argv)
    squad = args.squad.resolve()
    tree, python = checkout(args.commit)
    runs: dict[str, list[dict[str, float]]] = {"this": [], "baseline": []}
    for i in range(args.rounds):
        for name, exe, cwd in (("this", Path(sys.executable), ROOT), ("baseline", python, tree)):
            print(f"Round {i + 1}/{args.rounds}: {name}", flush=True)
            runs[name].append(speed_run(exe, cwd, squad, WORKDIR / f"baseline-{name}-{i}"))
    medians = {
        name: {m: statistics.median(r[m] for r in rows) for m in MEASURES}
        for name, rows in runs.items()
    }
    this, base = medians["this"], medians["baseline"]
    result: dict[str, Any] = {
        "baseline": tree.name,
        "rounds": args.rounds,
        "runs": runs,
        "medians": medians,
        "p50_ratio": this["quotebot_p50_ms"] / base["quotebot_p50_ms"],
        "p95_ratio": this["quotebot_p95_ms"] / base["quotebot_p95_ms"],
    }
    WORKDIR.mkdir(parents=True, exist_ok=True)
    (WORKDIR / "baseline.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"{'':10} {'p50 ms':>8} {'p95 ms':>8} {'LangChain p50':>14} {'cold s':>7}")
    for name, m in medians.items():
        print(
            f"{name:10} {m['quotebot_p50_ms']:8.1f} {m['quotebot_p95_ms']:8.1f}"
            f" {m['langchain_p50_ms']:14.1f} {m['quotebot_cold_s']:7.2f}"
        )
    print(
        f"this / baseline {tree.name}: p50 {result['p50_ratio']:.2f}x,"
        f" p95 {result['p95_ratio']:.2f}x ({args.rounds} rounds each)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
