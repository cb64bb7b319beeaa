"""Bursts and a steady soak against the real app, on this machine.

Run as ``python -m bench.soak`` (loopback only; stops by itself). It builds the
seed article's index once with ``quotebot index`` (the real bundled model), then:

1. **Slack burst**: starts ``quotebot run slack --http`` (SQLite state, the
   single-machine default) against the loopback Slack of the tests
   (tests/fake_slack.py) and sends ``--slack-burst`` signed ``/ask`` slash
   commands, each from a different user, ``--in-flight`` at a time. Reports
   every acknowledgement (max, p95; Slack allows 3 s), the answer latency from
   sending the command to the answer reaching its ``response_url`` (p50, p95),
   answered, duplicated, 5xx, and refusals (an apology or "busy" in place of an
   answer).
2. **Discord burst**: starts ``quotebot run discord`` against the loopback
   Discord of the tests (tests/fake_discord.py) and dispatches
   ``--discord-burst`` ``/ask`` interactions, each from a different user, all at
   once over the gateway. Reports the first acknowledgement (the defer; Discord
   allows 3 s) and the answer latency (dispatch to the edited answer).
3. **Steady soak**: ``quotebot run slack --http`` on a PostgreSQL database made
   for the run and dropped after (``QUOTEBOT_TEST_DATABASE_URL`` or the local
   server), at ``--rate`` questions a second for ``--minutes`` after a
   ``--warmup``. Reports the bot's RSS after the warm-up and at the end (and
   every minute), its CPU use, lost, duplicated and refused answers, 5xx, and
   the machine's load average.

``--json PATH`` writes everything measured. ``--skip`` leaves phases out.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.error import URLError
from urllib.parse import urlencode, urlsplit, urlunsplit

from bench.machine import machine
from bench.questions import DENVER_QUESTIONS
from bench.replicas import (
    ADMIN_URL,
    FORM,
    QUESTIONS,
    QUOTEBOT,
    ROOT,
    Replica,
    bare_environment,
    percentile,
)
from bot import messages

sys.path.insert(0, str(ROOT / "tests"))

from fake_discord import FakeDiscord  # noqa: E402
from fake_slack import (  # noqa: E402
    BOT_TOKEN,
    SIGNING_SECRET,
    FakeSlack,
    signed_post,
    slash_command,
    texts,
)

ACK_DEADLINE = 3.0
ANSWER_WAIT = 60.0  # seconds to wait for the last answers of a phase
LATE_DUPLICATE_WAIT = 2.0  # time for a wrong second answer to arrive
HASH_KEY = "5a" * 32  # fixed, as replicas sharing a database must share one
ASKED = [*DENVER_QUESTIONS, *QUESTIONS]
# Texts that stand in place of an answer when something is wrong.
REFUSALS = tuple(
    text.split("{")[0]
    for text in (messages.GENERIC_ERROR, messages.COOLDOWN, messages.DATABASE_BUSY)
)


# -- the bot process from the outside ------------------------------------------------


def rss_mb(pid: int) -> float:
    """Resident set size of process ``pid`` (``VmRSS``), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time process ``pid`` has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def ms(seconds: float) -> float:
    return round(1000 * seconds, 1)


# -- Slack: signed slash commands, answers counted at the fake's response_url -------------


@dataclass
class Command:
    target: str
    started: float = 0.0
    ack: float | None = None
    status: int = 0


def send_command(replica: Replica, fake: FakeSlack, target: str, text: str, user: str) -> Command:
    form = urlencode(slash_command(text, fake.response_url(target), user=user))
    record = Command(target, time.monotonic())
    try:
        reply = signed_post(replica.url, form, FORM)
        record.status = reply.status
    except (URLError, OSError):
        record.status = 0  # no connection or no reply within signed_post's 10 s
    record.ack = time.monotonic() - record.started
    return record


def answers_by_target(fake: FakeSlack) -> dict[str, list[tuple[float, str]]]:
    """Every response_url POST: target -> [(arrival, text shown)]."""
    found: dict[str, list[tuple[float, str]]] = {}
    for sent in fake.calls("response_url"):
        shown = " ".join(texts(sent.data.get("blocks") or [])) or str(sent.data.get("text", ""))
        found.setdefault(sent.target, []).append((sent.at, shown))
    return found


def wait_answered(fake: FakeSlack, commands: list[Command]) -> None:
    wanted = {c.target for c in commands if c.status == 200}

    def done() -> bool:
        return wanted <= {s.target for s in fake.sent if s.kind == "response_url"}

    fake.wait_for(done, timeout=ANSWER_WAIT)
    time.sleep(LATE_DUPLICATE_WAIT)


