"""Slack HTTP replicas under a burst: one on SQLite against two on PostgreSQL.

Run as ``python -m bench.replicas`` (about two minutes; loopback only). It
builds the seed corpus's index once with ``quotebot index`` (the real bundled
model), starts real ``quotebot run slack --http`` processes against the
loopback Slack stand-in of the tests (tests/fake_slack.py, which records every
``response_url`` POST and Web API call with its arrival time), and for each
scenario:

* fires ``--commands`` signed ``/ask`` slash commands from ``--users`` users at
  once (each user sends its share one after another, all users together), spread
  round-robin over the replicas as a load balancer would; a command whose
  connection is refused (a dead replica) is sent again to another replica, as a
  load balancer's retry or Slack's own retry would;
* delivers ``--events`` mention events to every replica at the same moment (the
  same event_id, as when Slack retries an event to another replica);
* reports: every ack within Slack's 3 s?, p50/p95 of the ack and of the answer
  (from sending the command to the answer reaching the response_url),
  duplicates (a command or event answered more than once: must be 0), and
  questions acknowledged but never answered.

Scenarios: one replica on SQLite (the single-machine default); two replicas on
one PostgreSQL; the same with replica A killed (SIGKILL) halfway through the
burst; and with A stopped (SIGTERM, as a deployment stops it) halfway.
PostgreSQL is the local server (127.0.0.1:5432, or QUOTEBOT_TEST_DATABASE_URL);
a database is made for the run and dropped after.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.error import URLError
from urllib.parse import urlencode, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from fake_slack import (  # noqa: E402
    BOT_TOKEN,
    BOT_USER_ID,
    SIGNING_SECRET,
    FakeSlack,
    mention_event,
    signed_post,
    slash_command,
)

QUOTEBOT = [sys.executable, "-m", "bot.cli"]
ACK_DEADLINE = 3.0
ANSWER_WAIT = 30.0  # seconds to wait for the last answers of a scenario
FORM = "application/x-www-form-urlencoded"
QUESTIONS = [
    "How did the council vote?",
    "Who called the ordinance dangerous?",
    "When does the ordinance take effect?",
    "What does the ordinance ban?",
]
ADMIN_URL = os.environ.get("QUOTEBOT_TEST_DATABASE_URL", "").strip() or (
    "postgresql://postgres@127.0.0.1:5432/postgres"
)


def bare_environment() -> dict[str, str]:
    """This process's environment without quotebot's, Discord's and Slack's settings and
    without proxies, for a ``quotebot`` process that must see only what it is given."""
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("QUOTEBOT_", "DISCORD_", "SLACK_")) and "proxy" not in k.lower()
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Replica:
    def __init__(self, name: str, env: dict[str, str], logs: Path) -> None:
        self.name, self.env, self.logs = name, env, logs
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/slack/events"
        self.process: subprocess.Popen[bytes] | None = None
        self.alive = False

    def start(self) -> float:
        started = time.monotonic()
        with (self.logs / f"{self.name}.log").open("ab") as log:
            self.process = subprocess.Popen(
                [*QUOTEBOT, "run", "slack", "--http", "--port", str(self.port)],
                env=self.env,
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        while time.monotonic() - started < 120:
            if self.process.poll() is not None:
                raise RuntimeError((self.logs / f"{self.name}.log").read_text()[-2000:])
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                self.alive = True
                return time.monotonic() - started
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"replica {self.name} did not start")

    def kill(self, sig: signal.Signals = signal.SIGKILL) -> None:
        """Send ``sig`` and stop routing to this replica (SIGTERM: it finishes its answers)."""
        self.alive = False
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)

    def stop(self) -> None:
        self.alive = False
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class Sent:
    target: str
    started: float
    ack: float | None = None  # seconds until the 200
    status: int = 0
    tries: int = 0
    replica: str = ""


@dataclass
class Outcome:
    name: str
    replicas: int
    backend: str
    start_seconds: list[float]
    commands: list[Sent] = field(default_factory=list)
    answers: dict[str, list[float]] = field(default_factory=dict)  # target -> arrival times
    event_replies: dict[str, int] = field(default_factory=dict)  # event ts -> replies
    wall: float = 0.0


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run_scenario(
    name: str,
    fake: FakeSlack,
    env: dict[str, str],
    logs: Path,
    *,
    replicas: int,
    commands: int,
    users: int,
    events: int,
    kill_halfway: signal.Signals | None = None,
    tag: str,
) -> Outcome:
    pool = [Replica(f"{tag}-{chr(97 + n)}", env, logs) for n in range(replicas)]
    outcome = Outcome(name, replicas, env.get("QUOTEBOT_DATABASE_URL", "sqlite").split(":")[0], [])
    try:
        outcome.start_seconds = [r.start() for r in pool]
        lock = threading.Lock()
        counter = iter(range(commands))
        sent_so_far = [0]
        barrier = threading.Barrier(users)

        def send_one(index: int, user: str) -> Sent:
            target = f"{tag}-c{index}"
            text = QUESTIONS[index % len(QUESTIONS)]
            form = urlencode(slash_command(text, fake.response_url(target), user=user))
            record = Sent(target, time.monotonic())
            order = [pool[(index + k) % len(pool)] for k in range(len(pool))]
            for replica in order:
                if not replica.alive:
                    continue
                record.tries += 1
                try:
                    reply = signed_post(replica.url, form, FORM)
                except (URLError, ConnectionError, OSError):
                    continue  # a dead replica: the load balancer tries the next one
                record.status, record.replica = reply.status, replica.name
                record.ack = time.monotonic() - record.started
                break
            with lock:
                sent_so_far[0] += 1
                if kill_halfway and sent_so_far[0] == commands // 2 and pool[0].alive:
                    pool[0].kill(kill_halfway)
            return record

        def user_loop(n: int) -> list[Sent]:
            user = f"U{tag.upper()}{n:03d}"
            barrier.wait()
            done = []
            while True:
                with lock:
                    index = next(counter, None)
                if index is None:
                    return done
                done.append(send_one(index, user))

        started = time.monotonic()
        with ThreadPoolExecutor(users) as executor:
            for records in executor.map(user_loop, range(users)):
                outcome.commands.extend(records)

        # The same event to every live replica at the same moment, as retries to replicas do.
        event_ts = [f"17{secrets.randbelow(10**8):08d}.{n:06d}" for n in range(events)]
        with ThreadPoolExecutor(max(2, 2 * replicas)) as executor:
            for n, ts in enumerate(event_ts):
                body = json.dumps(
                    mention_event(
                        f"<@{BOT_USER_ID}> {QUESTIONS[n % len(QUESTIONS)]}",
                        event_id=f"Ev{tag}{n}",
                        ts=ts,
                        user=f"UEV{tag.upper()}{n:03d}",
                    )
                )
                live = [r for r in pool if r.alive]
                copies = live if len(live) > 1 else live * 2
                list(executor.map(lambda r, b=body: _post_quietly(r.url, b), copies))

        acked = [c.target for c in outcome.commands if c.status == 200]

        def answered() -> bool:
            return all(fake.calls("response_url", target=t) for t in acked)

        fake.wait_for(answered, timeout=ANSWER_WAIT)
        fake.wait_for(lambda: len(_event_replies(fake, event_ts)) >= events, timeout=ANSWER_WAIT)
        time.sleep(2)  # time for a wrong second answer to arrive
        outcome.wall = time.monotonic() - started
        for command in outcome.commands:
            outcome.answers[command.target] = [
                s.at for s in fake.calls("response_url", target=command.target)
            ]
        replies = _event_replies(fake, event_ts)
        outcome.event_replies = {ts: replies.count(ts) for ts in event_ts}
    finally:
        for replica in pool:
            replica.stop()
    return outcome


def _post_quietly(url: str, body: str) -> int:
    try:
        return signed_post(url, body, "application/json").status
    except (URLError, OSError):
        return 0


def _event_replies(fake: FakeSlack, event_ts: list[str]) -> list[str]:
    wanted = set(event_ts)
    return [
        s.data["thread_ts"]
        for s in fake.calls("chat.postMessage")
        if s.data.get("thread_ts") in wanted
    ]


def summarise(outcome: Outcome) -> dict[str, Any]:
    commands = outcome.commands
    acks = [c.ack for c in commands if c.ack is not None and c.status == 200]
    answer_times = [
        outcome.answers[c.target][0] - c.started for c in commands if outcome.answers[c.target]
    ]
    acked_unanswered = [
        c for c in commands if c.status == 200 and not outcome.answers.get(c.target)
    ]
    return {
        "scenario": outcome.name,
        "replicas": outcome.replicas,
        "backend": outcome.backend,
        "replica start (s)": [round(s, 1) for s in outcome.start_seconds],
        "commands": len(commands),
        "acknowledged": len(acks),
        "acked within 3 s": sum(1 for a in acks if a < ACK_DEADLINE),
        "ack p50 (ms)": round(1000 * percentile(acks, 0.5), 1),
        "ack p95 (ms)": round(1000 * percentile(acks, 0.95), 1),
        "ack max (ms)": round(1000 * max(acks), 1) if acks else None,
        "answer p50 (ms)": round(1000 * percentile(answer_times, 0.5), 1),
        "answer p95 (ms)": round(1000 * percentile(answer_times, 0.95), 1),
        "resent to another replica": sum(1 for c in commands if c.tries > 1),
        "never acknowledged": sum(1 for c in commands if c.status != 200),
        "acked, never answered": len(acked_unanswered),
        "duplicate answers (commands)": sum(
            1 for times in outcome.answers.values() if len(times) > 1
        ),
        "events": len(outcome.event_replies),
        "events answered": sum(1 for n in outcome.event_replies.values() if n >= 1),
        "duplicate answers (events)": sum(1 for n in outcome.event_replies.values() if n > 1),
        "wall (s)": round(outcome.wall, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.replicas", description=__doc__)
    parser.add_argument("--commands", type=int, default=200)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--json", action="store_true", help="print JSON only")
    args = parser.parse_args(argv)

    import psycopg

    home = Path(tempfile.mkdtemp(prefix="quotebot-bench-replicas-"))
    database = f"quotebot_bench_{secrets.token_hex(4)}"
    admin = psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5)
    admin.execute(f'CREATE DATABASE "{database}"')
    pg_url = urlunsplit(urlsplit(ADMIN_URL)._replace(path="/" + database, query=""))
    results = []
    try:
        shutil.copytree(ROOT / "corpus", home / "corpus")
        base = bare_environment()
        base.update(
            QUOTEBOT_CORPUS=str(home / "corpus"),
            QUOTEBOT_INDEX_DIR=str(home / "index"),
            QUOTEBOT_USER_HASH_KEY="one key for every replica",
            QUOTEBOT_LOG_LEVEL="WARNING",
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
        )
        built = subprocess.run(
            [*QUOTEBOT, "index"], env=base, cwd=ROOT, capture_output=True, text=True, timeout=600
        )
        if built.returncode != 0:
            print(built.stderr, file=sys.stderr)
            return 1
        with FakeSlack() as fake:
            base["SLACK_API_URL"] = fake.api_url
            sqlite_env = {**base, "QUOTEBOT_DATABASE_URL": f"sqlite:///{home / 'state.sqlite3'}"}
            pg_env = {**base, "QUOTEBOT_DATABASE_URL": pg_url}
            common = {"commands": args.commands, "users": args.users, "events": args.events}
            scenarios = [
                ("1 replica, SQLite", sqlite_env, 1, None, "s1"),
                ("2 replicas, PostgreSQL", pg_env, 2, None, "p2"),
                ("2 on PostgreSQL, A killed (SIGKILL) halfway", pg_env, 2, signal.SIGKILL, "pk"),
                ("2 on PostgreSQL, A stopped (SIGTERM) halfway", pg_env, 2, signal.SIGTERM, "pt"),
            ]
            for name, env, count, kill, tag in scenarios:
                outcome = run_scenario(
                    name, fake, env, home, replicas=count, kill_halfway=kill, tag=tag, **common
                )
                results.append(summarise(outcome))
                if not args.json:
                    print(json.dumps(results[-1]), flush=True)
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        admin.close()
        shutil.rmtree(home, ignore_errors=True)
    print(json.dumps(results, indent=2) if args.json else _table(results))
    return 0


def _table(results: list[dict[str, Any]]) -> str:
    keys = list(results[0])
    lines = ["| | " + " | ".join(r["scenario"] for r in results) + " |"]
    lines.append("|---|" + "---:|" * len(results))
    for key in keys[1:]:
        lines.append(f"| {key} | " + " | ".join(str(r[key]) for r in results) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
