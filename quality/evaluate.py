"""Evaluation on SQuAD-format files: each article is its own corpus.

For every article the bot serves that article alone; each of its questions is
asked, and the quotes are scored against the gold answer strings:

* ``hit@1`` / ``hit@3``: a gold answer string occurs in the first quote / in
  one of the first three quotes (the quotes shown to the user; when the bot
  abstains these are its closest matches);
* ``mrr``: mean reciprocal rank of the first quote holding an answer (0 past 3);
* ``median_first_quote_chars``: median length of the first quote;
* ``in_article_answer_rate``: share of the article's own questions answered
  rather than abstained on;
* ``off_article_abstention``: share of questions taken from *other* articles
  on which the bot says the corpus does not answer;
* ``latency_ms_p50`` / ``latency_ms_p95``: time of ``QuoteService.ask``, question
  embedding included;
* ``highlight``: the answer phrase marked in the first quote. ``precision``: share
  of marks whose phrase has token F1 ≥ 0.5 with a gold answer; ``coverage``:
  share of the questions whose first quote holds an answer that get a mark.
"""

from __future__ import annotations

import hashlib
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from bot.errors import CorpusError, QuotebotError
from index.highlight import FACT_KINDS, answer_kind
from quality.highlight import best_f1
from quality.squad import (
    SquadArticle,
    chat_noise,
    load_squad,
    load_squad_v2,
    off_article_questions,
    paragraph_groups,
)

OFF_ARTICLE_PER_ARTICLE = 20


def hit_rank(quotes: Sequence[str], answers: Sequence[str], depth: int = 3) -> int | None:
    """1-based rank of the first quote containing a gold answer, within ``depth``."""
    for rank, quote in enumerate(quotes[:depth], start=1):
        if any(a in quote for a in answers):
            return rank
    return None


def ranking_metrics(
    ranked: Sequence[Sequence[str]], gold: Sequence[Sequence[str]]
) -> dict[str, float]:
    """hit@1, hit@3, MRR (over 3) and median first-quote length of ranked quote lists."""
    ranks = [hit_rank(r, g) for r, g in zip(ranked, gold, strict=True)]
    n = max(1, len(ranks))
    firsts = [len(r[0]) for r in ranked if r]
    return {
        "hit@1": sum(r == 1 for r in ranks) / n,
        "hit@3": sum(r is not None for r in ranks) / n,
        "mrr": sum(1.0 / r for r in ranks if r) / n,
        "median_first_quote_chars": float(statistics.median(firsts)) if firsts else 0.0,
        "questions": len(ranks),
    }