def slack_summary(commands: list[Command], fake: FakeSlack) -> dict[str, Any]:
    answers = answers_by_target(fake)
    acks = [c.ack for c in commands if c.ack is not None and c.status == 200]
    latencies = [answers[c.target][0][0] - c.started for c in commands if c.target in answers]
    refused = sum(
        1 for c in commands if any(r in answers.get(c.target, [(0, "")])[0][1] for r in REFUSALS)
    )
    return {
        "sent": len(commands),
        "acknowledged (200)": len(acks),
        "acked within 3 s": sum(1 for a in acks if a <= ACK_DEADLINE),
        "ack p95 (ms)": ms(percentile(acks, 0.95)),
        "ack max (ms)": ms(max(acks)) if acks else None,
        "answered": sum(1 for c in commands if c.target in answers),
        "first answer (ms)": ms(min(latencies)) if latencies else None,
        "answer p50 (ms)": ms(percentile(latencies, 0.5)),
        "answer p95 (ms)": ms(percentile(latencies, 0.95)),
        "answer max (ms)": ms(max(latencies)) if latencies else None,
        "lost (acked, never answered)": sum(
            1 for c in commands if c.status == 200 and c.target not in answers
        ),
        "duplicated": sum(1 for c in commands if len(answers.get(c.target, [])) > 1),
        "refused (apology, busy, cooldown)": refused,
        "5xx": sum(1 for c in commands if c.status >= 500),
        "no reply": sum(1 for c in commands if c.status == 0),
    }


def slack_burst(env: dict[str, str], home: Path, *, count: int, in_flight: int) -> dict[str, Any]:
    with FakeSlack() as fake:
        replica = Replica("slack-burst", {**env, "SLACK_API_URL": fake.api_url}, home)
        try:
            started_in = replica.start()
            # One question first: the process loads its models on the first answer.
            warm = send_command(replica, fake, "warm", ASKED[0], "UWARM0001")
            wait_answered(fake, [warm])
            load_before = load()
            pid = replica.process.pid if replica.process else 0
            cpu_before = cpu_seconds(pid)

            def one(n: int) -> Command:
                return send_command(replica, fake, f"b{n}", ASKED[n % len(ASKED)], f"UB{n:05d}")

            began = time.monotonic()
            with ThreadPoolExecutor(in_flight) as pool:
                commands = list(pool.map(one, range(count)))
            wait_answered(fake, commands)
            wall = time.monotonic() - began - LATE_DUPLICATE_WAIT
            rss, cpu = rss_mb(pid), cpu_seconds(pid) - cpu_before
        finally:
            replica.stop()
    return {
        "phase": f"Slack burst: {count} /ask from {count} users, {in_flight} in flight",
        "state": "SQLite",
        "bot start (s)": round(started_in, 1),
        **slack_summary(commands, fake),
        "wall (s)": round(wall, 1),
        "bot CPU per question (ms)": ms(cpu / count),
        "bot RSS after (MB)": round(rss, 1),
        "load average before": load_before,
        "load average after": load(),
    }


# -- Discord: interactions over the fake gateway ---------------------------------------------


