"""The Slack bot in Socket Mode, against a loopback fake of Slack's websocket and its Web API."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fake_slack import (
    APP_TOKEN,
    BOT_TOKEN,
    BOT_USER_ID,
    CHANNEL,
    FakeSlack,
    button_click,
    button_value,
    loopback_only,  # noqa: F401  (an autouse fixture: every test talks to loopback only)
    mention_event,
    slash_command,
    texts,
)

from bot import messages
from bot.adapters.slack_blocks import ACTION_VOTE_UP
from bot.adapters.slack_bot import SlackBot
from bot.config import Settings
from bot.errors import ConfigError
from bot.service import QuoteService
from bot.storage import Store, open_store

QUESTION = "How did the council vote?"
VOTE_SENTENCE = "passed in a 10-0 vote"


def settings_for(fake: FakeSlack, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "slack_bot_token": BOT_TOKEN,
        "slack_app_token": APP_TOKEN,
        "slack_api_url": fake.api_url.rstrip("/"),  # as often written in .env
        "cooldown_rate": 100,
    }
    return replace(Settings(), **{**values, **overrides})


@pytest.fixture
def connected(service: QuoteService, tmp_path: Path) -> Iterator[tuple[FakeSlack, SlackBot, Store]]:
    feedback = open_store(None, sqlite_path=tmp_path / "feedback.sqlite3")
    with FakeSlack() as fake:
        bot = SlackBot(settings_for(fake), service, feedback)
        try:
            bot.socket_mode()
            assert fake.wait_for(lambda: fake.connections == 1)
            yield fake, bot, feedback
        finally:
            bot.close()
    feedback.close()


def test_slash_command_envelopes_are_acked_then_answered(
    connected: tuple[FakeSlack, SlackBot, Store],
) -> None:
    fake, _, feedback = connected
    # auth.test with the bot token and apps.connections.open with the app token both went
    # to SLACK_API_URL (the fake opens a connection only for the app token).
    kinds = [s.kind for s in fake.sent]
    assert set(kinds) == {"auth.test", "apps.connections.open"}
    assert kinds[-1] == "apps.connections.open"

    empty = fake.send_envelope("slash_commands", slash_command("", fake.response_url("h")))
    envelope = fake.send_envelope("slash_commands", slash_command(QUESTION, fake.response_url("a")))

    # An empty /ask is answered with the help right in the ack.
    help_ack = fake.wait_ack(empty)
    assert help_ack["payload"]["response_type"] == "ephemeral"
    assert "/ask &lt;question&gt;" in help_ack["payload"]["text"]

    assert fake.wait_ack(envelope)["envelope_id"] == envelope
    (sent,) = fake.wait_calls("response_url", target="a")
    assert sent.data["response_type"] == "ephemeral"
    assert VOTE_SENTENCE in "\n".join(texts(sent.data["blocks"]))

    # The vote button works over the socket too.
    click = button_click(
        ACTION_VOTE_UP, button_value(sent.data["blocks"], ACTION_VOTE_UP), fake.response_url("v")
    )
    fake.wait_ack(fake.send_envelope("interactive", click))
    (thanks,) = fake.wait_calls("response_url", target="v")
    assert thanks.data["text"] == messages.FEEDBACK_THANKS
    assert [v.vote for v in feedback.votes()] == ["up"]


def test_mention_envelope_is_acked_and_answered_once_in_its_thread(
    connected: tuple[FakeSlack, SlackBot, Store],
) -> None:
    fake, bot, _ = connected
    event = mention_event(f"<@{BOT_USER_ID}> {QUESTION}", event_id="EvSOCKET", ts="1700000100.1")

    first = fake.send_envelope("events_api", event)
    retry = fake.send_envelope("events_api", event, retry_attempt=1, retry_reason="timeout")

    assert fake.wait_ack(first) and fake.wait_ack(retry)
    (post,) = fake.wait_calls("chat.postMessage")
    assert (post.data["channel"], post.data["thread_ts"]) == (CHANNEL, "1700000100.1")
    assert VOTE_SENTENCE in "\n".join(texts(post.data["blocks"]))
    bot.close()  # waits for the work in flight: the retry must not have produced a second answer
    assert len(fake.calls("chat.postMessage")) == 1


def test_the_app_reconnects_when_slack_asks_and_keeps_answering(
    connected: tuple[FakeSlack, SlackBot, Store],
) -> None:
    fake, _, _ = connected

    fake.send_disconnect()

    assert fake.wait_for(lambda: fake.connections == 2)
    assert len(fake.calls("apps.connections.open")) == 2
    envelope = fake.send_envelope("slash_commands", slash_command(QUESTION, fake.response_url("r")))
    assert fake.wait_ack(envelope)
    (sent,) = fake.wait_calls("response_url", target="r")
    assert VOTE_SENTENCE in "\n".join(texts(sent.data["blocks"]))


def test_a_rejected_app_token_stops_start_up_with_one_clear_line(
    service: QuoteService, tmp_path: Path
) -> None:
    feedback = open_store(None, sqlite_path=tmp_path / "feedback.sqlite3")
    with FakeSlack(app_token="xapp-the-real-one") as fake:
        bot = SlackBot(settings_for(fake), service, feedback)
        try:
            with pytest.raises(ConfigError, match="SLACK_APP_TOKEN.*invalid_auth"):
                bot.socket_mode()
        finally:
            bot.close()
        assert fake.connections == 0
    feedback.close()
