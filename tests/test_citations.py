"""Citations people can follow: the heading trail, deep links, and code shown as code."""

from __future__ import annotations

import io
import json

import pytest
from fake_slack import texts
from fakes import FakeEmbedder
from rich.console import Console

from bot.adapters import discord_views as views
from bot.adapters.slack_blocks import answer_blocks
from bot.adapters.terminal import print_answer
from bot.answers import Answer, Quote
from bot.render import link, plain_text
from bot.service import QuoteService
from index.documents import load_corpus
from index.search import Searcher
from index.store import build_index

HANDBOOK = """\
---
title: Staff handbook
source: https://example.org/handbook
---
# Staff handbook

Welcome to the team at the cooperative.

## Leave policy

### Parental leave

Parents may take twenty six weeks of paid parental leave after a birth or adoption.

### Applying for leave

Apply for leave with the command line tool:

```bash
leave apply --type parental --weeks 26
```
"""

NOTES = """\
# Kitchen notes

## Dishwasher

Run the dishwasher only when it is completely full of dishes.
"""


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> QuoteService:
    corpus = tmp_path_factory.mktemp("corpus")
    (corpus / "handbook.md").write_text(HANDBOOK, encoding="utf-8")
    (corpus / "kitchen.md").write_text(NOTES, encoding="utf-8")
    index = build_index(load_corpus(corpus), FakeEmbedder())
    return QuoteService(index, Searcher(index, FakeEmbedder()))


def first(answer: Answer) -> Quote:
    return (answer.quotes or answer.closest)[0]


def test_a_quote_carries_its_heading_trail_and_anchor_in_json(service: QuoteService) -> None:
    answer = service.ask("How many weeks of paid parental leave may parents take?")

    [shown] = [q for q in json.loads(json.dumps(answer.to_dict()))["quotes"]][:1]
    assert shown["text"].startswith("Parents may take twenty six weeks")
    # The document's own title heading is not repeated in the trail.
    assert shown["section"] == ["Leave policy", "Parental leave"]
    assert shown["anchor"] == "parental-leave"
    assert shown["kind"] == "prose"
    assert shown["header"] is None


def test_discord_slack_and_the_terminal_cite_title_section_and_link_to_the_heading(
    service: QuoteService,
) -> None:
    answer = service.ask("How many weeks of paid parental leave may parents take?")
    quote = first(answer)
    cite = "Staff handbook › Leave policy › Parental leave"
    url = "https://example.org/handbook#parental-leave"

    embed = views.answer_embed(answer)
    assert f"**[1]** {cite}, ¶ {quote.paragraph} — [source](<{url}>)" in embed.description

    slack = texts(answer_blocks(answer, shareable=False))
    assert f"*[1]* <{url}|{cite}>, ¶ {quote.paragraph}" in slack

    out = io.StringIO()
    print_answer(answer, Console(file=out, width=200, highlight=False))
    assert f"[1] {cite}, ¶ {quote.paragraph} <{url}>" in out.getvalue()
    assert f"— {cite}, ¶ {quote.paragraph} <{url}>" in plain_text(answer)


def test_a_markdown_file_without_a_source_cites_its_trail_without_a_link(
    service: QuoteService,
) -> None:
    answer = service.ask("When should I run the dishwasher?")
    quote = first(answer)

    assert quote.document == "kitchen.md" and quote.anchor == "dishwasher"
    only = Answer(answer.question, (quote,), False, 0.9)
    embed = views.answer_embed(only)
    assert embed.description.endswith(f"\n**[1]** Kitchen notes › Dishwasher, ¶ {quote.paragraph}")
    assert (
        plain_text(only).split("\n")[1] == f"    — Kitchen notes › Dishwasher, ¶ {quote.paragraph}"
    )


def test_code_is_shown_as_code_everywhere(service: QuoteService) -> None:
    answer = service.ask("leave apply --type parental --weeks 26")
    quote = first(answer)
    assert (quote.kind, quote.text) == ("code", "leave apply --type parental --weeks 26")
    assert quote.section == ("Leave policy", "Applying for leave")

    embed = views.answer_embed(answer)
    assert f"```\n{quote.text}\n```\n**[1]** " in embed.description  # no > and no escaping

    blocks = answer_blocks(answer, shareable=False)
    preformatted = [
        element
        for block in blocks
        if block["type"] == "rich_text"
        for element in block["elements"]
        if element["type"] == "rich_text_preformatted"
    ]
    assert preformatted and preformatted[0]["elements"][0]["text"] == quote.text

    out = io.StringIO()
    print_answer(answer, Console(file=out, width=200, highlight=False))
    assert f"    {quote.text}\n" in out.getvalue()
    assert f"“{quote.text}”" not in out.getvalue()


def test_a_long_code_block_is_cut_on_a_line_within_discord_limits() -> None:
    code = "\n".join(f"step_{n} = run({n})  # ```" for n in range(400))
    quote = Quote(code, "ops.md", "Runbook", 4, 0, len(code), 0.9, kind="code")

    embed = views.answer_embed(Answer("How do I run the steps?", (quote,), False, 0.9))

    assert len(embed.description) <= views.DESCRIPTION_LIMIT
    block = embed.description.split("\n**[1]**")[0]
    assert block.startswith("```\nstep_0 = run(0)") and block.endswith("\n…\n```")
    assert block.count("```") == 2  # a fence inside the code cannot close the block
    lines = block.split("\n")[1:-2]
    assert all(line.startswith("step_") and line.endswith("# ``\u200b`") for line in lines)


def test_a_long_trail_still_fits_the_citation_line() -> None:
    quote = Quote(
        "Short.",
        "a.md",
        "T" * 150,
        3,
        0,
        6,
        0.9,
        section=("Section " * 20, "Sub"),
        anchor="sub",
        source="https://example.org/a",
    )

    line = views.citation_line(1, quote)

    assert line.endswith(", ¶ 3 — [source](<https://example.org/a#sub>)")
    assert len(line) < 300


def test_a_source_with_a_fragment_gets_the_heading_anchor_instead() -> None:
    quote = Quote("x", "a.md", "A", 1, 0, 1, 0.5, source="https://example.org/a#top", anchor="b")

    assert link(quote) == "https://example.org/a#b"


def test_a_shared_answer_keeps_its_section_anchor_kind_and_header() -> None:
    from bot.storage import decode_answer, encode_answer

    row = Quote(
        "| Team | 29 euros |",
        "help.md",
        "Help",
        9,
        40,
        59,
        0.8,
        source="https://example.org/help",
        section=("Billing", "Plans"),
        anchor="plans",
        kind="row",
        header=(10, 38),
    )
    answer = Answer("What does Team cost?", (row,), False, 0.9)

    again = decode_answer(answer.id, encode_answer(answer))

    assert again.quotes[0] == row
    assert views.citation_line(1, again.quotes[0]).startswith("**[1]** Help › Billing › Plans, ¶ 9")
