"""Fit the ranker, the abstention model and the confidence on a SQuAD tuning split.

    quotebot tune ../shared/squad/squad_v1.1_dev.json --v2 ../shared/squad/squad_v2.0_dev.json

writes ``index/ranker.json``. Only the tuning split (articles 0-23 of v1.1
dev, and the v2.0 dev titles among them) may be used here; results are
reported on 24-47 with ``quotebot eval``.

Three models, each small enough to read:

* the **ranker**, linear over :data:`index.search.FEATURES` plus a few tanh
  units over them (a feature's worth may depend on another's), fitted with a
  listwise softmax loss (the probability mass on candidates that contain a
  gold answer), which targets the first quote directly;
* the **abstention** model, a logistic regression on the best candidate's
  features: the article's own questions (also typed the way people chat)
  against questions from other articles and, as far as off-topic abstention
  allows, v2.0's unanswerable questions on the same title; its threshold
  answers a target share of the whole article's own questions;
* the **confidence**, a logistic regression over the same features, the
  abstention logit and the corpus size, fitted to whether the first quote
  shown holds the answer over a pool of the article's questions, other
  articles' questions and v2.0's unanswerable questions on the same title, on
  corpora from three paragraphs to the whole article, then mapped, for corpora
  under and over a size that splits stretches from whole articles, to the share
  of first quotes right at each of its values, so that it is a calibrated
  probability at every size.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from index.logistic import adam_step, fit_logistic, fit_monotone, sigmoid
from index.search import (
    ABSTAIN_FEATURES,
    CONFIDENCE_FEATURES,
    FEATURES,
    RANKER_FILE,
    READ,
    Ranker,
    Searcher,
    confidence_features,
    default_ranker,
)
from index.store import build_index
from quality.evaluate import OFF_ARTICLE_PER_ARTICLE, calibration_error, hit_rank
from quality.squad import (
    SquadArticle,
    chat_noise,
    load_squad,
    load_squad_v2,
    off_article_questions,
    paragraph_groups,
)

SMALL_CORPUS_PARAGRAPHS = 12
SMALL_GROUP_STEP = 2  # every other three-paragraph stretch of each article
NOISE_SEED = 1  # the evaluation uses seed 0: tuning never sees the test split's noisy wording
# The abstention model's questions, each kind's share of the weight.
ABSTAIN_SHARE = {"answerable": 0.25, "noisy": 0.25, "off_article": 0.5}
UNANSWERABLE_SHARES = (0.0, 0.05, 0.1, 0.2, 0.3)  # taken from the off-article half
ABSTAIN_SLACK = 0.005
RANKER_UNITS = 16  # the ranker's tanh units (0: linear)


@dataclass
class TuningQuestion:
    """One tuning question on one corpus, with what the fitting needs."""

    kind: str  # answerable, noisy, off_article, unanswerable
    question: str
    answers: tuple[str, ...]
    service: Any
    vector: np.ndarray
    whole: bool  # asked of the whole article (not of a stretch of it)
    article: int = 0  # its article's number in the SQuAD file
    features: np.ndarray | None = None  # candidate features, rows aligned with labels
    labels: np.ndarray | None = None  # candidate holds a gold answer


def collect(
    path: Path | str,
    articles: tuple[int, int],
    embedder: Any,
    *,
    query_embedder: Any = None,
    v2_path: Path | str | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[TuningQuestion]:
    """Every tuning question with its corpus and its prepared question's embedding.

    ``query_embedder``: what embeds the questions (the bot's 8-bit export, so the
    models are fitted on the vectors they will be given); ``embedder`` by default.
    """
    from bot.service import QuoteService

    asker = embedder if query_embedder is None else query_embedder

    chosen = load_squad(path)[articles[0] : articles[1]]
    v2 = load_squad_v2(v2_path) if v2_path else {}
    rng = random.Random(NOISE_SEED)
    out: list[TuningQuestion] = []
    for i, article in enumerate(chosen):
        if progress:
            progress(f"article {articles[0] + i}: {article.title}")
        others = off_article_questions(chosen, i, OFF_ARTICLE_PER_ARTICLE)
        # The whole article, and a short stretch of it: a bot often serves a corpus
        # as small as one news article, and the abstention model must hold there too.
        corpora = [(True, article), (False, _excerpt(article, SMALL_CORPUS_PARAGRAPHS))]
        # …and three-paragraph stretches, the size of a news article.
        corpora += [(False, part) for part in paragraph_groups(article, 3)[::SMALL_GROUP_STEP]]
        for whole, corpus in corpora:
            index = build_index([corpus.document()], embedder)
            searcher = Searcher(index, embedder)
            service = QuoteService(index, searcher)
            batch: list[tuple[str, str, tuple[str, ...]]] = []
            for q in corpus.questions:
                batch.append(("answerable", q.question, q.answers))
                batch.append(("noisy", chat_noise(q.question, rng), q.answers))
            batch += [("off_article", text, ()) for text in (others if whole else others[:5])]
            if whole and article.title in v2:
                batch += [("unanswerable", text, ()) for text in v2[article.title][1]]
            prepared = [searcher.prepare(text).text for _, text, _ in batch]
            vectors = asker.encode(prepared)
            for (kind, text, answers), v in zip(batch, vectors, strict=True):
                out.append(TuningQuestion(kind, text, answers, service, v, whole, articles[0] + i))
    return out


def _excerpt(article: SquadArticle, paragraphs: int) -> SquadArticle:
    """The first ``paragraphs`` contexts of ``article`` and the questions about them."""
    return SquadArticle(
        article.title,
        article.contexts[:paragraphs],
        [q for q in article.questions if q.paragraph < paragraphs],
    )


def candidate_labels(asked: Sequence[TuningQuestion]) -> None:
    """Fill in each answerable question's candidate features and gold labels."""
    for a in asked:
        if a.answers:
            searcher = a.service.searcher
            reader, searcher.reader = searcher.reader, None  # the ranker's own features only
            try:
                result = searcher.search(a.question, vector=a.vector)
            finally:
                searcher.reader = reader
            index = a.service.index
            texts = [index.sentence_text(int(r)) for r in result.candidates]
            a.features = result.features
            a.labels = np.array([any(g in t for g in a.answers) for t in texts])


