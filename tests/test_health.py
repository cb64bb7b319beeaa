"""``/healthz`` follows the database without a restart; ``--metrics-port`` serves Discord."""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.error import HTTPError
from urllib.parse import urlsplit, urlunsplit
from urllib.request import ProxyHandler, build_opener

import pytest
from conftest import LOCAL_POSTGRES, TEST_DATABASE_VAR
from fake_discord import FakeDiscord
from fake_slack import FakeSlack, loopback_only  # noqa: F401  (autouse: loopback only)
from test_discord_e2e import running_bot
from test_discord_e2e import settings_for as discord_settings
from test_slack import serve
from test_slack_http import metric

from bot.app import build_ops
from bot.http_server import ops_server
from bot.service import QuoteService
from bot.storage import open_store


def get(url: str) -> tuple[int, str]:
    opener = build_opener(ProxyHandler({}))
    try:
        with opener.open(url, timeout=15) as response:
            return response.status, response.read().decode()
    except HTTPError as error:
        return error.code, error.read().decode()


@pytest.fixture
def own_database() -> Iterator[tuple[str, Any]]:
    """A PostgreSQL database of this test's own (it is taken offline), and an admin connection."""
    import psycopg

    admin_url = os.environ.get(TEST_DATABASE_VAR, "").strip() or LOCAL_POSTGRES
    try:
        admin = psycopg.connect(admin_url, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        if os.environ.get(TEST_DATABASE_VAR):
            pytest.fail(f"{TEST_DATABASE_VAR} is set but PostgreSQL does not answer: {exc}")
        pytest.skip(f"no PostgreSQL server at {admin_url}; set {TEST_DATABASE_VAR} to require one")
    name = f"quotebot_health_{secrets.token_hex(4)}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(admin_url)._replace(path="/" + name, query="")), admin
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def take_offline(admin: Any, url: str) -> None:
    """What a stopped database looks like to quotebot: connections cut, new ones refused."""
    name = urlsplit(url).path.lstrip("/")
    admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
    admin.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
    )


def bring_back(admin: Any, url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')


def wait_for_status(url: str, status: int, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        got, body = get(url)
        if got == status or time.monotonic() > deadline:
            assert got == status, body
            return dict(json.loads(body))
        time.sleep(0.2)


def test_healthz_is_503_while_the_database_is_down_and_200_once_it_is_back(
    own_database: tuple[str, Any], service: QuoteService, tmp_path: Path
) -> None:
    url, admin = own_database
    with open_store(url, user_hash_key="test key") as store, FakeSlack() as fake:
        with serve(fake, service, tmp_path, store=store) as running:
            healthz = running.url.replace("/slack/events", "/healthz")  # the Slack HTTP port
            try:
                up = wait_for_status(healthz, 200)
                take_offline(admin, url)
                down = wait_for_status(healthz, 503)
                bring_back(admin, url)
                again = wait_for_status(healthz, 200)
            finally:
                bring_back(admin, url)

    assert up["database"] == {"backend": "postgresql", "reachable": True}
    assert down["database"] == {"backend": "postgresql", "reachable": False}
    assert down["status"] == "unavailable"
    assert again["database"]["reachable"] is True
    assert up["index"]["sentences"] == len(service.index)


def test_metrics_port_serves_discord_counters(
    service: QuoteService, tmp_path: Path, sqlite_store: Any
) -> None:
    metrics, health = build_ops(service, sqlite_store)
    with FakeDiscord(heartbeat_interval_ms=100) as fake:
        settings = replace(discord_settings(fake, tmp_path), metrics_port=0, cooldown_rate=1)
        ops = ops_server(settings, metrics, health)
        assert ops is not None
        try:
            with running_bot(fake, service, sqlite_store, settings, metrics=metrics):
                first = fake.run_command("ask", {"question": "How did the council vote?"})
                fake.wait_for(lambda: first.answered)
                second = fake.run_command("ask", {"question": "And then?"})
                fake.wait_for(lambda: second.answered)
                status, text = get(f"http://127.0.0.1:{ops.port}/metrics")
            status_health, _ = get(f"http://127.0.0.1:{ops.port}/healthz")
        finally:
            ops.shutdown(grace=1)

    assert (status, status_health) == (200, 200)
    q = "quotebot_questions_total"
    made = [metric(text, q, platform="discord", outcome=o) for o in ("answered", "abstained")]
    assert sum(made) == 1
    assert metric(text, q, platform="discord", outcome="cooldown") == 1
    assert metric(text, "quotebot_answer_seconds_count", platform="discord") == 1
    assert metric(text, "quotebot_index_sentences") == len(service.index)
