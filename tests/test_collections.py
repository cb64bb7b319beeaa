"""Collections: each sub-folder of the corpus answers on its own, in the channels set for it."""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from conftest import SEED_CORPUS
from fake_discord import FakeDiscord
from fake_slack import (
    FakeSlack,
    loopback_only,  # noqa: F401  (autouse: loopback only, no threads left behind)
    mention_event,
    quoted,
    slash_command,
)
from fakes import fake_factory
from test_discord_e2e import BotThread, settings_for, shown
from test_slack import serve

from bot import app, cli, messages, routing
from bot.config import Settings
from bot.errors import CollectionError, ConfigError
from bot.routing import CollectionConfig, CollectionServices
from bot.storage import open_store

LEAVE = "Employees get 25 days of paid leave per year."
RESTART = "The database is restarted with pgctl restart on the primary server."
LEAVE_QUESTION = "How many days of paid leave do employees get per year?"
RESTART_QUESTION = "How is the database restarted?"
HR_CHANNEL, ENG_CHANNEL = "C0HR", "C0ENG"
HR_DISCORD, ENG_GUILD = 1_300_000_000_000_000_001, 1_300_000_000_000_000_002

TWO_COLLECTIONS = f"""
default_collection = "default"

[collections.hr]
slack_channels = ["{HR_CHANNEL}"]
discord_channels = [{HR_DISCORD}]

[collections.eng]
slack_channels = ["{ENG_CHANNEL}"]
discord_channels = ["{ENG_GUILD}"]
"""


def make_corpus(root: Path) -> Path:
    """The seed article at the top, an HR policy in hr/ and a runbook in eng/."""
    corpus = root / "corpus"
    shutil.copytree(SEED_CORPUS, corpus)
    (corpus / "hr").mkdir()
    (corpus / "hr" / "leave.md").write_text(
        f"# Leave policy\n\n{LEAVE} Requests go to the HR portal.\n\n"
        "Sick leave needs a doctor's note after three days.\n"
    )
    (corpus / "eng").mkdir()
    (corpus / "eng" / "runbook.md").write_text(
        f"# Database runbook\n\n{RESTART} Backups run nightly.\n\n"
        "On-call engineers get paged when the disk is 90 percent full, day or night.\n"
    )
    return corpus


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Two collections besides the default one, configured in ./quotebot.toml."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "quotebot.toml").write_text(TWO_COLLECTIONS)
    return Settings(corpus=make_corpus(tmp_path), index_dir=tmp_path / "index", model="fake-bow")


def config_error(settings: Settings, text: str) -> str:
    path = settings.corpus.parent / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        routing.load(replace(settings, config_file=path))
    message = str(caught.value)
    assert "\n" not in message and str(path) in message
    return message


# -- the configuration file ----------------------------------------------------------------


def test_unreadable_toml_stops_with_one_line_naming_the_file_and_line(settings):
    message = config_error(settings, "[collections.hr]\nslack_channels = [C0HR]\n")
    assert "Cannot read the configuration file" in message and "line 2" in message


def test_a_collection_without_a_folder_is_named_with_the_known_ones(settings):
    message = config_error(settings, "[collections.sales]\nslack_channels = ['C1']\n")
    assert "[collections.sales]" in message and "corpus/sales" in message
    assert "default, eng, hr" in message
    message = config_error(settings, 'default_collection = "finance"\n')
    assert "finance" in message


def test_a_channel_listed_twice_is_refused(settings):
    message = config_error(
        settings,
        "[collections.hr]\nslack_channels = ['C1']\n[collections.eng]\nslack_channels = ['C1']\n",
    )
    assert "channel C1 is listed twice" in message and "hr" in message and "eng" in message
    # A Discord id written once as a number and once as a string is the same channel.
    message = config_error(
        settings,
        "[collections.hr]\ndiscord_channels = [42]\n[collections.eng]\ndiscord_channels = ['42']\n",
    )
    assert "channel 42 is listed twice" in message


def test_misspelt_keys_and_wrong_types_are_named(settings):
    assert "slack_channel" in config_error(settings, "[collections.hr]\nslack_channel = ['C1']\n")
    assert "admins" in config_error(settings, "admins = 'U1'\n")
    assert "discord_channels" in config_error(
        settings, "[collections.hr]\ndiscord_channels = ['general']\n"
    )


def test_a_collection_can_ask_for_surer_answers_than_the_others(quotebot, settings):
    status, out, _ = quotebot("ask", "--json", "--collection", "hr", LEAVE_QUESTION)
    plain = json.loads(out)
    assert status == 0 and not plain["abstained"] and plain["confidence"] < 0.999
    strict = TWO_COLLECTIONS.replace(
        f'slack_channels = ["{HR_CHANNEL}"]',
        f'slack_channels = ["{HR_CHANNEL}"]\nmin_confidence = 0.999',
    )
    (settings.corpus.parent / "quotebot.toml").write_text(strict)
    status, out, _ = quotebot("ask", "--json", "--collection", "hr", LEAVE_QUESTION)
    answer = json.loads(out)
    assert status == 0 and answer["abstained"] and answer["quotes"] == []
    assert LEAVE in answer["closest"][0]["text"]
    # The other collections keep the environment's bar (none here).
    status, out, _ = quotebot("ask", "--json", "--collection", "eng", RESTART_QUESTION)
    assert not json.loads(out)["abstained"]


