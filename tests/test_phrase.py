"""The phrase reader shipped in index/phrase: the words of a quote that answer the question."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import numpy as np
import pytest

from index.errors import ModelError
from index.highlight import Highlighter, default_highlighter, token_f1
from index.phrase import PHRASE_DIR, MarkOdds, PhraseReader, best_span, default_phrase_reader

# The confidence of an answer the bot is fairly sure of ("high"): a mark needs the
# quote and its phrase to be right together.
SURE_QUOTE = 0.8

VOTE = (
    "The Denver Public Safety Enforcement Priorities Act, offered by Democrats, passed in a "
    "10-0 vote Monday night and was followed by a standing ovation."
)
LYNCH = (
    "\"By passing this irresponsible ordinance, the City of Denver's leadership has codified "
    "a dangerous policy,\" Denver's Field Operation Director Jeffrey Lynch said in a statement."
)
WILLIAMS = (
    '"I ask that you increase ICE raids and enforcements, lock federal funds to Denver, and that '
    "the Department of Justice investigate Denver officials for any violation of any applicable "
    'immigration, anti smuggling, or obstruction of justice laws," state Rep. Dave Williams, a '
    "Republican, wrote."
)
LETTER = (
    "The move comes during the same week a state representative from El Paso County wrote a "
    "letter to President Trump asking for additional resources to combat illegal immigration."
)
SESSIONS = (
    "Attorney General Jeff Sessions announced new guidelines in July, that if jurisdictions do "
    "not follow, they could lose Edward Bryne Memorial Justice Assistance Grants. Denver would "
    "lose roughly $425,000 annually."
)


@pytest.fixture(scope="module")
def reader() -> PhraseReader:
    found = default_phrase_reader()
    assert found is not None, f"no phrase reader in {PHRASE_DIR}"
    return found


@pytest.mark.parametrize(
    ("question", "quote", "answer"),
    [
        # Worded by someone who has not read the article, some typed the chat way.
        ("how much money is at stake for denver", SESSIONS, "$425,000"),
        ("When were the attorney general's new rules announced?", SESSIONS, "July"),
        ("Where is the lawmaker who wrote to Trump from?", LETTER, "El Paso County"),
        ("who runs ICE's operations in Denver?", LYNCH, "Jeffrey Lynch"),
        ("Which day did the council vote?", VOTE, "Monday"),
    ],
)
def test_the_words_that_answer_are_marked(question: str, quote: str, answer: str) -> None:
    mark = default_highlighter().mark(question, quote, SURE_QUOTE)
    assert mark is not None, question
    phrase = quote[mark[0] : mark[1]]
    assert token_f1(phrase, answer) >= 0.5, phrase


@pytest.mark.parametrize(
    ("question", "quote", "answer"),
    [
        # The reader's best guess here is another name in the quote: it must stay unmarked.
        ("who asked trump to increase ice raids", WILLIAMS, "Dave Williams"),
        ("Who did the state representative write to?", LETTER, "President Trump"),
    ],
)
def test_an_unsure_guess_is_never_shown_as_the_answer(
    question: str, quote: str, answer: str
) -> None:
    mark = default_highlighter().mark(question, quote, SURE_QUOTE)
    assert mark is None or token_f1(quote[mark[0] : mark[1]], answer) >= 0.5


def test_a_phrase_the_linear_model_disputes_needs_a_surer_quote() -> None:
    # The reader reads "Republican"; the linear model, going by the words around a
    # name, picks "state Rep". Disputed, the phrase is marked only in a quote the
    # bot is very sure of.
    question = "What party is Dave Williams in?"
    shipped = default_highlighter()
    span, _ = shipped.score(question, WILLIAMS)
    assert span is not None and WILLIAMS[span[0] : span[1]] == "Republican"
    assert not shipped.agrees(question, WILLIAMS, span)
    assert shipped.mark(question, WILLIAMS, SURE_QUOTE) is None
    assert shipped.mark(question, WILLIAMS, 0.97) == span
    # The linear model, going by the words around a phrase, picks "lose roughly
    # $425,000 annually" after the question's "lose".
    question = "which grants could denver lose"
    span, _ = shipped.score(question, SESSIONS)
    assert span is not None and not shipped.agrees(question, SESSIONS, span)
    mark = shipped.mark(question, SESSIONS, 0.9)
    assert mark is not None
    assert SESSIONS[mark[0] : mark[1]] == "Edward Bryne Memorial Justice Assistance Grants"
    assert shipped.mark(question, SESSIONS, 0.5) is None


def test_a_quote_the_bot_doubts_gets_no_mark() -> None:
    question = "Which day did the council vote?"
    assert default_highlighter().mark(question, VOTE, SURE_QUOTE) is not None
    assert default_highlighter().mark(question, VOTE, 0.3) is None


def test_a_quote_that_does_not_answer_gets_no_mark() -> None:
    marker = default_highlighter()
    assert (
        marker.mark("Who is the mayor of Denver?", 'ICE called the ordinance "dangerous."') is None
    )
    assert marker.mark("What year was the city founded?", VOTE) is None


def test_the_phrase_is_verbatim_text_of_the_quote(reader: PhraseReader) -> None:
    found = reader.read("How much would Denver lose each year?", SESSIONS)
    assert found is not None
    start, end, probability = found
    assert 0 <= start < end <= len(SESSIONS)
    assert "$425,000" in SESSIONS[start:end]
    assert 0.0 < probability <= 1.0


def test_empty_input_reads_nothing(reader: PhraseReader) -> None:
    assert reader.read("", SESSIONS) is None
    assert reader.read("Who voted?", "   ") is None


def test_best_span_stays_inside_the_quote_and_counts_the_no_phrase_token() -> None:
    start = np.array([9.0, 0.0, 5.0, 0.0])
    end = np.array([9.0, 0.0, 0.0, 5.0])
    allowed = np.array([False, True, True, True])
    first, last, probability = best_span(start, end, allowed)  # type: ignore[misc]
    assert (first, last) == (2, 3)
    # The "no phrase" token holds most of the mass, so the span is unlikely.
    assert probability < 0.1
    assert best_span(start, end, np.zeros(4, dtype=bool)) is None


@pytest.mark.parametrize(
    "odds",
    [
        {"phrase": 0.5, "confidence": 0.5},
        {"phrase": "high", "confidence": 1, "agree": 1, "bias": 0},
    ],
)
def test_malformed_odds_are_one_clear_error(tmp_path, odds) -> None:  # type: ignore[no-untyped-def]
    for name in ("model.onnx", "tokenizer.json"):
        shutil.copy(PHRASE_DIR / name, tmp_path / name)
    config = {"max_length": 192, "threshold": 0.7, "odds": odds}
    (tmp_path / "phrase.json").write_text(json.dumps(config))
    with pytest.raises(ModelError, match="phrase.json is malformed"):
        PhraseReader(tmp_path)


def test_a_broken_phrase_reader_is_one_clear_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "phrase.json").write_text('{"max_length": 192, "threshold": 0.5}')
    (tmp_path / "tokenizer.json").write_text("{}")
    (tmp_path / "model.onnx").write_bytes(b"not a model")
    with pytest.raises(ModelError, match="Cannot load the phrase reader"):
        PhraseReader(tmp_path)


class FixedReader(PhraseReader):
    """A phrase reader that always picks ``phrase`` with ``probability``."""

    def __init__(self, phrase: str, probability: float, odds: MarkOdds | None) -> None:
        self.phrase, self.probability, self.odds = phrase, probability, odds

    def read(self, question: str, text: str) -> tuple[int, int, float] | None:
        at = text.index(self.phrase)
        return at, at + len(self.phrase), self.probability


FOUNDED = "The company was founded by Alice Johnson in 1998 in a garage."
YEAR = (FOUNDED.index("1998"), FOUNDED.index("1998") + 4)
# Odds in which agreeing with the linear model is worth more than the reader's word.
AGREEMENT = MarkOdds(phrase=0.5, confidence=0.5, agree=2.0, bias=-1.0)


def marker(phrase: str) -> Highlighter:
    return replace(
        default_highlighter(), phrases=FixedReader(phrase, 0.6, AGREEMENT), threshold=0.7
    )


def test_a_phrase_both_models_pick_is_marked_and_one_they_dispute_is_not() -> None:
    # The linear model picks the year for "when": the reader's "1998" is marked, while
    # its "Alice Johnson", read with the same probability, stays unmarked.
    assert default_highlighter().agrees("When was the company founded?", FOUNDED, YEAR)
    mark = marker("1998").mark("When was the company founded?", FOUNDED, SURE_QUOTE)
    assert mark is not None and FOUNDED[mark[0] : mark[1]] == "1998"
    assert (
        marker("Alice Johnson").mark("When was the company founded?", FOUNDED, SURE_QUOTE) is None
    )


def test_agreement_does_not_rescue_a_quote_the_bot_doubts() -> None:
    assert marker("1998").mark("When was the company founded?", FOUNDED, 0.02) is None


def test_a_reader_without_fitted_odds_marks_nothing() -> None:
    # As bench/train_phrase.py leaves a reader it has trained but not yet fitted odds for.
    unfitted = replace(default_highlighter(), phrases=FixedReader("1998", 0.99, None))
    assert unfitted.mark("When was the company founded?", FOUNDED, 0.99) is None


def test_the_shipped_reader_comes_with_fitted_odds(reader: PhraseReader) -> None:
    assert reader.odds is not None
    # Each signal pushes the right way: a surer phrase, a surer quote, two models agreeing.
    assert reader.odds.phrase > 0 and reader.odds.confidence > 0 and reader.odds.agree > 0
    assert 0 < reader.threshold < 1
