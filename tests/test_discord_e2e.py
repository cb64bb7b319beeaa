"""End to end: the real discord.py client in ``bot.adapters.discord_bot`` against a fake Discord.

The bot runs in its own thread and event loop, as ``quotebot run discord`` runs
it; the fake (tests/fake_discord.py) plays Discord's REST API and gateway and
records what the bot sent. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fake_discord import EPHEMERAL, FakeDiscord, Interaction

from bot import messages
from bot.adapters.discord_bot import run, serve
from bot.answers import Answer
from bot.config import Settings
from bot.errors import ConfigError, QuotebotError
from bot.metrics import Metrics
from bot.storage import Store, open_store

DEFERRED_CHANNEL_MESSAGE, CHANNEL_MESSAGE = 5, 4
PRIVILEGED_INTENTS = (1 << 1) | (1 << 8) | (1 << 15)  # members, presences, message content


# --------------------------------------------------------------------------- service doubles


class SlowService:
    """Wraps a service so that each answer takes ``delay`` seconds of blocking work."""

    def __init__(self, inner: Any, delay: float) -> None:
        self.inner = inner
        self.delay = delay

    def ask(self, question: str) -> Answer:
        time.sleep(self.delay)
        return self.inner.ask(question)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class FailingService:
    """Wraps a service so that every question fails with an internal error."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def ask(self, question: str) -> Answer:
        raise RuntimeError("database password is hunter2")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


# --------------------------------------------------------------------------- running the bot


class BotThread(threading.Thread):
    """``bot.adapters.discord_bot.serve`` in its own thread and event loop; :meth:`stop` ends it."""

    def __init__(
        self,
        settings: Settings,
        service: Any,
        feedback: Store,
        fake: FakeDiscord,
        metrics: Metrics | None = None,
    ):
        super().__init__(name="discord-bot", daemon=True)
        self.settings, self.service, self.feedback, self.fake = settings, service, feedback, fake
        self.metrics = metrics
        self.loop: asyncio.AbstractEventLoop | None = None
        self.stop_event: asyncio.Event | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        async def main() -> None:
            self.loop = asyncio.get_running_loop()
            self.stop_event = asyncio.Event()
            await serve(
                self.settings,
                self.service,
                self.feedback,
                stop=self.stop_event,
                metrics=self.metrics,
            )

        try:
            asyncio.run(main())
        except BaseException as exc:
            self.error = exc
        finally:
            self.fake.notify()

    def stop(self) -> None:
        if self.loop is not None and self.stop_event is not None and not self.loop.is_closed():
            try:
                self.loop.call_soon_threadsafe(self.stop_event.set)
            except RuntimeError:  # the loop closed in between
                pass
        self.join(15)
        assert not self.is_alive(), "the bot did not stop"


@pytest.fixture(autouse=True)
def no_threads_left_behind(service: Any) -> Iterator[None]:
    """Every test stops what it started: the fake, the bot, its heartbeat and worker threads.

    (It asks for the service first, so threads the service keeps are not counted.)
    """
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 5
    while left := [t.name for t in threading.enumerate() if t not in before and t.is_alive()]:
        if time.monotonic() > deadline:
            pytest.fail(f"threads still running after the test: {left}")
        time.sleep(0.05)


@pytest.fixture
def fake() -> Iterator[FakeDiscord]:
    with FakeDiscord(heartbeat_interval_ms=100) as server:
        yield server
    # Whatever a test made the bot send, nothing it sent could ping anyone.
    for interaction in server.interactions.values():
        for body in interaction.bodies:
            assert body.get("allowed_mentions") == {"parse": []}, body


@pytest.fixture
def feedback(tmp_path: Path) -> Iterator[Store]:
    store = open_store(None, sqlite_path=tmp_path / "feedback.sqlite3")
    yield store
    store.close()


def settings_for(fake: FakeDiscord, tmp_path: Path, **overrides: Any) -> Settings:
    base = Settings(
        discord_token=fake.token,
        discord_api_base=fake.api_base,
        feedback_db=tmp_path / "feedback.sqlite3",
        cooldown_rate=5,
        cooldown_seconds=60.0,
    )
    return replace(base, **overrides)


