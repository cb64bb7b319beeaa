"""The answer phrase marked inside the first quote: its choice, its JSON, its rendering, storage."""

from __future__ import annotations

import io
import json
from dataclasses import replace

import pytest
from fake_slack import bold, quoted
from fakes import FakeEmbedder
from rich.console import Console

from bot.adapters import discord_views as views
from bot.adapters.slack_blocks import SECTION_LIMIT, answer_blocks
from bot.adapters.terminal import print_answer
from bot.answers import Answer, Quote
from bot.service import QuoteService
from bot.storage import decode_answer, encode_answer, open_store
from index.highlight import Highlighter, default_highlighter, token_f1
from index.search import Searcher
from index.store import build_index
from quality.highlight import best_f1


@pytest.mark.parametrize(
    ("question", "sentence", "answer"),
    [
        (
            "Who founded the company?",
            "The company was founded by Alice Johnson in 1998 in a garage.",
            "Alice Johnson",
        ),
        (
            "When did the council vote?",
            "The council voted on 12 March 2019 after a long debate.",
            "12 March 2019",
        ),
        (
            "How many people live in the town?",
            "About 4,500 people live in the town, most of them farmers.",
            "4,500",
        ),
        (
            "How much money would Denver lose each year?",
            "Denver would lose roughly $425,000 annually.",
            "$425,000",
        ),
        (
            "Where was Tesla born?",
            "Tesla was born in Smiljan, in the Austrian Empire, in 1856.",
            "Smiljan",
        ),
    ],
)
def test_the_phrase_answering_a_short_fact_question_is_marked(question, sentence, answer):
    # The linear marker, which answers where a copy ships no phrase reader
    # (tests/test_phrase.py covers the reader).
    mark = Highlighter.load().mark(question, sentence)
    assert mark is not None
    start, end = mark
    phrase = sentence[start:end]
    assert token_f1(phrase, answer) >= 0.5, phrase
    assert answer in phrase or phrase in answer


def test_questions_that_do_not_ask_a_short_fact_get_no_mark():
    marker = default_highlighter()
    sentence = "The council voted against it because the law required a public hearing first."
    assert marker.mark("Why did the council vote against it?", sentence) is None
    assert marker.mark("How does the council decide?", sentence) is None
    said = (
        '"Denver is sending a clear and resolute message to our community," '
        "Mayor Michael Hancock said in a statement."
    )
    # Asks what he said, not who said it: his name is no answer to put in bold.
    assert marker.mark("What did the mayor say about the new law?", said) is None
    assert marker.mark("Who made the statement?", said) is not None


def test_an_unsure_phrase_stays_unmarked():
    # The same choice, with the bar raised above any probability: no mark.
    cautious = replace(default_highlighter(), threshold=1.01)
    assert cautious.mark("Who founded the company?", "Alice Johnson founded it.") is None
    assert cautious.score("Who founded the company?", "Alice Johnson founded it.")[0] is not None


def test_token_f1_is_squads():
    assert token_f1("the Denver Broncos", "Denver Broncos") == 1.0
    assert token_f1("roughly $425,000 annually", "$425,000") == 0.5
    assert best_f1("Carolina", ["Denver Broncos", "Carolina Panthers"]) == pytest.approx(2 / 3)
    assert token_f1("nothing shared", "Denver") == 0.0


def sure() -> Highlighter:
    """The shipped marker with no threshold: every short-fact question gets its best phrase."""
    return Highlighter(default_highlighter().weights, 0.0)


def test_json_highlight_lies_inside_the_first_quote(seed_index, seed_documents):
    service = QuoteService(seed_index, Searcher(seed_index, FakeEmbedder()), highlighter=sure())
    answer = service.ask("When did Jeff Sessions announce new guidelines?")
    data = json.loads(json.dumps(answer.to_dict()))
    first, *rest = data["quotes"]
    mark = first["highlight"]
    assert mark is not None
    assert first["start"] <= mark["start"] < mark["end"] <= first["end"]
    text = seed_documents[0].text
    assert text[mark["start"] : mark["end"]] == "July"
    assert first["text"][mark["start"] - first["start"] : mark["end"] - first["start"]] == "July"
    assert all(q["highlight"] is None for q in rest + data["closest"])


def test_a_not_found_answer_marks_nothing(seed_index):
    service = QuoteService(seed_index, Searcher(seed_index, FakeEmbedder()), highlighter=sure())
    answer = service.ask("Who won the 2018 World Cup?")
    assert answer.abstained
    assert all(q["highlight"] is None for q in answer.to_dict()["closest"])  # type: ignore[union-attr]


# -- rendering ------------------------------------------------------------------------------

MARKDOWN = "The *draft* by Jane_Doe cost <b>$425,000</b> & ~more~ each `year`."


def marked_quote(text: str, phrase: str, offset: int = 100) -> Quote:
    at = text.index(phrase)
    return Quote(
        text,
        "doc.md",
        "Doc",
        1,
        offset,
        offset + len(text),
        0.9,
        highlight=(offset + at, offset + at + len(phrase)),
    )


def test_discord_bolds_the_phrase_and_still_escapes_the_markdown_around_it():
    quote = marked_quote(MARKDOWN, "$425,000")
    description = views.answer_embed(Answer("How much?", (quote,), False, 0.9)).description
    block = description.split("\n")[0]
    assert block == (
        r"> The \*draft\* by Jane\_Doe cost <b>**$425,000**</b> & \~more\~ each \`year\`."
    )


