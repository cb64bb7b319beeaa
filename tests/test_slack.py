"""The Slack bot in HTTP mode: real signed requests to the unmodified slack-bolt app on loopback.

A loopback fake of Slack's Web API and of ``response_url`` records what the
app sends back.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.error import HTTPError
from urllib.parse import urlencode
from urllib.request import ProxyHandler, Request, build_opener

import pytest
from fake_slack import (
    APP_TOKEN,
    BOT_TOKEN,
    BOT_USER_ID,
    CHANNEL,
    SIGNING_SECRET,
    USER,
    FakeSlack,
    Reply,
    button_click,
    button_value,
    loopback_only,  # noqa: F401  (an autouse fixture: every test talks to loopback only)
    mention_event,
    quoted,
    signed_post,
    slash_command,
    texts,
)

from bot import messages
from bot.adapters.slack_blocks import (
    ACTION_SHARE,
    ACTION_VOTE_DOWN,
    ACTION_VOTE_UP,
    MAX_BLOCKS,
    escape,
)
from bot.adapters.slack_bot import SlackBot, run
from bot.answers import Answer, Quote
from bot.config import Settings
from bot.errors import ConfigError, QuotebotError
from bot.render import shown_quotes
from bot.routing import OneCollection
from bot.service import QuoteService
from bot.storage import Store, open_store

QUESTION = "How did the council vote?"
VOTE_SENTENCE = "passed in a 10-0 vote"
ACK_DEADLINE = 3.0  # seconds Slack waits for an acknowledgement


def settings_for(fake: FakeSlack, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "slack_bot_token": BOT_TOKEN,
        "slack_signing_secret": SIGNING_SECRET,
        "slack_api_url": fake.api_url,
        "cooldown_rate": 100,
    }
    values.update(overrides)
    return replace(Settings(), **values)


@dataclass
class Running:
    fake: FakeSlack
    bot: SlackBot
    feedback: Store
    url: str
    stop: Any  # stops the server and waits for every answer in flight

    def post(self, body: str, content_type: str, **kwargs: Any) -> Reply:
        """POST ``body`` signed the way Slack signs requests (see :func:`signed_post`)."""
        return signed_post(self.url, body, content_type, **kwargs)

    def ask(self, text: str, target: str, **kwargs: Any) -> Reply:
        form = urlencode(slash_command(text, self.fake.response_url(target)))
        return self.post(form, "application/x-www-form-urlencoded", **kwargs)

    def event(self, payload: dict[str, Any], **kwargs: Any) -> Reply:
        return self.post(json.dumps(payload), "application/json", **kwargs)

    def click(self, action_id: str, value: str, target: str) -> Reply:
        payload = button_click(action_id, value, self.fake.response_url(target))
        form = urlencode({"payload": json.dumps(payload)})
        return self.post(form, "application/x-www-form-urlencoded")


@pytest.fixture
def slack(service: QuoteService, tmp_path: Path) -> Iterator[Running]:
    with FakeSlack() as fake, serve(fake, service, tmp_path) as running:
        yield running


@contextmanager
def serve(
    fake: FakeSlack,
    service: Any,
    tmp_path: Path,
    *,
    redactor: Any = None,
    store: Any = None,
    **settings: Any,
) -> Iterator[Running]:
    feedback = store or open_store(None, sqlite_path=tmp_path / "feedback.sqlite3")
    bot = SlackBot(settings_for(fake, **settings), service, feedback, redactor=redactor)
    server = bot.http_server("127.0.0.1", 0).start()
    stopped = False

    def stop() -> None:
        nonlocal stopped
        if not stopped:
            stopped = True
            server.shutdown()
            bot.close()

    url = f"http://127.0.0.1:{server.port}/slack/events"
    try:
        yield Running(fake, bot, feedback, url, stop)
    finally:
        stop()
        if store is None:
            feedback.close()


def answer_of(sent: Any) -> tuple[str, list[dict[str, Any]]]:
    return sent.data.get("text", ""), sent.data.get("blocks", [])


# -- /ask ------------------------------------------------------------------------------


def test_ask_is_acknowledged_at_once_then_answered_privately_with_citations(
    slack: Running,
) -> None:
    reply = slack.ask(QUESTION, "ask")

    assert reply.status == 200
    assert reply.seconds < ACK_DEADLINE
    (sent,) = slack.fake.wait_calls("response_url", target="ask")
    assert sent.data["response_type"] == "ephemeral"
    shown = "\n".join(texts(sent.data["blocks"]))
    assert VOTE_SENTENCE in shown
    # The quote is a block quote and its numbered citation names title and paragraph.
    assert any(VOTE_SENTENCE in q for q in quoted(sent.data["blocks"]))
    assert "Denver City Council passes ordinance" in shown and ", ¶ 2" in shown
    assert "*[1]*" in shown
    assert "Confidence:" in shown
    assert button_value(sent.data["blocks"], ACTION_SHARE)
    assert len(sent.data["blocks"]) <= MAX_BLOCKS
    # What is shown is the service's answer, verbatim and in order, worded as it decided.
    expected = slack.bot.service.ask(QUESTION)
    assert quoted(sent.data["blocks"]) == [q.text for q in shown_quotes(expected)]
    assert (f"*{messages.NOT_FOUND}*" in shown) == expected.abstained


def test_a_question_the_documents_do_not_answer_gets_not_found_and_closest_matches(
    slack: Running,
) -> None:
    slack.ask("What is the boiling point of mercury?", "off-topic")

    (sent,) = slack.fake.wait_calls("response_url", target="off-topic")
    blocks = sent.data["blocks"]
    assert f"*{messages.NOT_FOUND}*" in texts(blocks)
    label = next(i for i, b in enumerate(blocks) if escape(messages.CLOSEST_HEADER) in texts([b]))
    passages = [i for i, b in enumerate(blocks) if quoted([b])]
    assert passages and min(passages) > label  # the closest passages, under the label


def test_ask_without_a_question_or_with_help_shows_the_help(slack: Running) -> None:
    for text, target in (("   ", "empty"), ("help", "help")):
        reply = slack.ask(text, target)

        assert reply.status == 200
        # The help is the immediate ephemeral response; "<question>" is escaped, not a link.
        body = json.loads(reply.body)
        assert body["response_type"] == "ephemeral"
        assert body["text"] == escape(messages.SLACK_HELP)
        assert "/ask &lt;question&gt;" in body["text"]
    slack.stop()
    assert slack.fake.calls("response_url") == []


def test_a_bare_mention_gets_the_help_privately_in_its_thread(slack: Running) -> None:
    slack.event(mention_event(f"<@{BOT_USER_ID}>", ts="1700000200.000100"))

    (private,) = slack.fake.wait_calls("chat.postEphemeral")
    assert private.data["text"] == escape(messages.SLACK_HELP)
    assert (private.data["user"], private.data["thread_ts"]) == (USER, "1700000200.000100")
    slack.stop()
    assert slack.fake.calls("chat.postMessage") == []


def test_sources_lists_the_documents(slack: Running) -> None:
    form = urlencode({**slash_command("", slack.fake.response_url("src")), "command": "/sources"})
    reply = slack.post(form, "application/x-www-form-urlencoded")

    assert reply.status == 200
    assert "Denver City Council passes ordinance" in json.loads(reply.body)["text"]


# -- mentions ----------------------------------------------------------------------------


def test_mention_is_answered_in_a_thread_and_follow_ups_stay_there(slack: Running) -> None:
    reply = slack.event(mention_event(f"<@{BOT_USER_ID}> {QUESTION}", ts="1700000000.000100"))

    assert reply.status == 200
    assert reply.seconds < ACK_DEADLINE
    (post,) = slack.fake.wait_calls("chat.postMessage")
    assert post.data["channel"] == CHANNEL
    assert post.data["thread_ts"] == "1700000000.000100"
    _, blocks = answer_of(post)
    assert VOTE_SENTENCE in "\n".join(texts(blocks))
    # Already public: votes but no share button.
    assert button_value(blocks, ACTION_VOTE_UP)
    with pytest.raises(AssertionError):
        button_value(blocks, ACTION_SHARE)

    follow_up = mention_event(
        f"<@{BOT_USER_ID}> Who called the ordinance dangerous?",
        event_id="Ev0002",
        ts="1700000050.000300",
        thread_ts="1700000000.000100",
    )
    assert slack.event(follow_up).status == 200
    posts = slack.fake.wait_calls("chat.postMessage", count=2)
    assert posts[1].data["thread_ts"] == "1700000000.000100"
    assert "dangerous" in "\n".join(texts(posts[1].data["blocks"]))


def test_a_retried_event_is_acknowledged_but_answered_once(slack: Running) -> None:
    event = mention_event(f"<@{BOT_USER_ID}> {QUESTION}", event_id="EvRETRY")

    first = slack.event(event)
    retry = slack.event(
        event, headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    )

    assert (first.status, retry.status) == (200, 200)
    slack.stop()
    assert len(slack.fake.calls("chat.postMessage")) == 1


def test_own_messages_and_other_bots_are_ignored(slack: Running) -> None:
    from_other_bot = mention_event(
        f"<@{BOT_USER_ID}> {QUESTION}", event_id="EvBOT", user="UOTHERBOT", bot_id="BOTHER"
    )
    from_itself = mention_event(f"<@{BOT_USER_ID}> {QUESTION}", event_id="EvSELF", user=BOT_USER_ID)

    assert slack.event(from_other_bot).status == 200
    assert slack.event(from_itself).status == 200
    slack.stop()
    assert slack.fake.calls("chat.postMessage") == []
    assert slack.fake.calls("chat.postEphemeral") == []


# -- buttons -------------------------------------------------------------------------------


def test_vote_buttons_are_stored_in_the_feedback_store(slack: Running) -> None:
    slack.ask(QUESTION, "ask")
    (sent,) = slack.fake.wait_calls("response_url", target="ask")
    answer_id = button_value(sent.data["blocks"], ACTION_VOTE_DOWN)

    reply = slack.click(ACTION_VOTE_DOWN, answer_id, "vote")

    assert reply.status == 200
    assert reply.seconds < ACK_DEADLINE
    (thanks,) = slack.fake.wait_calls("response_url", target="vote")
    assert thanks.data["text"] == messages.FEEDBACK_THANKS
    assert thanks.data["response_type"] == "ephemeral"
    (vote,) = slack.feedback.votes()
    assert (vote.platform, vote.question, vote.vote) == ("slack", QUESTION, "down")
    assert vote.quote_ids  # the quotes that were shown are stored with the vote


def test_share_posts_the_answer_in_the_channel(slack: Running) -> None:
    slack.ask(QUESTION, "ask")
    (sent,) = slack.fake.wait_calls("response_url", target="ask")

    slack.click(ACTION_SHARE, button_value(sent.data["blocks"], ACTION_SHARE), "share")

    public, note = slack.fake.wait_calls("response_url", count=2, target="share")
    assert public.data["response_type"] == "in_channel"
    assert public.data["replace_original"] is False
    shown = "\n".join(texts(public.data["blocks"]))
    assert VOTE_SENTENCE in shown
    assert f"Shared by <@{USER}>" in shown
    assert note.data["replace_original"] is True
    assert note.data["text"] == messages.SHARED


def test_the_request_url_check_slack_makes_during_setup_passes(slack: Running) -> None:
    challenge = {
        "token": "legacy",
        "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
        "type": "url_verification",
    }

    reply = slack.event(challenge)

    assert reply.status == 200
    assert json.loads(reply.body) == {"challenge": challenge["challenge"]}


# -- security -------------------------------------------------------------------------------


def test_bad_signature_and_replayed_timestamp_are_refused_with_nothing_sent(
    slack: Running,
) -> None:
    event = mention_event(f"<@{BOT_USER_ID}> {QUESTION}", event_id="EvFORGED")

    forged = slack.event(event, secret="not-the-signing-secret")
    replayed = slack.ask(QUESTION, "old", timestamp=int(time.time()) - 6 * 60)
    unsigned = Request(slack.url, data=json.dumps(event).encode(), method="POST")
    with pytest.raises(HTTPError) as missing:
        build_opener(ProxyHandler({})).open(unsigned, timeout=10)

    assert (forged.status, replayed.status, missing.value.code) == (401, 401, 401)
    slack.stop()
    assert [s.kind for s in slack.fake.sent if s.kind != "auth.test"] == []


def test_corpus_text_and_questions_cannot_ping_or_forge_links(tmp_path: Path) -> None:
    hostile = "Vote now <!channel> & see <http://evil.example|the results> <@U123>"

    class HostileService(OneCollection):
        def ask(self, question: str) -> Answer:
            quote = Quote(hostile, "x.md", "A <b> & c", 1, 0, len(hostile), 0.9)
            return Answer(question=question, quotes=(quote,), abstained=False, confidence=0.9)

    with FakeSlack() as fake:
        with serve(fake, HostileService(), tmp_path) as running:
            # Slack escapes &, < and > in what users type.
            running.ask("Did &lt;!channel&gt; &amp; &lt;@U123&gt; vote?", "ask")
            (sent,) = fake.wait_calls("response_url", target="ask")

    # mrkdwn (the question, the citation, the notification text) is escaped ...
    mrkdwn = [b for b in sent.data["blocks"] if b["type"] != "rich_text"]
    shown = "\n".join([sent.data["text"], *texts(mrkdwn)])
    for markup in ("<!channel>", "<@U123>", "<http://evil.example", "<b>", " & "):
        assert markup not in shown
    assert "&lt;!channel&gt;" in shown and "&amp;" in shown and "&lt;@U123&gt;" in shown
    # ... and the quote is rich text, which Slack shows as written: mentions and links
    # there are elements of their own, never read out of a text element.
    assert quoted(sent.data["blocks"]) == [hostile]
    assert {
        p["type"]
        for b in sent.data["blocks"]
        if b["type"] == "rich_text"
        for q in b["elements"]
        for p in q["elements"]
    } == {"text"}


class GatedService(OneCollection):
    """Holds every answer until the test opens the gate, like a service that is very slow."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.gate = threading.Event()

    def ask(self, question: str) -> Answer:
        assert self.gate.wait(10), "the test never opened the gate"
        return self.inner.ask(question)


