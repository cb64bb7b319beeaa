"""Headings and FAQ entries as evidence: what a unit is about, from the headings above it.

A unit (sentence, list item, table row, code block) under a heading is embedded
and keyword-indexed together with its heading trail, so "Parental leave" is part
of what "Employees get 12 weeks" is about. The headings themselves are embedded
once at build time (one row per document section, :class:`Outline`); a heading
that is a question is a FAQ entry, and a user's question is compared with it as
well as with the answer's units (MiniLM was trained on a lot of question pairs).

At query time :class:`Structure` turns those similarities into a few features per
candidate and a small second ranking stage (``structure.json``, fitted by
``bench/fit_structure.py`` on the structured set's fit split) adds them to the
main ranker's score. A corpus without headings (SQuAD, news) has no outline and
is ranked exactly as before.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from index.documents import CODE, HEADER, ITEM, ROW, Document
from index.text import stems

STRUCTURE_FILE = Path(__file__).with_name("structure.json")
TRAIL_SEPARATOR = " › "
# How many of the best-matching FAQ entries bring their answers into the candidates,
# and how many units of each entry's answer come along.
ENTRIES = 3
ENTRY_UNITS = 4

_QUESTION_START = re.compile(
    r"^\W*(?:how|what|what's|whats|why|when|where|who|whom|whose|which|can|could|do|does|did|"
    r"is|are|was|were|will|would|should|shall|may|might|must|have|has|am|i|if)\b",
    re.I,
)

FEATURES = (
    "base",  # the main ranker's score
    "heading",  # similarity of the question to the unit's own heading
    "parent",  # the best similarity to a heading above that one
    "entry",  # similarity to the question of the FAQ entry the unit answers (0: none)
    "entry_best",  # 1 when the unit's entry is the best-matching FAQ entry of the corpus
    "entry_gap",  # the unit's entry similarity minus the best entry's (<= 0)
    "first",  # 1 for the first unit of its entry's answer (where the answer starts)
    "added",  # 1 for a unit that only came in with its entry
    "item",
    "row",
    "code",
    "section",  # similarity to the section as a whole (its heading and units, averaged)
    "section_best",  # 1 when the unit's section is the corpus's best-matching as a whole
    "name",  # the question names the unit's document ("requests", "leave"), not every one
)


def is_question(title: str) -> bool:
    """Whether a heading asks something ("How do I …", "Can I …?"): a FAQ entry's question."""
    title = title.strip()
    return title.endswith("?") or bool(_QUESTION_START.match(title))


def trail_text(doc: Document, paragraph: int) -> str:
    """The headings above the 1-based ``paragraph``, outermost first: "Leave › Parental"."""
    return TRAIL_SEPARATOR.join(s.title for s in doc.trail(paragraph) if s.title.strip())


def unit_text(doc: Document, paragraph: int, start: int, end: int) -> str:
    """What is embedded and keyword-indexed for a unit: its heading trail, then its text.

    A unit outside any heading (every unit of a document without headings) is its
    text alone, so such corpora keep exactly the vectors and scores they had.
    """
    trail = trail_text(doc, paragraph) if doc.sections else ""
    text = doc.text[start:end]
    return f"{trail}\n{text}" if trail else text


def heading_text(doc: Document, section: int) -> str:
    """A heading as embedded: its title, after its parent's when that one is a question's stem.

    FAQ pages often group entries under "How do I…" with "Set up my computer?" below.
    """
    title = doc.sections[section].title.strip()
    parent = doc.sections[section].parent
    if parent is not None and not _QUESTION_START.match(title):
        stem = doc.sections[parent].title.strip()
        if _STEM.search(stem) and _QUESTION_START.match(stem):
            return f"{stem.rstrip('.…: ')} {title[:1].lower()}{title[1:]}"
    return title


_STEM = re.compile(r"(?:\.\.\.|…|:)$")


def name_stems(doc: Document) -> frozenset[str]:
    """The content words of a document's file name and title, stemmed."""
    name = re.sub(r"\.[A-Za-z0-9]+$", "", doc.doc_id.rsplit("/", 1)[-1])
    return frozenset(stems(re.sub(r"[-_.]+", " ", name)) + stems(doc.title))


