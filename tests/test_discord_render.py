"""Discord renderings within Discord's limits, and button ids."""

from __future__ import annotations

from bot import messages
from bot.adapters import discord_views as views
from bot.adapters.discord_views import answer_view
from bot.answers import Answer, Context, Quote, SourceInfo

TITLE = "Denver City Council passes ordinance"
WORDS = "the council voted on the ordinance after a long debate about federal funding "


def quote(text: str, *, paragraph: int = 2, source: str = "", document: str = "denver.md") -> Quote:
    return Quote(text, document, TITLE, paragraph, 100, 100 + len(text), 0.9, source)


def answer(*quotes: Quote, question: str = "How did the council vote?") -> Answer:
    return Answer(question, quotes, False, 0.9)


def test_a_huge_quote_is_cut_on_a_word_boundary_and_keeps_its_citation():
    huge = (WORDS * 400).strip()  # ~31,000 characters
    embed = views.answer_embed(answer(quote(huge, source="https://example.org/denver")))

    assert len(embed) <= views.EMBED_TOTAL_LIMIT
    assert len(embed.description) <= views.DESCRIPTION_LIMIT
    block, citation = embed.description.rsplit("\n", 1)
    assert citation == f"**[1]** {TITLE}, ¶ 2 — [source](<https://example.org/denver>)"
    shown = block.removeprefix("> ")
    assert shown.endswith("…")
    kept = shown.removesuffix("…")
    assert huge.startswith(kept) and huge[len(kept)] == " "


def test_short_quotes_stay_whole_when_a_long_one_shares_the_embed():
    short = quote("passed in a 10-0 vote Monday night.", paragraph=2)
    huge = quote((WORDS * 300).strip(), paragraph=5)
    other = quote("Denver would lose roughly $425,000 annually.", paragraph=12)
    embed = views.answer_embed(answer(short, huge, other))

    assert len(embed) <= views.EMBED_TOTAL_LIMIT
    text = embed.description
    assert f"> {short.text}\n**[1]** {TITLE}, ¶ 2" in text
    assert "**[2]** " + TITLE + ", ¶ 5" in text
    assert "> Denver would lose roughly $425,000 annually.\n**[3]** " + TITLE + ", ¶ 12" in text


def test_citations_are_never_cut_even_when_they_crowd_the_embed():
    url = "https://example.org/" + "x" * 480
    many = [quote(f"quote number {n}", paragraph=n, source=url) for n in range(1, 13)]
    embed = views.answer_embed(answer(*many))

    assert len(embed) <= views.EMBED_TOTAL_LIMIT
    citations = [line for line in embed.description.split("\n") if line.startswith("**[")]
    assert citations
    assert all(line.endswith(f"[source](<{url}>)") for line in citations)


def test_an_answer_declined_by_the_confidence_bar_says_so_not_that_nothing_was_found():
    closest = quote("Denver would lose roughly $425,000 annually.", paragraph=9)
    declined = Answer("How much?", (), True, 0.62, closest=(closest,), declined_below=0.7)
    embed = views.answer_embed(declined)

    assert messages.NOT_FOUND not in embed.description
    assert messages.BELOW_BAR.format(bar=0.7) in embed.description
    assert "confidence 0.70 or more" in embed.description
    assert embed.description.index(messages.BELOW_BAR_HEADER) < embed.description.index("$425")
    assert embed.footer.text == messages.CONFIDENCE.format(label="below the bar")


def test_a_huge_question_is_cut_to_the_title_limit():
    embed = views.answer_embed(answer(quote("x y z"), question="why " * 200))
    assert len(embed.title) <= views.TITLE_LIMIT
    assert embed.title.endswith("…")


def test_an_abstention_says_not_found_and_marks_the_closest_matches():
    closest = quote("ICE called the ordinance dangerous.", paragraph=7)
    embed = views.answer_embed(Answer("Who won the game?", (), True, 0.1, closest=(closest,)))

    assert messages.NOT_FOUND in embed.description
    assert messages.CLOSEST_HEADER in embed.description
    assert embed.description.index(messages.CLOSEST_HEADER) < embed.description.index("ICE")
    assert embed.footer.text == messages.CONFIDENCE.format(label="not found")


def test_markdown_in_a_quote_is_shown_verbatim_and_every_line_is_quoted():
    embed = views.answer_embed(answer(quote("a *starred* word\nand a _second_ line")))
    assert "> a \\*starred\\* word\n> and a \\_second\\_ line" in embed.description


def test_a_truncated_question_is_mentioned():
    truncated = Answer("How did the", (quote("10-0"),), False, 0.9, truncated=True)
    embed = views.answer_embed(truncated)
    assert messages.QUESTION_TRUNCATED.format(limit=len("How did the")) in embed.description


def test_buttons_carry_the_answer_id_and_quote_one():
    first, second = quote("first quote"), quote("second quote", paragraph=3)
    shown = answer(first, second)
    ids = [item.custom_id for item in answer_view(shown).children]
    assert ids == [
        f"qb:vote:up:{shown.id}",
        f"qb:vote:down:{shown.id}",
        f"qb:more:{first.id}",
    ]
    assert all(len(i) <= views.CUSTOM_ID_LIMIT for i in ids)


def test_a_long_document_name_still_fits_a_button_and_resolves():
    long_name = "reports/" + "very-long-folder-name/" * 6 + "council-minutes.md"
    q = quote("the vote", document=long_name)
    custom_id = views.context_id(q)

    assert len(custom_id) <= views.CUSTOM_ID_LIMIT
    ref = custom_id.removeprefix(views.CONTEXT_PREFIX)
    assert views.quote_id_from_ref(ref, ["other.md", long_name]) == q.id
    assert views.quote_id_from_ref(ref, ["other.md"]) is None


def test_sources_list_fits_even_with_many_documents():
    sources = [SourceInfo(f"doc{n}.md", f"Document number {n}", n, "") for n in range(500)]
    embed = views.sources_embed(sources)
    assert len(embed.description) <= views.DESCRIPTION_LIMIT
    assert "Document number 0" in embed.description
    assert embed.description.endswith("…")


def test_context_shows_the_quote_in_bold_between_its_neighbours():
    text = "Before it. The vote was 10-0. After it."
    q = Quote("The vote was 10-0.", "denver.md", TITLE, 2, 1011, 1029, 0.9)
    embed = views.context_embed(Context(q, text, 1000, 1000 + len(text)))
    assert embed.description == "Before it. **The vote was 10-0.** After it."
    assert "¶ 2" in embed.title


def test_content_respects_the_message_limit():
    assert len(views.content("word " * 1000)) <= views.CONTENT_LIMIT