@contextmanager
def running_bot(
    fake: FakeDiscord,
    service: Any,
    feedback: Store,
    settings: Settings,
    *,
    metrics: Metrics | None = None,
) -> Iterator[BotThread]:
    bot = BotThread(settings, service, feedback, fake, metrics)
    bot.start()
    try:
        fake.wait_for(lambda: bot.error is not None or fake.ready_sessions() > 0)
        if bot.error is not None:
            raise bot.error
        yield bot
    finally:
        bot.stop()


@pytest.fixture
def bot(fake: FakeDiscord, service: Any, feedback: Store, tmp_path: Path) -> Iterator[BotThread]:
    with running_bot(fake, service, feedback, settings_for(fake, tmp_path)) as running:
        yield running


def ask(fake: FakeDiscord, question: str, *, user_id: int = 4242, **options: Any) -> Interaction:
    interaction = fake.run_command("ask", {"question": question, **options}, user_id=user_id)
    fake.wait_for(lambda: interaction.answered)
    return interaction


def shown(message: dict[str, Any]) -> str:
    """The text a user reads in a message: content and embeds, markdown escapes removed."""
    parts = [message.get("content") or ""]
    for embed in message.get("embeds", []):
        parts += [embed.get("title", ""), embed.get("description", "")]
        parts.append(embed.get("footer", {}).get("text", ""))
    return "\n".join(parts).replace("\\", "")


def first_quote(message: dict[str, Any]) -> str:
    """The text of quote [1] as the answer shows it (without an ellipsis, if cut)."""
    lines = shown(message).split("\n")
    end = next(n for n, line in enumerate(lines) if line.startswith("**[1]**"))
    start = end
    while start > 0 and lines[start - 1].startswith("> "):
        start -= 1
    return "\n".join(line[2:] for line in lines[start:end]).removesuffix("…")


def button_ids(message: dict[str, Any]) -> list[str]:
    return [c["custom_id"] for row in message["components"] for c in row["components"]]


def call_with_timeout(function: Callable[[], Any], timeout: float = 20) -> BaseException | None:
    """Call a blocking function in a thread; return what it raised (None if nothing)."""
    outcome: list[BaseException | None] = []

    def target() -> None:
        try:
            function()
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    assert outcome, "the call did not return"
    return outcome[0]


# --------------------------------------------------------------------------- tests


def test_connects_registers_commands_and_asks_no_privileged_intents(fake, bot):
    names = {c["name"]: c for c in fake.commands[None]}
    assert set(names) == {"ask", "sources", "help", "add", "remove"}
    options = {o["name"]: o for o in names["ask"]["options"]}
    assert options["question"]["type"] == 3 and options["question"]["required"] is True
    assert options["private"]["type"] == 5 and not options["private"].get("required", False)
    assert fake.identify is not None
    assert fake.identify["intents"] & PRIVILEGED_INTENTS == 0
    # Every REST call went to the configured server, authenticated, on a route Discord has.
    assert fake.requests and all(r.status != 404 for r in fake.requests)
    assert all(r.authorized for r in fake.requests if not r.path.startswith("/interactions"))
    assert ("GET", "/gateway/bot") in [(r.method, r.path) for r in fake.requests]


def test_ask_is_acknowledged_in_time_and_quotes_the_vote_with_its_citation(fake, bot):
    interaction = ask(fake, "How did the council vote?")

    assert interaction.first_callback_delay is not None
    assert interaction.first_callback_delay < 3.0
    assert interaction.callbacks[0][1]["type"] == DEFERRED_CHANNEL_MESSAGE
    message = interaction.original
    assert message is not None and not message["flags"] & EPHEMERAL
    text = shown(message)
    assert "10-0 vote" in text
    assert "Denver City Council passes ordinance" in text and "¶ 2" in text
    assert "[1]" in text and "Confidence:" in text
    assert message["embeds"][0]["title"] == "How did the council vote?"
    ids = button_ids(message)
    assert any(i.startswith("qb:vote:up:") for i in ids)
    assert any(i.startswith("qb:vote:down:") for i in ids)
    assert any(i.startswith("qb:more:") for i in ids)
    assert interaction.bodies and all(
        b["allowed_mentions"] == {"parse": []} for b in interaction.bodies
    )


def test_a_question_with_everyone_and_role_mentions_pings_nobody(fake, bot):
    question = "@everyone <@&123456789012345678> <@42> How did the council vote?"
    interaction = ask(fake, question)

    assert "@everyone" in interaction.original["embeds"][0]["title"]
    for body in interaction.bodies:
        assert body["allowed_mentions"] == {"parse": []}


