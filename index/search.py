"""Hybrid search: dense (FAISS) and BM25 candidates, re-ranked by a small linear model.

Candidates are the union of the best sentences by embedding similarity and by
BM25. Each gets a handful of features (similarities of the sentence and of its
neighbourhood, keyword overlap, whether it holds the kind of thing the question
asks for: a year, a number, a name). A linear model, fitted on the SQuAD tuning
split by ``quotebot tune`` (``quality/tune.py``) and stored in ``ranker.json``, turns them into a
score; a logistic model on the best candidate's features gives the probability
that the corpus answers the question at all.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from index import vectors as vector_index
from index.logistic import sigmoid
from index.query import search_text
from index.reader import Reader, default_reader
from index.spelling import Speller
from index.store import CorpusIndex
from index.structure import Structure, heading_text
from index.text import STOPWORDS, stems, words

CANDIDATES = 40  # from each retriever
READ = 3  # best candidates the reader reads (unless the ranker file says otherwise)
RANKER_FILE = Path(__file__).with_name("ranker.json")

_YEAR = re.compile(r"\b(1[0-9]{3}|20[0-9]{2})s?\b")
_NUMBER = re.compile(
    r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|hundred|thousand|million|billion|dozen)\b",
    re.I,
)
_MONTH = re.compile(
    r"\b(January|February|March|April|May|June|July|August|September|October|November|December|"
    r"Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|century|decade)\b"
)
_CAPITAL = re.compile(r"\b[A-Z][a-zA-Z]+")
_MONEY_PERCENT = re.compile(r"[$€£%]|\bpercent\b|\bdollars?\b", re.I)
# A sentence that opens by pointing back ("He …", "This …") needs the one before it.
_REFERS_BACK = re.compile(
    r"^[\W]*(?:he|she|it|its|they|them|their|his|her|this|these|that|those|there|such|both|"
    r"the (?:latter|former)|which)\b",
    re.I,
)

QUESTION_KINDS = ("when", "count", "who", "where", "what", "why", "how", "other")

FEATURES = (
    "dense",
    "dense_window",
    "dense_rank",
    "bm25",
    "bm25_window",
    "bm25_rank",
    "overlap",
    "novelty",
    "log_length",
    "when_x_date",
    "count_x_number",
    "who_x_names",
    "where_x_names",
    "what_x_names",
    "how_x_number",
    "money_match",
    "prev_dense",
    "refers_back_x_prev_dense",
)
ABSTAIN_FEATURES = (
    "top_score",
    "top_dense",
    "top_bm25_raw",
    "top_overlap",
    "max_dense",
    "margin",
    "top_dense_window",
    "window_overlap",
    "coverage",
    "document_similarity",
    "missing_idf",
    "type_match",
    "type_missing",
    "log_sentences",
    "max_dense_x_log_sentences",
    "reader_top",
    "reader_max",
    "reader_top_x_log_sentences",
)
CONFIDENCE_FEATURES = (*ABSTAIN_FEATURES, "answerable_logit", "logit_x_log_sentences")


def refers_back(sentence: str) -> bool:
    """True when ``sentence`` opens with a pronoun or demonstrative pointing to an earlier one."""
    return bool(_REFERS_BACK.match(sentence))


@dataclass(frozen=True)
class Query:
    """A question as searched: chat removed, misspelled words paired with corpus words."""

    text: str  # what is embedded: the question itself, corrections applied
    stems: list[str]  # its keyword stems


def question_kind(question: str) -> str:
    w = words(question)
    text = " ".join(w)
    if (
        "when" in w
        or "what year" in text
        or "which year" in text
        or "what century" in text
        or "what date" in text
    ):
        return "when"
    if (
        "how many" in text
        or "how much" in text
        or "how long" in text
        or "how old" in text
        or "how big" in text
        or "how large" in text
        or "how tall" in text
        or "how far" in text
        or "how high" in text
        or "how often" in text
        or "what percentage" in text
        or "population" in w
    ):
        return "count"
    if "who" in w or "whom" in w or "whose" in w:
        return "who"
    if "where" in w:
        return "where"
    if "why" in w:
        return "why"
    if "how" in w:
        return "how"
    if "what" in w or "which" in w:
        return "what"
    return "other"


@dataclass(frozen=True)
class Ranker:
    weights: np.ndarray  # one per FEATURES
    abstain_weights: np.ndarray  # one per ABSTAIN_FEATURES
    abstain_bias: float
    threshold: float  # answer when P(answerable) >= threshold
    # P(the first quote holds the answer), over the abstention features and its logit.
    confidence_weights: np.ndarray = field(
        default_factory=lambda: np.zeros(len(CONFIDENCE_FEATURES))
    )
    confidence_bias: float = 0.0
    # How much the reader's logit counts against the ranker's score among the best read.
    reader_weight: float = 0.0
    # How many of the best candidates the reader reads, to re-order them and to judge
    # the answer: the abstention and the confidence were fitted on that many.
    read: int = READ
    # The highest logit the reader gave on the tuning split: a candidate whose score
    # plus the weighted bound cannot pass the best read so far is left unread, as
    # reading it could not change the first quote. None: read all ``read``.
    reader_bound: float | None = None
    # The confidence's logistic output mapped to the share of first quotes found right
    # at that output on the tuning pool, one map for corpora under ``split_sentences``
    # sentences ("small") and one for larger ones ("large"), each {"x": [...], "y": [...]}.
    calibration: dict[str, Any] | None = None
    # The score's tanh units over the features (raw units): ``hidden`` is
    # (len(FEATURES), units); no units for a linear ranker.
    hidden: np.ndarray = field(default_factory=lambda: np.zeros((len(FEATURES), 0)))
    hidden_bias: np.ndarray = field(default_factory=lambda: np.zeros(0))
    hidden_out: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def score(self, features: np.ndarray) -> np.ndarray:
        """Each candidate's score (higher: more likely to answer), one per row of ``features``."""
        units = np.tanh(features @ self.hidden + self.hidden_bias)
        return features @ self.weights + units @ self.hidden_out

    @classmethod
    def load(cls, path: Path = RANKER_FILE) -> Ranker:
        data = json.loads(path.read_text())
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Ranker:
        confidence = data.get("confidence_weights", {})
        return cls(
            weights=np.array([data["weights"].get(f, 0.0) for f in FEATURES], dtype=np.float64),
            abstain_weights=np.array(
                [data["abstain_weights"].get(f, 0.0) for f in ABSTAIN_FEATURES], dtype=np.float64
            ),
            abstain_bias=float(data["abstain_bias"]),
            threshold=float(data["threshold"]),
            confidence_weights=np.array(
                [confidence.get(f, 0.0) for f in CONFIDENCE_FEATURES], dtype=np.float64
            ),
            confidence_bias=float(data.get("confidence_bias", 0.0)),
            reader_weight=float(data.get("reader_weight", 0.0)),
            read=max(1, int(data.get("read", READ))),
            reader_bound=None if data.get("reader_bound") is None else float(data["reader_bound"]),
            calibration=data.get("confidence_calibration"),
            **_hidden_from_dict(data.get("hidden")),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "weights": {f: float(w) for f, w in zip(FEATURES, self.weights, strict=True)},
            "abstain_weights": {
                f: float(w) for f, w in zip(ABSTAIN_FEATURES, self.abstain_weights, strict=True)
            },
            "abstain_bias": self.abstain_bias,
            "threshold": self.threshold,
            "confidence_weights": {
                f: float(w)
                for f, w in zip(CONFIDENCE_FEATURES, self.confidence_weights, strict=True)
            },
            "confidence_bias": self.confidence_bias,
            "reader_weight": self.reader_weight,
            "read": self.read,
            "reader_bound": self.reader_bound,
            **({"confidence_calibration": self.calibration} if self.calibration else {}),
            "hidden": _hidden_to_dict(self),
        }

    def answerable(self, abstain_features: np.ndarray) -> tuple[float, float]:
        """The logit and probability that the corpus answers, from the abstention features."""
        z = float(abstain_features @ self.abstain_weights + self.abstain_bias)
        return z, sigmoid(z)

    def confidence(
        self, abstain_features: np.ndarray, answerable_logit: float, sentences: int
    ) -> float:
        """P(the first quote holds the answer), in a corpus of ``sentences`` sentences."""
        x = confidence_features(abstain_features, answerable_logit, sentences)
        return self.calibrated(
            sigmoid(float(x @ self.confidence_weights + self.confidence_bias)), sentences
        )

    def calibrated(self, probability: float, sentences: int) -> float:
        """The logistic's ``probability`` through the map for a corpus of this size."""
        if not self.calibration:
            return probability
        large = sentences >= int(self.calibration["split_sentences"])
        part = self.calibration["large" if large else "small"]
        return float(np.interp(probability, part["x"], part["y"]))