def test_twenty_concurrent_asks_are_acknowledged_while_answers_are_pending(
    service: QuoteService, tmp_path: Path
) -> None:
    slow = GatedService(service)
    with FakeSlack() as fake, serve(fake, slow, tmp_path) as running:
        with ThreadPoolExecutor(20) as pool:
            replies = list(pool.map(lambda n: running.ask(QUESTION, f"q{n}"), range(20)))

        # Every ack came back although no answer could be computed yet.
        assert [r.status for r in replies] == [200] * 20
        assert max(r.seconds for r in replies) < ACK_DEADLINE
        assert fake.calls("response_url") == []
        slow.gate.set()
        fake.wait_calls("response_url", count=20)

    assert {s.target for s in fake.calls("response_url")} == {f"q{n}" for n in range(20)}
    for sent in fake.calls("response_url"):
        assert VOTE_SENTENCE in "\n".join(texts(sent.data["blocks"]))


def test_a_user_asking_too_fast_is_told_to_wait(service: QuoteService, tmp_path: Path) -> None:
    with FakeSlack() as fake:
        with serve(fake, service, tmp_path, cooldown_rate=1, cooldown_seconds=60) as running:
            running.ask(QUESTION, "first")
            (first,) = fake.wait_calls("response_url", target="first")
            running.ask(QUESTION, "second")
            (second,) = fake.wait_calls("response_url", target="second")

    assert VOTE_SENTENCE in "\n".join(texts(first.data["blocks"]))
    assert "blocks" not in second.data
    assert second.data["text"].startswith(messages.COOLDOWN.split("{")[0])