@pytest.mark.parametrize("bar", ["1", "-0.1", "'high'", "true", "nan"])
def test_a_collection_bar_that_is_no_probability_is_named(settings, bar):
    message = config_error(settings, f"[collections.hr]\nmin_confidence = {bar}\n")
    assert "collections.hr.min_confidence must be a number from 0 to below 1" in message


def test_a_missing_config_file_named_by_the_environment_is_an_error(settings):
    with pytest.raises(ConfigError, match="QUOTEBOT_CONFIG names .*nowhere.toml"):
        routing.load(replace(settings, config_file=settings.corpus / "nowhere.toml"))


def test_a_sub_folder_named_default_is_refused(settings):
    (settings.corpus / "default").mkdir()
    with pytest.raises(ConfigError, match="cannot be a collection"):
        routing.load(settings)


def test_channels_and_guilds_route_to_their_collection(settings):
    config = routing.load(settings)
    assert config.names == ["default", "eng", "hr"]
    assert config.for_slack(HR_CHANNEL) == "hr" and config.for_slack("C0OTHER") == "default"
    assert config.for_discord(HR_DISCORD, None, 7) == "hr"
    # In a thread of the HR channel; then any channel of the eng guild.
    assert config.for_discord(555, HR_DISCORD, ENG_GUILD) == "hr"
    assert config.for_discord(555, None, ENG_GUILD) == "eng"
    assert config.for_discord(555, None, 7) == "default"
    assert config.get("eng").index_dir == settings.index_dir / "collections" / "eng"
    assert config.get(None).index_dir == settings.index_dir


def test_without_a_config_file_sub_folders_stay_part_of_one_corpus(settings, tmp_path):
    (tmp_path / "quotebot.toml").unlink()
    config = routing.load(settings)
    assert config.names == ["default"]
    services = app.build_collections(config, embedder_factory=fake_factory)
    documents = sorted(s.document for s in services.sources())
    assert documents == ["denver-ordinance.md", "eng/runbook.md", "hr/leave.md"]
    with pytest.raises(CollectionError, match="once quotebot.toml exists"):
        config.get("hr")


# -- the command line ---------------------------------------------------------------------


