"""The answer phrase inside a quote: which words answer a short factual question.

Where this copy ships the phrase reader (``index/phrase.py``, a reading-
comprehension model fine-tuned from the bundled MiniLM), it reads the question
and the quote together and proposes the phrase with its probability. Without
it, a linear model does the job: the words of a quote give candidate phrases
(runs of up to :data:`MAX_TOKENS` words that cross no punctuation and neither
start nor end on a function word), each described by a few features: the kind
of thing the question asks for against what the phrase is (a year, a number,
an amount, a name), how many of its words the question already says, how close
it is to the words the question and the quote share, its length and
capitalisation. A linear score over those features, fitted on articles 0-19 of
the SQuAD tuning split (``python -m bench.tune_highlight``, weights in
``highlight.json``), ranks the phrases against a "no phrase" option. With the
phrase reader, the linear model's choice still counts: a phrase both pick is
more often right (:class:`index.phrase.MarkOdds`). Either way the phrase is
marked only when the probability that it is right passes a threshold chosen
for precision, and only for questions that ask a short fact.
"""

from __future__ import annotations

import json
import math
import re
import string
import unicodedata
from bisect import bisect_left
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from index.logistic import sigmoid
from index.phrase import PhraseReader, default_phrase_reader, log_odds
from index.query import search_text
from index.search import question_kind
from index.text import STOPWORDS, _stemmer

HIGHLIGHT_FILE = Path(__file__).with_name("highlight.json")
MAX_TOKENS = 6
# Question kinds that ask for a short fact; "why" and "how" (but "how many …") do not.
FACT_KINDS = ("when", "count", "who", "where", "what", "other")
TYPES = ("year", "date", "number", "amount", "name", "lower", "long")

_TOKEN = re.compile(r"[$€£¥]?[^\W_]+(?:(?:[-–'’/:&]|[.,](?=\d))[^\W_]+)*%?|[^\w\s]")
_YEAR = re.compile(r"^(1[0-9]{3}|20[0-9]{2})s?$")
_NUMBER_WORDS = frozenset(
    "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety "
    "hundred hundreds thousand thousands million millions billion billions trillion dozen dozens "
    "half quarter third first second".split()
)
_MONTHS = frozenset(
    "january february march april may june july august september october november december "
    "monday tuesday wednesday thursday friday saturday sunday century centuries decade "
    "spring summer autumn fall winter".split()
)
_AMOUNT_WORDS = frozenset(
    "percent per cent dollars dollar euros euro pounds pound cents usd km kilometres kilometers "
    "miles mile metres meters feet foot acres hectares tons tonnes kg pounds degrees years "
    "months days hours minutes seconds".split()
)
_PLACE_PREPOSITIONS = frozenset("in at on from near to into across within".split())
_TIME_PREPOSITIONS = frozenset("in on during since until by before after from".split())
_AGENT_PREPOSITIONS = frozenset("by with".split())
_WH = frozenset("what which whose".split())


def _fold(word: str) -> str:
    folded = unicodedata.normalize("NFKD", word)
    return "".join(c for c in folded if not unicodedata.combining(c)).lower().replace("’", "'")


@dataclass(frozen=True)
class Token:
    text: str
    start: int
    end: int
    lower: str
    stem: str  # "" for punctuation and function words
    word: bool  # letters or digits (not punctuation)