class CachedEmbedder:
    """Wraps an embedder with a cache, so repeated evaluations skip re-embedding.

    Each list of texts is kept on disk; each text is also kept in memory for the
    run, so a paragraph served alone reuses the vectors of its article.
    """

    def __init__(self, inner: Any, folder: Path) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.folder = folder
        self._memory: dict[str, np.ndarray] = {}
        folder.mkdir(parents=True, exist_ok=True)

    def encode(
        self, texts: Sequence[str], *, progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        key = hashlib.sha256(("\0".join([self.name, *texts])).encode()).hexdigest()[:24]
        path = self.folder / f"{key}.npy"
        if path.exists():
            vectors = np.load(path)
            self._memory.update(zip(texts, vectors, strict=True))
            return vectors
        missing = [t for t in dict.fromkeys(texts) if t not in self._memory]
        if missing:
            found = self.inner.encode(missing, progress=progress)
            self._memory.update(zip(missing, found, strict=True))
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = np.stack([self._memory[t] for t in texts])
        np.save(path, vectors)
        return vectors


def _percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else 0.0


@dataclass(frozen=True)
class EvaluatedQuestion:
    """One question put to the bot during an evaluation, and how it went."""

    group: str  # answerable, off_article, unanswerable, chat_noise, one_paragraph, ...
    answered: bool
    confidence: float
    rank: int | None  # 1-based rank of the first shown quote holding a gold answer
    first_chars: int = 0
    overlap: float = 1.0  # share of the question's words found in the answer's sentence
    latency_ms: float = 0.0
    marked: bool = False  # the first quote has its answer phrase marked
    mark_right: bool = False  # … and the phrase has token F1 >= 0.5 with a gold answer
    fact: bool = False  # the question asks for a short fact (who, when, how many …)
    read: int = 0  # candidates the sentence reader read for it


def word_overlap(question: str, context: str, answers: Sequence[str]) -> float:
    """Share of the question's content words found in the sentence(s) holding an answer."""
    from index.passages import sentence_spans
    from index.text import stems

    q = set(stems(question))
    if not q:
        return 1.0
    best = 0.0
    for start, end in sentence_spans(context):
        sentence = context[start:end]
        if any(a in sentence for a in answers):
            best = max(best, len(q & set(stems(sentence))) / len(q))
    return best


def ask_one(service: Any, question: str, answers: Sequence[str], group: str) -> EvaluatedQuestion:
    """Ask ``service`` one question and score what it shows."""
    t0 = time.perf_counter()
    answer, result = service.explain(question)
    latency = (time.perf_counter() - t0) * 1000
    shown = answer.closest if answer.abstained else answer.quotes
    texts = [q.text for q in shown]
    mark = shown[0].highlight if shown else None
    phrase = shown[0].text[mark[0] - shown[0].start : mark[1] - shown[0].start] if mark else ""
    return EvaluatedQuestion(
        group=group,
        answered=not answer.abstained,
        confidence=answer.confidence,
        rank=hit_rank(texts, answers) if answers else None,
        first_chars=len(texts[0]) if texts else 0,
        latency_ms=latency,
        marked=mark is not None,
        mark_right=mark is not None and best_f1(phrase, answers) >= 0.5,
        fact=answer_kind(question) in FACT_KINDS,
        read=result.candidates_read,
    )


def summary(asked: Sequence[EvaluatedQuestion]) -> dict[str, Any]:
    """hit@1, hit@3, MRR, median first quote and answer rate of ``asked``."""
    n = max(1, len(asked))
    firsts = [a.first_chars for a in asked if a.first_chars]
    return {
        "questions": len(asked),
        "hit@1": sum(a.rank == 1 for a in asked) / n,
        "hit@3": sum(a.rank is not None for a in asked) / n,
        "mrr": sum(1.0 / a.rank for a in asked if a.rank) / n,
        "median_first_quote_chars": float(statistics.median(firsts)) if firsts else 0.0,
        "answer_rate": sum(a.answered for a in asked) / n,
    }


def calibration_error(
    conf: np.ndarray, right: np.ndarray, bins: int = 10
) -> tuple[float, list[dict[str, Any]]]:
    """Expected calibration error over ``bins`` equal-width bins, and the bins themselves."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1]), 0, bins - 1)
    ece = 0.0
    table = []
    for b in range(bins):
        mask = which == b
        if not mask.any():
            continue
        gap = abs(float(conf[mask].mean()) - float(right[mask].mean()))
        ece += gap * mask.sum() / max(1, len(conf))
        table.append(
            {
                "bin": f"{edges[b]:.1f}-{edges[b + 1]:.1f}",
                "questions": int(mask.sum()),
                "mean_confidence": round(float(conf[mask].mean()), 4),
                "first_quote_right": round(float(right[mask].mean()), 4),
            }
        )
    return float(ece), table


def calibration(asked: Sequence[EvaluatedQuestion], bins: int = 10) -> dict[str, Any]:
    """Expected calibration error of ``confidence`` as P(first quote holds the answer).

    Also the risk-coverage curve: answering only above each confidence level,
    the share of questions answered and the share of those whose first quote
    holds the answer.
    """
    conf = np.array([a.confidence for a in asked], dtype=np.float64)
    right = np.array([a.rank == 1 for a in asked], dtype=np.float64)
    ece, table = calibration_error(conf, right, bins)
    order = np.argsort(-conf, kind="stable")
    curve = []
    for coverage in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0):
        top = order[: max(1, round(coverage * len(order)))]
        curve.append(
            {
                "coverage": coverage,
                "min_confidence": round(float(conf[top].min()), 4),
                "precision": round(float(right[top].mean()), 4),
            }
        )
    answered = [a for a in asked if a.answered]
    return {
        "questions": len(asked),
        "by_group": {g: sum(a.group == g for a in asked) for g in sorted({a.group for a in asked})},
        "ece": ece,
        "bins": table,
        "risk_coverage": curve,
        "answered_share": len(answered) / max(1, len(asked)),
        "answered_precision": sum(a.rank == 1 for a in answered) / max(1, len(answered)),
    }


def highlight_metrics(asked: Sequence[EvaluatedQuestion]) -> dict[str, Any]:
    """Precision and coverage of the marked answer phrase, overall and on short-fact questions."""

    def figures(group: Sequence[EvaluatedQuestion]) -> dict[str, Any]:
        marked = [a for a in group if a.marked]
        first_right = [a for a in group if a.rank == 1]
        covered = [a for a in first_right if a.marked]
        return {
            "questions": len(group),
            "marked": len(marked),
            "marked_right": sum(a.mark_right for a in marked),
            "precision": sum(a.mark_right for a in marked) / max(1, len(marked)),
            "first_quote_right": len(first_right),
            "first_quote_right_marked": len(covered),
            "coverage": len(covered) / max(1, len(first_right)),
        }

    return {**figures(asked), "short_fact_questions": figures([a for a in asked if a.fact])}


@contextmanager
def embedders(model_name: str, cache: Path) -> Iterator[tuple[CachedEmbedder, Any]]:
    """The sentence embedder and the question embedder of an evaluation.

    Sentence embeddings are kept between runs in ``cache``; questions are embedded
    by the ONNX export each time, as the bot does, so latency figures are real (by
    the model itself where it cannot be exported).
    """
    from index.embedder import OnnxEmbedder, SentenceTransformerEmbedder

    model = SentenceTransformerEmbedder(model_name)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            model.export_onnx(Path(tmp))
            asker: Any = OnnxEmbedder(Path(tmp))
        except QuotebotError:
            asker = model
        yield CachedEmbedder(model, cache), asker


def evaluate(
    path: Path | str,
    articles: tuple[int, int] = (24, 48),
    *,
    v2_path: Path | str | None = None,
    build_embedder: Any = None,
    query_embedder: Any = None,
    ranker: Any = None,
    seed: int = 0,
    small_corpora: bool = True,
    min_confidence: float = 0.0,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Score quotebot on ``articles[0]:articles[1]`` of a SQuAD v1.1 file.

    Each article is served as its own corpus. Besides the original questions
    this asks them again with chat-style noise, asks questions from other
    articles (which must be declined), reports the lowest word-overlap quarter
    separately, serves one- and three-paragraph corpora, and, given the v2.0
    dev file, asks its unanswerable questions on the same titles.
    """
    from bot.service import QuoteService
    from index.search import Searcher
    from index.store import build_index

    chosen = load_squad(path)[articles[0] : articles[1]]
    if not chosen:
        raise CorpusError(f"No articles in range {articles[0]}:{articles[1]} of {path}.")
    v2 = load_squad_v2(v2_path) if v2_path else {}
    rng = random.Random(seed)

    def serve(article: SquadArticle) -> Any:
        index = build_index([article.document()], build_embedder)
        return QuoteService(
            index, Searcher(index, query_embedder, ranker), min_confidence=min_confidence
        )

    asked: list[EvaluatedQuestion] = []
    for i, article in enumerate(chosen):
        if progress:
            progress(f"article {articles[0] + i}: {article.title}")
        service = serve(article)
        for q in article.questions:
            a = ask_one(service, q.question, q.answers, "answerable")
            overlap = word_overlap(q.question, article.contexts[q.paragraph], q.answers)
            asked.append(replace(a, overlap=overlap))
            asked.append(ask_one(service, chat_noise(q.question, rng), q.answers, "chat_noise"))
        for question in off_article_questions(chosen, i, OFF_ARTICLE_PER_ARTICLE, seed):
            asked.append(ask_one(service, question, (), "off_article"))
        if article.title in v2:
            v2_article, impossible = v2[article.title]
            v2_service = serve(v2_article)
            for q in v2_article.questions:
                asked.append(ask_one(v2_service, q.question, q.answers, "v2_answerable"))
            for question in impossible:
                asked.append(ask_one(v2_service, question, (), "unanswerable"))
        if small_corpora:
            for size, group in ((1, "one_paragraph"), (3, "three_paragraphs")):
                for j, part in enumerate(paragraph_groups(article, size)):
                    part_service = serve(part)
                    for q in part.questions:
                        asked.append(ask_one(part_service, q.question, q.answers, group))
                    off = off_article_questions(chosen, i, 1, seed * 7919 + j)
                    for question in off:
                        asked.append(ask_one(part_service, question, (), group + "_off"))
    metrics = report(asked, articles)
    if min_confidence:
        metrics["min_confidence"] = min_confidence  # these figures hold at that setting
    return metrics


def low_overlap_quarter(asked: Sequence[EvaluatedQuestion]) -> dict[str, Any]:
    """:func:`summary` of the quarter of ``asked`` sharing the fewest words with their answer."""
    cut = float(np.percentile([a.overlap for a in asked], 25))
    low = [a for a in asked if a.overlap <= cut]
    return {**summary(low), "max_overlap": round(cut, 4)}


def report(asked: Sequence[EvaluatedQuestion], articles: tuple[int, int]) -> dict[str, Any]:
    """The evaluation figures from the questions asked."""

    def of(*groups: str) -> list[EvaluatedQuestion]:
        return [a for a in asked if a.group in groups]

    original = of("answerable")
    off = of("off_article")
    latencies = [a.latency_ms for a in original]
    metrics: dict[str, Any] = summary(original)
    metrics["in_article_answer_rate"] = metrics.pop("answer_rate")
    metrics.update(
        {
            "off_article_abstention": sum(not a.answered for a in off) / max(1, len(off)),
            "off_article_questions": len(off),
            "latency_ms_p50": _percentile(latencies, 50),
            "latency_ms_p95": _percentile(latencies, 95),
            # The reader stops once no candidate left could come first (index.search).
            "candidates_read_per_question": sum(a.read for a in original) / max(1, len(original)),
            "articles": f"{articles[0]}:{articles[1]}",
        }
    )
    if original:
        metrics["low_overlap_quarter"] = low_overlap_quarter(original)
    noisy = of("chat_noise")
    if noisy:
        chat = summary(noisy)
        chat["hit@1_drop"] = metrics["hit@1"] - chat["hit@1"]
        chat["answer_rate_drop"] = metrics["in_article_answer_rate"] - chat["answer_rate"]
        metrics["chat_noise"] = chat
    impossible, possible = of("unanswerable"), of("v2_answerable")
    if impossible or possible:
        metrics["squad_v2"] = {
            "unanswerable_questions": len(impossible),
            "unanswerable_flagged": sum(not a.answered for a in impossible)
            / max(1, len(impossible)),
            "answerable_questions": len(possible),
            "answerable_answer_rate": sum(a.answered for a in possible) / max(1, len(possible)),
            "answerable_hit@1": sum(a.rank == 1 for a in possible) / max(1, len(possible)),
        }
    if original:
        metrics["highlight"] = highlight_metrics(original)
    metrics["calibration"] = calibration(of("answerable", "off_article", "unanswerable"))
    small = {}
    for group in ("one_paragraph", "three_paragraphs"):
        inside, outside = of(group), of(group + "_off")
        if inside:
            small[group] = {
                **summary(inside),
                "off_article_questions": len(outside),
                "off_article_abstention": sum(not a.answered for a in outside)
                / max(1, len(outside)),
            }
    if small:
        metrics["small_corpora"] = small
    return metrics