def test_private_ask_is_answered_ephemerally(fake, bot):
    interaction = ask(fake, "How did the council vote?", private=True)

    assert interaction.callbacks[0][1]["data"]["flags"] & EPHEMERAL
    assert interaction.original["flags"] & EPHEMERAL
    assert "10-0 vote" in shown(interaction.original)


def test_thumbs_up_is_stored_and_can_be_changed(fake, bot, feedback):
    answer = ask(fake, "How did the council vote?").original
    up = next(i for i in button_ids(answer) if i.startswith("qb:vote:up:"))
    down = next(i for i in button_ids(answer) if i.startswith("qb:vote:down:"))

    click = fake.click(answer, up, user_id=777)
    fake.wait_for(lambda: click.answered)
    assert click.original["content"] == messages.FEEDBACK_THANKS
    assert click.original["flags"] & EPHEMERAL
    votes = feedback.votes()
    assert [(v.vote, v.question, v.platform) for v in votes] == [
        ("up", "How did the council vote?", "discord")
    ]
    assert "777" not in votes[0].user_hash

    again = fake.click(answer, down, user_id=777)
    fake.wait_for(lambda: again.answered)
    assert [v.vote for v in feedback.votes()] == ["down"]


def test_more_context_shows_the_surrounding_text_only_to_the_clicker(fake, bot):
    answer = ask(fake, "How did the council vote?").original
    more = next(i for i in button_ids(answer) if i.startswith("qb:more:"))

    click = fake.click(answer, more)
    fake.wait_for(lambda: click.answered)
    reply = click.followups[0] if click.followups else click.original
    assert reply["flags"] & EPHEMERAL
    assert first_quote(answer) in shown(reply).replace("**", "")
    assert all(b["allowed_mentions"] == {"parse": []} for b in click.bodies)


def test_buttons_for_a_forgotten_answer_or_passage_say_so(fake, bot):
    answer = ask(fake, "How did the council vote?").original
    stale = copy.deepcopy(answer)
    buttons = stale["components"][0]["components"]
    buttons[0]["custom_id"] = "qb:vote:up:0123456789abcdef"
    buttons[2]["custom_id"] = "qb:more:gone.md:1-2"

    vote = fake.click(stale, "qb:vote:up:0123456789abcdef")
    more = fake.click(stale, "qb:more:gone.md:1-2")
    fake.wait_for(lambda: vote.answered and more.answered)

    assert vote.original["content"] == messages.FEEDBACK_UNKNOWN
    assert shown(more.followups[0]).strip() == messages.NO_CONTEXT


def test_buttons_keep_working_after_a_restart(fake, service, feedback, tmp_path):
    settings = settings_for(fake, tmp_path)
    with running_bot(fake, service, feedback, settings):
        answer = ask(fake, "How did the council vote?").original
    up = next(i for i in button_ids(answer) if i.startswith("qb:vote:up:"))
    # The old bot's gateway session must be gone, or the new bot's start-up wait
    # could be met by it and the click sent before the new bot has connected.
    fake.wait_for(lambda: fake.ready_sessions() == 0)

    with running_bot(fake, service, feedback, settings):
        click = fake.click(answer, up, user_id=99)
        fake.wait_for(lambda: click.answered)

    assert click.original["content"] == messages.FEEDBACK_THANKS
    assert [v.vote for v in feedback.votes()] == ["up"]


def test_twenty_concurrent_questions_are_all_answered_while_heartbeats_flow(
    fake, service, feedback, tmp_path
):
    # Each answer blocks for a while, as embedding does: only a bot that keeps
    # that work off the event loop acknowledges all 20 in time and keeps beating.
    slow = SlowService(service, delay=0.25)
    with running_bot(fake, slow, feedback, settings_for(fake, tmp_path)):
        beats_before = len(fake.heartbeats)
        started = time.monotonic()
        burst = [
            fake.run_command("ask", {"question": "How did the council vote?"}, user_id=5000 + n)
            for n in range(20)
        ]
        fake.wait_for(lambda: all(i.answered for i in burst), timeout=30)
        finished = time.monotonic()
        during = [t for t in fake.heartbeats[beats_before:] if started <= t <= finished]

    assert all(i.first_callback_delay is not None and i.first_callback_delay < 3.0 for i in burst)
    assert all("10-0 vote" in shown(i.original) for i in burst)
    assert len(during) >= 2, f"{len(during)} heartbeats in {finished - started:.2f} s"
    assert len(fake.acks) >= len(fake.heartbeats) - 1
    beats = [started, *during, finished]
    assert max(b - a for a, b in zip(beats, beats[1:], strict=False)) < 1.0


