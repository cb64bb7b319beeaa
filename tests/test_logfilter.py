"""No token, response_url, interaction token, question or answer in the log, even at DEBUG.

The real discord.py and slack-bolt/slack-sdk clients run against the loopback
fakes with every logger at DEBUG, the way ``quotebot -v run`` logs; the filter
is installed the way the CLI installs it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_discord import FakeDiscord
from fake_slack import (
    APP_TOKEN,
    BOT_TOKEN,
    BOT_USER_ID,
    SIGNING_SECRET,
    FakeSlack,
    button_click,
    button_value,
    loopback_only,  # noqa: F401  (autouse: loopback only)
    mention_event,
    slash_command,
)
from test_discord_e2e import button_ids, running_bot, settings_for
from test_slack import QUESTION, serve

from bot.adapters.slack_blocks import ACTION_VOTE_UP
from bot.adapters.slack_bot import SlackBot
from bot.logfilter import REDACTED, Redactor, install, uninstall
from bot.service import QuoteService
from bot.storage import open_store


def answer_fragments(service: QuoteService, question: str) -> list[str]:
    """The start of each quote the bot answers ``question`` with."""
    answer = service.ask(question)
    fragments = [q.text[:40] for q in answer.quotes or answer.closest]
    assert fragments
    return fragments


@pytest.fixture
def redactor(caplog: pytest.LogCaptureFixture) -> Iterator[Redactor]:
    """The filter as the CLI installs it, over a root logger at DEBUG (caplog's handler)."""
    caplog.set_level(logging.DEBUG)
    installed = install(Redactor([BOT_TOKEN, APP_TOKEN, SIGNING_SECRET, "fake-bot-token"]))
    yield installed
    uninstall(installed)


def test_discord_tokens_never_reach_the_log(
    redactor: Redactor, caplog: pytest.LogCaptureFixture, service: QuoteService, tmp_path: Path
) -> None:
    feedback = open_store(None, sqlite_path=tmp_path / "feedback.sqlite3")
    with FakeDiscord(heartbeat_interval_ms=100) as fake:
        with running_bot(fake, service, feedback, settings_for(fake, tmp_path)):
            asked = fake.run_command("ask", {"question": QUESTION})
            fake.wait_for(lambda: asked.answered)
            vote = next(i for i in button_ids(asked.original) if ":vote:up:" in i)
            clicked = fake.click(asked.original, vote)
            fake.wait_for(lambda: clicked.answered)
    feedback.close()

    log = caplog.text
    # The log did record the traffic that carries the secrets ...
    assert "WebSocket Event" in log and "/callback" in log and REDACTED in log
    # ... but not the secrets, ...
    assert fake.token not in log
    for interaction in (asked, clicked):
        assert interaction.token not in log
        assert interaction.token[:40] not in log
    # ... nor the question or the answer the bot sent.
    sent = json.dumps(asked.original)
    assert QUESTION not in log
    for fragment in answer_fragments(service, QUESTION):
        assert fragment in sent and fragment not in log


def test_slack_tokens_and_response_urls_never_reach_the_log(
    redactor: Redactor, caplog: pytest.LogCaptureFixture, service: QuoteService, tmp_path: Path
) -> None:
    with FakeSlack() as fake, serve(fake, service, tmp_path, redactor=redactor) as running:
        running.ask(QUESTION, "ask")
        (sent,) = fake.wait_calls("response_url", target="ask")
        running.event(mention_event(f"<@{BOT_USER_ID}> {QUESTION}", event_id="EvLOG"))
        fake.wait_calls("chat.postMessage")
        answer_id = button_value(sent.data["blocks"], ACTION_VOTE_UP)
        running.click(ACTION_VOTE_UP, answer_id, "vote")
        fake.wait_calls("response_url", target="vote")

    log = caplog.text
    assert "Sending a request" in log  # slack-sdk's DEBUG lines were captured
    for secret in (BOT_TOKEN, SIGNING_SECRET, fake.response_url("ask"), fake.response_url("vote")):
        assert secret not in log


def test_slack_questions_and_answers_never_reach_the_log(
    redactor: Redactor, caplog: pytest.LogCaptureFixture, service: QuoteService, tmp_path: Path
) -> None:
    with FakeSlack() as fake, serve(fake, service, tmp_path, redactor=redactor) as running:
        assert running.ask(QUESTION, "ask").status == 200
        (replied,) = fake.wait_calls("response_url", target="ask")  # slack_sdk's webhook client
        running.event(mention_event(f"<@{BOT_USER_ID}> {QUESTION}", event_id="EvTEXT"))
        (posted,) = fake.wait_calls("chat.postMessage")  # its Web API client

    log = caplog.text
    # Both requests were made and logged, the answer in their bodies ...
    assert "Sending a request - url: [redacted], body:" in log
    assert "chat.postMessage" in log and "json_body:" in log
    fragments = answer_fragments(service, QUESTION)
    for sent in (replied, posted):
        assert all(fragment in json.dumps(sent.data) for fragment in fragments)
    # ... but neither the question nor the answer reached the log.
    assert QUESTION not in log
    for fragment in fragments:
        assert fragment not in log


def test_socket_mode_app_token_and_response_urls_never_reach_the_log(
    redactor: Redactor, caplog: pytest.LogCaptureFixture, service: QuoteService, tmp_path: Path
) -> None:
    from test_slack_socket import settings_for as socket_settings

    feedback = open_store(None, sqlite_path=tmp_path / "feedback.sqlite3")
    with FakeSlack() as fake:
        bot = SlackBot(socket_settings(fake), service, feedback, redactor=redactor)
        try:
            bot.socket_mode()
            assert fake.wait_for(lambda: fake.connections == 1)
            command = slash_command(QUESTION, fake.response_url("sock"))
            fake.wait_ack(fake.send_envelope("slash_commands", command))
            fake.wait_calls("response_url", target="sock")
            click = button_click(ACTION_VOTE_UP, "unknown", fake.response_url("sockvote"))
            fake.wait_ack(fake.send_envelope("interactive", click))
            fake.wait_calls("response_url", target="sockvote")
        finally:
            bot.close()
    feedback.close()

    log = caplog.text
    assert "on_message invoked" in log  # the envelopes were logged ...
    for secret in (APP_TOKEN, BOT_TOKEN, fake.response_url("sock"), fake.response_url("sockvote")):
        assert secret not in log  # ... but not what they hold
    assert QUESTION not in log
    for fragment in answer_fragments(service, QUESTION):
        assert fragment not in log


@pytest.mark.parametrize(
    "line",
    [
        "token=xoxb-1234-5678-abcdEFGH",
        "Authorization: Bearer xapp-1-A0001-1234-abcdef",
        "POST /api/v10/interactions/1234567890/aW50ZXJhY3Rpb246abc.def/callback",
        "PATCH /api/v10/webhooks/1234567890/SOMEWEBHOOKTOKEN/messages/@original",
        '{"op": 0, "d": {"token": "opaque-interaction-token", "id": "1"}}',
        "{'response_url': 'https://hooks.slack.com/commands/T1/2/abc'}",
        "response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1%2F2%2Fabc&text=hi",
        "token MTA4NzY1NDMyMTA5ODc2NTQzMjE.GhIjKl.abcdefghijklmnopqrstuvwxyz0123",
    ],
)
def test_secret_shapes_are_redacted_wherever_they_appear(line: str) -> None:
    clean = Redactor().redact(line)
    assert REDACTED in clean
    for secret in (
        "xoxb-1234",
        "xapp-1",
        "aW50ZXJhY3Rpb246",
        "SOMEWEBHOOKTOKEN",
        "opaque-interaction-token",
        "hooks.slack.com",
        "GhIjKl",
    ):
        assert secret not in clean


def test_a_traceback_is_redacted_too(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("quotebot.test")
    redactor = Redactor(["s3cret-token-value"])
    logger.addFilter(redactor)
    try:
        with caplog.at_level(logging.ERROR, logger="quotebot.test"):
            try:
                raise RuntimeError("request with s3cret-token-value failed")
            except RuntimeError:
                logger.exception("failed: %s", json.dumps({"token": "xoxb-9-9-zz"}))
    finally:
        logger.removeFilter(redactor)
    assert "s3cret-token-value" not in caplog.text and "xoxb-9" not in caplog.text
    assert "RuntimeError" in caplog.text


@pytest.mark.parametrize(
    ("line", "kept"),
    [
        (
            "Sending a request - url: http://x/api/chat.postMessage, query_params: {}, "
            "json_body: {'channel': 'C1', 'text': \"It's the PAYLOAD {of} [it]\"}, headers: {}",
            "Sending a request - url: http://x/api/chat.postMessage, query_params: {}, "
            "json_body: [redacted], headers: {}",
        ),
        (
            'Responding with status: 200 body: "{"text": "the PAYLOAD"}" (3 millis)',
            "Responding with status: 200 body: [redacted]",
        ),
        ('Received bytes: b\'\\x81~{"text": "PAYLOAD"}\'', "Received bytes: [redacted]"),
        ('POST /channels/1/messages with {"content": "PAYLOAD \\" ]}', "POST /channels/1"),
        ("Event: {'d': {'options': [{'value': 'the PAYLOAD?'}]}} done", "Event: [redacted] done"),
        ("Can't connect [Errno 111]; we'll retry", "Can't connect [Errno 111]; we'll retry"),
    ],
)
def test_library_payloads_are_masked_whatever_their_shape(line: str, kept: str) -> None:
    record = logging.LogRecord("slack_sdk.web", logging.DEBUG, __file__, 1, line, None, None)
    Redactor().filter(record)
    assert "PAYLOAD" not in record.getMessage()
    assert record.getMessage().startswith(kept)


def test_quotebots_own_lines_are_left_as_they_are() -> None:
    line = "Now answering from the new index generation 'gen-1' [2 documents]."
    record = logging.LogRecord("bot.reload", logging.INFO, __file__, 1, line, None, None)
    Redactor().filter(record)
    assert record.getMessage() == line
