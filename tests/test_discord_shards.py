"""Sharded Discord: two bots, one shard each, against the loopback Discord.

Each bot runs ``serve`` in its own thread and event loop, as two
``quotebot run discord --shard-count 2 --shard-ids N`` processes would.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from fake_discord import FakeDiscord
from test_discord_e2e import (
    no_threads_left_behind,  # noqa: F401  (autouse fixture)
    running_bot,
    settings_for,
    shown,
)

from bot.config import Settings
from bot.errors import ConfigError
from bot.storage import Store, open_store

# Two guilds whose ids put them on different shards of two: (id >> 22) % 2.
GUILD_ON_SHARD = {0: 2_000_000_000 << 22, 1: 2_000_000_001 << 22}


@pytest.fixture
def feedback(tmp_path: Path) -> Iterator[Store]:
    store = open_store(None, sqlite_path=tmp_path / "feedback.sqlite3")
    yield store
    store.close()


@pytest.fixture
def fake() -> Iterator[FakeDiscord]:
    with FakeDiscord(heartbeat_interval_ms=100, shards=2) as server:
        yield server


def command_syncs(fake: FakeDiscord) -> list[Any]:
    return [r for r in fake.requests if r.method == "PUT" and r.path.endswith("/commands")]


def test_two_processes_with_one_shard_each_answer_only_their_guilds(
    fake: FakeDiscord, service: Any, feedback: Store, tmp_path: Path
) -> None:
    assert {(g >> 22) % 2 for g in GUILD_ON_SHARD.values()} == {0, 1}
    with ExitStack() as stack:
        bots = {}
        for shard in (1, 0):  # shard 1 first: it must not register the commands
            settings = settings_for(
                fake, tmp_path, discord_shard_count=2, discord_shard_ids=(shard,)
            )
            bots[shard] = stack.enter_context(running_bot(fake, service, feedback, settings))
            fake.wait_for(lambda: fake.ready_sessions() == len(bots))  # noqa: B023
        fake.wait_for(lambda: bool(fake.commands.get(None)))

        asked = {}
        for shard, guild in GUILD_ON_SHARD.items():
            asked[shard] = fake.run_command(
                "ask", {"question": "How did the council vote?"}, guild_id=guild
            )
        for interaction in asked.values():
            fake.wait_for(lambda i=interaction: i.answered)

    assert sorted(tuple(i["shard"]) for i in fake.identifies) == [(0, 2), (1, 2)]
    # Each guild's question was answered once, by the bot holding its shard only.
    for interaction in asked.values():
        assert len(interaction.callbacks) == 1
        assert "10-0 vote" in shown(interaction.original)
    # The slash commands were registered once, by the process that runs shard 0.
    assert len(command_syncs(fake)) == 1
    assert [c["name"] for c in fake.commands[None]] == ["ask", "sources", "help", "add", "remove"]


def test_one_process_can_run_every_shard(
    fake: FakeDiscord, service: Any, feedback: Store, tmp_path: Path
) -> None:
    settings = settings_for(fake, tmp_path, discord_shard_count=1)
    with running_bot(fake, service, feedback, settings):
        fake.wait_for(lambda: bool(fake.commands.get(None)))
        interaction = fake.run_command("ask", {"question": "How did the council vote?"})
        fake.wait_for(lambda: interaction.answered)

    assert fake.identifies[0]["shard"] == [0, 1]
    assert len(command_syncs(fake)) == 1


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"QUOTEBOT_DISCORD_SHARDS": "4"}, (4, None)),
        ({"QUOTEBOT_DISCORD_SHARDS": "0,2/4"}, (4, (0, 2))),
    ],
)
def test_shards_are_configured_from_the_environment(
    env: dict[str, str], expected: tuple[int, Any]
) -> None:
    settings = Settings.from_env(env, dotenv=False)
    assert (settings.discord_shard_count, settings.discord_shard_ids) == expected


@pytest.mark.parametrize(
    ("env", "flags", "message"),
    [
        ({"QUOTEBOT_DISCORD_SHARDS": "two"}, {}, "QUOTEBOT_DISCORD_SHARDS takes N or ids/N"),
        ({"QUOTEBOT_DISCORD_SHARDS": "0,4/4"}, {}, "from 0 to 3"),
        ({}, {"discord_shard_ids": (0,)}, "need a shard count"),
        ({"QUOTEBOT_DISCORD_SHARDS": "1/2"}, {"discord_shard_count": 0}, "at least 1"),
    ],
)
def test_bad_shard_settings_are_one_clear_line(
    env: dict[str, str], flags: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message) as error:
        Settings.from_env(env, dotenv=False, **flags)
    assert "\n" not in str(error.value)