def fit_ranker(
    samples: Sequence[TuningQuestion],
    units: int = RANKER_UNITS,
    l2: float = 1e-3,
    steps: int = 600,
    seed: int = 0,
) -> Ranker:
    """The ranker maximising the softmax mass on answer-bearing candidates (Adam, full
    batch); its abstention and confidence are left for :func:`tune` to fit.

    The score is linear in the features plus ``units`` tanh units over them: a
    feature's worth can depend on another's (a close dense match may count for
    more when few words are shared). ``units=0`` fits the linear part alone.
    """
    usable = [s for s in samples if s.labels is not None and s.labels.any()]
    feats = [s.features for s in usable if s.features is not None]
    x = np.concatenate(feats)
    mean, std = x.mean(0), x.std(0) + 1e-9
    xs = (x - mean) / std
    labels = np.concatenate([s.labels for s in usable if s.labels is not None]).astype(float)
    sizes = [len(f) for f in feats]
    starts = np.cumsum([0] + sizes)[:-1]
    group = np.repeat(np.arange(len(feats)), sizes)
    rng = np.random.default_rng(seed)
    d = x.shape[1]
    params = {
        "w": np.zeros(d),
        "h": rng.uniform(-1, 1, (d, units)) / np.sqrt(d),
        "b": np.zeros(units),
        "v": np.zeros(units),
    }
    moments = {k: (np.zeros_like(p), np.zeros_like(p)) for k, p in params.items()}
    for t in range(1, steps + 1):
        act = np.tanh(xs @ params["h"] + params["b"])
        scores = xs @ params["w"] + act @ params["v"]
        e = np.exp(scores - np.maximum.reduceat(scores, starts)[group])
        p = e / np.add.reduceat(e, starts)[group]
        q = p * labels
        q = q / np.add.reduceat(q, starts)[group]
        g = (p - q) / len(feats)  # d loss / d score
        back = np.outer(g, params["v"]) * (1 - act**2)
        grads = {
            "w": xs.T @ g + l2 * params["w"],
            "h": xs.T @ back + l2 * params["h"],
            "b": back.sum(0),
            "v": act.T @ g + l2 * params["v"],
        }
        adam_step(params, grads, moments, t)
    # Back to raw feature units (the linear part's constant shift does not change ranks).
    hidden = params["h"] / std[:, None]
    return Ranker(
        params["w"] / std,
        np.zeros(len(ABSTAIN_FEATURES)),
        0.0,
        0.0,
        hidden=hidden,
        hidden_bias=params["b"] - mean @ hidden,
        hidden_out=params["v"].copy(),
    )