def _hidden_from_dict(data: dict[str, Any] | None) -> dict[str, np.ndarray]:
    if not data:
        return {}  # a linear ranker's file
    units = len(data["out"])
    return {
        "hidden": np.array(
            [data["weights"].get(f, [0.0] * units) for f in FEATURES], dtype=np.float64
        ).reshape(len(FEATURES), units),
        "hidden_bias": np.array(data["bias"], dtype=np.float64),
        "hidden_out": np.array(data["out"], dtype=np.float64),
    }


def _hidden_to_dict(ranker: Ranker) -> dict[str, Any]:
    return {
        "weights": {
            f: [float(w) for w in row] for f, row in zip(FEATURES, ranker.hidden, strict=True)
        },
        "bias": [float(b) for b in ranker.hidden_bias],
        "out": [float(v) for v in ranker.hidden_out],
    }


def confidence_features(
    abstain_features: np.ndarray, answerable_logit: float, sentences: int
) -> np.ndarray:
    size = math.log1p(sentences)
    return np.concatenate([abstain_features, [answerable_logit, answerable_logit * size]])


@lru_cache(maxsize=1)
def default_ranker() -> Ranker:
    return Ranker.load()


@dataclass(frozen=True)
class Hit:
    row: int  # sentence row in the index
    score: float  # ranker score, higher is better


