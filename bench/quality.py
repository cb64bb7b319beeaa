"""Quality on SQuAD v1.1 dev: quotebot against the peer pipelines, each article its own corpus.

Every pipeline sees the same articles and questions and is scored by
``quality.evaluate.ranking_metrics``, the function behind ``quotebot eval``; quotebot's
own row comes from ``quotebot eval --json`` itself, so the two always agree.

    python -m bench.quality --squad ../shared/squad/squad_v1.1_dev.json --articles 24:48
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import peers
from quality.evaluate import ranking_metrics
from quality.squad import article_arg, load_squad, squad_arg

DEPTH = 3  # quotes scored per question, as many as quotebot shows


def run_peer(
    pipeline: Any,
    squad: Path,
    articles: tuple[int, int],
    progress: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Index each article with ``pipeline``, rank its questions, score the quotes."""
    chosen = load_squad(squad)[articles[0] : articles[1]]
    ranked: list[list[str]] = []
    gold: list[tuple[str, ...]] = []
    started = time.perf_counter()
    for article in chosen:
        pipeline.index(article.contexts)
        questions = [q.question for q in article.questions]
        ranked.extend(pipeline.rank(questions, k=DEPTH))
        gold.extend(q.answers for q in article.questions)
    metrics: dict[str, Any] = ranking_metrics(ranked, gold)
    metrics["seconds"] = time.perf_counter() - started
    progress(f"  {pipeline.name}: hit@1 {metrics['hit@1']:.3f} in {metrics['seconds']:.0f} s")
    return metrics


def check_langchain_shortcut(pipeline: peers.LangChainRAG, squad: Path, article: int) -> bool:
    """Batch ranking returns what ``similarity_search`` returns, question by question."""
    chosen = load_squad(squad)[article]
    pipeline.index(chosen.contexts)
    questions = [q.question for q in chosen.questions[:5]]
    return pipeline.rank(questions, k=DEPTH) == [pipeline.rank_one(q, k=DEPTH) for q in questions]


def run_quotebot(squad: Path, articles: tuple[int, int], workdir: Path) -> dict[str, Any]:
    """``quotebot eval --json`` in its own process, exactly as a user runs it."""
    quotebot = Path(sys.executable).with_name("quotebot")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "QUOTEBOT_INDEX_DIR": str(workdir / "eval-index")}
    command = [str(quotebot), "eval", str(squad.resolve())]
    command += ["--articles", f"{articles[0]}:{articles[1]}", "--json"]
    for _attempt in range(2):  # once more if a signal from outside ended it
        started = time.perf_counter()
        done = subprocess.run(
            command, cwd=workdir, env=env, capture_output=True, text=True, check=False
        )
        if done.returncode >= 0:
            break
    if done.returncode != 0:
        raise RuntimeError(f"quotebot eval failed ({done.returncode}): {done.stderr[-2000:]}")
    metrics: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    metrics["seconds"] = time.perf_counter() - started
    return metrics


def quality(
    squad: Path,
    articles: tuple[int, int],
    workdir: Path,
    progress: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Rows of hit@1, hit@3, MRR and median first-quote length for every pipeline."""
    rows: dict[str, Any] = {}
    progress(f"Quality on articles {articles[0]}-{articles[1] - 1}")
    try:
        rows["quotebot"] = run_quotebot(squad, articles, workdir)
        progress(f"  quotebot: hit@1 {rows['quotebot']['hit@1']:.3f}")
    except (RuntimeError, ValueError, OSError) as exc:
        progress(f"  quotebot: not measured ({exc})")
        rows["quotebot"] = {"error": str(exc)}
    langchain = peers.LangChainRAG()
    shortcut_ok = check_langchain_shortcut(langchain, squad, articles[0])
    for pipeline in (langchain, peers.BM25Sentences(), peers.DenseSentences()):
        rows[pipeline.name] = run_peer(pipeline, squad, articles, progress)
        rows[pipeline.name]["detail"] = pipeline.detail
    return {"articles": list(articles), "rows": rows, "langchain_batch_check": shortcut_ok}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad", type=squad_arg, required=True)
    parser.add_argument("--articles", default="24:48", type=article_arg)
    parser.add_argument("--workdir", type=Path, default=Path(".quotebot/bench"))
    args = parser.parse_args()
    a, b = args.articles
    args.workdir.mkdir(parents=True, exist_ok=True)
    print(json.dumps(quality(args.squad, (a, b), args.workdir), indent=2))


if __name__ == "__main__":
    main()