def tokenize(text: str) -> list[Token]:
    """Word and punctuation tokens of ``text`` with exact character offsets."""
    raw = [(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(text)]
    lowers = [_fold(t) for t, _, _ in raw]
    content = [w for w in lowers if w not in STOPWORDS and any(c.isalnum() for c in w)]
    stemmed = iter(_stemmer().stemWords(content) if content else [])
    tokens = []
    for (t, s, e), low in zip(raw, lowers, strict=True):
        is_word = any(c.isalnum() for c in t)
        stem = next(stemmed) if (is_word and low not in STOPWORDS) else ""
        tokens.append(Token(t, s, e, low, stem, is_word))
    return tokens


@lru_cache(maxsize=256)
def _question_tokens(question: str) -> tuple[Token, ...]:
    """``tokenize(question)``, kept: four features and two models read each question."""
    return tuple(tokenize(question))


def _question_stems(question: str) -> set[str]:
    return {t.stem for t in _question_tokens(question) if t.stem}


def _wh_noun(question: str) -> str:
    """The stem of the noun a "what …" / "which …" question names ("which river" → "river")."""
    tokens = [t for t in _question_tokens(question) if t.word]
    for i, t in enumerate(tokens[:-1]):
        if t.lower in _WH:
            for u in tokens[i + 1 : i + 4]:
                if u.stem:
                    return u.stem
            return ""
    return ""


# The noun after "what"/"which" often says what kind of thing is asked for.
_NOUN_KINDS = {
    "when": "year years date day days month months century centuries decade decades period "
    "season seasons era time times age ages",
    "count": "number numbers percentage percent amount amounts size population rate cost costs "
    "price prices temperature distance length height weight speed proportion share fraction "
    "value total sum",
    "who": "person people man men woman women president leader leaders king queen emperor "
    "scientist author writer player players team teams company companies organization "
    "organisation group groups party general minister coach architect artist composer "
    "engineer physicist philosopher family dynasty tribe",
    "where": "city cities country countries state states region regions place places location "
    "locations area areas continent island islands river rivers town towns province county "
    "street building nation nations capital",
}
_NOUN_KIND = {w: kind for kind, nouns in _NOUN_KINDS.items() for w in nouns.split()}


# "What did the mayor say about …?", "What does the phrase mean?": the answer is a
# clause, not a short fact (on the held-out tuning articles the reader's phrase was
# right for 2 of 9 such questions).
_ASKS_FOR_A_CLAUSE = re.compile(
    r"^(?:what|which)\s+(?:did|does|do|will|would|can|could|should)\b.*\b"
    r"(?:say|said|says|think|believe|claim|argue|mean|want|ask|do|feel)\b",
    re.IGNORECASE,
)


def answer_kind(question: str) -> str:
    """The kind of fact a question asks for (``when``, ``count``, ``who`` …).

    As search sees it, refined by the noun a "what …"/"which …" question names:
    "which city" asks for a place, "what percentage" for an amount; ``clause``
    for "what did … say/think/mean …", whose answer is no short fact.
    """
    text = search_text(question)
    kind = question_kind(text)
    if kind == "what" and _ASKS_FOR_A_CLAUSE.search(text):
        return "clause"
    if kind == "what":
        tokens = [t for t in _question_tokens(text) if t.word]
        for k, t in enumerate(tokens[:-1]):
            if t.lower in _WH:
                for u in tokens[k + 1 : k + 3]:
                    if u.lower in _NOUN_KIND:
                        return _NOUN_KIND[u.lower]
                break
    return kind


def _token_type(t: Token) -> str:
    if _YEAR.match(t.lower):
        return "year"
    if t.lower in _MONTHS:
        return "date"
    if t.text[:1] in "$€£¥" or t.text.endswith("%") or t.lower in ("percent", "per"):
        return "amount"
    if any(c.isdigit() for c in t.text) or t.lower in _NUMBER_WORDS:
        return "number"
    if t.text[:1].isupper():
        return "name"
    return "lower"


@dataclass(frozen=True)
class Candidates:
    """The candidate phrases of one quote for one question, and their features."""

    spans: list[tuple[int, int]]  # token index ranges [i, j)
    tokens: list[Token]
    features: np.ndarray  # (1 + len(spans), len(FEATURES)); row 0 is "no phrase"
    kind: str = "other"
    expected: tuple[bool, ...] = ()  # per span: it is what the question asks for (a year …)


# Words before or after a phrase that say much about it ("by …", "… (", "called …").
CONTEXT_WORDS = tuple(
    "the of in on at by as was is were are from to for with and a an his her its their "
    "which who that called named known than , ( ) . ; : \" “ ” 's".split()
)
KIND_FEATURES = tuple(f"{k}_x_{t}" for k in FACT_KINDS for t in TYPES)
FEATURES = (
    # the "no phrase" option
    "null",
    *(f"null_{k}" for k in FACT_KINDS),
    "null_quote_match",
    "null_type_present",
    # a candidate phrase
    *KIND_FEATURES,
    "in_question",
    "any_in_question",
    "log_distance",
    "adjacent",
    "near_match_4",
    "near_match_10",
    "left_of_matches",
    "right_of_matches",
    "between_matches",
    "wh_noun_near",
    "wh_noun_inside",
    "len_1",
    "len_2",
    "len_3",
    "len_4",
    "len_5plus",
    "cap_share",
    "all_cap",
    "sentence_start",
    "clean_left",
    "clean_right",
    "cap_maximal",
    "number_maximal",
    "after_place_prep_x_where",
    "after_time_prep_x_when",
    "after_agent_prep_x_who",
    "after_of",
    "before_comma",
    "in_brackets",
    "in_quotes",
    "expected_x_adjacent",
    "expected_x_near_match_4",
    "anchor_after_near",
    "anchor_after_adjacent",
    "anchor_after_left",
    "anchor_after_log_distance",
    "anchor_before_near",
    "anchor_before_adjacent",
    "anchor_before_right",
    "anchor_before_log_distance",
    "anchor_missing",
    "cap_then_lower",
    "opens_on_question_word",
    "closes_on_question_word",
    "inner_function_words",
    "lower_then_cap",
    *(f"{k}_x_log_distance" for k in FACT_KINDS),
    *(f"{k}_x_in_question" for k in FACT_KINDS),
    *(f"prev_{w}" for w in CONTEXT_WORDS),
    *(f"next_{w}" for w in CONTEXT_WORDS),
)
_INDEX = {f: i for i, f in enumerate(FEATURES)}


def candidates(question: str, text: str) -> Candidates:
    """The candidate answer phrases in ``text`` for ``question``, with their features."""
    question = search_text(question)
    kind = answer_kind(question)
    kind = kind if kind in FACT_KINDS else "other"
    q_stems = _question_stems(question)
    wh_noun = _wh_noun(question)
    after_anchor, before_anchor = _anchors(question)
    tokens = tokenize(text)
    n = len(tokens)
    matched = [i for i, t in enumerate(tokens) if t.stem and t.stem in q_stems]
    types = [_token_type(t) if t.word else "" for t in tokens]
    wh_positions = [i for i, t in enumerate(tokens) if wh_noun and t.stem == wh_noun]
    quote_marks = [i for i, t in enumerate(tokens) if t.text in '"“”']
    after_at = [i for i, t in enumerate(tokens) if after_anchor and t.stem == after_anchor]
    before_at = [i for i, t in enumerate(tokens) if before_anchor and t.stem == before_anchor]
    brackets: list[bool] = []
    depth = 0
    for t in tokens:
        if t.text == "(":
            depth += 1
        elif t.text == ")":
            depth = max(0, depth - 1)
        brackets.append(depth > 0)

    spans: list[tuple[int, int]] = []
    rows: list[list[float]] = []  # lists while filling: far cheaper to set one by one
    expected_spans: list[bool] = []
    type_present = False
    for i in range(n):
        if not tokens[i].word or tokens[i].lower in STOPWORDS:
            continue
        for j in range(i + 1, min(n, i + MAX_TOKENS) + 1):
            last = tokens[j - 1]
            if not last.word:
                break  # punctuation ends every phrase that starts at i
            if last.lower in STOPWORDS:
                continue
            inside = tokens[i:j]
            content = [t for t in inside if t.stem]
            asked = sum(t.stem in q_stems for t in content)
            if content and asked == len(content):
                continue  # the question already says all of it
            row = [0.0] * len(FEATURES)
            span_types = {types[k] for k in range(i, j)}
            length = j - i
            wanted = _wanted_types(span_types, length)
            for kind_type in wanted:
                row[_INDEX[f"{kind}_x_{kind_type}"]] = 1.0
            if _expected(kind, wanted):
                type_present = True
            row[_INDEX["in_question"]] = asked / max(1, len(content))
            row[_INDEX["opens_on_question_word"]] = float(tokens[i].stem in q_stems)
            row[_INDEX["closes_on_question_word"]] = float(last.stem in q_stems)
            row[_INDEX["any_in_question"]] = float(asked > 0)
            # Plain lists, not arrays: this runs for every candidate, and numpy's
            # per-call cost on a handful of positions made it most of the time.
            before = matched[: bisect_left(matched, i)]
            later = matched[bisect_left(matched, j) :]
            if before or later:
                left_gap = i - before[-1] if before else n
                right_gap = later[0] - j + 1 if later else n
                gap = min(left_gap, right_gap)
                row[_INDEX["log_distance"]] = math.log1p(gap)
                row[_INDEX["adjacent"]] = float(gap <= 1)
                row[_INDEX["near_match_4"]] = _near(tokens, before, later, i - 4, j + 4, q_stems)
                row[_INDEX["near_match_10"]] = _near(tokens, before, later, i - 10, j + 10, q_stems)
                row[_INDEX["left_of_matches"]] = float(not before)
                row[_INDEX["right_of_matches"]] = float(not later)
                row[_INDEX["between_matches"]] = float(bool(before) and bool(later))
            else:
                row[_INDEX["log_distance"]] = math.log1p(n)
            if wh_positions:
                row[_INDEX["wh_noun_near"]] = float(
                    any(i - 3 <= k < j + 3 and not i <= k < j for k in wh_positions)
                )
                row[_INDEX["wh_noun_inside"]] = float(any(i <= k < j for k in wh_positions))
            row[_INDEX[f"len_{min(length, 5)}" + ("plus" if length >= 5 else "")]] = 1.0
            words = [t for t in inside if t.word and t.lower not in STOPWORDS]
            caps = [t for t in words if t.text[:1].isupper()]
            row[_INDEX["cap_share"]] = len(caps) / max(1, len(words))
            row[_INDEX["all_cap"]] = float(bool(words) and len(caps) == len(words))
            row[_INDEX["sentence_start"]] = float(i == 0)
            prev = tokens[i - 1] if i > 0 else None
            after = tokens[j] if j < n else None
            row[_INDEX["clean_left"]] = float(
                prev is None or not prev.word or prev.lower in STOPWORDS
            )
            row[_INDEX["clean_right"]] = float(
                after is None or not after.word or after.lower in STOPWORDS
            )
            row[_INDEX["cap_maximal"]] = float(
                bool(caps)
                and (prev is None or not prev.text[:1].isupper())
                and (after is None or not after.text[:1].isupper())
            )
            numeric = span_types & {"number", "year", "amount"}
            row[_INDEX["number_maximal"]] = float(
                bool(numeric)
                and (prev is None or types[i - 1] not in ("number", "amount"))
                and (after is None or types[j] not in ("number", "amount"))
            )
            if prev is not None:
                row[_INDEX["after_place_prep_x_where"]] = float(
                    kind == "where" and prev.lower in _PLACE_PREPOSITIONS
                )
                row[_INDEX["after_time_prep_x_when"]] = float(
                    kind == "when" and prev.lower in _TIME_PREPOSITIONS
                )
                row[_INDEX["after_agent_prep_x_who"]] = float(
                    kind == "who" and prev.lower in _AGENT_PREPOSITIONS
                )
                row[_INDEX["after_of"]] = float(prev.lower == "of")
            row[_INDEX["before_comma"]] = float(after is not None and after.text == ",")
            row[_INDEX["in_brackets"]] = float(brackets[i])
            row[_INDEX["in_quotes"]] = float(sum(k < i for k in quote_marks) % 2 == 1)
            expected = float(_expected(kind, wanted))
            row[_INDEX["expected_x_adjacent"]] = expected * row[_INDEX["adjacent"]]
            row[_INDEX["expected_x_near_match_4"]] = expected * row[_INDEX["near_match_4"]]
            _anchor_features(row, "anchor_after", after_at, i, j, n)
            _anchor_features(row, "anchor_before", before_at, i, j, n)
            row[_INDEX["anchor_missing"]] = float(not after_at and not before_at)
            if len(words) >= 2:
                first_cap, last_cap = words[0].text[:1].isupper(), words[-1].text[:1].isupper()
                row[_INDEX["cap_then_lower"]] = float(first_cap and not last_cap)
                row[_INDEX["lower_then_cap"]] = float(not first_cap and last_cap)
            row[_INDEX["inner_function_words"]] = sum(
                1 for t in inside if t.word and t.lower in STOPWORDS
            )
            row[_INDEX[f"{kind}_x_log_distance"]] = row[_INDEX["log_distance"]]
            row[_INDEX[f"{kind}_x_in_question"]] = row[_INDEX["in_question"]]
            if prev is not None and f"prev_{prev.lower}" in _INDEX:
                row[_INDEX[f"prev_{prev.lower}"]] = 1.0
            if after is not None and f"next_{after.lower}" in _INDEX:
                row[_INDEX[f"next_{after.lower}"]] = 1.0
            spans.append((i, j))
            rows.append(row)
            expected_spans.append(bool(expected))

    null = np.zeros(len(FEATURES), dtype=np.float32)
    null[_INDEX["null"]] = 1.0
    null[_INDEX[f"null_{kind}"]] = 1.0
    null[_INDEX["null_quote_match"]] = (
        len({tokens[k].stem for k in matched}) / len(q_stems) if q_stems else 0.0
    )
    null[_INDEX["null_type_present"]] = float(type_present)
    features = np.vstack([null, np.array(rows, dtype=np.float32).reshape(-1, len(FEATURES))])
    return Candidates(spans, tokens, features, kind, tuple(expected_spans))


def _near(
    tokens: Sequence[Token],
    before: Sequence[int],
    later: Sequence[int],
    lo: int,
    hi: int,
    q_stems: set[str],
) -> float:
    """Share of the question's words matched within token positions ``[lo, hi)``."""
    if not q_stems:
        return 0.0
    near = {tokens[k].stem for k in before if k >= lo} | {tokens[k].stem for k in later if k < hi}
    return len(near) / len(q_stems)


def _anchors(question: str) -> tuple[str, str]:
    """The content words right after and right before the question word ("what", "who" …).

    In "Which NFL team represented the AFC?" the phrase answering sits next to
    where the sentence says "represented"; in "… for what season?", next to "champion".
    """
    tokens = [t for t in _question_tokens(question) if t.word]
    wh = next(
        (
            k
            for k, t in enumerate(tokens)
            if t.lower in ("what", "which", "who", "whom", "whose", "when", "where", "how")
        ),
        None,
    )
    if wh is None:
        return "", ""
    skip = wh + 1
    if tokens[wh].lower in ("what", "which", "how"):
        skip += 1  # "what team", "how many": the word after names the kind, not an anchor
    after = next((t.stem for t in tokens[skip:] if t.stem), "")
    before = next((t.stem for t in reversed(tokens[:wh]) if t.stem), "")
    return after, before


def _anchor_features(
    row: list[float], name: str, positions: list[int], i: int, j: int, n: int
) -> None:
    outside = [k for k in positions if not i <= k < j]
    if not outside:
        row[_INDEX[f"{name}_log_distance"]] = math.log1p(n)
        return
    gaps = [(i - k if k < i else k - j + 1, k) for k in outside]
    gap, k = min(gaps)
    row[_INDEX[f"{name}_log_distance"]] = math.log1p(gap)
    row[_INDEX[f"{name}_near"]] = float(gap <= 4)
    row[_INDEX[f"{name}_adjacent"]] = float(gap <= 1)
    if name == "anchor_after":
        row[_INDEX["anchor_after_left"]] = float(k >= j)
    else:
        row[_INDEX["anchor_before_right"]] = float(k < i)


def _wanted_types(span_types: set[str], length: int) -> list[str]:
    """The answer types a phrase offers (a phrase may be a year and a date at once)."""
    out: list[str] = [t for t in ("year", "date", "number", "amount", "name") if t in span_types]
    if not out:
        out.append("lower")
    if length >= 4:
        out.append("long")
    return out


def _expected(kind: str, wanted: Sequence[str]) -> bool:
    expect = {
        "when": ("year", "date"),
        "count": ("number", "amount"),
        "who": ("name",),
        "where": ("name",),
    }.get(kind, ())
    return any(t in expect for t in wanted)


def span_overlap(a: tuple[int, int], b: tuple[int, int]) -> float:
    """Token F1 between two token ranges of the same text."""
    shared = max(0, min(a[1], b[1]) - max(a[0], b[0]))
    return 2 * shared / ((a[1] - a[0]) + (b[1] - b[0]))


def choose(
    found: Candidates, weights: np.ndarray
) -> tuple[tuple[int, int] | None, float, np.ndarray]:
    """The best phrase (token range), the probability that it is right, and every probability.

    The probability of a phrase counts the phrases that overlap it closely
    (token F1 ≥ 0.5): "Denver Broncos" and "the Denver Broncos" are one answer.
    """
    scores = found.features @ weights
    scores = scores - scores.max()
    p = np.exp(scores)
    p /= p.sum()
    if not found.spans:
        return None, 0.0, p
    best = int(np.argmax(p[1:]))
    span = found.spans[best]
    mass = sum(
        float(p[k + 1]) for k, other in enumerate(found.spans) if span_overlap(span, other) >= 0.5
    )
    return span, mass, p


SURE_FEATURES = (
    "mass",
    "log_mass",
    "top",
    "no_phrase",
    "runner_up",
    "log_candidates",
    "expected_top",
    "expected_alone",
    "expected_several",
    "top_length",
    *(f"kind_{k}" for k in FACT_KINDS),
    "quote_match",
)


def sure_features(
    found: Candidates, p: np.ndarray, span: tuple[int, int], mass: float
) -> np.ndarray:
    """What says how sure the choice of ``span`` is: its probability mass, the best rival, how
    many phrases of the wanted kind the quote holds (one year in the quote, one "when"), …"""
    best = found.spans.index(span)
    rivals = [
        float(p[k + 1])
        for k, other in enumerate(found.spans)
        if span_overlap(span, other) < 0.5 and not (set(range(*span)) & set(range(*other)))
    ]
    expected = sum(found.expected)
    x = np.zeros(len(SURE_FEATURES))
    values = {
        "mass": mass,
        "log_mass": math.log(max(mass, 1e-6)),
        "top": float(p[best + 1]),
        "no_phrase": float(p[0]),
        "runner_up": max(rivals, default=0.0),
        "log_candidates": math.log1p(len(found.spans)),
        "expected_top": float(found.expected[best]),
        "expected_alone": float(found.expected[best] and expected == 1),
        "expected_several": float(expected >= 2),
        "top_length": float(span[1] - span[0]),
        f"kind_{found.kind}": 1.0,
        "quote_match": float(found.features[0, _INDEX["null_quote_match"]]),
    }
    for name, value in values.items():
        x[SURE_FEATURES.index(name)] = value
    return x


@dataclass(frozen=True)
class Highlighter:
    """Marks the answer phrase of a short factual question inside a quote."""

    weights: np.ndarray  # one per FEATURES
    threshold: float  # mark only when P(the phrase is right) reaches this
    # P(the chosen phrase is right), logistic over SURE_FEATURES; None: the phrase's mass.
    sure_weights: np.ndarray | None = None
    sure_bias: float = 0.0
    # The phrase reader, when this copy ships one: it reads the quote instead of the
    # linear phrase model, and ``threshold`` is then the one chosen for it.
    phrases: PhraseReader | None = None

    @classmethod
    def load(cls, path: Path = HIGHLIGHT_FILE) -> Highlighter:
        data = json.loads(path.read_text())
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Highlighter:
        w = data["weights"]
        sure = data.get("sure_weights")
        return cls(
            weights=np.array([w.get(f, 0.0) for f in FEATURES], dtype=np.float64),
            threshold=float(data["threshold"]),
            sure_weights=(
                np.array([sure.get(f, 0.0) for f in SURE_FEATURES], dtype=np.float64)
                if sure
                else None
            ),
            sure_bias=float(data.get("sure_bias", 0.0)),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "weights": {f: round(float(w), 6) for f, w in zip(FEATURES, self.weights, strict=True)},
            "threshold": round(self.threshold, 6),
            "sure_weights": (
                {
                    f: round(float(w), 6)
                    for f, w in zip(SURE_FEATURES, self.sure_weights, strict=True)
                }
                if self.sure_weights is not None
                else None
            ),
            "sure_bias": round(self.sure_bias, 6),
        }

    def probability(
        self, found: Candidates, p: np.ndarray, span: tuple[int, int], mass: float
    ) -> float:
        """P(``span`` is the answer), from the sureness model when there is one."""
        if self.sure_weights is None:
            return mass
        z = float(sure_features(found, p, span, mass) @ self.sure_weights + self.sure_bias)
        return sigmoid(z)

    def score(self, question: str, text: str) -> tuple[tuple[int, int] | None, float]:
        """The best phrase in ``text`` as character offsets, and its probability of being right.

        ``(None, 0.0)`` when the question does not ask for a short fact.
        """
        if answer_kind(question) not in FACT_KINDS:
            return None, 0.0
        if self.phrases is not None:
            read = self.phrases.read(search_text(question), text)
            if read is None:
                return None, 0.0
            return (read[0], read[1]), read[2]
        found = candidates(question, text)
        span, mass, p = choose(found, self.weights)
        if span is None:
            return None, 0.0
        probability = self.probability(found, p, span, mass)
        i, j = span
        return (found.tokens[i].start, found.tokens[j - 1].end), probability

    def mark(
        self, question: str, text: str, quote_probability: float = 1.0
    ) -> tuple[int, int] | None:
        """Character offsets in ``text`` of the phrase answering ``question``, or None.

        ``quote_probability``: how likely ``text`` holds the answer at all (the
        answer's confidence). With the phrase reader, a phrase read in a quote
        that is probably wrong is probably wrong too: the mark needs the reader's
        :class:`~index.phrase.MarkOdds` to pass the threshold (a reader whose odds
        are not fitted yet marks nothing).
        """
        if self.phrases is None:
            span, probability = self.score(question, text)
            return span if span is not None and probability >= self.threshold else None
        odds = self.phrases.odds
        bar = log_odds(self.threshold)
        if odds is None or odds.best_logit(quote_probability) < bar:
            return None  # skip reading: no phrase could pass
        span, probability = self.score(question, text)
        if span is None:
            return None
        alone = odds.logit(probability, quote_probability, agree=False)
        together = odds.logit(probability, quote_probability, agree=True)
        if min(alone, together) >= bar:
            return span
        if max(alone, together) < bar:
            return None
        # Only here does it matter whether the linear model picks the same words.
        agree = self.agrees(question, text, span)
        return span if odds.logit(probability, quote_probability, agree) >= bar else None

    def agrees(self, question: str, text: str, span: tuple[int, int]) -> bool:
        """The linear model's best phrase in ``text`` is ``span``'s words (token F1 ≥ 0.5)."""
        linear, _ = replace(self, phrases=None).score(question, text)
        return linear is not None and token_f1(text[slice(*linear)], text[slice(*span)]) >= 0.5


@lru_cache(maxsize=1)
def default_highlighter() -> Highlighter:
    """The shipped marker: the phrase reader where this copy has one, else the linear model."""
    linear = Highlighter.load()
    phrases = default_phrase_reader()
    if phrases is None:
        return linear
    return replace(linear, phrases=phrases, threshold=phrases.threshold)


# -- SQuAD's answer scoring -------------------------------------------------------------

_ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalize_answer(text: str) -> list[str]:
    """SQuAD's normalisation: lower case, no punctuation, no articles; as tokens."""
    text = text.lower()
    text = "".join(c for c in text if c not in string.punctuation)
    return _ARTICLES.sub(" ", text).split()


def token_f1(prediction: str, gold: str) -> float:
    """SQuAD's token F1 between a marked phrase and a gold answer."""
    pred, ref = normalize_answer(prediction), normalize_answer(gold)
    common = Counter(pred) & Counter(ref)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(ref)
    return 2 * precision * recall / (precision + recall)