def distinctive_names(documents: Sequence[Document]) -> list[frozenset[str]]:
    """Per document, the words of its name that some other document's name lacks.

    With one document (or names that all share their words) nothing is distinctive:
    naming the document then says nothing about which passage to quote.
    """
    names = [name_stems(doc) for doc in documents]
    if len(names) < 2:
        return [frozenset() for _ in names]
    everywhere = frozenset.intersection(*names)
    return [n - everywhere for n in names]


def headings(documents: Sequence[Document]) -> tuple[np.ndarray, list[str]]:
    """Every (document, section) pair of ``documents`` as an int64 (m, 2) array, and its text."""
    keys: list[tuple[int, int]] = []
    titles: list[str] = []
    for d, doc in enumerate(documents):
        for s in range(len(doc.sections)):
            keys.append((d, s))
            titles.append(heading_text(doc, s))
    return np.array(keys, dtype=np.int64).reshape(-1, 2), titles


@dataclass(frozen=True)
class Weights:
    """The second stage: a linear combination of :data:`FEATURES` with the main score."""

    weights: np.ndarray
    entries: int = ENTRIES
    entry_units: int = ENTRY_UNITS

    @classmethod
    def load(cls, path: Path = STRUCTURE_FILE) -> Weights:
        return cls.from_dict(json.loads(path.read_text()))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Weights:
        w = data["weights"]
        return cls(
            weights=np.array([float(w.get(f, 0.0)) for f in FEATURES], dtype=np.float64),
            entries=int(data.get("entries", ENTRIES)),
            entry_units=int(data.get("entry_units", ENTRY_UNITS)),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "weights": {f: float(v) for f, v in zip(FEATURES, self.weights, strict=True)},
            "entries": self.entries,
            "entry_units": self.entry_units,
        }


# Before a fit: the main score, plus the heading and entry evidence.
DEFAULT_WEIGHTS = Weights(
    np.array(
        [1.0, 1.0, 0.5, 2.0, 0.5, 2.0, 0.2, 0.0, 0.0, 0.0, 0.0, 1.0, 0.5, 0.0], dtype=np.float64
    )
)


@lru_cache(maxsize=1)
def default_weights() -> Weights:
    return Weights.load() if STRUCTURE_FILE.exists() else DEFAULT_WEIGHTS


