"""Votes turned into an evaluation file and a weekly summary, on SQLite and real PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes import FakeEmbedder

from bot.answers import Answer, Quote
from bot.cli import main
from bot.feedback import export_squad, stats, stats_table
from bot.storage import Store, open_store
from quality.evaluate import evaluate
from quality.squad import load_squad

# Monday 2026-11-16 12:00 UTC (ISO week 47), then the next week.
WEEK_47 = dt.datetime(2026, 11, 16, 12, tzinfo=dt.UTC).timestamp()
WEEK_48 = WEEK_47 + 7 * 86400
USERS = ("U0ALICE123", "U0BOB45678", "112233445566778899")

DENVER = "Denver would lose roughly $425,000 annually."
GRANTS = "They could lose Edward Bryne Memorial Justice Assistance Grants."
VOTE = "The act passed in a 10-0 vote Monday night."
MAYOR = "Mayor Michael Hancock said in a statement that Denver stands with immigrants."


class Clock:
    def __init__(self) -> None:
        self.now = WEEK_47

    def __call__(self) -> float:
        return self.now


def quote(text: str, start: int, doc: str = "denver.md") -> Quote:
    return Quote(text, doc, "Denver", 1, start, start + len(text), 0.8)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(store_url: str, tmp_path: Path, clock: Clock) -> Iterator[Store]:
    with open_store(
        store_url, key_file=tmp_path / "config" / "user-hash.key", clock=clock
    ) as opened:
        yield opened


def rate(store: Store, clock: Clock) -> dict[str, Answer]:
    """Four answers in two collections: 👍, 👎, a tie, and one nobody voted on."""
    liked = Answer(
        "How much would Denver lose?", (quote(DENVER, 900), quote(GRANTS, 800)), False, 0.9
    )
    disliked = Answer("How did the council vote?", (quote(MAYOR, 300),), False, 0.6)
    split = Answer("Who is the mayor?", (quote(MAYOR, 300), quote(VOTE, 100)), False, 0.7)
    ignored = Answer("What is the act?", (quote(VOTE, 100),), False, 0.8)
    store.remember(liked, "slack")
    store.remember(disliked, "discord", collection="hr")
    store.remember(split, "slack")
    store.remember(ignored, "slack")
    store.vote(liked.id, "slack", USERS[0], "up")
    store.vote(liked.id, "slack", USERS[1], "up")
    store.vote(disliked.id, "discord", USERS[2], "down")
    store.vote(split.id, "slack", USERS[0], "up")
    clock.now = WEEK_48  # a voted answer is kept past its day: it can still be voted on
    assert store.vote(split.id, "slack", USERS[1], "down")
    return {"liked": liked, "disliked": disliked, "split": split, "ignored": ignored}


def test_export_is_squad_with_liked_quotes_as_answers_and_disliked_as_negatives(store, clock):
    answers = rate(store, clock)
    data = export_squad(store.rated())

    assert [a["title"] for a in data["data"]] == ["default", "hr"]
    qas = {
        qa["question"]: (p["context"], qa)
        for a in data["data"]
        for p in a["paragraphs"]
        for qa in p["qas"]
    }
    assert set(qas) == {
        "How much would Denver lose?",
        "How did the council vote?",
        "Who is the mayor?",
    }

    context, liked = qas["How much would Denver lose?"]
    assert [a["text"] for a in liked["answers"]] == [DENVER, GRANTS]
    for a in liked["answers"]:
        assert context[a["answer_start"] : a["answer_start"] + len(a["text"])] == a["text"]
    assert liked["negatives"] == [] and liked["votes"] == {"up": 2, "down": 0}
    assert liked["id"] == answers["liked"].id

    context, disliked = qas["How did the council vote?"]
    assert disliked["answers"] == [] and disliked["is_impossible"] is True
    assert [n["text"] for n in disliked["negatives"]] == [MAYOR]
    assert context[disliked["negatives"][0]["answer_start"] :].startswith(MAYOR)

    _, split = qas["Who is the mayor?"]
    assert split["answers"] == [] and split["negatives"] == []
    assert split["votes"] == {"up": 1, "down": 1}


def test_no_user_id_or_hash_reaches_the_export(store, clock):
    rate(store, clock)
    text = json.dumps(export_squad(store.rated()), ensure_ascii=False)
    for user in USERS:
        assert user not in text
        for platform in ("slack", "discord"):
            assert store.hash_user(platform, user) not in text
    hashes = {v.user_hash for v in store.votes()}
    assert hashes and not any(h in text for h in hashes)


def test_quotebot_eval_reads_an_exported_file(store, clock, tmp_path):
    rate(store, clock)
    path = tmp_path / "feedback.json"
    path.write_text(json.dumps(export_squad(store.rated())), encoding="utf-8")

    articles = load_squad(path)
    assert [a.title for a in articles] == ["default", "hr"]
    default = articles[0]
    # Only the 👍 answer is a question with answers; its context is the quoted passages.
    assert [q.question for q in default.questions] == ["How much would Denver lose?"]
    assert default.questions[0].answers == (DENVER, GRANTS)
    assert DENVER in default.document().text

    metrics = evaluate(
        path,
        (0, 10),
        build_embedder=FakeEmbedder(),
        query_embedder=FakeEmbedder(),
        small_corpora=False,
    )
    assert metrics["questions"] == 1
    assert metrics["hit@3"] == 1.0  # the bot finds the liked passage again


def test_since_keeps_answers_asked_from_that_day(store, clock):
    rate(store, clock)
    late = Answer("Asked later?", (quote(VOTE, 100),), False, 0.9)
    store.remember(late, "slack")
    store.vote(late.id, "slack", USERS[0], "up")
    since = dt.datetime(2026, 11, 20, tzinfo=dt.UTC).timestamp()
    assert [r.question for r in store.rated(since)] == ["Asked later?"]
    assert len(store.rated()) == 4


def test_stats_count_votes_and_share_of_up_by_collection_and_week(store, clock):
    rate(store, clock)
    rows = stats(store.rated())
    assert [(r.collection, r.week, r.votes, r.up) for r in rows] == [
        ("default", "2026-W47", 3, 3),
        ("default", "2026-W48", 1, 0),
        ("hr", "2026-W47", 1, 0),
    ]
    table = stats_table(rows).splitlines()
    assert table[0].split() == ["collection", "week", "votes", "up", "down", "up", "share"]
    assert table[1].split() == ["default", "2026-W47", "3", "3", "0", "100%"]
    assert table[2].split() == ["default", "2026-W48", "1", "0", "1", "0%"]
    assert table[-1].split() == ["all", "5", "3", "2", "60%"]


def test_quotebot_feedback_export_and_stats_commands(store_url, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("QUOTEBOT_DATABASE_URL", store_url)
    monkeypatch.setenv("QUOTEBOT_FEEDBACK_DB", str(tmp_path / "feedback.sqlite3"))
    monkeypatch.setenv("QUOTEBOT_USER_HASH_KEY", "test key")
    monkeypatch.setenv("QUOTEBOT_RETENTION_DAYS", "0")
    monkeypatch.chdir(tmp_path)
    with open_store(store_url, user_hash_key="test key", clock=Clock()) as store:
        rate(store, Clock())

    out = tmp_path / "rated.json"
    assert main(["feedback", "export", "-o", str(out)]) == 0
    assert "Wrote 3 rated answer(s) in 2 collection(s)" in capsys.readouterr().err
    assert [q.question for a in load_squad(out) for q in a.questions] == [
        "How much would Denver lose?"
    ]

    assert main(["feedback", "export", "--since", "2099-01-01"]) == 0
    assert json.loads(capsys.readouterr().out)["data"] == []

    assert main(["feedback", "stats"]) == 0
    printed = capsys.readouterr().out
    assert "default" in printed and "2026-W47" in printed and "60%" in printed

    assert main(["feedback", "export", "--since", "last tuesday"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--since takes a date like 2026-11-01" in err


def test_a_database_folder_that_cannot_exist_is_one_line(tmp_path, monkeypatch, capsys):
    # The folder for the database is a regular file.
    blocker = tmp_path / "state"
    blocker.write_text("not a folder")
    for name in ("QUOTEBOT_DATABASE_URL", "QUOTEBOT_USER_HASH_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("QUOTEBOT_FEEDBACK_DB", str(blocker / "feedback.sqlite3"))
    monkeypatch.chdir(tmp_path)
    assert main(["feedback", "stats"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert str(blocker / "feedback.sqlite3") in err and "its folder is a file" in err