@pytest.fixture
def quotebot(settings, monkeypatch, capsys) -> Any:
    """Run ``quotebot ARGS`` in this process with the fake embedder; (status, out, err)."""
    monkeypatch.setattr(app, "_sentence_transformer", fake_factory)
    for name, value in {
        "QUOTEBOT_CORPUS": str(settings.corpus),
        "QUOTEBOT_INDEX_DIR": str(settings.index_dir),
        "QUOTEBOT_MODEL": "fake-bow",
        "QUOTEBOT_RELOAD_SECONDS": "0",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("QUOTEBOT_CONFIG", raising=False)

    def run(*args: str, stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        status = cli.main(list(args))
        out, err = capsys.readouterr()
        return status, out, err

    return run


def cli_quotes(out: str) -> list[dict[str, Any]]:
    answer = json.loads(out)
    return answer["quotes"] + answer["closest"]


def test_index_builds_every_collection_and_each_answers_only_from_its_own(quotebot, settings):
    status, out, _ = quotebot("index")
    assert status == 0
    assert [line.split(":")[0] for line in out.splitlines()] == ["default", "eng", "hr"]
    assert (settings.index_dir / "collections" / "hr" / "CURRENT").exists()

    status, out, _ = quotebot("ask", "--json", "--collection", "hr", LEAVE_QUESTION)
    assert status == 0
    quotes = cli_quotes(out)
    assert LEAVE in quotes[0]["text"] and {q["document"] for q in quotes} == {"leave.md"}
    # The same question in eng: the runbook's closest sentences, never the HR policy.
    status, out, _ = quotebot("ask", "--json", "--collection", "eng", LEAVE_QUESTION)
    quotes = cli_quotes(out)
    assert quotes and {q["document"] for q in quotes} == {"runbook.md"}
    assert not any("leave" in q["text"] for q in quotes)
    # The default collection is the files directly in the corpus folder.
    status, out, _ = quotebot("ask", "--json", RESTART_QUESTION)
    assert {q["document"] for q in cli_quotes(out)} == {"denver-ordinance.md"}

    status, out, _ = quotebot("sources", "--json", "--collection", "eng")
    assert [d["document"] for d in json.loads(out)["documents"]] == ["runbook.md"]
    status, out, _ = quotebot("sources", "--json")
    assert [d["document"] for d in json.loads(out)["documents"]] == ["denver-ordinance.md"]

    # A second run re-embeds nothing.
    status, out, _ = quotebot("index", "--collection", "eng")
    assert out.startswith("eng: Indexed 1 document(s)") and "(1 unchanged" in out


def test_an_unknown_collection_is_one_line_listing_the_known_ones(quotebot):
    status, out, err = quotebot("ask", "--collection", "sales", LEAVE_QUESTION)
    assert status == 2 and out == ""
    assert err.strip() == "quotebot: " + messages.UNKNOWN_COLLECTION.format(
        name="sales", known="default, eng, hr"
    )


def test_a_collection_without_documents_says_so_in_one_line(quotebot, settings):
    (settings.corpus / "legal").mkdir()
    status, out, err = quotebot("ask", "--collection", "legal", LEAVE_QUESTION)
    assert status == 2 and err.strip() == "quotebot: The collection legal has no documents yet."
    status, out, _ = quotebot("sources", "--collection", "legal")
    assert status == 0 and out.strip() == "The collection legal has no documents yet."
    status, out, _ = quotebot("index", "--collection", "legal")
    assert status == 0 and "legal: no documents" in out


def test_removing_every_document_withdraws_the_collections_index(quotebot, settings):
    assert quotebot("ask", "--collection", "eng", RESTART_QUESTION)[0] == 0
    (settings.corpus / "eng" / "runbook.md").unlink()
    status, _, err = quotebot("ask", "--collection", "eng", RESTART_QUESTION)
    assert status == 2 and "no documents yet" in err


def test_the_terminal_chat_switches_collections(quotebot):
    lines = [
        "/collection",
        LEAVE_QUESTION,
        "/collection hr",
        LEAVE_QUESTION,
        "/collection sales",
        "/sources",
    ]
    status, out, _ = quotebot("chat", stdin="\n".join(lines) + "\n")
    assert status == 0
    first, second = out.split("Answering from the collection hr")
    assert "Answering from the collection default (collections: default, eng, hr)." in first
    assert LEAVE not in first
    assert LEAVE in second
    assert "There is no collection sales" in second
    assert "Leave policy" in second.split("There is no collection sales")[1]


# -- chat platforms -------------------------------------------------------------------------


@pytest.fixture
def services(settings) -> Iterator[CollectionServices]:
    config: CollectionConfig = routing.load(replace(settings, reload_seconds=0.2))
    with app.build_collections(config, embedder_factory=fake_factory) as built:
        yield built


def test_two_slack_channels_answer_from_their_own_collections(services, tmp_path):
    with FakeSlack() as fake, serve(fake, services, tmp_path) as slack:
        for channel, target in ((HR_CHANNEL, "hr"), (ENG_CHANNEL, "eng")):
            form = slash_command(LEAVE_QUESTION, fake.response_url(target))
            form["channel_id"] = channel
            assert slack.post(urlencode(form), "application/x-www-form-urlencoded").status == 200
        hr = quoted(fake.wait_calls("response_url", target="hr")[0].data["blocks"])
        eng = quoted(fake.wait_calls("response_url", target="eng")[0].data["blocks"])
        assert any("25 days of paid leave" in t for t in hr)
        assert not any("25 days" in t for t in eng) and any("engineers" in t for t in eng)

        event = mention_event(f"<@UQUOTEBOT> {RESTART_QUESTION}", event_id="Ev0ENG")
        event["event"]["channel"] = ENG_CHANNEL
        slack.event(event)
        posted = fake.wait_calls("chat.postMessage")[0].data
        assert posted["channel"] == ENG_CHANNEL and "pgctl restart" in json.dumps(posted)

        sources = slash_command("", fake.response_url("unused"))
        sources.update(command="/sources", channel_id=HR_CHANNEL)
        reply = slack.post(urlencode(sources), "application/x-www-form-urlencoded")
        assert "Leave policy" in reply.body and "runbook" not in reply.body


@contextmanager
def discord_bot(services: Any, tmp_path: Path, **fake_options: Any) -> Iterator[FakeDiscord]:
    with (
        FakeDiscord(**fake_options) as fake,
        open_store(None, sqlite_path=tmp_path / "feedback.sqlite3") as store,
    ):
        bot = BotThread(settings_for(fake, tmp_path, cooldown_rate=100), services, store, fake)
        bot.start()
        try:
            fake.wait_for(lambda: fake.ready_sessions() == 1 and bool(fake.commands))
            yield fake
        finally:
            bot.stop()


def test_two_discord_channels_answer_from_their_own_collections(services, tmp_path):
    with discord_bot(services, tmp_path) as fake:
        hr = fake.run_command("ask", {"question": LEAVE_QUESTION}, channel_id=HR_DISCORD)
        # A thread's parent channel counts; here a thread of the HR channel in the eng guild.
        thread = fake.run_command(
            "ask",
            {"question": LEAVE_QUESTION},
            channel_id=999,
            thread_of=HR_DISCORD,
            guild_id=ENG_GUILD,
        )
        eng = fake.run_command("ask", {"question": LEAVE_QUESTION}, guild_id=ENG_GUILD)
        for interaction in (hr, thread, eng):
            fake.wait_for(lambda i=interaction: i.answered)
        # The answer phrase is in bold (**…**); the quote's words are all there.
        assert "25 days of paid leave" in shown(hr.original).replace("**", "")
        assert "25 days of paid leave" in shown(thread.original).replace("**", "")
        eng_text = shown(eng.original)
        assert "25 days" not in eng_text and "engineers" in eng_text
