"""Admins add and remove documents from chat; everyone else is refused and nothing changes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from fake_discord import EPHEMERAL, MANAGE_GUILD
from fake_slack import (
    FakeSlack,
    dm_file_event,
    loopback_only,  # noqa: F401  (autouse: loopback only, no threads left behind)
    slash_command,
    texts,
)
from fakes import fake_factory
from test_collections import HR_CHANNEL, HR_DISCORD, LEAVE, discord_bot, make_corpus
from test_discord_e2e import shown
from test_slack import serve

from bot import app, messages, routing
from bot.config import Settings
from bot.errors import CollectionError
from bot.library import MAX_NAME_CHARS, Library, safe_name
from bot.routing import CollectionServices

ADMIN, MEMBER = "UADMIN01", "UMEMBER1"
GUILD, DISCORD_ADMIN = 1_100_000_000_000_000_001, 7777  # the fake's server; hr's Discord admin
PARKING = (
    b"# Parking rules\n\nStaff park in the blue garage on Elm Street.\n\n"
    b"Visitors park on level two.\n"
)
PARKING_QUESTION = "Where do staff park their cars?"

CONFIG = f"""
admins = ["{ADMIN}"]

[collections.hr]
slack_channels = ["{HR_CHANNEL}"]
discord_channels = ["{HR_DISCORD}"]
admins.discord = [{{ server = "{GUILD}", users = ["{DISCORD_ADMIN}"] }}]

[collections.eng]
"""


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "quotebot.toml").write_text(CONFIG)
    return Settings(
        corpus=make_corpus(tmp_path),
        index_dir=tmp_path / "index",
        model="fake-bow",
        reload_seconds=0.2,
        max_file_mb=0.01,  # 10 KB: big enough for the test files, small enough to exceed
    )


@pytest.fixture
def services(settings: Settings) -> Iterator[CollectionServices]:
    config = routing.load(settings)
    with app.build_collections(config, embedder_factory=fake_factory) as built:
        yield built


@pytest.fixture
def library(services: CollectionServices) -> Library:
    return Library(services.config, services, embedder_factory=fake_factory)


def listing(folder: Path) -> list[str]:
    """Every file under ``folder`` (hidden ones too), relative to it."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def answer_text(service: Any, question: str) -> str:
    answer = service.ask(question)
    return " ".join(q.text for q in answer.quotes + answer.closest)


# -- names and checks -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uploaded", "stored"),
    [
        ("../../etc/passwd.txt", "passwd.txt"),
        ("..\\..\\Windows\\evil.md", "evil.md"),
        ("/abs/path/Report 2024 (final).PDF", "Report-2024-final.pdf"),
        ("Résumé été.md", "Resume-ete.md"),
        ("<script>alert(1)</script>.html", "script.html"),
        ("notes.txt\u202e", None),  # a bidirectional override hides the real extension
    ],
)
def test_uploaded_names_become_plain_file_names(uploaded, stored):
    if stored is None:
        with pytest.raises(CollectionError, match="not a supported file type"):
            safe_name(uploaded)
    else:
        assert safe_name(uploaded) == stored


def test_hidden_long_and_foreign_names_are_refused_or_made_safe():
    for hidden in (".env", ".bashrc.md", "../.hidden.txt"):
        with pytest.raises(CollectionError, match="starting with a dot"):
            safe_name(hidden)
    long = safe_name("x" * 5000 + ".txt")
    assert long == "x" * MAX_NAME_CHARS + ".txt"
    foreign = safe_name("日本語の文書.txt")
    assert foreign.startswith("document-") and foreign.endswith(".txt")
    assert safe_name("日本語の文書.txt") == foreign != safe_name("другой.txt")
    for unsupported in ("tool.exe", "README", "archive.tar.gz"):
        with pytest.raises(CollectionError, match="not a supported file type"):
            safe_name(unsupported)