def top1(samples: Sequence[TuningQuestion], ranker: Ranker) -> float:
    scored = [
        (s.features, s.labels) for s in samples if s.labels is not None and s.features is not None
    ]
    return float(np.mean([labels[int(np.argmax(ranker.score(f)))] for f, labels in scored]))


def fit_reader_weight(
    samples: Sequence[TuningQuestion], ranker: Ranker
) -> tuple[float, float, float, float | None]:
    """The weight of the reader's logit among the best candidates that maximises top-1.

    Returns the weight, top-1 of the first sentence without and with the reader, and
    the highest logit the reader gave (the bound that lets a search leave candidates
    unread; None without a reader). ``ranker`` must read every candidate it reads
    (no bound of its own).
    """
    rows = []
    for a in samples:
        searcher = a.service.searcher
        if searcher.reader is None:
            continue
        searcher.ranker = ranker
        result = searcher.search(a.question, vector=a.vector)
        if result.read is None:
            continue
        hits = result.hits[: len(result.read)]
        index = a.service.index
        labels = np.array([any(g in index.sentence_text(h.row) for g in a.answers) for h in hits])
        rows.append((np.array([h.score for h in hits]), result.read, labels))
    if not rows:
        return 0.0, 0.0, 0.0, None

    def top(weight: float) -> float:
        return float(np.mean([lab[int(np.argmax(sc + weight * rd))] for sc, rd, lab in rows]))

    grid = [0.0, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 100.0]
    best = max(grid, key=top)
    return best, top(0.0), top(best), max(float(rd.max()) for _, rd, _ in rows)


def fit_abstention(
    x: np.ndarray, kinds: np.ndarray, whole: np.ndarray, answer_rate: float
) -> tuple[np.ndarray, float, float, dict[str, float], list[dict[str, float]]]:
    """The abstention model, its threshold, its row of the table of shares tried (the
    share of v2.0's unanswerable questions among its negatives, and the answer rates
    on the tuning split) and that table.

    The article's own questions (as written and as chatted) are the positives, other
    articles' questions and v2.0's unanswerable ones on the same title the negatives.
    Unanswerable questions are on-topic and worded like the article: weighing them
    too much costs abstention on off-topic questions. Each share in
    :data:`UNANSWERABLE_SHARES` is fitted; the one kept flags the most of them while
    off-article abstention (whole article and stretches) and chatted questions'
    answer rate stay within :data:`ABSTAIN_SLACK` of the fit without them. The
    threshold answers ``answer_rate`` of the whole article's own questions.
    """
    inside = np.isin(kinds, ("answerable", "noisy")).astype(float)
    original = (kinds == "answerable") & whole
    fits, table = [], []
    for share in UNANSWERABLE_SHARES:
        weight = abstain_weights(kinds, share)
        use = weight > 0
        aw, ab = fit_logistic(x[use], inside[use], weight[use])
        p = sigmoid(x @ aw + ab)
        threshold = float(np.quantile(p[original], 1 - answer_rate))
        answered = p >= threshold
        row = {
            "share": share,
            "answer_rate": _share(answered, (kinds == "answerable") & whole),
            "unanswerable_flagged": 1 - _share(answered, (kinds == "unanswerable") & whole),
            "off_article_abstention": 1 - _share(answered, (kinds == "off_article") & whole),
            "off_article_abstention_small": 1 - _share(answered, (kinds == "off_article") & ~whole),
            "answer_rate_noisy": _share(answered, (kinds == "noisy") & whole),
        }
        fits.append((aw, ab, threshold))
        table.append(row)
    base = table[0]
    held = ("off_article_abstention", "off_article_abstention_small", "answer_rate_noisy")
    keep = [
        i for i, row in enumerate(table) if all(row[k] >= base[k] - ABSTAIN_SLACK for k in held)
    ]
    best = max(keep, key=lambda i: table[i]["unanswerable_flagged"])
    aw, ab, threshold = fits[best]
    return aw, ab, threshold, table[best], table


