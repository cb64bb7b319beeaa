"""Only a collection's own admins change it: through the bot ``quotebot run`` builds.

Discord (two servers and one outside) and Slack (HTTP mode) run side by side
over the same services, as ``quotebot run`` with both platforms configured
runs them: the settings from the environment, the services of
``bot.cli._live_service``, the store of ``bot.app.build_store``.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from fake_discord import EPHEMERAL, MANAGE_GUILD, FakeDiscord
from fake_slack import (
    BOT_TOKEN,
    SIGNING_SECRET,
    FakeSlack,
    dm_file_event,
    loopback_only,  # noqa: F401  (autouse: loopback only, no threads left behind)
    signed_post,
    slash_command,
    texts,
)
from fakes import fake_factory
from test_collections import LEAVE, LEAVE_QUESTION, make_corpus
from test_discord_e2e import BotThread, shown

from bot import app, cli, messages, routing
from bot.adapters.slack_bot import SlackBot
from bot.config import Settings
from bot.errors import ConfigError
from bot.permissions import DISCORD, Admins, Decision, DiscordAdmins, Requester, decide

HR_SERVER = 1_400_000_000_000_000_001  # answers from hr
ENG_SERVER = 1_400_000_000_000_000_002  # answers from eng, which names no admins
OUTSIDE_SERVER = 1_400_000_000_000_000_003  # not in quotebot.toml at all
HR_CHANNEL, ENG_CHANNEL = "C0HR", "C0ENG"
HR_ADMIN, MEMBER = "UHRADMIN1", "UMEMBER01"  # Slack
DISCORD_ADMIN = 5151  # a Discord user named as an admin of hr, in the hr server
MODERATOR = 4242  # a Discord user with no part in quotebot.toml

PARKING = (
    b"# Parking rules\n\nStaff park in the blue garage on Elm Street.\n\n"
    b"Visitors park on level two.\n"
)
PARKING_QUESTION = "Where do staff park their cars?"


def hr_config(role_id: str) -> str:
    return f"""
[collections.hr]
slack_channels = ["{HR_CHANNEL}"]
discord_channels = ["{HR_SERVER}"]
admins.slack = ["{HR_ADMIN}"]
admins.discord = [
  {{ server = "{HR_SERVER}", roles = ["{role_id}"] }},
  {{ server = "{HR_SERVER}", users = ["{DISCORD_ADMIN}"], manage_server = true }},
]

[collections.eng]
slack_channels = ["{ENG_CHANNEL}"]
discord_channels = ["{ENG_SERVER}"]
"""


@dataclass
class Running:
    """``quotebot run`` serving both platforms; each method acts as a user would."""

    discord: FakeDiscord
    slack: FakeSlack
    slack_url: str
    settings: Settings
    events: int = 0

    def discord_says(self, command: str, options: dict[str, Any], **member: Any) -> str:
        """Run a Discord slash command; the reply the user reads (private for add/remove)."""
        interaction = self.discord.run_command(command, options, **member)
        self.discord.wait_for(lambda: interaction.answered)
        assert interaction.original is not None
        if command in ("add", "remove"):
            assert interaction.original["flags"] & EPHEMERAL
        return shown(interaction.original)

    def discord_add(self, **member: Any) -> str:
        parking = self.discord.attachment("parking.md", PARKING)
        options = {"file": parking}
        if "collection" in member:
            options["collection"] = member.pop("collection")
        return self.discord_says("add", options, **member)

    def slack_dm(self, text: str, user: str, files: list[dict[str, Any]] | None = None) -> str:
        """Share ``files`` in a DM to the bot with ``text``; the bot's reply there."""
        self.events += 1
        sent = len(self.slack.calls("chat.postMessage"))
        files = [self.slack.file("parking.md", PARKING)] if files is None else files
        event = dm_file_event(text, files, user=user, event_id=f"Ev{self.events}")
        signed_post(self.slack_url, json.dumps(event), "application/json")
        return str(self.slack.wait_calls("chat.postMessage", sent + 1)[sent].data["text"])

    def slack_command(self, command: str, text: str, user: str, channel: str) -> str:
        """A slash command; what the user reads (an answer's quotes, for /ask)."""
        self.events += 1
        target = f"reply{self.events}"
        form = slash_command(text, self.slack.response_url(target), user=user)
        form.update(command=command, channel_id=channel)
        reply = signed_post(self.slack_url, urlencode(form), "application/x-www-form-urlencoded")
        if command == "/sources":
            return reply.body
        data = self.slack.wait_calls("response_url", target=target)[0].data
        return " ".join([str(data.get("text", "")), *texts(data.get("blocks", []))])

    def folder(self, collection: str) -> list[str]:
        corpus = self.settings.corpus
        root = corpus if collection == "default" else corpus / collection
        return sorted(p.name for p in root.iterdir() if p.is_file())