# -- state shared between processes -------------------------------------------------------
# Two bots on one store stand for two replicas: nothing either needs is in its own memory.


def test_two_bots_on_one_store_answer_a_retried_event_once_and_share_each_others_answers(
    service: QuoteService, tmp_path: Path
) -> None:
    retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    event = mention_event(f"<@{BOT_USER_ID}> {QUESTION}", event_id="EvTWO")
    with FakeSlack() as fake, serve(fake, service, tmp_path) as a:
        with serve(fake, service, tmp_path) as b:
            assert a.event(event).status == 200
            assert b.event(event, headers=retry).status == 200
            a.ask(QUESTION, "ask")
            (sent,) = fake.wait_calls("response_url", target="ask")
            b.click(ACTION_SHARE, button_value(sent.data["blocks"], ACTION_SHARE), "share")
            public, _ = fake.wait_calls("response_url", count=2, target="share")
            b.stop()
        a.stop()
    assert len(fake.calls("chat.postMessage")) == 1
    assert public.data["response_type"] == "in_channel"


def test_a_cooldown_counts_questions_asked_of_either_bot(
    service: QuoteService, tmp_path: Path
) -> None:
    with FakeSlack() as fake, serve(fake, service, tmp_path, cooldown_rate=1) as a:
        with serve(fake, service, tmp_path, cooldown_rate=1) as b:
            a.ask(QUESTION, "first")
            fake.wait_calls("response_url", target="first")
            b.ask(QUESTION, "second")
            (told,) = fake.wait_calls("response_url", target="second")
    assert told.data["text"].startswith(messages.COOLDOWN.split("{")[0])