def test_discord_bold_phrase_with_markdown_characters_keeps_its_escapes():
    quote = marked_quote(MARKDOWN, "Jane_Doe")
    block = views.answer_embed(Answer("Who?", (quote,), False, 0.9)).description.split("\n")[0]
    assert r"by **Jane\_Doe** cost" in block


def test_discord_never_shows_half_a_mark_when_the_quote_is_cut():
    words = "the council voted on the ordinance after a long debate " * 60
    text = words + "and Denver would lose $425,000."
    quote = marked_quote(text, "$425,000")
    block = views.block_quote(text, 400, quote)
    assert len(block) <= 400 and "**" not in block and block.endswith("…")
    whole = views.block_quote(text, 5000, quote)
    assert "**$425,000**" in whole


def test_slack_bolds_the_phrase_and_shows_the_rest_as_written():
    quote = marked_quote(MARKDOWN, "$425,000")
    blocks = answer_blocks(Answer("How much?", (quote,), False, 0.9), shareable=False)
    assert quoted(blocks) == [MARKDOWN]
    assert bold(blocks) == [["$425,000"]]


def test_slack_bold_phrase_with_markdown_characters_is_bold_as_written():
    text = "The merger of AT&T and <Time_Warner> closed in 2018."
    quote = marked_quote(text, "<Time_Warner>")
    blocks = answer_blocks(Answer("Who?", (quote,), False, 0.9), shareable=False)
    assert quoted(blocks) == [text] and bold(blocks) == [["<Time_Warner>"]]


def test_slack_long_quote_with_a_mark_stays_within_the_limit_and_is_not_half_bold():
    text = "Council & <mayor> " * 400 + "lose $425,000."
    quote = marked_quote(text, "$425,000")
    blocks = answer_blocks(Answer("How much?", (quote,), False, 0.9), shareable=False)
    (shown,) = quoted(blocks)
    assert len(shown) <= SECTION_LIMIT and shown.endswith("…")
    assert bold(blocks) == [[]]


def test_the_terminal_highlights_the_phrase_and_keeps_markup_literal():
    text = "In [bold]July[/bold], Denver would lose $425,000 \x1b[2J annually."
    quote = marked_quote(text, "$425,000")
    out = io.StringIO()
    console = Console(
        file=out, force_terminal=True, color_system="standard", width=200, highlight=False
    )
    print_answer(Answer("How much?", (quote,), False, 0.9), console)
    shown = out.getvalue()
    assert "\x1b[1;7;39m$425,000\x1b[0m" in shown
    assert "[bold]July[/bold]" in shown and "\x1b[2J" not in shown


# -- storage --------------------------------------------------------------------------------


def test_a_stored_answer_keeps_its_highlight_and_old_rows_still_decode(store_url, tmp_path):
    quote = marked_quote("Denver would lose roughly $425,000 annually.", "$425,000")
    answer = Answer("How much?", (quote,), False, 0.9)
    with open_store(store_url, key_file=tmp_path / "config" / "key") as store:
        store.remember(answer, "slack")
        again = store.answer(answer.id)
    assert again is not None and again.quotes[0].highlight == quote.highlight
    assert again.quotes[0] == quote

    old = json.loads(encode_answer(answer))
    for q in old["quotes"]:
        del q["highlight"]
    decoded = decode_answer("abc", json.dumps(old))
    assert decoded.quotes[0].highlight is None and decoded.quotes[0].text == quote.text


# -- the real model ---------------------------------------------------------------------------


@pytest.mark.model
def test_real_model_marks_the_amount_denver_would_lose(seed_documents):
    from index.embedder import SentenceTransformerEmbedder

    model = SentenceTransformerEmbedder()
    index = build_index(seed_documents, model)
    service = QuoteService(index, Searcher(index, model))
    text = seed_documents[0].text
    marks = {}
    for question in (
        "How much money would Denver lose each year?",
        "When did Jeff Sessions announce new guidelines?",
        "How did the council vote?",
    ):
        answer = service.ask(question)
        assert not answer.abstained, question
        first = answer.quotes[0]
        if first.highlight:
            start, end = first.highlight
            assert first.start <= start < end <= first.end
            marks[question] = text[start:end]
    assert "$425,000" in marks["How much money would Denver lose each year?"]
    assert marks.get("When did Jeff Sessions announce new guidelines?") == "July"


# -- end to end, through the real discord.py and slack-bolt clients ---------------------------

SESSIONS = "When did Jeff Sessions announce new guidelines?"


def test_slack_ask_shows_the_answer_phrase_in_bold(service, tmp_path):
    from fake_slack import FakeSlack
    from test_slack import serve

    with FakeSlack() as fake, serve(fake, service, tmp_path) as slack:
        slack.ask(SESSIONS, "ask")
        (sent,) = slack.fake.wait_calls("response_url", target="ask")
    first, *later = bold(sent.data["blocks"])
    assert first == ["July"] and "guidelines in July, that" in quoted(sent.data["blocks"])[0]
    assert not any(later)


def test_discord_ask_shows_the_answer_phrase_in_bold(service, tmp_path):
    from fake_discord import FakeDiscord
    from test_discord_e2e import ask, running_bot, settings_for

    with (
        FakeDiscord(heartbeat_interval_ms=100) as fake,
        open_store(None, sqlite_path=tmp_path / "feedback.sqlite3") as store,
        running_bot(fake, service, store, settings_for(fake, tmp_path)),
    ):
        message = ask(fake, SESSIONS).original
    assert message is not None
    description = message["embeds"][0]["description"]
    first, later = description.split("**[1]**", 1)
    assert "guidelines in **July**, that" in first
    # Only the first quote has a mark; the later quotes' lines have no bold.
    assert not any("**" in line for line in later.splitlines() if line.startswith("> "))