def abstain_weights(kinds: np.ndarray, share: float) -> np.ndarray:
    """Each question's weight in the abstention fit: every kind's total is its share in
    :data:`ABSTAIN_SHARE`, with ``share`` moved from other articles' questions to
    v2.0's unanswerable ones."""
    shares = dict(ABSTAIN_SHARE, unanswerable=share)
    shares["off_article"] -= share
    present = {k: max(1, int((kinds == k).sum())) for k in shares}
    return np.array([shares.get(k, 0.0) / present.get(k, 1) for k in kinds])


def _unseen_by_reader(a: TuningQuestion, unseen: tuple[int, int] | None) -> bool:
    """Whether ``a``'s article is among those the reader was not trained on (all, if unknown)."""
    return unseen is None or unseen[0] <= a.article < unseen[1]


def _share(answered: np.ndarray, mask: np.ndarray) -> float:
    """The share of the questions in ``mask`` that are answered."""
    return float(answered[mask].mean()) if mask.any() else 0.0


@dataclass
class Ranking:
    """The tuning questions answered by the fitted ranker and reader: what the
    abstention model and the confidence are then fitted on."""

    asked: list[TuningQuestion]
    ranker: Ranker  # the ranker with its reader's weight; no abstention yet
    x: np.ndarray  # each question's abstention features
    right: list[bool]  # whether the first quote shown holds a gold answer
    figures: dict[str, Any]  # top-1 before and after the fit, and with the reader


def rank(
    path: Path | str,
    articles: tuple[int, int],
    embedder: Any,
    *,
    query_embedder: Any = None,
    v2_path: Path | str | None = None,
    unseen: tuple[int, int] | None = None,
    read: int = READ,
    progress: Callable[[str], None] | None = None,
) -> Ranking:
    """Collect the tuning questions, fit the ranker and the reader's weight, and ask
    every question with them (see :func:`tune` for ``unseen`` and ``read``)."""
    asked = collect(
        path, articles, embedder, query_embedder=query_embedder, v2_path=v2_path, progress=progress
    )
    if progress:
        progress("fitting the ranker")
    candidate_labels(asked)
    ranked = [a for a in asked if a.kind in ("answerable", "noisy")]
    before = top1(ranked, default_ranker())
    plain = replace(fit_ranker(ranked), read=read)
    after = top1(ranked, plain)

    if progress:
        progress("weighing the reader")
    fresh = [a for a in ranked if _unseen_by_reader(a, unseen)]
    reader_weight, read_before, read_after, bound = fit_reader_weight(fresh, plain)

    if progress:
        progress("asking every question with them")
    ranker = replace(plain, reader_weight=reader_weight, reader_bound=bound)
    feats, right, reads = [], [], []
    for a in asked:
        a.service.searcher.ranker = ranker
        answer, result = a.service.explain(a.question, vector=a.vector)
        feats.append(result.abstain_features)
        reads.append(result.candidates_read)
        shown = [q.text for q in (answer.closest if answer.abstained else answer.quotes)]
        right.append(bool(a.answers) and hit_rank(shown, a.answers, depth=1) == 1)
    figures = {
        "top1_sentence_before": before,
        "top1_sentence_after": after,
        "reader_weight": reader_weight,
        "top1_sentence_reader": {"without": read_before, "with": read_after},
        "reader_bound": bound,
        "candidates_read_per_question": float(np.mean(reads)),
    }
    return Ranking(asked, ranker, np.array(feats), right, figures)


