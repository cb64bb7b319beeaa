"""How many candidates the sentence reader should read: first-quote hit@1 per depth.

    python -m bench.read_depth ../shared/squad/squad_v1.1_dev.json --read 2 3 4

Serves each article of the range as its own corpus, as ``quotebot eval`` does,
and asks its questions as written with the shipped ranker reading each depth in
turn (nothing is refitted): hit@1, hit@3 and the answer rate over all of them,
and hit@1 over the quarter sharing the fewest words with their answer's
sentence. Run it on the tuning articles (the default 0:24) to choose
``make tune``'s ``--read``.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from bot.service import QuoteService
from index.embedder import BUNDLED_MODEL
from index.search import Searcher, default_ranker
from index.store import build_index
from quality.evaluate import (
    EvaluatedQuestion,
    ask_one,
    embedders,
    low_overlap_quarter,
    summary,
    word_overlap,
)
from quality.squad import article_arg, load_squad, squad_arg


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("squad", type=squad_arg, help="squad_v1.1_dev.json")
    parser.add_argument("--articles", default="0:24", type=article_arg, help="article range A:B")
    parser.add_argument("--read", type=int, nargs="+", default=[2, 3, 4])
    parser.add_argument("--cache", type=Path, default=Path(".quotebot/eval-cache"))
    args = parser.parse_args()
    a, b = args.articles

    ranker = default_ranker()
    asked: dict[int, list[EvaluatedQuestion]] = {d: [] for d in args.read}
    with embedders(BUNDLED_MODEL, args.cache) as (builder, asker):
        for article in load_squad(args.squad)[a:b]:
            index = build_index([article.document()], builder)
            overlaps = [
                word_overlap(q.question, article.contexts[q.paragraph], q.answers)
                for q in article.questions
            ]
            for depth in args.read:
                service = QuoteService(index, Searcher(index, asker, replace(ranker, read=depth)))
                for q, overlap in zip(article.questions, overlaps, strict=True):
                    one = ask_one(service, q.question, q.answers, "answerable")
                    asked[depth].append(replace(one, overlap=overlap))
            print(f"{article.title}: done", flush=True)
    for depth, found in asked.items():
        whole, low = summary(found), low_overlap_quarter(found)
        print(
            f"read {depth}: {whole['questions']} questions, hit@1 {whole['hit@1']:.4f}, "
            f"hit@3 {whole['hit@3']:.4f}, answered {whole['answer_rate']:.4f}; "
            f"lowest-overlap quarter ({low['questions']}) hit@1 {low['hit@1']:.4f}"
        )


if __name__ == "__main__":
    main()