@contextmanager
def quotebot_run(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    discord: FakeDiscord,
    env: dict[str, str] | None = None,
) -> Iterator[Running]:
    """What ``quotebot run`` starts with Discord and Slack (HTTP mode) configured."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(app, "_sentence_transformer", fake_factory)
    with FakeSlack() as slack:
        settings = Settings.from_env(
            {
                "QUOTEBOT_CORPUS": str(tmp_path / "corpus"),
                "QUOTEBOT_INDEX_DIR": str(tmp_path / "index"),
                "QUOTEBOT_FEEDBACK_DB": str(tmp_path / "state" / "feedback.sqlite3"),
                "QUOTEBOT_MODEL": "fake-bow",
                "QUOTEBOT_COOLDOWN_RATE": "100",
                "DISCORD_TOKEN": discord.token,
                "DISCORD_API_BASE": discord.api_base,
                "SLACK_BOT_TOKEN": BOT_TOKEN,
                "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                "SLACK_API_URL": slack.api_url,
                **(env or {}),
            },
            dotenv=False,
        )
        args = argparse.Namespace(verbose=False)
        with app.build_store(settings) as store, cli._live_service(settings, args) as services:
            discord_bot = BotThread(settings, services, store, discord)
            discord_bot.start()
            slack_bot = SlackBot(settings, services, store)
            server = slack_bot.http_server("127.0.0.1", 0).start()
            try:
                discord.wait_for(lambda: discord.ready_sessions() == 1 and bool(discord.commands))
                url = f"http://127.0.0.1:{server.port}/slack/events"
                yield Running(discord, slack, url, settings)
            finally:
                server.shutdown()
                slack_bot.close()
                discord_bot.stop()


@pytest.fixture
def hr_bot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Running]:
    """hr names admins (a Slack id; in the hr server a role, a user, Manage Server); eng none."""
    make_corpus(tmp_path)
    with FakeDiscord(
        guild_id=HR_SERVER, roles=["Docs admin"], other_guilds=(ENG_SERVER, OUTSIDE_SERVER)
    ) as discord:
        (tmp_path / "quotebot.toml").write_text(hr_config(discord.roles["Docs admin"]))
        with quotebot_run(tmp_path, monkeypatch, discord) as running:
            yield running


def in_(server: int, **member: Any) -> dict[str, Any]:
    """A command typed in ``server``'s channel by a member with ``member``'s traits."""
    return dict(guild_id=server, channel_id=server + 100, **member)


# -- Discord ----------------------------------------------------------------------------------


def test_another_servers_moderator_cannot_change_a_collection(hr_bot: Running) -> None:
    manage = {"permissions": MANAGE_GUILD}
    for server in (OUTSIDE_SERVER, ENG_SERVER):
        reply = hr_bot.discord_add(collection="hr", **in_(server, **manage))
        assert reply == messages.NOT_ADMIN_MANAGE_SERVER.format(name="hr")
        removed = hr_bot.discord_says(
            "remove", {"document": "leave.md", "collection": "hr"}, **in_(server, **manage)
        )
        assert removed == messages.NOT_ADMIN_MANAGE_SERVER.format(name="hr")
    assert hr_bot.folder("hr") == ["leave.md"] and hr_bot.discord.attachment_downloads == 0
    # The Slack channel of hr still answers from the policy nobody could remove.
    assert LEAVE in hr_bot.slack_command("/ask", LEAVE_QUESTION, MEMBER, HR_CHANNEL)


def test_a_role_or_user_counts_only_in_its_own_server(hr_bot: Running) -> None:
    # The same role id, and the same user id, seen from a server the entry does not name.
    for member in ({"roles": ["Docs admin"]}, {"user_id": DISCORD_ADMIN}):
        for server in (OUTSIDE_SERVER, ENG_SERVER):
            reply = hr_bot.discord_add(collection="hr", **in_(server, **member))
            assert reply == messages.NOT_ADMIN.format(name="hr")
    # In the hr server without the role, id or permission: refused too.
    assert hr_bot.discord_add(**in_(HR_SERVER)) == messages.NOT_ADMIN.format(name="hr")
    assert hr_bot.folder("hr") == ["leave.md"] and hr_bot.discord.attachment_downloads == 0


def test_the_right_discord_admins_add_and_remove(hr_bot: Running) -> None:
    # The role, in its own server (which answers from hr: no collection given).
    added = hr_bot.discord_add(**in_(HR_SERVER, roles=["Docs admin"]))
    assert added.startswith("Added parking.md to the collection hr: “Parking rules”")
    assert hr_bot.folder("hr") == ["leave.md", "parking.md"]
    answer = hr_bot.discord_says("ask", {"question": PARKING_QUESTION}, **in_(HR_SERVER))
    assert "blue garage" in answer
    # Slack's hr channel answers from it too: one collection.
    assert "blue garage" in hr_bot.slack_command("/ask", PARKING_QUESTION, MEMBER, HR_CHANNEL)

    # Manage Server counts in the hr server, where quotebot.toml turns it on.
    removed = hr_bot.discord_says(
        "remove", {"document": "parking.md"}, **in_(HR_SERVER, permissions=MANAGE_GUILD)
    )
    assert removed == "Removed parking.md (“Parking rules”) from the collection hr."
    sources = hr_bot.discord_says("sources", {}, **in_(HR_SERVER))
    assert "Leave policy" in sources and "Parking rules" not in sources

    # The named user, from another channel of the hr server, naming the collection.
    again = hr_bot.discord_add(collection="hr", **in_(HR_SERVER, user_id=DISCORD_ADMIN))
    assert again.startswith("Added parking.md to the collection hr")
    assert hr_bot.folder("hr") == ["leave.md", "parking.md"]


def test_a_collection_without_admins_says_how_to_name_some(hr_bot: Running) -> None:
    reply = hr_bot.discord_add(**in_(ENG_SERVER, permissions=MANAGE_GUILD))
    assert reply.startswith("Adding and removing documents is off for the collection eng")
    assert f'admins.discord = [{{ server = "{ENG_SERVER}", users = ["<user id>"] }}]' in reply
    assert "under [collections.eng] in quotebot.toml" in reply
    # An hr admin is no admin of eng; nor of default, which names none either.
    assert hr_bot.discord_add(collection="eng", **in_(HR_SERVER, user_id=DISCORD_ADMIN)).startswith(
        "Adding and removing documents is off for the collection eng"
    )
    outside = hr_bot.discord_add(**in_(OUTSIDE_SERVER, permissions=MANAGE_GUILD))
    assert outside.startswith("Adding and removing documents is off for the collection default")
    assert hr_bot.folder("eng") == ["runbook.md"]
    assert hr_bot.folder("default") == ["denver-ordinance.md"]


def test_unknown_collections_are_named_only_to_admins(hr_bot: Running) -> None:
    admin = hr_bot.discord_add(collection="sales", **in_(HR_SERVER, roles=["Docs admin"]))
    assert admin == "There is no collection sales; collections: default, eng, hr."
    stranger = hr_bot.discord_add(collection="sales", **in_(OUTSIDE_SERVER))
    assert stranger == messages.NOT_ADMIN_ANYWHERE


# -- Slack ------------------------------------------------------------------------------------


def test_slack_admins_change_only_their_own_collection(hr_bot: Running) -> None:
    assert hr_bot.slack_dm("add hr", MEMBER) == messages.NOT_ADMIN.format(name="hr")
    refused = hr_bot.slack_command("/remove", "leave.md", MEMBER, HR_CHANNEL)
    assert refused.strip() == messages.NOT_ADMIN.format(name="hr")
    # The hr admin has no say over eng, which names no admins: the reply says how to name some.
    eng = hr_bot.slack_dm("add eng", HR_ADMIN)
    assert eng.startswith("Adding and removing documents is off for the collection eng")
    assert 'admins.slack = ["U012ABCDEF"] (Slack member ids) under [collections.eng]' in eng
    assert hr_bot.slack_command("/remove", "runbook.md", HR_ADMIN, ENG_CHANNEL).startswith(
        "Adding and removing documents is off for the collection eng"
    )
    assert hr_bot.folder("hr") == ["leave.md"] and hr_bot.folder("eng") == ["runbook.md"]
    assert hr_bot.slack.downloads == []

    added = hr_bot.slack_dm("add hr", HR_ADMIN)
    assert added.startswith("Added parking.md to the collection hr: “Parking rules”")
    assert "blue garage" in hr_bot.slack_command("/ask", PARKING_QUESTION, MEMBER, HR_CHANNEL)
    removed = hr_bot.slack_command("/remove", "parking.md", HR_ADMIN, HR_CHANNEL)
    assert removed.strip() == "Removed parking.md (“Parking rules”) from the collection hr."
    sources = hr_bot.slack_command("/sources", "", MEMBER, HR_CHANNEL)
    assert "Leave policy" in sources and "Parking" not in sources


# -- without quotebot.toml --------------------------------------------------------------------


@pytest.fixture
def plain_corpus(tmp_path: Path) -> Path:
    corpus = make_corpus(tmp_path)
    assert not (tmp_path / "quotebot.toml").exists()
    return corpus


def test_without_a_config_file_nobody_changes_the_corpus(plain_corpus, tmp_path, monkeypatch):
    with FakeDiscord() as discord, quotebot_run(tmp_path, monkeypatch, discord) as bot:
        reply = bot.discord_add(permissions=MANAGE_GUILD)
        assert reply.startswith("Adding and removing documents is off for the collection default")
        assert f"set QUOTEBOT_ADMINS={discord.guild_id}:<user id>" in reply
        removed = bot.discord_says("remove", {"document": "hr/leave.md"}, permissions=MANAGE_GUILD)
        assert removed.startswith("Adding and removing documents is off")
        slack = bot.slack_dm("add", HR_ADMIN)
        assert "set QUOTEBOT_ADMINS=U012ABCDEF (Slack member ids" in slack
        assert bot.folder("default") == ["denver-ordinance.md"] and bot.folder("hr") == ["leave.md"]
        assert discord.attachment_downloads == 0 and bot.slack.downloads == []


def test_quotebot_admins_names_the_admins_without_a_config_file(
    plain_corpus, tmp_path, monkeypatch
):
    with FakeDiscord() as discord:
        env = {"QUOTEBOT_ADMINS": f"{HR_ADMIN}, {discord.guild_id}:{DISCORD_ADMIN}"}
        with quotebot_run(tmp_path, monkeypatch, discord, env) as bot:
            # Manage Server counts nowhere: no server answers from a collection of its own.
            moderator = bot.discord_add(permissions=MANAGE_GUILD)
            assert moderator == messages.NOT_ADMIN_MANAGE_SERVER.format(name="default")
            elsewhere = bot.discord_add(**in_(OUTSIDE_SERVER, user_id=DISCORD_ADMIN))
            assert elsewhere == messages.NOT_ADMIN.format(name="default")

            added = bot.slack_dm("add", HR_ADMIN)
            assert added.startswith("Added parking.md to the collection default")
            answer = bot.discord_says("ask", {"question": PARKING_QUESTION})
            assert "blue garage" in answer
            removed = bot.discord_says("remove", {"document": "parking.md"}, user_id=DISCORD_ADMIN)
            assert removed.startswith("Removed parking.md")
            assert "Parking" not in bot.discord_says("sources", {})
            assert bot.folder("default") == ["denver-ordinance.md"]


# -- the configuration ------------------------------------------------------------------------


def load_error(tmp_path: Path, text: str, **settings: Any) -> str:
    corpus = make_corpus(tmp_path)
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        routing.load(Settings(corpus=corpus, config_file=path, **settings))
    message = str(caught.value)
    assert "\n" not in message and str(path) in message
    return message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('discord_admin_role = "Docs admin"\n', "discord_admin_role is no longer read"),
        # Manage Server only where the collection answers: 7 is not one of hr's servers.
        (
            "[collections.hr]\ndiscord_channels = ['8']\n"
            "admins.discord = [{ server = '7', manage_server = true }]\n",
            "manage_server counts only in a server that answers from hr, and server 7 is not",
        ),
        (
            "[collections.hr]\nadmins.discord = [{ users = ['5'] }]\n",
            "needs the server id its ids count in",
        ),
        ("[collections.hr]\nadmins.discord = [{ server = '7' }]\n", "names nobody"),
        ("[collections.hr]\nadmins.discord = [{ server = '7', role = ['5'] }]\n", "discord.role"),
        ("[collections.hr]\nadmins.discord = [{ server = '7', roles = ['x'] }]\n", "roles"),
        ("[collections.hr]\nadmins.telegram = ['5']\n", "collections.hr.admins.telegram"),
        ("[collections.hr]\nadmins = ['U1']\n", "collections.hr.admins must be a table"),
    ],
)
def test_wrong_admin_settings_stop_start_up_with_one_line(tmp_path, text, expected):
    assert expected in load_error(tmp_path, text)


def test_quotebot_admins_is_checked_and_not_mixed_with_a_config_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no ./quotebot.toml
    message = load_error(tmp_path, "[collections.hr]\n", admins="U012ABCDEF")
    assert "QUOTEBOT_ADMINS is for a bot without quotebot.toml" in message
    with pytest.raises(ConfigError, match="QUOTEBOT_ADMINS takes Slack member ids"):
        routing.load(Settings(corpus=tmp_path / "corpus", admins="U012ABCDEF, alice"))


def test_admins_named_at_the_top_may_change_every_collection(tmp_path: Path) -> None:
    corpus = make_corpus(tmp_path)
    path = tmp_path / "quotebot.toml"
    path.write_text('admins = ["UALL"]\n[collections.hr]\nadmins.slack = ["UHR"]\n')
    config = routing.load(Settings(corpus=corpus, config_file=path))
    assert {name: sorted(a.slack) for name, a in config.admins.items()} == {
        "default": ["UALL"],
        "eng": ["UALL"],
        "hr": ["UALL", "UHR"],
    }


def test_manage_server_never_counts_in_a_server_of_another_collection(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no ./quotebot.toml
    # Start-up refuses such an entry; the decision does not rely on that alone.
    config = routing.load(Settings(corpus=make_corpus(tmp_path)))
    hr_admins = Admins(discord=(DiscordAdmins("7", manage_server=True),))
    moderator = Requester(DISCORD, "1", server="7", manage_server=True)
    elsewhere = replace(config, admins={"default": hr_admins}, discord_channels={"7": "eng"})
    assert decide(elsewhere, "default", moderator) == Decision(
        False, "default", messages.NOT_ADMIN_MANAGE_SERVER.format(name="default")
    )
    here = replace(elsewhere, discord_channels={"7": "default"})
    assert decide(here, "default", moderator) == Decision(True, "default")