def tune(
    path: Path | str,
    articles: tuple[int, int],
    embedder: Any,
    *,
    query_embedder: Any = None,
    v2_path: Path | str | None = None,
    answer_rate: float = 0.982,
    unseen: tuple[int, int] | None = None,
    read: int = READ,
    out: Path = RANKER_FILE,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Fit the three models on ``articles`` and write them to ``out``.

    ``unseen``: the articles the sentence reader was not trained on. The reader
    scores its own training questions more surely than any it meets later, so
    where it is given, the reader's weight and the confidence are fitted on
    those articles alone; the ranker and the abstention model still use all.
    ``read``: how many of the best candidates the reader reads, here and when serving.
    """
    ranking = rank(
        path,
        articles,
        embedder,
        query_embedder=query_embedder,
        v2_path=v2_path,
        unseen=unseen,
        read=read,
        progress=progress,
    )
    asked, ranker, x, right = ranking.asked, ranking.ranker, ranking.x, ranking.right

    if progress:
        progress("fitting the abstention model and the confidence")
    kinds = np.array([a.kind for a in asked])
    whole = np.array([a.whole for a in asked])
    aw, ab, threshold, chosen, choices = fit_abstention(x, kinds, whole, answer_rate)
    z = x @ aw + ab
    present = {k: int((kinds == k).sum()) for k in (*ABSTAIN_SHARE, "unanswerable")}

    # The confidence: fitted on the pool the evaluation mixes (questions as written,
    # other articles' questions, unanswerable ones), on every corpus size.
    pool = np.isin(kinds, ("answerable", "off_article", "unanswerable"))
    pool &= np.array([_unseen_by_reader(a, unseen) for a in asked], dtype=bool)
    sizes = [len(a.service.index) for a in asked]
    cx = np.array(
        [confidence_features(f, float(zi), n) for f, zi, n in zip(x, z, sizes, strict=True)]
    )[pool]
    cy = np.array(right, dtype=float)[pool]
    cw, cb = fit_logistic(cx, cy, np.ones(len(cy)))
    raw = sigmoid(cx @ cw + cb)
    # The logistic is calibrated over the whole pool, but not on whole articles and
    # short stretches apart (their errors cancel in the mix): a monotone map for each.
    pool_sizes = np.array(sizes)[pool]
    small_sizes, whole_sizes = pool_sizes[~whole[pool]], pool_sizes[whole[pool]]
    split = 0  # one map for every size, unless the pool has both
    if len(small_sizes) and len(whole_sizes):
        split = int(round(float(np.sqrt(small_sizes.max() * whole_sizes.min()))))
    large = pool_sizes >= split
    parts = {"small": ~large, "large": large}
    calibration: dict[str, Any] = {"split_sentences": split}
    for name, part in parts.items():
        xs, ys = fit_monotone(raw[part], cy[part]) if part.any() else ([0.0, 1.0], [0.0, 1.0])
        calibration[name] = {"x": xs, "y": ys}
    final = replace(
        ranker,
        abstain_weights=aw,
        abstain_bias=ab,
        threshold=threshold,
        confidence_weights=cw,
        confidence_bias=cb,
        calibration=calibration,
    )
    out.write_text(json.dumps(final.to_dict(), indent=2) + "\n")

    conf = np.array(
        [final.calibrated(float(p), int(n)) for p, n in zip(raw, pool_sizes, strict=True)]
    )
    return {
        "questions": {k: int(v) for k, v in present.items()},
        "unanswerable_share": chosen["share"],
        "unanswerable_shares_tried": choices,
        **ranking.figures,
        **{k: v for k, v in chosen.items() if k != "share"},
        "threshold": threshold,
        "confidence_ece": calibration_error(conf, cy)[0],
        "confidence_ece_by_size": {
            name: {
                "sentences": f"< {split}" if name == "small" else f">= {split}",
                "questions": int(part.sum()),
                "before_map": calibration_error(raw[part], cy[part])[0],
                "after_map": calibration_error(conf[part], cy[part])[0],
            }
            for name, part in parts.items()
        },
        "size_ranges": {
            name: [int(sizes.min()), int(sizes.max())] if len(sizes) else []
            for name, sizes in (("small", small_sizes), ("whole", whole_sizes))
        },
        "confidence_pool": int(pool.sum()),
        "features": {"ranker": len(FEATURES), "confidence": len(CONFIDENCE_FEATURES)},
        "ranker_units": len(final.hidden_out),
    }