def discord_burst(env: dict[str, str], home: Path, *, count: int) -> dict[str, Any]:
    with FakeDiscord() as fake:
        bot_env = {**env, "DISCORD_TOKEN": fake.token, "DISCORD_API_BASE": fake.api_base}
        with (home / "discord-burst.log").open("ab") as log:
            bot = subprocess.Popen(
                [*QUOTEBOT, "run", "discord"],
                env=bot_env,
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        try:
            began = time.monotonic()

            def ready() -> bool:
                registered = any(
                    c["name"] == "ask" for scope in fake.commands.values() for c in scope
                )
                return bot.poll() is not None or (fake.ready_sessions() > 0 and registered)

            fake.wait_for(ready, timeout=180)
            if bot.poll() is not None:
                raise RuntimeError((home / "discord-burst.log").read_text()[-2000:])
            started_in = time.monotonic() - began
            warm = fake.run_command("ask", {"question": ASKED[0]}, user_id=9_000_000)
            fake.wait_for(lambda: warm.answered, timeout=120)
            load_before = load()
            cpu_before = cpu_seconds(bot.pid)

            began = time.monotonic()
            interactions = [
                fake.run_command("ask", {"question": ASKED[n % len(ASKED)]}, user_id=9_000_001 + n)
                for n in range(count)
            ]
            try:
                fake.wait_for(lambda: all(i.answered for i in interactions), timeout=ANSWER_WAIT)
            except AssertionError:
                pass  # counted below as not answered
            time.sleep(LATE_DUPLICATE_WAIT)
            wall = time.monotonic() - began - LATE_DUPLICATE_WAIT
            rss, cpu = rss_mb(bot.pid), cpu_seconds(bot.pid) - cpu_before
            writes = _discord_answer_times(fake, interactions)
        finally:
            if bot.poll() is None:
                bot.terminate()
                try:
                    bot.wait(30)
                except subprocess.TimeoutExpired:
                    bot.kill()
                    bot.wait()
    defers = [i.first_callback_delay for i in interactions if i.first_callback_delay is not None]
    latencies = [writes[i.id][0] - i.dispatched for i in interactions if i.id in writes]
    shown = [
        " ".join(str(e.get("description", "")) for e in (i.original or {}).get("embeds", []) or [])
        + str((i.original or {}).get("content", ""))
        for i in interactions
    ]
    return {
        "phase": f"Discord burst: {count} /ask from {count} users, all at once",
        "state": "SQLite",
        "bot start (s)": round(started_in, 1),
        "sent": count,
        "acknowledged (defer)": len(defers),
        "acked within 3 s": sum(1 for d in defers if d <= ACK_DEADLINE),
        "ack p50 (ms)": ms(percentile(defers, 0.5)),
        "ack p95 (ms)": ms(percentile(defers, 0.95)),
        "ack max (ms)": ms(max(defers)) if defers else None,
        "answered": sum(1 for i in interactions if i.answered),
        "first answer (ms)": ms(min(latencies)) if latencies else None,
        "answer p50 (ms)": ms(percentile(latencies, 0.5)),
        "answer p95 (ms)": ms(percentile(latencies, 0.95)),
        "answer max (ms)": ms(max(latencies)) if latencies else None,
        "duplicated (answer written twice)": sum(1 for times in writes.values() if len(times) > 1),
        "refused (apology, busy, cooldown)": sum(
            1 for text in shown if any(r in text for r in REFUSALS)
        ),
        "wall (s)": round(wall, 1),
        "bot CPU per question (ms)": ms(cpu / count),
        "bot RSS after (MB)": round(rss, 1),
        "load average before": load_before,
        "load average after": load(),
    }


def _discord_answer_times(fake: FakeDiscord, interactions: list[Any]) -> dict[str, list[float]]:
    """When each interaction's answer was written: edits of the original and follow-ups."""
    by_token = {i.token: i.id for i in interactions}
    found: dict[str, list[float]] = {}
    for request in list(fake.requests):
        parts = request.path.strip("/").split("/")
        if parts[0] != "webhooks" or len(parts) < 3 or request.method not in ("PATCH", "POST"):
            continue
        interaction_id = by_token.get(parts[2])
        if interaction_id and request.status < 300:
            found.setdefault(interaction_id, []).append(request.time)
    return found


# -- the steady soak --------------------------------------------------------------------


def soak(
    env: dict[str, str], home: Path, *, minutes: float, rate: float, warmup: float
) -> dict[str, Any]:
    import psycopg

    database = f"quotebot_soak_{secrets.token_hex(4)}"
    admin = psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5)
    admin.execute(f'CREATE DATABASE "{database}"')
    url = urlunsplit(urlsplit(ADMIN_URL)._replace(path="/" + database, query=""))
    try:
        with FakeSlack() as fake:
            bot_env = {**env, "SLACK_API_URL": fake.api_url, "QUOTEBOT_DATABASE_URL": url}
            replica = Replica("soak", bot_env, home)
            try:
                return _soak(replica, fake, minutes=minutes, rate=rate, warmup=warmup)
            finally:
                replica.stop()
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        admin.close()


