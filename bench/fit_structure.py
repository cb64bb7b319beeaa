"""Fit the second ranking stage (index/structure.json) on a structured questions file.

    PYTHONPATH=. python -m bench.fit_structure bench/data/structured/questions.jsonl \\
        --corpus bench/data/structured/corpus --split fit [--write]

Indexes the corpus with the bundled model, asks every answerable question of the
split, and for each candidate the search ranked records the structure features
(index.structure.FEATURES) and whether the service's quote for it holds the gold
answer. The weights maximise the likelihood of a right candidate under a softmax
over each question's candidates (L2-regularised), with the main ranker's score
kept at weight 1 so the reader and the abstention keep their units. Also prints
upper bounds: how often a right quote is among the candidates at all, and how
often the best-matching FAQ entry is the one holding the answer.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from index.structure import FEATURES, STRUCTURE_FILE, Weights, default_weights

REGULARISE = 0.001


def collect(
    questions_path: Path, corpus: Path, split: str | None
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(features, labels) per answerable question whose right quote is among the candidates."""
    from bot.app import service_for
    from bot.config import Settings
    from index.build import build
    from quality.documents import holds, load_questions

    questions = [q for q in load_questions(questions_path, split) if q.answer is not None]
    out = []
    within = entry_top = entries = 0
    with tempfile.TemporaryDirectory(prefix="quotebot-fit-") as tmp:
        settings = Settings(corpus=corpus, index_dir=Path(tmp))
        index = build(settings.index_spec())
        service = service_for(index, settings)
        searcher = service.searcher
        structure = searcher.structure
        assert structure is not None, "the corpus has no headings"
        for q in questions:
            _, result = service.explain(q.question)
            labels = np.array(
                [
                    any(
                        holds(quote.text, quote.document, q)
                        for quote in service._quotes([(int(row), 0.0)])
                    )
                    for row in result.candidates
                ],
                dtype=bool,
            )
            if labels.any():
                within += 1
                out.append((result.structure, labels))
            vector = searcher.embedder.encode([searcher.prepare(q.question).text])[0]
            best = structure.entries(structure.vectors @ vector)
            right = {
                int(structure.entry[structure.own[int(r)]])
                for r in result.candidates[labels]
                if structure.own[int(r)] >= 0
            }
            if right - {-1}:
                entries += 1
                entry_top += bool(len(best) and int(best[0]) in right)
        index.release()
    n = max(1, len(questions))
    print(f"answerable questions: {len(questions)}")
    print(f"a right quote among the candidates: {within / n:.3f}")
    if entries:
        print(f"best FAQ entry is the right one: {entry_top}/{entries} = {entry_top / entries:.3f}")
    return out


def loss(w: np.ndarray, data: list[tuple[np.ndarray, np.ndarray]]) -> tuple[float, np.ndarray]:
    full = np.concatenate([[1.0], w])
    total, grad = 0.0, np.zeros_like(full)
    for x, y in data:
        s = x @ full
        s -= s.max()
        p = np.exp(s)
        p /= p.sum()
        right = p[y].sum()
        total -= np.log(max(right, 1e-12))
        # d(-log sum_{right} p)/ds = p - p*[y]/right
        q = np.where(y, p / max(right, 1e-12), 0.0)
        grad += (p - q) @ x
    total = total / len(data) + REGULARISE * float(w @ w)
    return total, grad[1:] / len(data) + 2 * REGULARISE * w


def hits(w: np.ndarray, data: list[tuple[np.ndarray, np.ndarray]]) -> tuple[float, float]:
    full = np.concatenate([[1.0], w])
    at1 = at3 = 0
    for x, y in data:
        order = np.argsort(-(x @ full))
        at1 += bool(y[order[0]])
        at3 += bool(y[order[:3]].any())
    return at1 / len(data), at3 / len(data)


def fit(data: list[tuple[np.ndarray, np.ndarray]]) -> Weights:
    from scipy.optimize import minimize

    start = default_weights().weights[1:]
    # Matching a FAQ entry's question is evidence for its answer, never against it: the
    # fit split has few FAQ entries, and this keeps the fit from learning the opposite.
    evidence = {"entry", "entry_best", "entry_gap"}
    bounds = [(0.0, None) if f in evidence else (None, None) for f in FEATURES[1:]]
    found = minimize(loss, start, args=(data,), jac=True, method="L-BFGS-B", bounds=bounds)
    return Weights(np.concatenate([[1.0], found.x]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("questions", type=Path)
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--split", default="fit")
    parser.add_argument("--write", action="store_true", help=f"write {STRUCTURE_FILE.name}")
    parser.add_argument("--cache", type=Path, help="keep the collected features here (.npz)")
    args = parser.parse_args(argv)
    if args.cache and args.cache.exists():
        saved = np.load(args.cache)
        data = [(saved[f"x{i}"], saved[f"y{i}"]) for i in range(len(saved.files) // 2)]
    else:
        data = collect(args.questions, args.corpus, args.split or None)
        if args.cache:
            arrays = {f"x{i}": x for i, (x, _) in enumerate(data)}
            arrays.update({f"y{i}": y for i, (_, y) in enumerate(data)})
            np.savez(args.cache, **arrays)
    if not data:
        print("no question has a right quote among its candidates", file=sys.stderr)
        return 1
    before = default_weights()
    at1, at3 = hits(before.weights[1:], data)
    print(f"within the candidates, hit@1 / hit@3 before the fit: {at1:.3f} / {at3:.3f}")
    weights = fit(data)
    at1, at3 = hits(weights.weights[1:], data)
    print(f"after the fit: {at1:.3f} / {at3:.3f}")
    result: dict[str, Any] = weights.to_dict()
    result["fitted_by"] = (
        f"python -m bench.fit_structure {args.questions} --corpus {args.corpus} "
        f"--split {args.split} --write"
    )
    result["questions"] = len(data)
    print(json.dumps(result, indent=2))
    if args.write:
        STRUCTURE_FILE.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {STRUCTURE_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