def test_a_hostile_path_lands_inside_the_collection_folder(library, settings, tmp_path):
    outside = listing(tmp_path / "index")
    added = library.add("../../etc/passwd.txt", b"Accounts\n\nThe root account is locked.\n", "hr")
    assert added.document == "passwd.txt" and added.collection == "hr"
    assert (settings.corpus / "hr" / "passwd.txt").exists()
    assert not (tmp_path / "etc").exists() and not (settings.corpus / "etc").exists()
    assert "root account is locked" in answer_text(library.services.get("hr"), "Is root locked?")
    assert outside != listing(tmp_path / "index")  # the hr index was rebuilt


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("payload.exe", b"MZ\x90\x00", "not a supported file type"),
        ("big.txt", b"word " * 3000, "over the 0.01 MB limit (QUOTEBOT_MAX_FILE_MB)"),
        ("binary.txt", b"\x00\x01\x02binary", "cannot be read (looks like a binary file"),
        ("latin1.md", "caf\xe9 cr\xe8me".encode("latin-1"), "cannot be read (not UTF-8 text"),
        ("broken.pdf", b"%PDF-1.4 not really a pdf", "cannot be read"),
        ("blank.txt", b"  \n\n ", "is empty"),
    ],
)
def test_a_bad_file_gets_one_line_and_nothing_is_written(library, settings, name, data, reason):
    before = listing(settings.corpus)
    with pytest.raises(CollectionError) as caught:
        library.add(name, data, "hr")
    message = str(caught.value)
    assert reason in message and "nothing was added" in message and "\n" not in message
    assert str(settings.corpus) not in message  # no server path in a chat reply
    assert listing(settings.corpus) == before


def test_a_same_named_document_is_replaced_and_the_reply_says_so(library, settings):
    first = library.add("parking.md", PARKING, "hr")
    assert not first.replaced and first.title == "Parking rules" and first.paragraphs == 2
    second = library.add("parking.md", PARKING.replace(b"blue", b"green"), "hr")
    assert second.replaced and "Replaced parking.md" in second.reply()
    hr = library.services.get("hr")
    assert "green garage" in answer_text(hr, PARKING_QUESTION)
    assert [s.document for s in hr.sources()].count("parking.md") == 1


def test_removing_the_last_document_leaves_an_empty_collection(library, services):
    removed = library.remove("Database runbook", "eng")  # by its title
    assert removed.document == "runbook.md"
    assert services.get("eng").sources() == []
    with pytest.raises(CollectionError, match="The collection eng has no documents yet"):
        services.get("eng").ask("How is the database restarted?")
    library.add("runbook.md", b"# Runbook\n\nRestart the database with pgctl restart.\n", "eng")
    assert "pgctl restart" in answer_text(services.get("eng"), "How to restart the database?")
    with pytest.raises(CollectionError, match="There is no document nothing.md"):
        library.remove("nothing.md", "eng")
    with pytest.raises(CollectionError, match="There is no collection sales"):
        library.remove("runbook.md", "sales")


# -- Discord ----------------------------------------------------------------------------------


def test_discord_admins_add_and_remove_documents_others_are_refused(services, settings, tmp_path):
    hr_folder = settings.corpus / "hr"
    with discord_bot(services, tmp_path) as fake:
        parking = fake.attachment("../../parking.md", PARKING)

        refused = fake.run_command(
            "add", {"file": parking}, channel_id=HR_DISCORD, permissions=MANAGE_GUILD
        )
        fake.wait_for(lambda: refused.answered)
        assert refused.original["flags"] & EPHEMERAL
        assert shown(refused.original) == messages.NOT_ADMIN_MANAGE_SERVER.format(name="hr")
        assert listing(hr_folder) == ["leave.md"] and fake.attachment_downloads == 0

        added = fake.run_command(
            "add", {"file": parking}, channel_id=HR_DISCORD, user_id=DISCORD_ADMIN
        )
        fake.wait_for(lambda: added.answered)
        reply = shown(added.original)
        assert "Added parking.md to the collection hr: “Parking rules”, 2 paragraphs" in reply
        assert listing(hr_folder) == ["leave.md", "parking.md"]

        asked = fake.run_command("ask", {"question": PARKING_QUESTION}, channel_id=HR_DISCORD)
        fake.wait_for(lambda: asked.answered)
        assert "blue garage" in shown(asked.original)

        # From another channel, naming the collection.
        removed = fake.run_command(
            "remove", {"document": "parking.md", "collection": "hr"}, user_id=DISCORD_ADMIN
        )
        fake.wait_for(lambda: removed.answered)
        assert "Removed parking.md (“Parking rules”) from the collection hr." in shown(
            removed.original
        )
        sources = fake.run_command("sources", channel_id=HR_DISCORD)
        fake.wait_for(lambda: sources.answered)
        assert "Parking rules" not in shown(sources.original)
        assert "Leave policy" in shown(sources.original)

        # Too big (as Discord reports its size): refused before it is downloaded.
        huge = fake.attachment("huge.txt", b"x", size=50_000_000)
        big = fake.run_command("add", {"file": huge, "collection": "hr"}, user_id=DISCORD_ADMIN)
        fake.wait_for(lambda: big.answered)
        assert "huge.txt is 47.7 MB, over the 20 MB limit" in shown(big.original)
        assert fake.attachment_downloads == 1  # parking.md only
    assert listing(hr_folder) == ["leave.md"]


