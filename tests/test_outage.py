"""The bot rides out a PostgreSQL outage: busy while it lasts, answering within seconds of its end.

The real PostgreSQL sits behind a TCP proxy the test controls (:mod:`tcp_proxy`):
cutting it is the database going away (connections closed, new ones refused or left
hanging). The Slack bot serves ``/healthz`` and answers mentions over the real store
(a schema of its own per test), as ``quotebot run slack --http`` does; the last test
runs that very command, started while the database is down.
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import count
from pathlib import Path
from urllib.error import HTTPError
from urllib.request import ProxyHandler, build_opener

import pytest
from fake_slack import (
    BOT_TOKEN,
    BOT_USER_ID,
    SIGNING_SECRET,
    FakeSlack,
    loopback_only,  # noqa: F401  (autouse: loopback only, no threads left behind)
    mention_event,
    signed_post,
)
from fakes import bare_environment
from tcp_proxy import TCPProxy
from test_slack import serve

from bot import messages
from bot.adapters.slack_blocks import escape
from bot.app import build_store
from bot.cli import main
from bot.config import Settings
from bot.errors import ConfigError, StorageError
from bot.service import QuoteService
from bot.storage import postgres as postgres_store
from bot.storage import sql as sql_store
from bot.storage.sql import SCHEMA_VERSION

QUESTION = "How did the council vote?"
RECOVERY_SECONDS = 3.0  # after the database is back, the bot is healthy and answering by then
KEY = "one key for every replica"

_ids = count(1)


def get_status(url: str) -> int:
    opener = build_opener(ProxyHandler({}))
    try:
        with opener.open(url, timeout=10) as response:
            return int(response.status)
    except HTTPError as error:
        return error.code


@dataclass
class Bot:
    """The Slack bot at ``url`` (its events endpoint), reaching PostgreSQL through ``proxy``."""

    fake: FakeSlack
    url: str
    proxy: TCPProxy

    def health(self) -> int:
        return get_status(self.url.replace("/slack/events", "/healthz"))

    def wait_health(self, status: int, timeout: float) -> float:
        """Poll /healthz as a load balancer would until it says ``status``; the seconds taken."""
        start = time.monotonic()
        while self.health() != status:
            assert time.monotonic() - start < timeout, f"/healthz is not {status}"
            time.sleep(0.1)
        return time.monotonic() - start

    def ask(self) -> tuple[str, float]:
        """Mention the bot with a question: ``("answered" | "busy", monotonic time of reply)``."""
        n = next(_ids)
        before = len(self.fake.sent)
        event = mention_event(
            f"<@{BOT_USER_ID}> {QUESTION}", event_id=f"EvOutage{n}", ts=f"1700000{n:03d}.000100"
        )
        reply = signed_post(self.url, json.dumps(event), "application/json")
        assert reply.status == 200
        assert self.fake.wait_for(lambda: len(self.fake.sent) > before, timeout=15)
        sent = self.fake.sent[before]
        # The answer is posted before the bot records its thread: let that finish, or
        # an outage begun now would meet it.
        time.sleep(0.3)
        if sent.kind == "chat.postMessage":
            return "answered", sent.at
        assert sent.kind == "chat.postEphemeral", sent
        assert sent.data["text"] == escape(messages.DATABASE_BUSY)
        return "busy", sent.at

    def first_answer(self, since: float, timeout: float = 10.0) -> float:
        """Ask until a question is answered, as users would; the seconds from ``since``."""
        while True:
            outcome, at = self.ask()
            if outcome == "answered" or at - since > timeout:
                assert outcome == "answered"
                return at - since
            time.sleep(0.2)


@pytest.fixture
def slackbot(
    postgres_url: str, service: QuoteService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Bot]:
    # A purge with every stored answer, so the outage meets the purge job too.
    monkeypatch.setattr(sql_store, "PURGE_EVERY_SECONDS", 0.0)
    # The pool's own reconnecting gives up this soon: longer outages than this are the
    # "ten minutes" case, which the pool alone never recovers from quickly.
    monkeypatch.setattr(postgres_store, "POOL_RECONNECT_TIMEOUT_SECONDS", 1.0)
    with TCPProxy() as proxy, FakeSlack() as fake:
        settings = Settings(
            database_url=proxy.url(postgres_url),
            user_hash_key=KEY,
            feedback_db=tmp_path / "unused.sqlite3",
        )
        with (
            build_store(settings) as store,
            serve(fake, service, tmp_path, store=store) as running,
        ):
            yield Bot(fake, running.url, proxy)


def outage_log(caplog: pytest.LogCaptureFixture) -> tuple[list[str], list[str]]:
    """(warnings and worse, every line from psycopg) logged so far; no tracebacks allowed."""
    assert [r.getMessage() for r in caplog.records if r.exc_info] == []
    loud = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    pool = [r.getMessage() for r in caplog.records if r.name.startswith("psycopg")]
    return loud, pool


@pytest.mark.parametrize(
    ("seconds", "hang"),
    [
        (2.0, False),  # refused: a stopped server
        (4.0, True),  # hanging: packets dropped, only connect timeouts end an attempt
    ],
    ids=["refused", "hanging"],
)
def test_after_an_outage_healthz_and_answers_are_back_within_seconds(
    slackbot: Bot, caplog: pytest.LogCaptureFixture, seconds: float, hang: bool
) -> None:
    caplog.set_level(logging.INFO)
    assert slackbot.health() == 200
    assert slackbot.ask()[0] == "answered"
    caplog.clear()

    slackbot.proxy.cut(hang=hang)
    went = slackbot.wait_health(503, timeout=5)
    during = slackbot.ask()[0]
    end = time.monotonic() + seconds
    while time.monotonic() < end:  # a load balancer keeps polling
        assert slackbot.health() == 503
        time.sleep(0.2)
    slackbot.proxy.restore()
    back = time.monotonic()
    healthy = slackbot.wait_health(200, timeout=10)
    after, answered_at = slackbot.ask()

    assert went < 4
    assert during == "busy"
    assert healthy < RECOVERY_SECONDS
    assert after == "answered" and answered_at - back < RECOVERY_SECONDS
    loud, pool = outage_log(caplog)
    assert len(loud) == 2, loud
    assert "unreachable" in loud[0] and "answers again" in loud[1]
    assert pool == []


def test_an_outage_longer_than_the_pools_reconnect_timeout_ends_as_fast(
    slackbot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    """The "ten minutes" outage: tries do not back off, so the end is seen at once."""
    caplog.set_level(logging.INFO)
    assert slackbot.ask()[0] == "answered"
    caplog.clear()

    slackbot.proxy.cut()
    slackbot.wait_health(503, timeout=5)
    # Questions keep coming (and keep being refused at once) past the pool's timeout.
    asked = [slackbot.ask() for _ in range(3)]
    time.sleep(3.0)
    tried = slackbot.proxy.refused
    time.sleep(1.5)
    still_trying = slackbot.proxy.refused - tried
    slackbot.proxy.restore()
    answered = slackbot.first_answer(since=time.monotonic())
    healthy = slackbot.health()

    assert [outcome for outcome, _ in asked] == ["busy"] * 3
    assert still_trying >= 2  # about two a second, however long it has been
    assert answered < RECOVERY_SECONDS
    assert healthy == 200
    loud, pool = outage_log(caplog)
    assert len(loud) == 2, loud
    assert "unreachable" in loud[0] and "answers again" in loud[1]
    assert pool == []


def test_an_outage_nobody_noticed_costs_no_question(
    slackbot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    assert slackbot.ask()[0] == "answered"
    caplog.clear()

    slackbot.proxy.cut()  # every pooled connection is closed under the pool's feet
    time.sleep(2.0)
    slackbot.proxy.restore()
    outcome, _ = slackbot.ask()

    assert outcome == "answered"
    loud, pool = outage_log(caplog)
    assert loud == [] and pool == []


# -- start-up -------------------------------------------------------------------------------


def test_a_bot_started_while_the_database_is_down_serves_503_then_takes_it_up(
    postgres_url: str, service: QuoteService, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    with TCPProxy() as proxy, FakeSlack() as fake:
        proxy.cut()
        settings = Settings(
            database_url=proxy.url(postgres_url),
            user_hash_key=KEY,
            feedback_db=tmp_path / "unused.sqlite3",
        )
        with pytest.raises(StorageError, match="Cannot reach the database"):
            build_store(settings, wait=False)
        with (
            build_store(settings, wait=True) as store,
            serve(fake, service, tmp_path, store=store) as running,
        ):
            up = Bot(fake, running.url, proxy)
            first = up.health()
            during = up.ask()[0]
            time.sleep(1.0)
            proxy.restore()
            back = time.monotonic()
            healthy = up.wait_health(200, timeout=10)
            after, answered_at = up.ask()
            version = store.schema_version()

    assert (first, during) == (503, "busy")
    assert healthy < RECOVERY_SECONDS
    assert after == "answered" and answered_at - back < RECOVERY_SECONDS
    assert version == SCHEMA_VERSION  # migrated once it answered
    loud, pool = outage_log(caplog)
    assert len(loud) == 2, loud
    assert "does not answer" in loud[0] and "answers again" in loud[1]
    assert pool == []


def test_quotebot_run_with_database_wait_off_stops_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with TCPProxy() as proxy:
        proxy.cut()
        url = proxy.url("postgresql://quotebot:s3cret@127.0.0.1/quotebot")
        monkeypatch.chdir(tmp_path)
        for name, value in {
            "QUOTEBOT_DATABASE_URL": url,
            "QUOTEBOT_DATABASE_WAIT": "0",
            "QUOTEBOT_USER_HASH_KEY": KEY,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        }.items():
            monkeypatch.setenv(name, value)
        code = main(["run", "slack", "--http", "--port", "0"])

    err = capsys.readouterr().err
    assert code == 2
    assert err == (
        f"quotebot: Cannot reach the database at postgresql://quotebot@127.0.0.1:{proxy.port}"
        "/quotebot; check that it is running and QUOTEBOT_DATABASE_URL.\n"
    )


@pytest.mark.parametrize(
    ("value", "wait"), [("", True), ("1", True), ("yes", True), ("0", False), ("off", False)]
)
def test_database_wait_setting(value: str, wait: bool) -> None:
    assert Settings.from_env({"QUOTEBOT_DATABASE_WAIT": value}).database_wait is wait


def test_a_database_wait_that_is_not_a_switch_is_one_line() -> None:
    with pytest.raises(ConfigError, match="QUOTEBOT_DATABASE_WAIT must be 1 or 0"):
        Settings.from_env({"QUOTEBOT_DATABASE_WAIT": "sometimes"})


# -- the real command -------------------------------------------------------------------------


@pytest.mark.model
def test_quotebot_run_started_before_its_database_answers_within_seconds_of_it(
    postgres_url: str, tmp_path: Path
) -> None:
    from test_replicas import QUOTEBOT, ROOT, Replica

    with TCPProxy() as proxy, FakeSlack() as fake:
        shutil.copytree(ROOT / "corpus", tmp_path / "corpus")
        env = bare_environment()
        env.update(
            QUOTEBOT_CORPUS=str(tmp_path / "corpus"),
            QUOTEBOT_INDEX_DIR=str(tmp_path / "index"),
            QUOTEBOT_DATABASE_URL=proxy.url(postgres_url),
            QUOTEBOT_USER_HASH_KEY=KEY,
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=fake.api_url,
        )
        built = subprocess.run(
            [*QUOTEBOT, "index"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=600
        )
        assert built.returncode == 0, built.stderr
        proxy.cut()
        replica = Replica("bot", env, tmp_path)
        try:
            replica.start()  # serving, though the database has never answered
            up = Bot(fake, replica.url, proxy)
            first = up.health()
            proxy.restore()
            back = time.monotonic()
            healthy = up.wait_health(200, timeout=10)
            answered, answered_at = up.ask()
            proxy.cut()
            up.wait_health(503, timeout=5)
            time.sleep(2.0)
            proxy.restore()
            again = time.monotonic()
            healthy_again = up.wait_health(200, timeout=10)
            answered_again, answered_again_at = up.ask()
        finally:
            replica.stop()
        log = replica.log_text()

    assert first == 503
    assert healthy < RECOVERY_SECONDS
    assert answered == "answered" and answered_at - back < RECOVERY_SECONDS
    assert healthy_again < RECOVERY_SECONDS
    assert answered_again == "answered" and answered_again_at - again < RECOVERY_SECONDS
    assert "Traceback" not in log
    lines = [line for line in log.splitlines() if " WARNING " in line or " ERROR " in line]
    database = [line for line in lines if "PostgreSQL" in line]
    assert len(database) == 4, log  # does not answer, answers again, unreachable, again
    assert [line for line in lines if "psycopg" in line] == []


# -- not an outage ----------------------------------------------------------------------------


def test_every_connection_in_use_is_said_once_and_is_no_outage(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import psycopg

    from bot.storage import open_store

    monkeypatch.setattr(postgres_store, "POOL_TIMEOUT_SECONDS", 0.5)
    caplog.set_level(logging.INFO)
    with open_store(postgres_url, user_hash_key=KEY, pool_size=1) as store:
        store.retry_after("cooldown:held", 5, 60.0)
        # Another process holds the row, so the store's only connection waits on it.
        with psycopg.connect(postgres_url) as holder:
            holder.execute("SELECT * FROM cooldowns WHERE user_key = 'cooldown:held' FOR UPDATE")
            waiting = threading.Thread(
                target=store.retry_after, args=("cooldown:held", 5, 60.0), daemon=True
            )
            waiting.start()
            time.sleep(0.2)
            refused = []
            for n in range(3):
                with pytest.raises(StorageError) as error:
                    store.first_sight(f"event:{n}")
                refused.append(str(error.value))
            time.sleep(0.5)  # the watcher's look
            holder.commit()
        waiting.join(5)
        store.ping()
        assert store.first_sight("event:after")

    assert refused == [messages.DATABASE_BUSY] * 3
    loud, pool = outage_log(caplog)
    assert len(loud) == 1, loud
    assert "waited 0.5 s for a free connection" in loud[0] and "unreachable" not in loud[0]
