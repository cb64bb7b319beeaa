"""An idle quotebot idles: with no traffic its threads wait instead of polling.

Measured as CPU time over a couple of idle seconds, which is what a machine
running the bot notices (a spinning loop costs a whole core); wall-clock time
would depend on how busy the test machine is.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_discord import FakeDiscord
from fake_slack import APP_TOKEN, BOT_TOKEN, FakeSlack
from fakes import bare_environment
from test_slack import serve

from bot.config import Settings
from bot.http_server import ops_server
from bot.metrics import Health, Metrics
from bot.service import QuoteService

ROOT = Path(__file__).resolve().parent.parent
IDLE_SECONDS = 2.0
# A few percent of a core over the idle seconds; a polling loop takes all of it.
CPU_BUDGET = 0.2

linux_only = pytest.mark.skipif(
    not hasattr(time, "pthread_getcpuclockid") or not Path("/proc/self/stat").exists(),
    reason="per-thread and per-process CPU clocks of Linux",
)


def thread_cpu(thread: threading.Thread) -> float:
    """CPU seconds ``thread`` has used so far."""
    assert thread.ident is not None
    return time.clock_gettime(time.pthread_getcpuclockid(thread.ident))


def process_cpu(pid: int) -> float:
    """CPU seconds (user and system) process ``pid`` has used so far."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def get(port: int, path: str) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        reply = b""
        while chunk := conn.recv(65536):
            reply += chunk
    return reply


@linux_only
def test_idle_http_servers_use_almost_no_cpu(service: QuoteService, tmp_path: Path) -> None:
    metrics = Metrics()
    health = Health(lambda: service.index)
    ops = ops_server(Settings(metrics_port=0), metrics, health)
    assert ops is not None
    try:
        with FakeSlack() as fake, serve(fake, service, tmp_path) as slack:
            slack_port = int(slack.url.split(":")[2].split("/")[0])
            # Both serve (the Slack HTTP mode server and the metrics port) ...
            assert get(slack_port, "/healthz").startswith(b"HTTP/1.1 200")
            assert get(ops.port, "/metrics").startswith(b"HTTP/1.1 200")
            servers = [t for t in threading.enumerate() if t.name == "quotebot-http"]
            assert len(servers) == 2
            before = {t: thread_cpu(t) for t in servers}
            time.sleep(IDLE_SECONDS)
            used = [round(thread_cpu(t) - before[t], 3) for t in servers]
            # ... and still do after the idle seconds.
            assert get(slack_port, "/healthz").startswith(b"HTTP/1.1 200")
    finally:
        ops.shutdown(grace=1)

    assert all(seconds < CPU_BUDGET for seconds in used), f"CPU seconds per server: {used}"


# -- the whole process ------------------------------------------------------------------


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """An environment whose index `quotebot index` built with the real model."""
    home = tmp_path_factory.mktemp("idle")
    shutil.copytree(ROOT / "corpus", home / "corpus")
    env = bare_environment()
    env.update(
        QUOTEBOT_CORPUS=str(home / "corpus"),
        QUOTEBOT_INDEX_DIR=str(home / "index"),
        QUOTEBOT_FEEDBACK_DB=str(home / "data" / "feedback.sqlite3"),
        XDG_CONFIG_HOME=str(home / "config"),
    )
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "index"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    yield env


@linux_only
@pytest.mark.model
def test_an_idle_quotebot_run_uses_almost_no_cpu(built: dict[str, str], tmp_path: Path) -> None:
    """Discord, Slack over Socket Mode, the metrics port and the index reload, all idle."""
    log = tmp_path / "run.log"
    with FakeDiscord() as discord, FakeSlack() as slack, log.open("wb") as out:
        env = dict(
            built,
            DISCORD_TOKEN=discord.token,
            DISCORD_API_BASE=discord.api_base,
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_APP_TOKEN=APP_TOKEN,
            SLACK_API_URL=slack.api_url,
            QUOTEBOT_RELOAD_SECONDS="0.5",
        )
        child = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "run", "--metrics-port", "0"],
            env=env,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
        )
        try:
            connected = lambda: discord.ready_sessions() > 0 and slack.connections > 0  # noqa: E731
            assert slack.wait_for(lambda: connected() or child.poll() is not None, timeout=180)
            assert child.poll() is None, log.read_text()
            time.sleep(1.0)  # the last start-up work (command registration, first reload check)
            before = process_cpu(child.pid)
            time.sleep(IDLE_SECONDS)
            used = process_cpu(child.pid) - before
            assert child.poll() is None, log.read_text()
        finally:
            child.terminate()
            try:
                child.wait(30)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()

    assert used < CPU_BUDGET, f"{used:.2f} s of CPU in {IDLE_SECONDS} idle seconds"
