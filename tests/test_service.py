"""The answering service, as any front end sees it."""

from __future__ import annotations

import pytest

from bot import messages
from bot.errors import QuestionError
from bot.service import QuoteService

QUESTIONS = [
    "How did the council vote?",
    "What did ICE call the ordinance?",
    "How much money would Denver lose?",
    "Who wrote a letter to President Trump?",
    "What did Jeff Sessions announce?",
    "Who won the 2018 World Cup?",
    "ordinance",
    "¿Qué dijo el alcalde? 🤔",
]


@pytest.mark.parametrize("question", QUESTIONS)
def test_every_quote_is_verbatim_with_exact_offsets(service: QuoteService, question: str):
    answer = service.ask(question)
    docs = {d.doc_id: d for d in service.index.documents}
    shown = answer.quotes + answer.closest
    assert 1 <= len(shown) <= 3
    for quote in shown:
        doc = docs[quote.document]
        assert doc.text[quote.start : quote.end] == quote.text
        p_start, p_end = doc.paragraphs[quote.paragraph - 1]
        assert p_start <= quote.start < quote.end <= p_end
        assert quote.title == doc.title


def test_quotes_do_not_overlap(service: QuoteService):
    for question in QUESTIONS:
        spans = sorted((q.start, q.end) for q in service.ask(question).quotes)
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))


def test_answer_quotes_the_sentence_that_answers(service: QuoteService):
    answer = service.ask("What did ICE call the ordinance?")
    assert not answer.abstained
    assert '"dangerous"' in answer.quotes[0].text
    assert answer.quotes[0].paragraph == 7


def test_a_stricter_bot_declines_answers_below_its_confidence(service: QuoteService):
    answer = service.ask("What did ICE call the ordinance?")
    assert not answer.abstained and answer.confidence < 1
    for bar, declined in ((answer.confidence, False), (min(1.0, answer.confidence + 1e-6), True)):
        strict = QuoteService(service.index, service.searcher, min_confidence=bar)
        again = strict.ask("What did ICE call the ordinance?")
        assert again.abstained == declined
        # Declined, the same quotes are offered as the closest matches, not as an answer.
        shown = again.closest if declined else again.quotes
        assert [q.text for q in shown] == [q.text for q in answer.quotes]
        # Declined by the bar, not for want of an answer: it says so.
        assert again.declined_below == (bar if declined else None)
        assert (again.confidence_label == "below the bar") == declined
    # A question the corpus does not answer is still "not found", bar or no bar.
    strict = QuoteService(service.index, service.searcher, min_confidence=0.9)
    off_topic = strict.ask("Who won the 2018 World Cup?")
    assert off_topic.abstained and off_topic.declined_below is None


def test_off_topic_question_abstains_with_closest_matches(service: QuoteService):
    answer = service.ask("Who won the 2018 World Cup?")
    assert answer.abstained
    assert answer.quotes == ()
    assert answer.closest, "closest matches are offered"
    assert answer.confidence_label == "not found"


@pytest.mark.parametrize("question", ["", "   ", "\n\t", "?!", "\x00\x01"])
def test_empty_question_is_a_usage_message(service: QuoteService, question: str):
    with pytest.raises(QuestionError) as err:
        service.ask(question)
    assert str(err.value) == messages.EMPTY_QUESTION


def test_huge_question_is_cut_to_the_limit(service: QuoteService):
    question = "What did ICE call the ordinance? " + "word " * 5000
    answer = service.ask(question)
    assert answer.truncated
    assert len(answer.question) <= service.max_question_chars


def test_control_characters_and_odd_unicode_are_cleaned(service: QuoteService):
    answer = service.ask("What\u200b did\x07 ICE\u202e call the ordinance\ufeff?")
    assert answer.question == "What did ICE call the ordinance ?"
    assert '"dangerous"' in (answer.quotes or answer.closest)[0].text


def test_context_gives_the_sentences_around_a_quote(service: QuoteService):
    answer = service.ask("How much money would Denver lose?")
    quote = (answer.quotes or answer.closest)[0]
    context = service.context(quote.id)
    assert context is not None
    doc = service.index.documents[0]
    assert doc.text[context.start : context.end] == context.text
    assert context.start <= quote.start and quote.end <= context.end
    assert quote.text in context.text


def test_unknown_quote_ids_are_rejected(service: QuoteService):
    for bad in ["", "nope", "denver-ordinance.md:5-2", "denver-ordinance.md:0-999999", "x:1-2"]:
        assert service.quote(bad) is None
        assert service.context(bad) is None


def test_sources_list_the_seed_article(service: QuoteService):
    (source,) = service.sources()
    assert source.paragraphs == 13
    assert "Denver" in source.title


def test_mixed_format_corpus_is_quoted_verbatim_with_its_sources():
    from pathlib import Path

    from fakes import FakeEmbedder

    from index.documents import load_corpus
    from index.search import Searcher
    from index.store import build_index

    documents = load_corpus(Path(__file__).parent / "data" / "formats")
    assert {d.doc_id for d in documents} == {"guide.md", "notes.txt", "page.html", "report.pdf"}
    index = build_index(documents, FakeEmbedder())
    service = QuoteService(index, Searcher(index, FakeEmbedder()))
    by_id = {d.doc_id: d for d in documents}
    for question, doc_id in [
        ("Where do glass bottles go?", "guide.md"),
        ("When does the library open on Saturdays?", "notes.txt"),
    ]:
        quote = (service.ask(question).quotes or service.ask(question).closest)[0]
        assert quote.document == doc_id
        assert by_id[doc_id].text[quote.start : quote.end] == quote.text
        assert quote.source == by_id[doc_id].source
    assert "green bin" in service.ask("Where do glass bottles go?").quotes[0].text


def test_a_lower_ranked_sentence_next_to_a_quote_joins_it(service: QuoteService):
    """Three quotes are chosen; the sentence right after the first, ranked fifth,
    still joins it (the answer often lies beside the best sentence), but one
    ranked below MERGE_DEPTH does not."""
    from bot.service import MERGE_DEPTH

    rows = service.index.sentences
    first = next(
        r
        for r in range(len(rows) - 1)
        if tuple(rows[r][:2]) == tuple(rows[r + 1][:2])  # same document and paragraph
    )
    apart = [r for r in range(len(rows)) if abs(r - first) > 2]
    others = [apart[0]] + [r for r in apart if abs(r - apart[0]) > 2][:1]
    unrelated = [r for r in apart if all(abs(r - o) > 1 for o in others)]
    filler = unrelated[:3]
    text = service.index.documents[int(rows[first][0])].text
    nxt = text[int(rows[first + 1][2]) : int(rows[first + 1][3])]

    near = [(first, 3.0), *((r, 2.0) for r in others), (filler[0], 1.5), (first + 1, 1.0)]
    quotes = service._quotes(near)
    assert len(quotes) == 3 and nxt in quotes[0].text

    far = [(first, 3.0), *((r, 2.0) for r in others)]
    far += [(filler[i % len(filler)], 1.5) for i in range(MERGE_DEPTH)]
    far.append((first + 1, 1.0))  # ranked below MERGE_DEPTH
    assert nxt not in service._quotes(far)[0].text