def test_in_a_burst_the_first_answers_arrive_before_the_last_question_is_worked_on(
    fake, service, feedback, tmp_path
):
    # Thirty users ask at once and each answer takes a while to work out. An answer
    # that is ready is sent at once: it does not wait for the rest of the burst.
    slow = SlowService(service, delay=0.3)
    began: list[float] = []
    real_ask = slow.ask

    def timed_ask(question: str) -> Answer:
        began.append(time.monotonic())
        return real_ask(question)

    slow.ask = timed_ask  # type: ignore[method-assign]
    with running_bot(fake, slow, feedback, settings_for(fake, tmp_path)):
        burst = [
            fake.run_command("ask", {"question": "How did the council vote?"}, user_id=6000 + n)
            for n in range(30)
        ]
        fake.wait_for(lambda: all(i.answered for i in burst), timeout=60)

    assert all("10-0 vote" in shown(i.original) for i in burst)
    edits = [
        r.time
        for r in fake.requests
        if r.method == "PATCH" and r.path.endswith("/messages/@original")
    ]
    assert len(began) == 30 and len(edits) == 30
    assert min(edits) < max(began), (
        f"first answer {min(edits) - min(began):.2f} s after the first question began, "
        f"last question began after {max(began) - min(began):.2f} s"
    )


def test_stopping_the_bot_lets_an_answer_in_progress_finish(fake, service, feedback, tmp_path):
    slow = SlowService(service, delay=1.0)
    with running_bot(fake, slow, feedback, settings_for(fake, tmp_path)):
        interaction = fake.run_command("ask", {"question": "How did the council vote?"})
        fake.wait_for(lambda: bool(interaction.callbacks))
    # Leaving the block stopped the bot while it was still answering.
    assert interaction.answered
    assert "10-0 vote" in shown(interaction.original)


def test_a_user_asking_too_often_gets_a_polite_private_cooldown(fake, service, feedback, tmp_path):
    settings = settings_for(fake, tmp_path, cooldown_rate=2, cooldown_seconds=60.0)
    with running_bot(fake, service, feedback, settings):
        first = [ask(fake, "How did the council vote?", user_id=31) for _ in range(2)]
        third = ask(fake, "How did the council vote?", user_id=31)
        other = ask(fake, "How did the council vote?", user_id=32)

    assert all("10-0 vote" in shown(i.original) for i in first)
    callback = third.callbacks[0][1]
    assert callback["type"] == CHANNEL_MESSAGE
    assert callback["data"]["flags"] & EPHEMERAL
    assert re.fullmatch(
        messages.COOLDOWN.replace("{seconds:.0f}", r"\d+").replace("?", r"\?").replace(".", r"\."),
        callback["data"]["content"],
    )
    assert "10-0 vote" in shown(other.original)


def test_an_internal_error_shows_an_apology_and_logs_the_traceback(
    fake, service, feedback, tmp_path, caplog
):
    caplog.set_level(logging.ERROR, logger="bot.adapters.discord_bot")
    with running_bot(fake, FailingService(service), feedback, settings_for(fake, tmp_path)):
        interaction = ask(fake, "How did the council vote?")

    assert shown(interaction.original).strip() == messages.GENERIC_ERROR
    assert all("hunter2" not in str(b) for b in interaction.bodies)
    records = [r for r in caplog.records if r.exc_info]
    assert records and "hunter2" in str(records[0].exc_info[1])


def test_a_question_error_is_shown_to_the_user(fake, bot):
    interaction = ask(fake, "   ")
    assert messages.EMPTY_QUESTION in shown(interaction.original)


def test_sources_and_help_answer_privately(fake, bot):
    sources = fake.run_command("sources")
    help_ = fake.run_command("help")
    fake.wait_for(lambda: sources.answered and help_.answered)

    assert sources.original["flags"] & EPHEMERAL
    assert "Denver City Council passes ordinance" in shown(sources.original)
    assert help_.original["content"] == messages.HELP