def _soak(
    replica: Replica, fake: FakeSlack, *, minutes: float, rate: float, warmup: float
) -> dict[str, Any]:
    started_in = replica.start()
    assert replica.process is not None
    pid = replica.process.pid
    # Users enough that none of them meets the per-user cooldown (5 a minute).
    users = max(200, int(rate * 60))
    commands: list[Command] = []
    lock = threading.Lock()

    def paced(tag: str, seconds: float, first: int) -> list[Command]:
        total = int(seconds * rate)
        sent: list[Command] = []
        t0 = time.monotonic()
        with ThreadPoolExecutor(32) as pool:
            futures = []
            for n in range(total):
                delay = t0 + n / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                i = first + n
                futures.append(
                    pool.submit(
                        send_command,
                        replica,
                        fake,
                        f"{tag}{i}",
                        ASKED[i % len(ASKED)],
                        f"US{i % users:05d}",
                    )
                )
            for future in futures:
                sent.append(future.result())
        with lock:
            commands.extend(sent)
        return sent

    warm = paced("w", warmup, 0)
    wait_answered(fake, warm)
    rss_start, cpu_start, t_start = rss_mb(pid), cpu_seconds(pid), time.monotonic()
    samples: list[dict[str, Any]] = [
        {"minute": 0, "rss_mb": round(rss_start, 1), "load": load(), "cpu_s": 0.0}
    ]
    stop = threading.Event()

    def sample() -> None:
        minute = 0
        while not stop.wait(max(0.0, t_start + 60 * (minute + 1) - time.monotonic())):
            minute += 1
            samples.append(
                {
                    "minute": minute,
                    "rss_mb": round(rss_mb(pid), 1),
                    "load": load(),
                    "cpu_s": round(cpu_seconds(pid) - cpu_start, 1),
                }
            )

    sampler = threading.Thread(target=sample, name="soak-sampler", daemon=True)
    sampler.start()
    try:
        measured = paced("s", minutes * 60, len(warm))
        sending = time.monotonic() - t_start
        wait_answered(fake, measured)
    finally:
        stop.set()
        sampler.join(5)
    rss_end, cpu_end = rss_mb(pid), cpu_seconds(pid)
    elapsed = time.monotonic() - t_start
    summary = slack_summary(measured, fake)
    whole = slack_summary(commands, fake)
    return {
        "phase": f"Steady soak: {minutes:g} min at {rate:g} questions/s, {users} users",
        "state": "PostgreSQL",
        "bot start (s)": round(started_in, 1),
        "warm-up (s)": warmup,
        **summary,
        "sending rate achieved (/s)": round(len(measured) / sending, 2) if sending else None,
        "lost, warm-up included": whole["lost (acked, never answered)"],
        "duplicated, warm-up included": whole["duplicated"],
        "5xx, warm-up included": whole["5xx"],
        "RSS after warm-up (MB)": round(rss_start, 1),
        "RSS at end (MB)": round(rss_end, 1),
        "RSS growth (%)": round(100 * (rss_end - rss_start) / rss_start, 1),
        "RSS max (MB)": round(max([s["rss_mb"] for s in samples] + [rss_end]), 1),
        "bot CPU (% of one core)": round(100 * (cpu_end - cpu_start) / elapsed, 1),
        "load average at end": load(),
        "samples": samples,
    }


# -- output -------------------------------------------------------------------------


def _table(results: list[dict[str, Any]]) -> str:
    lines = []
    for result in results:
        lines.append(f"\n{result['phase']}")
        for key, value in result.items():
            if key not in ("phase", "samples"):
                lines.append(f"  {key:<42} {value}")
        if result.get("samples"):
            lines.append("  minute  RSS (MB)  bot CPU (s)  load average")
            for s in result["samples"]:
                lines.append(
                    f"  {s['minute']:>6}  {s['rss_mb']:>8}  {s['cpu_s']:>11}  "
                    + " ".join(str(x) for x in s["load"])
                )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.soak",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--slack-burst", type=int, default=200, metavar="N")
    parser.add_argument("--in-flight", type=int, default=50, metavar="N")
    parser.add_argument("--discord-burst", type=int, default=100, metavar="N")
    parser.add_argument("--minutes", type=float, default=1.0, help="soak length (default 1)")
    parser.add_argument("--rate", type=float, default=5.0, help="soak questions a second")
    parser.add_argument("--warmup", type=float, default=30.0, help="soak warm-up seconds")
    parser.add_argument("--skip", action="append", default=[], choices=("slack", "discord", "soak"))
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the results here")
    args = parser.parse_args(argv)

    home = Path(tempfile.mkdtemp(prefix="quotebot-bench-soak-"))
    results: list[dict[str, Any]] = []
    try:
        shutil.copytree(ROOT / "corpus", home / "corpus")
        env = bare_environment()
        env.update(
            QUOTEBOT_CORPUS=str(home / "corpus"),
            QUOTEBOT_INDEX_DIR=str(home / "index"),
            QUOTEBOT_FEEDBACK_DB=str(home / "state.sqlite3"),
            QUOTEBOT_USER_HASH_KEY=HASH_KEY,
            QUOTEBOT_LOG_LEVEL="WARNING",
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
        )
        built = subprocess.run(
            [*QUOTEBOT, "index"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=900
        )
        if built.returncode != 0:
            print(built.stderr, file=sys.stderr)
            return 1
        phases = [
            (
                "slack",
                lambda: slack_burst(env, home, count=args.slack_burst, in_flight=args.in_flight),
            ),
            ("discord", lambda: discord_burst(env, home, count=args.discord_burst)),
            (
                "soak",
                lambda: soak(env, home, minutes=args.minutes, rate=args.rate, warmup=args.warmup),
            ),
        ]
        for name, run in phases:
            if name in args.skip:
                continue
            results.append(run())
            print(_table(results[-1:]), flush=True)
    finally:
        logs = sorted(home.glob("*.log"))
        for log in logs:
            tail = log.read_text(errors="replace").strip().splitlines()[-5:]
            if tail:
                print(f"\n{log.name} (last lines):\n  " + "\n  ".join(tail), file=sys.stderr)
        shutil.rmtree(home, ignore_errors=True)
    report = {"machine": machine(), "results": results}
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
