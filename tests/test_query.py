"""Questions as people type them to a bot: chat taken off, misspellings matched, back-references."""

from __future__ import annotations

import random

import numpy as np
import pytest
from fakes import FakeEmbedder

from bot.service import QuoteService
from index.documents import Document
from index.logistic import fit_monotone
from index.query import search_text
from index.search import Searcher, refers_back
from index.spelling import Speller
from index.store import build_index
from quality.evaluate import EvaluatedQuestion, calibration, calibration_error
from quality.squad import chat_noise


@pytest.mark.parametrize(
    ("typed", "asked"),
    [
        ("hey quotebot, who is the mayor? thanks!", "who is the mayor?"),
        ("@quotebot pls whats the vote count 🙏", "what is the vote count"),
        (
            "<@U024BE7LH> How did the council vote? Please answer carefully and cite the "
            "paragraph, thanks",
            "How did the council vote?",
        ),
        ("hi! can you tell me when the tower was built", "when the tower was built"),
        ("so um who wrote the letter?? thx", "who wrote the letter?"),
        ("what party is Dave Williams - thanks in advance", "what party is Dave Williams"),
        ("who is the mayor, thanks a lot!", "who is the mayor"),
    ],
)
def test_chat_around_a_question_is_not_searched(typed: str, asked: str):
    assert search_text(typed) == asked


@pytest.mark.parametrize(
    "question",
    [
        "What did the city say about thanks giving?",
        "What is the Please Touch Museum?",
        "Who won the 2018 World Cup?",
        "thanks?",
        "hello",
    ],
)
def test_words_that_are_the_question_are_kept(question: str):
    assert search_text(question) == question


def test_a_misspelled_word_is_matched_to_the_corpus_word_one_edit_away():
    speller = Speller.from_words(
        "with his mathematical insight newton formulated laws the council voted unanimously".split()
    )
    assert speller.suggest("mathmatical") == "mathematical"  # a letter dropped
    assert speller.suggest("coucnil") == "council"  # two letters swapped
    assert speller.suggest("unanimusly") == "unanimously"
    assert speller.suggest("council") is None  # known words are left alone
    assert speller.suggest("zebra") is None  # nothing close: no guess


def _one_document(text: str) -> QuoteService:
    doc = Document("frontier.txt", "Frontier", text, ((0, len(text)),))
    index = build_index([doc], FakeEmbedder())
    return QuoteService(index, Searcher(index, FakeEmbedder()))


def test_a_misspelled_question_finds_the_sentence_spelled_right():
    service = _one_document(
        "The fort stood on the river. With his mathematical insight, Newton described gravity. "
        "The harvest failed that year."
    )
    query = service.searcher.prepare("Who had mathmatical insight?")
    assert "mathemat" in query.stems
    assert "Newton" in service.ask("Who had mathmatical insight?").quotes[0].text


def test_a_sentence_that_opens_with_he_is_quoted_with_the_sentence_naming_him():
    text = (
        "The river froze early that winter. Tanaghrisson was a chief of the Mingo people. "
        "He travelled to the French fort and threatened the commander Marin. "
        "The harvest failed that year."
    )
    service = _one_document(text)
    he = service.index.texts.index(
        "He travelled to the French fort and threatened the commander Marin."
    )
    first = service._quotes([(he, 1.0)])[0]  # the best sentence alone, no neighbour ranked
    assert first.text.startswith("Tanaghrisson was a chief")
    assert first.text.endswith("commander Marin.")
    assert text[first.start : first.end] == first.text
    assert refers_back("This was the end.") and refers_back("“They left.")
    assert not refers_back("Theirs is a different story.")


def test_chat_noise_is_seeded_and_keeps_the_question_recognisable():
    questions = ["When was the tower finished?", "Whose company built the tower?"] * 20
    once = [chat_noise(q, random.Random(3)) for q in questions]
    again = [chat_noise(q, random.Random(3)) for q in questions]
    assert once == again
    noisy = [chat_noise(q, random.Random(i)) for i, q in enumerate(questions)]
    assert sum(n != q for n, q in zip(noisy, questions, strict=True)) >= 30
    for n, q in zip(noisy, questions, strict=True):  # at most one word misspelled
        kept = set(n.lower().rstrip("?").split()) & set(q.lower().rstrip("?").split())
        assert len(kept) >= len(q.split()) - 2


def test_calibration_error_is_zero_for_honest_confidence_and_large_for_overconfidence():
    honest = [EvaluatedQuestion("answerable", True, 0.75, 1 if i % 4 else None) for i in range(100)]
    assert calibration(honest)["ece"] == pytest.approx(0.0)
    boastful = [EvaluatedQuestion("unanswerable", True, 0.99, None) for _ in range(100)]
    result = calibration(boastful)
    assert result["ece"] == pytest.approx(0.99)
    everyone = result["risk_coverage"][-1]
    assert everyone == {"coverage": 1.0, "min_confidence": 0.99, "precision": 0.0}


def test_a_monotone_map_brings_an_overconfident_score_to_the_share_right():
    # Scores that promise p where the first quote is right 0.8p of the time, as the
    # confidence did above 0.5 on whole articles: the fitted map says what holds.
    rng = np.random.default_rng(7)
    p = rng.random(20_000)
    right = (rng.random(20_000) < 0.8 * p).astype(float)
    xs, ys = fit_monotone(p, right)
    mapped = np.interp(p, xs, ys)
    assert calibration_error(p, right)[0] > 0.08
    assert calibration_error(mapped, right)[0] < 0.02
    assert np.all(np.diff(ys) >= 0)  # a surer score never means a less likely answer
