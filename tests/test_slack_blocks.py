"""Block Kit rendering: Slack's limits, abstention wording, escaping and links."""

from __future__ import annotations

from fake_slack import quoted, texts

from bot import messages
from bot.adapters.slack_blocks import (
    ACTION_SHARE,
    MAX_BLOCKS,
    SECTION_LIMIT,
    answer_blocks,
    escape,
    fallback_text,
    unescape,
)
from bot.answers import Answer, Quote


def quote(text: str, paragraph: int = 1, *, title: str = "Doc", source: str = "") -> Quote:
    return Quote(text, "doc.md", title, paragraph, 0, len(text), 0.9, source)


def answered(*quotes: Quote, question: str = "What happened?") -> Answer:
    return Answer(question=question, quotes=quotes, abstained=False, confidence=0.9)


def text_lengths(blocks: list[dict]) -> list[int]:
    return [len(t) for t in texts(blocks)]


def test_long_quotes_and_many_quotes_stay_within_slack_limits() -> None:
    huge = "Council & <mayor> " * 400  # 7,200 characters that grow when escaped
    many = [quote(f"Sentence {n} & more.", n) for n in range(1, 41)]

    for answer in (answered(quote(huge)), answered(*many), answered(quote(huge), *many)):
        blocks = answer_blocks(answer, shareable=True)
        assert len(blocks) <= MAX_BLOCKS
        assert max(text_lengths(blocks)) <= SECTION_LIMIT
        assert len(fallback_text(answer)) <= SECTION_LIMIT
        # The buttons survive the cut.
        assert blocks[-1]["type"] == "actions"

    (long_quote,) = quoted(answer_blocks(answered(quote(huge)), shareable=False))
    assert long_quote.startswith("Council & <mayor> Council")
    assert long_quote.endswith("…")


def test_abstention_says_not_found_and_labels_the_closest_passages() -> None:
    near = quote("The ordinance passed in a 10-0 vote.", 2)
    answer = Answer(
        question="What is the capital of France?",
        quotes=(),
        abstained=True,
        confidence=0.1,
        closest=(near,),
    )

    shown = texts(answer_blocks(answer, shareable=True))

    not_found = shown.index(f"*{messages.NOT_FOUND}*")
    closest = shown.index(escape(messages.CLOSEST_HEADER))
    passage = shown.index("The ordinance passed in a 10-0 vote.")
    assert not_found < closest < passage
    assert "Confidence: not found" in shown


def test_an_answer_declined_by_the_confidence_bar_says_so() -> None:
    near = quote("Denver would lose roughly $425,000 annually.", 9)
    answer = Answer("How much?", (), True, 0.62, closest=(near,), declined_below=0.7)

    shown = texts(answer_blocks(answer, shareable=True))

    why = shown.index("*" + escape(messages.BELOW_BAR.format(bar=0.7)) + "*")
    assert why < shown.index(escape(messages.BELOW_BAR_HEADER)) < shown.index(escape(near.text))
    assert f"*{messages.NOT_FOUND}*" not in shown
    assert "Confidence: below the bar" in shown


def test_citations_are_numbered_and_link_only_to_web_addresses() -> None:
    answer = answered(
        quote("One.", 3, title="Minutes & notes", source="https://example.org/a?x=1&y=2"),
        quote("Two.", 5, title="Local file", source="file:///etc/passwd"),
        quote("Three.", 7, title="Odd", source="https://example.org/<script>"),
    )

    shown = texts(answer_blocks(answer, shareable=False))

    assert "*[1]* <https://example.org/a?x=1&amp;y=2|Minutes &amp; notes>, ¶ 3" in shown
    assert "*[2]* Local file, ¶ 5" in shown
    assert "*[3]* Odd, ¶ 7" in shown


def test_private_answers_offer_sharing_and_shared_ones_name_who_shared() -> None:
    answer = answered(quote("One."))

    private = answer_blocks(answer, shareable=True)
    public = answer_blocks(answer, shareable=False, shared_by="U0123ABC")
    forged = answer_blocks(answer, shareable=False, shared_by="U1> <!channel")

    assert ACTION_SHARE in str(private[-1]) and ACTION_SHARE not in str(public[-1])
    assert messages.SLACK_SHARED_BY.format(user="<@U0123ABC>") in texts(public)
    assert not any("<!channel" in t for t in texts(forged))


def test_quotes_are_shown_as_written_not_as_mrkdwn() -> None:
    text = "Run `deploy_prod` *twice* ~now~ & <!channel> :fire: > done."
    blocks = answer_blocks(answered(quote(text)), shareable=False)

    assert quoted(blocks) == [text]
    # Only as rich text, where Slack reads no markup: nothing in it pings or formats.
    assert not any(
        "deploy_prod" in t for t in texts([b for b in blocks if b["type"] != "rich_text"])
    )


def test_the_question_is_shown_as_typed() -> None:
    typed = "what does *draft* mean for `deploy_prod` & <!here>?"
    blocks = answer_blocks(answered(quote("One."), question=typed), shareable=False)

    header = blocks[0]["elements"][0]["elements"]
    assert header == [{"type": "text", "text": typed, "style": {"bold": True}}]
    assert quoted(blocks) == ["One."]  # the question is not taken for a quote
    assert not any("draft" in t for t in texts([b for b in blocks if b["type"] != "rich_text"]))


def test_escaping_round_trips_what_slack_escaped() -> None:
    typed = "a < b && c > <@U1>"
    assert escape(typed) == "a &lt; b &amp;&amp; c &gt; &lt;@U1&gt;"
    assert unescape(escape(typed)) == typed
