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
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np

from bot.evaluate import CachedEmbedder, hit_rank, load_squad, word_overlap
from bot.service import QuoteService
from index.embedder import BUNDLED_MODEL, OnnxEmbedder, SentenceTransformerEmbedder
from index.search import Searcher, default_ranker
from index.store import build_index


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("squad", type=Path, help="squad_v1.1_dev.json")
    parser.add_argument("--articles", default="0:24", help="article range A:B")
    parser.add_argument("--read", type=int, nargs="+", default=[2, 3, 4])
    parser.add_argument("--cache", type=Path, default=Path(".quotebot/eval-cache"))
    args = parser.parse_args()
    a, b = (int(x) for x in args.articles.split(":"))

    model = SentenceTransformerEmbedder(BUNDLED_MODEL)
    builder = CachedEmbedder(model, args.cache)
    ranker = default_ranker()
    rows: dict[int, list[tuple[bool, bool, bool, float]]] = {d: [] for d in args.read}
    with tempfile.TemporaryDirectory() as tmp:
        model.export_onnx(Path(tmp))
        asker = OnnxEmbedder(Path(tmp))  # questions embedded as the bot embeds them
        for article in load_squad(args.squad)[a:b]:
            index = build_index([article.document()], builder)
            for depth in args.read:
                service = QuoteService(index, Searcher(index, asker, replace(ranker, read=depth)))
                for q in article.questions:
                    answer = service.ask(q.question)
                    shown = answer.closest if answer.abstained else answer.quotes
                    rank = hit_rank([s.text for s in shown], q.answers)
                    overlap = word_overlap(q.question, article.contexts[q.paragraph], q.answers)
                    rows[depth].append(
                        (rank == 1, rank is not None and rank <= 3, not answer.abstained, overlap)
                    )
            print(f"{article.title}: done", flush=True)
    for depth, found in rows.items():
        x = np.array(found, dtype=float)
        low = x[x[:, 3] <= np.quantile(x[:, 3], 0.25)]
        print(
            f"read {depth}: {len(x)} questions, hit@1 {x[:, 0].mean():.4f}, "
            f"hit@3 {x[:, 1].mean():.4f}, answered {x[:, 2].mean():.4f}; "
            f"lowest-overlap quarter ({len(low)}) hit@1 {low[:, 0].mean():.4f}"
        )


if __name__ == "__main__":
    main()
