"""`quotebot run discord` as a user starts it (real bundled model) against the fake Discord."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_discord import FakeDiscord

ROOT = Path(__file__).resolve().parent.parent
QUOTEBOT = [sys.executable, "-m", "bot.cli"]

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def environment(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """An environment with the seed corpus indexed once by ``quotebot index``."""
    home = tmp_path_factory.mktemp("discord-cli")
    shutil.copytree(ROOT / "corpus", home / "corpus")
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("QUOTEBOT_", "DISCORD_", "SLACK_"))
    }
    env.update(
        QUOTEBOT_CORPUS=str(home / "corpus"),
        QUOTEBOT_INDEX_DIR=str(home / "index"),
        QUOTEBOT_FEEDBACK_DB=str(home / "feedback.sqlite3"),
    )
    built = subprocess.run(
        [*QUOTEBOT, "index"], env=env, capture_output=True, text=True, timeout=600, cwd=home
    )
    assert built.returncode == 0, built.stderr
    return env


@pytest.fixture
def fake() -> Iterator[FakeDiscord]:
    with FakeDiscord() as server:
        yield server


def test_quotebot_run_discord_answers_and_stops_on_sigterm(environment, fake):
    env = {**environment, "DISCORD_TOKEN": fake.token, "DISCORD_API_BASE": fake.api_base}
    bot = subprocess.Popen(
        [*QUOTEBOT, "run", "discord"],
        env=env,
        cwd=Path(environment["QUOTEBOT_CORPUS"]).parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        fake.wait_for(lambda: fake.ready_sessions() > 0 or bot.poll() is not None, timeout=120)
        assert bot.poll() is None, bot.communicate()[1]
        interaction = fake.run_command("ask", {"question": "How did the council vote?"})
        fake.wait_for(lambda: interaction.answered, timeout=30)
        bot.send_signal(signal.SIGTERM)
        _, err = bot.communicate(timeout=30)
    finally:
        if bot.poll() is None:
            bot.kill()
            bot.communicate()

    assert interaction.first_callback_delay is not None and interaction.first_callback_delay < 3
    embed = interaction.original["embeds"][0]
    assert "10-0 vote" in embed["description"] and "¶ 2" in embed["description"]
    assert bot.returncode == 0, err
    assert "Traceback" not in err
    assert fake.token not in err


def test_quotebot_run_discord_without_a_token_is_one_line(environment):
    result = subprocess.run(
        [*QUOTEBOT, "run", "discord"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=Path(environment["QUOTEBOT_CORPUS"]).parent,
    )
    assert result.returncode != 0
    assert "DISCORD_TOKEN" in result.stderr
    assert "Traceback" not in result.stderr


def test_quotebot_run_discord_serves_metrics_and_health_on_metrics_port(
    environment, fake, tmp_path
):
    import re
    import threading
    import time
    from urllib.request import ProxyHandler, build_opener

    env = {**environment, "DISCORD_TOKEN": fake.token, "DISCORD_API_BASE": fake.api_base}
    # A store of its own: every fake Discord numbers its interactions alike, and the
    # store remembers interaction ids already handled.
    env["QUOTEBOT_FEEDBACK_DB"] = str(tmp_path / "state.sqlite3")
    bot = subprocess.Popen(
        [*QUOTEBOT, "run", "discord", "--metrics-port", "0"],
        env=env,
        cwd=Path(environment["QUOTEBOT_CORPUS"]).parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(bot.stderr), daemon=True)
    reader.start()

    def port() -> int | None:
        for line in list(lines):
            found = re.search(r"Metrics and health on http://127\.0\.0\.1:(\d+)/metrics", line)
            if found:
                return int(found.group(1))
        return None

    opener = build_opener(ProxyHandler({}))
    try:
        fake.wait_for(lambda: fake.ready_sessions() > 0 or bot.poll() is not None, timeout=120)
        assert bot.poll() is None, "".join(lines)
        deadline = time.monotonic() + 10
        while port() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert port() is not None, "".join(lines)
        interaction = fake.run_command("ask", {"question": "How did the council vote?"})
        fake.wait_for(lambda: interaction.answered, timeout=30)
        with opener.open(f"http://127.0.0.1:{port()}/metrics", timeout=10) as response:
            metrics = response.read().decode()
        with opener.open(f"http://127.0.0.1:{port()}/healthz", timeout=10) as response:
            health = json.loads(response.read())
        bot.send_signal(signal.SIGTERM)
        bot.wait(timeout=30)
    finally:
        if bot.poll() is None:
            bot.kill()
            bot.wait()
    reader.join(5)

    assert 'quotebot_questions_total{outcome="answered",platform="discord"} 1.0' in metrics
    assert health["status"] == "ok" and health["index"]["generation"]
    assert health["database"] == {"backend": "sqlite", "reachable": True}
    assert bot.returncode == 0, "".join(lines)
