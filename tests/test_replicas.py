"""Two `quotebot run slack --http` processes on one PostgreSQL behave as one bot.

Run as a user deploys them: the real command, the real bundled model (an index
built once by `quotebot index`), a real PostgreSQL schema made for this module,
and the loopback fake of Slack's Web API. The processes are started once and
shared by the tests here; one test restarts replica A.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from fake_slack import (
    BOT_TOKEN,
    BOT_USER_ID,
    SIGNING_SECRET,
    FakeSlack,
    Reply,
    button_click,
    button_value,
    mention_event,
    signed_post,
    slash_command,
)
from fakes import bare_environment

from bot import messages
from bot.adapters.slack_blocks import ACTION_SHARE, ACTION_VOTE_UP

pytestmark = pytest.mark.model

ROOT = Path(__file__).resolve().parent.parent
QUOTEBOT = [sys.executable, "-m", "bot.cli"]
QUESTION = "How did the council vote?"
START_TIMEOUT = 120.0
FORM = "application/x-www-form-urlencoded"


class Replica:
    """One `quotebot run slack --http` process on its own port."""

    def __init__(self, name: str, env: dict[str, str], logs: Path) -> None:
        self.name, self.env, self.logs = name, env, logs
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/slack/events"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = (self.logs / f"{self.name}.log").open("ab")
        self.process = subprocess.Popen(
            [*QUOTEBOT, "run", "slack", "--http", "--port", str(self.port)],
            env=self.env,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )
        log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log_text()
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.2)
        raise AssertionError(f"replica {self.name} did not start:\n{self.log_text()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def restart(self) -> None:
        self.stop()
        self.start()

    def log_text(self) -> str:
        return (self.logs / f"{self.name}.log").read_text(errors="replace")

    def post(self, body: str, content_type: str, **kwargs: object) -> Reply:
        return signed_post(self.url, body, content_type, **kwargs)  # type: ignore[arg-type]

    def ask(self, fake: FakeSlack, target: str, user: str, text: str = QUESTION) -> Reply:
        return self.post(urlencode(slash_command(text, fake.response_url(target), user=user)), FORM)

    def click(self, fake: FakeSlack, action_id: str, value: str, target: str) -> Reply:
        payload = button_click(action_id, value, fake.response_url(target))
        return self.post(urlencode({"payload": json.dumps(payload)}), FORM)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def shared_database(postgres_database: str) -> str:
    """A schema of the test run's database for this module's replicas."""
    import psycopg

    with psycopg.connect(postgres_database, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA replicas")
    return f"{postgres_database}?options=-csearch_path%3Dreplicas"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@pytest.fixture(scope="module")
def replicas(
    tmp_path_factory: pytest.TempPathFactory, shared_database: str, fake: FakeSlack
) -> Iterator[tuple[Replica, Replica]]:
    home = tmp_path_factory.mktemp("replicas")
    shutil.copytree(ROOT / "corpus", home / "corpus")
    env = bare_environment()
    env.update(
        QUOTEBOT_CORPUS=str(home / "corpus"),
        QUOTEBOT_INDEX_DIR=str(home / "index"),
        QUOTEBOT_DATABASE_URL=shared_database,
        QUOTEBOT_USER_HASH_KEY="one key for every replica",
        QUOTEBOT_COOLDOWN_RATE="2",
        QUOTEBOT_COOLDOWN_SECONDS="600",
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=fake.api_url,
    )
    built = subprocess.run(
        [*QUOTEBOT, "index"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert built.returncode == 0, built.stderr
    pair = Replica("a", env, home), Replica("b", env, home)
    try:
        for replica in pair:
            replica.start()
        yield pair
    finally:
        for replica in pair:
            replica.stop()


def settle(seconds: float = 2.0) -> None:
    """Give a replica that wrongly answers twice the time to do it."""
    time.sleep(seconds)


def test_an_event_sent_to_both_replicas_at_once_and_retried_is_answered_once(replicas, fake):
    a, b = replicas
    ts = "1700000100.000100"
    event = json.dumps(mention_event(f"<@{BOT_USER_ID}> {QUESTION}", event_id="EvBOTH", ts=ts))
    start = threading.Barrier(2)
    statuses: list[int] = []

    def deliver(replica: Replica) -> None:
        start.wait()
        statuses.append(replica.post(event, "application/json").status)

    threads = [threading.Thread(target=deliver, args=(r,)) for r in (a, b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    assert b.post(event, "application/json", headers=retry).status == 200
    assert a.post(event, "application/json", headers=retry).status == 200

    assert statuses == [200, 200]

    def replies() -> list[object]:
        return [s for s in fake.calls("chat.postMessage") if s.data.get("thread_ts") == ts]

    assert fake.wait_for(lambda: replies(), timeout=30), a.log_text() + b.log_text()
    settle()
    assert len(replies()) == 1


def test_vote_and_share_work_on_the_replica_that_did_not_answer_also_after_a_restart(
    replicas, fake
):
    a, b = replicas
    for target in ("first", "second"):
        assert a.ask(fake, target, user="UVOTER").status == 200
    first, second = (
        fake.wait_calls("response_url", target=target)[0].data["blocks"]
        for target in ("first", "second")
    )

    # Replica B votes on and shares an answer that replica A wrote.
    assert (
        b.click(fake, ACTION_VOTE_UP, button_value(first, ACTION_VOTE_UP), "vote-b").status == 200
    )
    (thanks,) = fake.wait_calls("response_url", target="vote-b")
    assert thanks.data["text"] == messages.FEEDBACK_THANKS
    assert b.click(fake, ACTION_SHARE, button_value(first, ACTION_SHARE), "share-b").status == 200
    public, note = fake.wait_calls("response_url", count=2, target="share-b")
    assert public.data["response_type"] == "in_channel"
    assert "passed in a 10-0 vote" in json.dumps(public.data["blocks"])
    assert note.data["text"] == messages.SHARED

    # A restarts: nothing it wrote was only in its memory.
    a.restart()
    for replica, target in ((a, "after-a"), (b, "after-b")):
        vote = button_value(second, ACTION_VOTE_UP)
        assert replica.click(fake, ACTION_VOTE_UP, vote, f"vote-{target}").status == 200
        (thanks,) = fake.wait_calls("response_url", target=f"vote-{target}")
        assert thanks.data["text"] == messages.FEEDBACK_THANKS
    assert a.click(fake, ACTION_SHARE, button_value(second, ACTION_SHARE), "share-a").status == 200
    public, _ = fake.wait_calls("response_url", count=2, target="share-a")
    assert public.data["response_type"] == "in_channel"


def test_a_users_cooldown_counts_the_questions_asked_on_every_replica(replicas, fake):
    a, b = replicas
    for replica, target in ((a, "cool-1"), (b, "cool-2"), (a, "cool-3")):
        assert replica.ask(fake, target, user="UHURRIED").status == 200
        fake.wait_calls("response_url", target=target)
    answered = [fake.calls("response_url", target=t)[0].data for t in ("cool-1", "cool-2")]
    assert all(button_value(d["blocks"], ACTION_SHARE) for d in answered)
    (told,) = fake.calls("response_url", target="cool-3")
    assert told.data["text"].startswith("You're asking quickly")