def test_the_bot_resumes_after_the_gateway_drops(fake, bot):
    fake.close_gateway(4000)
    fake.wait_for(lambda: fake.resumes > 0 and fake.ready_sessions() > 0)
    interaction = ask(fake, "How did the council vote?")
    assert "10-0 vote" in shown(interaction.original)


def test_guild_commands_sync_to_the_configured_guild(fake, service, feedback, tmp_path):
    settings = settings_for(fake, tmp_path, discord_guild_id=int(fake.guild_id))
    with running_bot(fake, service, feedback, settings):
        interaction = ask(fake, "How did the council vote?")

    assert {c["name"] for c in fake.commands[fake.guild_id]} == {
        "ask",
        "sources",
        "help",
        "add",
        "remove",
    }
    assert None not in fake.commands
    assert "10-0 vote" in shown(interaction.original)


def test_a_guild_the_bot_is_not_in_stops_with_one_clear_line(fake, service, feedback, tmp_path):
    settings = settings_for(fake, tmp_path, discord_guild_id=999)
    error = call_with_timeout(lambda: run(settings, service, feedback))
    assert isinstance(error, ConfigError)
    assert "999" in str(error) and "applications.commands" in str(error)
    assert "\n" not in str(error)


def test_missing_token_names_the_variable(service, feedback):
    with pytest.raises(ConfigError) as caught:
        run(Settings(discord_token=""), service, feedback)
    assert "DISCORD_TOKEN" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_rejected_token_stops_with_one_clear_line(fake, service, feedback, tmp_path):
    settings = settings_for(fake, tmp_path, discord_token="not-the-token")
    error = call_with_timeout(lambda: run(settings, service, feedback))

    assert isinstance(error, ConfigError)
    assert "rejected DISCORD_TOKEN" in str(error)
    assert "\n" not in str(error) and "not-the-token" not in str(error)
    assert fake.ready_sessions() == 0


def test_an_unreachable_api_stops_with_one_clear_line(service, feedback, tmp_path):
    with socket.socket() as probe:  # a loopback port with nothing listening on it
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = Settings(discord_token="token", discord_api_base=f"http://127.0.0.1:{port}/api/v10")
    error = call_with_timeout(lambda: run(settings, service, feedback))

    assert isinstance(error, QuotebotError)
    assert f"127.0.0.1:{port}" in str(error) and "\n" not in str(error)


CHILD = """
import sys
from pathlib import Path
sys.path.insert(0, {tests!r})
from fakes import FakeEmbedder
from bot.config import Settings
from bot.adapters.discord_bot import run
from bot.storage import open_store
from bot.service import QuoteService
from index.documents import load_corpus
from index.search import Searcher
from index.store import build_index

index = build_index(load_corpus(Path("corpus")), FakeEmbedder())
service = QuoteService(index, Searcher(index, FakeEmbedder()))
settings = Settings(discord_token={token!r}, discord_api_base={api!r})
run(settings, service, open_store(None, sqlite_path=Path({db!r})))
print("clean exit")
"""


def test_sigterm_stops_a_running_bot_cleanly(fake, tmp_path):
    code = CHILD.format(
        tests=str(Path(__file__).parent),
        token=fake.token,
        api=fake.api_base,
        db=str(tmp_path / "feedback.sqlite3"),
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parents[1],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        fake.wait_for(lambda: fake.ready_sessions() > 0 or child.poll() is not None, timeout=30)
        assert child.poll() is None, child.communicate()[1]
        child.send_signal(signal.SIGTERM)
        out, err = child.communicate(timeout=20)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    assert child.returncode == 0, err
    assert "clean exit" in out
    assert "Traceback" not in err


def test_an_unknown_command_gets_a_clear_private_reply_and_no_error_log(fake, bot, caplog):
    caplog.set_level(logging.INFO)
    interaction = fake.run_unregistered_command("summarize")
    fake.wait_for(lambda: interaction.answered)

    reply = interaction.original
    assert reply["flags"] & EPHEMERAL
    assert reply["content"] == messages.DISCORD_UNKNOWN_COMMAND.format(name="summarize")
    assert messages.GENERIC_ERROR not in reply["content"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_ask_without_its_question_option_asks_for_a_question(fake, bot, caplog):
    caplog.set_level(logging.INFO)
    interaction = fake.run_command("ask", {})
    fake.wait_for(lambda: interaction.answered)

    reply = interaction.original
    assert reply["flags"] & EPHEMERAL
    assert reply["content"] == messages.EMPTY_QUESTION
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
