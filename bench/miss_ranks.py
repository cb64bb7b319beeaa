"""Where the answer's sentence ranks, before and after the sentence reader.

    python -m bench.miss_ranks ../shared/squad/squad_v1.1_dev.json

Serves each article of the range as its own corpus, as ``quotebot eval`` does,
asks its questions as written, and finds the best-placed sentence holding a gold
answer: among the search candidates at all, in the ranker's order before the
reader re-orders the best few, and in the final order. Over all questions and
over the quarter sharing the fewest words with their answer's sentence, that
tells whether a miss is retrieval's (not a candidate), the ranker's (beyond
what the reader reads) or the reader's (read but put below another). Tuning
articles only: it guides what to change.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.embedder import BUNDLED_MODEL
from index.search import Searcher
from index.store import build_index
from quality.evaluate import embedders, word_overlap
from quality.squad import article_arg, load_squad, squad_arg


@dataclass(frozen=True)
class Placed:
    overlap: float  # share of the question's words in its answer's sentence
    candidate: bool  # an answer's sentence is among the search candidates
    before: int | None  # its rank in the ranker's order, before the reader (0: first)
    after: int | None  # its rank in the final order


def _first(rows: Sequence[int], texts: Sequence[str], answers: Sequence[str]) -> int | None:
    """Position in ``rows`` of the first sentence holding an answer, or None."""
    return next((i for i, r in enumerate(rows) if any(a in texts[r] for a in answers)), None)


def placed(searcher: Searcher, question: str, answers: Sequence[str], overlap: float) -> Placed:
    texts = searcher.index.texts
    result = searcher.search(question, k=len(texts))
    before = result.candidates[np.argsort(-searcher.ranker.score(result.features), kind="stable")]
    return Placed(
        overlap=overlap,
        candidate=_first([int(r) for r in result.candidates], texts, answers) is not None,
        before=_first([int(r) for r in before], texts, answers),
        after=_first([h.row for h in result.hits], texts, answers),
    )


def table(found: list[Placed], read: int) -> dict[str, float]:
    def share(test: Callable[[Placed], bool]) -> float:
        return round(sum(1 for p in found if test(p)) / max(1, len(found)), 3)

    return {
        "questions": len(found),
        "first": share(lambda p: p.after == 0),
        "first_before_reader": share(lambda p: p.before == 0),
        "read_by_reader": share(lambda p: p.before is not None and p.before < read),
        "beyond_read_up_to_10": share(lambda p: p.before is not None and read <= p.before < 10),
        "among_candidates": share(lambda p: p.candidate),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("squad", type=squad_arg, help="squad_v1.1_dev.json")
    parser.add_argument(
        "--articles", default="0:24", type=article_arg, help="tuning article range A:B"
    )
    parser.add_argument("--cache", type=Path, default=Path(".quotebot/eval-cache"))
    args = parser.parse_args()
    a, b = args.articles
    if b > 24:
        parser.error("look only at the tuning split (articles 0-23)")

    found: list[Placed] = []
    read = 0
    with embedders(BUNDLED_MODEL, args.cache) as (builder, asker):
        for article in load_squad(args.squad)[a:b]:
            index = build_index([article.document()], builder)
            searcher = Searcher(index, asker)
            read = searcher.ranker.read
            for q in article.questions:
                overlap = word_overlap(q.question, article.contexts[q.paragraph], q.answers)
                found.append(placed(searcher, q.question, q.answers, overlap))
            print(f"{article.title}: done", flush=True)
    cut = float(np.percentile([p.overlap for p in found], 25))
    print("all:", table(found, read))
    print("lowest-overlap quarter:", table([p for p in found if p.overlap <= cut], read))


if __name__ == "__main__":
    main()