# -- Slack ------------------------------------------------------------------------------------


def test_slack_admins_add_in_a_dm_and_remove_others_are_refused(services, settings, tmp_path):
    hr_folder = settings.corpus / "hr"
    with FakeSlack() as fake, serve(fake, services, tmp_path, max_file_mb=0.01) as slack:
        parking = fake.file("Parking Rules.md", PARKING)

        slack.event(dm_file_event("add hr", [parking], user=MEMBER, event_id="Ev1"))
        refusal = fake.wait_calls("chat.postMessage")[0].data
        assert refusal["channel"] == "D0DIRECT"
        assert refusal["text"] == messages.NOT_ADMIN.format(name="hr")
        assert listing(hr_folder) == ["leave.md"] and fake.downloads == []

        slack.event(dm_file_event("add hr", [parking], user=ADMIN, event_id="Ev2"))
        reply = fake.wait_calls("chat.postMessage", 2)[1].data["text"]
        assert reply.startswith("Added Parking-Rules.md to the collection hr: “Parking rules”")
        assert listing(hr_folder) == ["Parking-Rules.md", "leave.md"]

        form = slash_command(PARKING_QUESTION, fake.response_url("parking"))
        form["channel_id"] = HR_CHANNEL
        slack.post(urlencode(form), "application/x-www-form-urlencoded")
        answer = fake.wait_calls("response_url", target="parking")[0].data
        assert any("blue garage" in t for t in texts(answer["blocks"]))

        # A file shared without "add", and one over the size limit.
        slack.event(dm_file_event("look at this", [parking], user=ADMIN, event_id="Ev3"))
        assert fake.wait_calls("chat.postMessage", 3)[2].data["text"] == messages.SLACK_ADD_HINT
        huge = fake.file("huge.txt", b"x", size=50_000_000)
        slack.event(dm_file_event("add", [huge], user=ADMIN, event_id="Ev4"))
        assert "over the 0.01 MB limit" in fake.wait_calls("chat.postMessage", 4)[3].data["text"]
        assert len(fake.downloads) == 1
        slack.event(dm_file_event("add hr", [], user=ADMIN, event_id="Ev7"))
        assert fake.wait_calls("chat.postMessage", 5)[4].data["text"] == messages.SLACK_ADD_HINT

        def remove(text: str, user: str, target: str) -> str:
            form = slash_command(text, fake.response_url(target), user=user)
            form.update(command="/remove", channel_id=HR_CHANNEL)
            assert slack.post(urlencode(form), "application/x-www-form-urlencoded").status == 200
            return str(fake.wait_calls("response_url", target=target)[0].data["text"])

        assert remove("Parking-Rules.md", MEMBER, "no") == messages.NOT_ADMIN.format(name="hr")
        assert listing(hr_folder) == ["Parking-Rules.md", "leave.md"]
        assert remove("Parking-Rules.md", ADMIN, "yes").startswith("Removed Parking-Rules.md")
        assert listing(hr_folder) == ["leave.md"]

        sources = slash_command("", fake.response_url("unused"))
        sources.update(command="/sources", channel_id=HR_CHANNEL)
        body = slack.post(urlencode(sources), "application/x-www-form-urlencoded").body
        assert "Leave policy" in body and "Parking" not in body
    assert LEAVE in (hr_folder / "leave.md").read_text()


def test_slack_never_sends_the_token_to_another_host(services, tmp_path):
    with FakeSlack() as fake, serve(fake, services, tmp_path) as slack:
        file = fake.file("notes.txt", b"Notes\n\nSomething.\n")
        file["url_private"] = file["url_private_download"] = "https://attacker.example/x.txt"
        slack.event(dm_file_event("add", [file], user=ADMIN, event_id="Ev5"))
        text = fake.wait_calls("chat.postMessage")[0].data["text"]
        assert text == messages.ADD_DOWNLOAD_FAILED.format(name="notes.txt")