@dataclass(frozen=True)
class SearchResult:
    hits: list[Hit]  # best first
    answerable: float  # probability that the best hit answers the question
    features: np.ndarray  # (len(candidates), len(FEATURES)), rows aligned with ``candidates``
    candidates: np.ndarray  # sentence rows
    abstain_features: np.ndarray
    confidence: float = 0.0  # P(the first quote holds the answer)
    read: np.ndarray | None = None  # the reader's logits for the first len(read) hits
    # The second stage's features (index.structure.FEATURES), rows aligned with
    # ``candidates``; None for a corpus without headings.
    structure: np.ndarray | None = None

    @property
    def candidates_read(self) -> int:
        """How many candidates the sentence reader read (0 without a reader)."""
        return 0 if self.read is None else len(self.read)


class Searcher:
    """Answers "which sentences answer this question" for one index."""

    def __init__(
        self,
        index: CorpusIndex,
        embedder: Any,
        ranker: Ranker | None = None,
        reader: Reader | None | bool = True,
    ) -> None:
        """``reader``: True for the shipped one (if any), None or False for none."""
        self.index = index
        self.embedder = embedder
        self.ranker = ranker or default_ranker()
        self.reader: Reader | None = default_reader() if reader is True else (reader or None)
        self.structure: Structure | None = index.structure()
        n = len(index)
        sentences = index.sentences
        # Neighbours within the same document, for the "window" features. Paragraph
        # breaks are crossed on purpose: news articles often have one sentence per
        # paragraph, and the sentence before still says what this one is about.
        same_prev = np.zeros(n, dtype=bool)
        same_prev[1:] = sentences[1:, 0] == sentences[:-1, 0]
        self._prev = np.where(same_prev, np.arange(n) - 1, -1)
        same_next = np.zeros(n, dtype=bool)
        same_next[:-1] = same_prev[1:]
        self._next = np.where(same_next, np.arange(n) + 1, -1)
        # A question about the corpus tends to resemble the gist of a whole document,
        # not just one sentence: the abstention model uses this as evidence.
        dim = index.vectors.shape[1] if index.vectors.ndim == 2 else 0
        self._centroids = np.zeros((len(index.documents), dim), dtype=np.float32)
        if n:
            np.add.at(self._centroids, sentences[:, 0], index.vectors)
            norms = np.linalg.norm(self._centroids, axis=1, keepdims=True)
            self._centroids /= np.maximum(norms, 1e-12)
        self._stems: list[frozenset[str]] | None = None
        self._idf: dict[str, float] | None = None
        self._speller: Speller | None = None

    def _spelling(self) -> Speller:
        if self._speller is None:
            self._speller = Speller.from_words(w for t in self.index.texts for w in words(t))
        return self._speller

    def prepare(self, question: str) -> Query:
        """What to search for ``question``: its chat removed, its misspellings matched."""
        text = search_text(question)
        speller = self._spelling()
        fixes = {}
        for w in words(text):
            if w not in STOPWORDS:
                fix = speller.suggest(w)
                if fix is not None:
                    fixes[w] = fix
        if fixes:
            pattern = re.compile(r"\b(" + "|".join(map(re.escape, fixes)) + r")\b", re.I)
            text = pattern.sub(lambda m: fixes.get(m.group(1).lower(), m.group(1)), text)
        return Query(text, stems(text))

    def _sentence_stems(self) -> list[frozenset[str]]:
        """Stems of every sentence, computed on first use (the first question pays for it)."""
        if self._stems is None:
            computed = [frozenset(stems(t)) for t in self.index.texts]
            df: dict[str, int] = {}
            for s in computed:
                for w in s:
                    df[w] = df.get(w, 0) + 1
            n = len(computed)
            # IDF first: a concurrent request that sees the stems must also see their IDF.
            self._idf = {w: math.log(1 + (n - c + 0.5) / (c + 0.5)) for w, c in df.items()}
            self._stems = computed
        return self._stems

    def _window(self, row: int) -> set[str]:
        """The stems of a sentence and of its neighbours in the same document."""
        sent_stems = self._sentence_stems()
        window = set(sent_stems[row])
        for other in (self._prev[row], self._next[row]):
            if other >= 0:
                window |= sent_stems[other]
        return window

    def _window_overlap(self, q_stems: list[str], row: int) -> float:
        """IDF-weighted share of the question's words found in a sentence and its neighbours."""
        window = self._window(row)
        idf = self._idf or {}
        q_set = set(q_stems)
        total = sum(idf.get(w, 0.0) for w in q_set)
        return sum(idf.get(w, 0.0) for w in q_set & window) / total if total else 0.0

    def _missing_idf(self, q_stems: list[str], row: int) -> float:
        """The rarest question word (as a share of the rarest corpus word) absent near ``row``."""
        window = self._window(row)
        idf = self._idf or {}
        top = max(idf.values(), default=1.0) or 1.0
        missing = [idf[w] for w in set(q_stems) - window if w in idf]
        return max(missing, default=0.0) / top

    def _coverage(self, q_stems: list[str]) -> float:
        """Share of the question's words that occur anywhere in the corpus."""
        q_set = set(q_stems)
        if not q_set:
            return 0.0
        vocab = self.index.bm25.vocab_dict
        return sum(w in vocab for w in q_set) / len(q_set)

    def knows(self, stem: str) -> bool:
        """Whether any sentence of the corpus has the word stem ``stem``."""
        return stem in self.index.bm25.vocab_dict

    def bm25_scores(self, question_stems: list[str]) -> np.ndarray:
        bm25 = self.index.bm25
        ids = bm25.get_tokens_ids(question_stems)
        if not ids:
            return np.zeros(len(self.index), dtype=np.float32)
        return np.asarray(bm25.get_scores_from_ids(ids), dtype=np.float32)

    def search(
        self,
        question: str,
        k: int = 10,
        vector: np.ndarray | None = None,
        *,
        context_stems: Sequence[str] = (),
    ) -> SearchResult:
        """The best sentences for ``question``; ``vector``: its embedding as prepared, if known.

        ``context_stems``: keywords of an earlier question that this one continues
        ("What did he say?" after "Who is the mayor?"), searched as if asked too.
        """
        n = len(self.index)
        if n == 0:
            empty = np.zeros((0, len(FEATURES)))
            return SearchResult(
                [], 0.0, empty, np.zeros(0, np.int64), np.zeros(len(ABSTAIN_FEATURES))
            )
        query = self.prepare(question)
        question = query.text
        if vector is None:
            vector = self.embedder.encode([question])[0]
        q_stems = query.stems + [s for s in context_stems if s not in query.stems]
        bm25 = self.bm25_scores(q_stems)

        if self.index.kind == "flat":
            dense_order = np.argsort(-(self.index.vectors @ vector))[:CANDIDATES]
        else:
            _, ids = vector_index.search(self.index.dense, vector[None, :], CANDIDATES)
            dense_order = ids[0][ids[0] >= 0]
        bm25_order = np.argsort(-bm25)[:CANDIDATES]
        bm25_order = bm25_order[bm25[bm25_order] > 0]
        candidates = np.unique(np.concatenate([dense_order, bm25_order]).astype(np.int64))
        structure = self.structure
        headings = np.zeros(0)
        if structure is not None:
            # The answers of the FAQ entries whose questions match best are ranked too,
            # even when none of their own words or sentences came up.
            headings = structure.vectors @ vector
            found = candidates
            candidates = np.unique(
                np.concatenate([candidates, structure.extra_candidates(headings)]).astype(np.int64)
            )
            added = ~np.isin(candidates, found)

        features = self._features(
            question, q_stems, vector, candidates, bm25, dense_order, bm25_order
        )
        base = self.ranker.score(features)
        scores = base
        staged = None
        if structure is not None:
            staged = structure.features(headings, candidates, base, added, vector, q_stems)
            scores = structure.score(staged)
        order = np.argsort(-scores)
        read = np.zeros(0)
        if self.reader is not None:
            # The reader re-orders the best few: its logit, weighted, joins their scores.
            read = self._read(self.reader, question, candidates, scores, order[: self.ranker.read])
            best = order[: len(read)]
            scores = scores.copy()
            scores[best] += self.ranker.reader_weight * read
            rest = order[len(read) :]
            scores[rest] += self.ranker.reader_weight * float(read.min())  # keeps them below
            mine = np.argsort(-scores[best], kind="stable")
            order = np.concatenate([best[mine], rest])
            read = read[mine]
        dense_c = features[:, FEATURES.index("dense")]
        top = order[0]
        margin = float(scores[top] - scores[order[1]]) if len(order) > 1 else 1.0
        if staged is not None and len(order) > 1:
            # The abstention and confidence models were fitted on the main ranker's scores.
            margin = max(0.0, float(base[top] - np.delete(base, top).max()))
        read_top = float(read[0]) if len(read) else 0.0
        abstain = np.array(
            [
                base[top] if staged is not None else scores[top],
                dense_c[top],
                math.log1p(float(bm25[candidates[top]])),
                features[top, FEATURES.index("overlap")],
                float(dense_c.max()),
                margin,
                features[top, FEATURES.index("dense_window")],
                self._window_overlap(q_stems, int(candidates[top])),
                self._coverage(q_stems),
                float(self._centroids[int(self.index.sentences[candidates[top], 0])] @ vector),
                self._missing_idf(q_stems, int(candidates[top])),
                _type_match(features[top]),
                _type_missing(question, features[order[:3]]),
                # The same evidence weighs differently in a corpus of ten sentences
                # and of ten thousand: off-topic questions stand out more in a small one.
                math.log1p(n),
                math.log1p(n) * float(dense_c.max()),
                read_top,
                float(read.max()) if len(read) else 0.0,
                read_top * math.log1p(n),
            ]
        )
        z, answerable = self.ranker.answerable(abstain)
        hits = [Hit(int(candidates[i]), float(scores[i])) for i in order[:k]]
        confidence = self.ranker.confidence(abstain, z, n)
        return SearchResult(
            hits,
            answerable,
            features,
            candidates,
            abstain,
            confidence,
            read if len(read) else None,
            staged,
        )

    def _read(
        self,
        reader: Reader,
        question: str,
        candidates: np.ndarray,
        scores: np.ndarray,
        best: np.ndarray,
    ) -> np.ndarray:
        """The reader's logits for ``best`` (in the ranker's order), read one by one.

        Reading stops at the first candidate that could not pass the best read so far
        even with the reader's highest logit: it and those after it (lower scores)
        cannot become the first quote. Most questions are settled by one or two reads.
        """
        weight, bound = self.ranker.reader_weight, self.ranker.reader_bound
        texts = [self._reader_text(int(candidates[i])) for i in best]
        if bound is None:
            return reader.score(question, texts)
        logits: list[float] = []
        lead = -math.inf
        for i, text in zip(best, texts, strict=True):
            if logits and scores[i] + weight * bound <= lead:
                break
            logit = float(reader.score(question, [text])[0])
            logits.append(logit)
            lead = max(lead, float(scores[i]) + weight * logit)
        return np.asarray(logits, dtype=np.float64)

    def _reader_text(self, row: int) -> str:
        """A unit as the reader reads it: after the heading it sits under, if any.

        A FAQ heading split over a stem ("How do I…" › "Set up my computer?") is
        read whole, as it is embedded.

        The innermost heading only ("Timeouts", "How do I stop formulae from being
        updated?"): it says what the unit answers; the headings above it are mostly
        the page's and section's names, which the reader (trained on sentences
        alone) takes as noise. Measured against the whole trail and none on the
        structured set's fit and test splits.
        """
        text = self.index.texts[row]
        if self.structure is None:
            return text
        d, p = int(self.index.sentences[row, 0]), int(self.index.sentences[row, 1])
        doc = self.index.documents[d]
        section = doc.block(p).section
        while section is not None and not doc.sections[section].title.strip():
            section = doc.sections[section].parent
        return f"{heading_text(doc, section)}\n{text}" if section is not None else text

    def _features(
        self,
        question: str,
        q_stems: list[str],
        vector: np.ndarray,
        candidates: np.ndarray,
        bm25: np.ndarray,
        dense_order: np.ndarray,
        bm25_order: np.ndarray,
    ) -> np.ndarray:
        vecs = self.index.vectors
        texts = self.index.texts
        sent_stems = self._sentence_stems()
        idf = self._idf or {}
        prev = self._prev[candidates]
        nxt = self._next[candidates]

        dense = vecs[candidates] @ vector
        prev_dense = np.where(prev >= 0, vecs[np.maximum(prev, 0)] @ vector, 0.0)
        back = np.array([refers_back(texts[int(r)]) for r in candidates], dtype=bool)
        window = vecs[candidates].copy()
        window[prev >= 0] += vecs[prev[prev >= 0]]
        window[nxt >= 0] += vecs[nxt[nxt >= 0]]
        window /= np.maximum(np.linalg.norm(window, axis=1, keepdims=True), 1e-12)
        dense_window = window @ vector

        top_bm25 = float(bm25.max()) if len(bm25) else 0.0
        scale = top_bm25 if top_bm25 > 0 else 1.0
        bm25_c = bm25[candidates] / scale
        bm25_prev = np.where(prev >= 0, bm25[np.maximum(prev, 0)], 0.0) / scale
        bm25_next = np.where(nxt >= 0, bm25[np.maximum(nxt, 0)], 0.0) / scale
        bm25_window = np.maximum(bm25_prev, bm25_next)

        dense_rank = np.zeros(len(candidates))
        bm25_rank = np.zeros(len(candidates))
        position = {int(r): i for i, r in enumerate(candidates)}
        for rank, row in enumerate(dense_order):
            dense_rank[position[int(row)]] = 1.0 / (rank + 1)
        for rank, row in enumerate(bm25_order):
            bm25_rank[position[int(row)]] = 1.0 / (rank + 1)

        q_set = set(q_stems)
        q_weight = sum(idf.get(w, 0.0) for w in q_set) or 1.0
        q_words = {w for w in words(question)}
        kind = question_kind(question)
        money_q = bool(_MONEY_PERCENT.search(question)) or "how much" in question.lower()

        rows = []
        for i, row in enumerate(candidates):
            text = texts[int(row)]
            s_stems = sent_stems[int(row)]
            overlap = sum(idf.get(w, 0.0) for w in q_set & s_stems) / q_weight
            novelty = len(s_stems - q_set) / max(1, len(s_stems))
            has_date = bool(_YEAR.search(text) or _MONTH.search(text))
            has_number = bool(_NUMBER.search(text))
            names = sum(1 for m in _CAPITAL.findall(text) if m.lower() not in q_words)
            has_names = min(names, 3) / 3.0
            rows.append(
                (
                    dense[i],
                    dense_window[i],
                    dense_rank[i],
                    bm25_c[i],
                    bm25_window[i],
                    bm25_rank[i],
                    overlap,
                    novelty,
                    math.log(len(text) + 1),
                    float(kind == "when" and has_date),
                    float(kind == "count" and has_number),
                    float(kind == "who") * has_names,
                    float(kind == "where") * has_names,
                    float(kind in ("what", "other")) * has_names,
                    float(kind == "how" and has_number),
                    float(money_q and bool(_MONEY_PERCENT.search(text))),
                    prev_dense[i],
                    float(back[i]) * prev_dense[i],
                )
            )
        return np.array(rows, dtype=np.float64)


_TYPE_FEATURES = [FEATURES.index(f) for f in ("when_x_date", "count_x_number", "who_x_names")]


def _type_missing(question: str, best: np.ndarray) -> float:
    """1 when a when/how-many question finds no date/number in any of the best sentences."""
    if question_kind(question) not in ("when", "count"):
        return 0.0
    return float(not best[:, _TYPE_FEATURES[:2]].any())


def _type_match(candidate: np.ndarray) -> float:
    """Whether the best sentence holds the kind of thing a when/how-many/who question wants."""
    return float(candidate[_TYPE_FEATURES].max())