@dataclass
class Structure:
    """The outline of an index, laid over its units: who sits under which heading."""

    keys: np.ndarray  # int64 (m, 2): document, section
    vectors: np.ndarray  # float32 (m, dim): each heading's title embedded
    own: np.ndarray  # int64 (n,): each unit's heading row in ``keys``, -1 outside any
    parents: list[tuple[int, ...]]  # per heading row: the heading rows above it
    question: np.ndarray  # bool (m,): the heading is a FAQ entry's question
    entry: np.ndarray  # int64 (m,): the nearest question at or above each heading, -1 none
    units: list[np.ndarray]  # per heading row: the rows of the units of its entry, in order
    kinds: np.ndarray  # int8 (n, 3): unit is an item, a row, code
    weights: Weights = field(default_factory=default_weights)
    # float32 (m, dim): each section's heading and own units' vectors, averaged.
    centroids: np.ndarray | None = None
    # int64 (n,): each unit's document; per document, the distinctive words of its name.
    document: np.ndarray | None = None
    names: list[frozenset[str]] = field(default_factory=list)

    @classmethod
    def build(
        cls,
        documents: Sequence[Document],
        sentences: np.ndarray,
        keys: np.ndarray,
        vectors: np.ndarray,
        weights: Weights | None = None,
        unit_vectors: np.ndarray | None = None,
    ) -> Structure | None:
        """The structure of an index; None when no document has headings."""
        if len(keys) == 0:
            return None
        row_of = {(int(d), int(s)): i for i, (d, s) in enumerate(keys)}
        n = len(sentences)
        own = np.full(n, -1, dtype=np.int64)
        kinds = np.zeros((n, 3), dtype=np.int8)
        for r in range(n):
            d, p = int(sentences[r, 0]), int(sentences[r, 1])
            block = documents[d].block(p)
            if block.section is not None:
                own[r] = row_of.get((d, block.section), -1)
            kinds[r] = (block.kind == ITEM, block.kind in (ROW, HEADER), block.kind == CODE)
        parents: list[tuple[int, ...]] = []
        question = np.zeros(len(keys), dtype=bool)
        for i, (d, s) in enumerate(keys):
            doc = documents[int(d)]
            section = doc.sections[int(s)]
            question[i] = is_question(section.title)
            up: list[int] = []
            at = section.parent
            while at is not None:
                up.append(row_of[(int(d), at)])
                at = doc.sections[at].parent
            parents.append(tuple(up))
        entry = np.array(
            [
                i if question[i] else next((u for u in parents[i] if question[u]), -1)
                for i in range(len(keys))
            ],
            dtype=np.int64,
        )
        # A unit belongs to the entry of its heading: an answer's sub-headings stay in it.
        unit_entry = np.where(own >= 0, entry[np.maximum(own, 0)], -1)
        order = np.argsort(unit_entry, kind="stable")
        bounds = np.searchsorted(unit_entry[order], np.arange(len(keys) + 1))
        units = [order[bounds[i] : bounds[i + 1]] for i in range(len(keys))]
        centroids = vectors.astype(np.float32).copy()
        if unit_vectors is not None and len(unit_vectors) == n and n:
            inside = own >= 0
            np.add.at(centroids, own[inside], unit_vectors[inside])
            centroids /= np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-12)
        return cls(
            keys,
            vectors,
            own,
            parents,
            question,
            entry,
            units,
            kinds,
            weights or default_weights(),
            centroids,
            sentences[:, 0].astype(np.int64),
            distinctive_names(documents),
        )

    def entries(self, similarity: np.ndarray) -> np.ndarray:
        """The heading rows of the FAQ entries best matching the question, best first."""
        entry = np.where(self.question, similarity, -np.inf)
        best = np.argsort(-entry)[: self.weights.entries]
        return best[np.isfinite(entry[best])]

    def extra_candidates(self, similarity: np.ndarray) -> np.ndarray:
        """Units of the best-matching entries' answers, to be ranked even if their words miss."""
        rows = [self.units[int(e)][: self.weights.entry_units] for e in self.entries(similarity)]
        return np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)

    def features(
        self,
        similarity: np.ndarray,
        candidates: np.ndarray,
        base: np.ndarray,
        added: np.ndarray,
        vector: np.ndarray | None = None,
        question_stems: Sequence[str] = (),
    ) -> np.ndarray:
        """(len(candidates), len(FEATURES)) for the second stage; ``similarity`` per heading.

        ``vector``: the question's, for its similarity to each section as a whole;
        ``question_stems``: its keywords, looked for in the documents' names.
        """
        whole = (
            self.centroids @ vector
            if vector is not None and self.centroids is not None
            else np.zeros(len(self.keys))
        )
        best_section = int(np.argmax(whole)) if len(whole) else -1
        entry_sim = np.where(self.question, similarity, -np.inf)
        best_entry = int(np.argmax(entry_sim)) if self.question.any() else -1
        best = float(entry_sim[best_entry]) if best_entry >= 0 else 0.0
        out = np.zeros((len(candidates), len(FEATURES)), dtype=np.float64)
        out[:, 0] = base
        out[:, 7] = added
        if question_stems and self.document is not None and self.names:
            asked = set(question_stems)
            named = np.array([bool(asked & n) for n in self.names], dtype=np.float64)
            if named.any() and not named.all():
                out[:, 13] = named[self.document[candidates]]
        for i, row in enumerate(candidates):
            h = int(self.own[int(row)])
            out[i, 8:11] = self.kinds[int(row)]
            if h < 0:
                if best_entry >= 0:
                    out[i, 5] = -best
                continue
            out[i, 1] = similarity[h]
            out[i, 11] = whole[h]
            out[i, 12] = float(h == best_section)
            up = self.parents[h]
            out[i, 2] = max((float(similarity[u]) for u in up), default=0.0)
            e = int(self.entry[h])
            if e >= 0:
                out[i, 3] = similarity[e]
                out[i, 4] = float(e == best_entry)
                units = self.units[e]
                out[i, 6] = float(len(units) > 0 and int(units[0]) == int(row))
            if best_entry >= 0:
                out[i, 5] = out[i, 3] - best
        return out

    def score(self, features: np.ndarray) -> np.ndarray:
        return features @ self.weights.weights