# -- errors ---------------------------------------------------------------------------------


def test_an_unexpected_error_shows_an_apology_and_logs_the_traceback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    class BrokenService(OneCollection):
        def ask(self, question: str) -> Answer:
            raise RuntimeError("disk /srv/secret/index is corrupt")

    with FakeSlack() as fake, caplog.at_level(logging.ERROR):
        with serve(fake, BrokenService(), tmp_path) as running:
            running.ask(QUESTION, "ask")
            (sent,) = fake.wait_calls("response_url", target="ask")
            running.event(mention_event(f"<@{BOT_USER_ID}> {QUESTION}"))
            (private,) = fake.wait_calls("chat.postEphemeral")

    assert sent.data["text"] == messages.GENERIC_ERROR
    assert private.data["text"] == messages.GENERIC_ERROR
    assert private.data["user"] == USER and private.data["thread_ts"] == "1700000000.000100"
    assert all("secret" not in json.dumps(s.data) for s in fake.sent)
    assert "RuntimeError: disk /srv/secret/index is corrupt" in caplog.text
    assert fake.calls("chat.postMessage") == []


def test_an_expired_response_url_is_logged(
    slack: Running, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        slack.ask(QUESTION, "expired")
        slack.fake.wait_calls("response_url", count=2, target="expired")  # answer, then apology
        slack.stop()

    assert "response_url answered 404: expired_url" in caplog.text


# -- start-up -------------------------------------------------------------------------------


def test_run_names_the_missing_variables(service: QuoteService, tmp_path: Path) -> None:
    feedback = open_store(None, sqlite_path=tmp_path / "feedback.sqlite3")
    empty = Settings()
    with pytest.raises(ConfigError, match="SLACK_BOT_TOKEN and SLACK_APP_TOKEN not set"):
        run(empty, service, feedback)
    with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET not set"):
        run(replace(empty, slack_bot_token=BOT_TOKEN), service, feedback, http=True)
    with pytest.raises(ConfigError, match=r"xapp-"):
        run(
            replace(empty, slack_bot_token=BOT_TOKEN, slack_app_token=BOT_TOKEN),
            service,
            feedback,
        )
    feedback.close()


def test_a_rejected_token_stops_start_up_with_one_clear_line(
    service: QuoteService, tmp_path: Path
) -> None:
    feedback = open_store(None, sqlite_path=tmp_path / "feedback.sqlite3")
    with FakeSlack(bot_token="xoxb-the-real-one") as fake:
        settings = settings_for(fake, slack_app_token=APP_TOKEN)
        with pytest.raises(ConfigError) as rejected:
            run(settings, service, feedback)
        # The token check went to SLACK_API_URL, not to slack.com.
        assert [s.kind for s in fake.sent] == ["auth.test"]
    message = str(rejected.value)
    assert "SLACK_BOT_TOKEN" in message and "invalid_auth" in message
    assert BOT_TOKEN not in message and "\n" not in message
    feedback.close()


def test_an_unreachable_api_stops_start_up_with_one_clear_line(
    service: QuoteService, tmp_path: Path
) -> None:
    feedback = open_store(None, sqlite_path=tmp_path / "feedback.sqlite3")
    with FakeSlack() as fake:
        closed_url = fake.api_url  # nothing listens there once the fake has stopped
    settings = replace(
        Settings(), slack_bot_token=BOT_TOKEN, slack_app_token=APP_TOKEN, slack_api_url=closed_url
    )
    with pytest.raises(QuotebotError, match="Cannot reach the Slack Web API"):
        run(settings, service, feedback)
    feedback.close()
