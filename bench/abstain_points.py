"""How many unanswerable questions the abstention flags at a given answer rate.

    python -m bench.abstain_points ../shared/squad/squad_v1.1_dev.json \\
        --v2 ../shared/squad/squad_v2.0_dev.json

Asks every tuning question as ``quotebot tune`` does (same ranker, reader and
abstention features; about 15 minutes, or seconds with ``--features`` kept from
an earlier run), then fits abstention models on some articles and judges them
on the others (``--folds`` folds by article). For each share of the whole
article's own questions answered, it reports the share of SQuAD v2.0's
unanswerable questions flagged and of other articles' questions declined, for:

* the shipped model, a logistic regression fitted on other articles' questions;
* a logistic regression with tanh units (``--units``) that also takes
  ``--share`` of its negatives' weight from the unanswerable questions.

Tuning articles only: it tells which operating points the features allow.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import numpy as np

from index.embedder import BUNDLED_MODEL
from index.logistic import adam_step, fit_logistic, sigmoid
from quality.evaluate import embedders
from quality.squad import article_arg, squad_arg
from quality.tune import abstain_weights, rank

Model = Callable[[np.ndarray], np.ndarray]  # features -> P(answerable)


def fit_linear(x: np.ndarray, y: np.ndarray, weight: np.ndarray) -> Model:
    w, b = fit_logistic(x, y, weight)
    return lambda rows: sigmoid(rows @ w + b)


def fit_units(
    x: np.ndarray, y: np.ndarray, weight: np.ndarray, units: int, steps: int = 3000
) -> Model:
    """A weighted logistic regression plus ``units`` tanh units (Adam, full batch)."""
    mean, std = x.mean(0), x.std(0) + 1e-9
    xs = (x - mean) / std
    weight = weight / weight.sum()
    rng = np.random.default_rng(0)
    p = {
        "w": np.zeros(x.shape[1]),
        "c": np.zeros(1),
        "h": rng.normal(0, 0.3, (x.shape[1], units)),
        "b": np.zeros(units),
        "v": rng.normal(0, 0.3, units),
    }
    moments = {k: (np.zeros_like(v), np.zeros_like(v)) for k, v in p.items()}
    l2 = 1e-3
    for t in range(1, steps + 1):
        act = np.tanh(xs @ p["h"] + p["b"])
        g = (sigmoid(xs @ p["w"] + p["c"][0] + act @ p["v"]) - y) * weight
        back = np.outer(g, p["v"]) * (1 - act**2)
        grads = {
            "w": xs.T @ g + l2 * p["w"],
            "c": np.array([g.sum()]),
            "h": xs.T @ back + l2 * p["h"],
            "b": back.sum(0),
            "v": act.T @ g + l2 * p["v"],
        }
        adam_step(p, grads, moments, t)

    def predict(rows: np.ndarray) -> np.ndarray:
        r = (rows - mean) / std
        return sigmoid(r @ p["w"] + p["c"][0] + np.tanh(r @ p["h"] + p["b"]) @ p["v"])

    return predict


def held_out(
    x: np.ndarray,
    kinds: np.ndarray,
    articles: np.ndarray,
    folds: int,
    share: float,
    fit: Callable[[np.ndarray, np.ndarray, np.ndarray], Model],
) -> np.ndarray:
    """Each question's P(answerable) from a model fitted without its article."""
    inside = np.isin(kinds, ("answerable", "noisy")).astype(float)
    weight = abstain_weights(kinds, share)
    order = {a: i for i, a in enumerate(sorted(set(articles.tolist())))}
    fold = np.array([order[a] * folds // len(order) for a in articles.tolist()])
    out = np.zeros(len(kinds))
    for f in range(folds):
        train = (fold != f) & (weight > 0)
        out[fold == f] = fit(x[train], inside[train], weight[train])(x[fold == f])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("squad", type=squad_arg, help="squad_v1.1_dev.json")
    parser.add_argument("--v2", type=squad_arg, required=True, help="squad_v2.0_dev.json")
    parser.add_argument(
        "--articles", default="0:24", type=article_arg, help="tuning article range A:B"
    )
    parser.add_argument("--folds", type=int, default=4, help="folds by article")
    parser.add_argument("--rates", type=float, nargs="+", default=[0.98, 0.95, 0.90])
    parser.add_argument("--units", type=int, default=16)
    parser.add_argument("--share", type=float, default=0.05)
    parser.add_argument(
        "--features", type=Path, help="an .npz to keep the features in (reused if present)"
    )
    parser.add_argument("--cache", type=Path, default=Path(".quotebot/tune-cache"))
    args = parser.parse_args()
    a, b = args.articles
    if b > 24:
        parser.error("look only at the tuning split (articles 0-23)")
    if not 2 <= args.folds <= b - a:
        parser.error(f"--folds takes 2 to {b - a} (one article at least in each)")
    if not 0 <= args.share <= 0.5:
        parser.error("--share takes 0 to 0.5 (taken from other articles' questions)")

    if args.features and args.features.exists():
        try:
            kept = np.load(args.features)
            x, kinds, whole, articles = (kept[k] for k in ("x", "kinds", "whole", "articles"))
            span = [int(n) for n in kept["span"]]
        except (OSError, ValueError, KeyError) as exc:
            parser.error(f"{args.features} holds no features of this script ({type(exc).__name__})")
        if span != [a, b]:
            parser.error(f"{args.features} holds articles {span[0]}:{span[1]}, not {a}:{b}")
    else:
        # Questions embedded by the bot's 8-bit export, as `quotebot tune` fits them.
        with embedders(BUNDLED_MODEL, args.cache) as (builder, asker):
            ranking = rank(
                args.squad, (a, b), builder, query_embedder=asker, v2_path=args.v2, progress=print
            )
        x = ranking.x
        kinds = np.array([q.kind for q in ranking.asked])
        whole = np.array([q.whole for q in ranking.asked])
        articles = np.array([q.article for q in ranking.asked])
        if args.features:
            np.savez(args.features, x=x, kinds=kinds, whole=whole, articles=articles, span=[a, b])

    models: dict[str, tuple[float, Callable[..., Model]]] = {
        "logistic, other articles' questions only (shipped)": (0.0, fit_linear),
        f"{args.units} tanh units, unanswerable share {args.share}": (
            args.share,
            lambda x, y, w: fit_units(x, y, w, args.units),
        ),
    }
    own = (kinds == "answerable") & whole
    for name, (share, fit) in models.items():
        p = held_out(x, kinds, articles, args.folds, share, fit)
        print(name)
        for rate in args.rates:
            answered = p >= np.quantile(p[own], 1 - rate)

            def declined(mask: np.ndarray, answered: np.ndarray = answered) -> str:
                return f"{1 - answered[mask].mean():.3f} of {int(mask.sum())}"

            print(
                f"  answering {rate:.2f} of {int(own.sum())}:"
                f" unanswerable flagged {declined((kinds == 'unanswerable') & whole)},"
                f" other articles' declined {declined((kinds == 'off_article') & whole)}"
                f" (stretches {declined((kinds == 'off_article') & ~whole)})",
                flush=True,
            )


if __name__ == "__main__":
    main()
