"""The state store, the same tests on SQLite and on a real PostgreSQL server.

Two stores opened on one URL stand for two replicas (or one replica before and
after a restart): whatever one writes, the other must see.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from bot.answers import Answer, Quote
from bot.cli import main
from bot.cooldown import Cooldown
from bot.errors import ConfigError, StorageError
from bot.storage import Policy, Store, open_store
from bot.storage.sql import SCHEMA_VERSION

HOUR = 3600.0
DAY = 86400.0


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def an_answer(question: str = "Why?") -> Answer:
    quote = Quote("Some text.", "a.md", "A", 1, 0, 10, 0.75, source="https://example.org/a")
    closest = Quote("Other text.", "b.md", "B", 2, 5, 16, 0.25)
    return Answer(question, (quote,), False, 0.9, closest=(closest,), truncated=True)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def opened(store_url: str, tmp_path: Path, clock: Clock) -> Iterator[Callable[..., Store]]:
    """Opens stores ("replicas") on the test's database; all are closed at the end."""
    stores: list[Store] = []

    def open_one(**kwargs: object) -> Store:
        kwargs.setdefault("key_file", tmp_path / "config" / "user-hash.key")
        kwargs.setdefault("clock", clock)
        store = open_store(store_url, **kwargs)  # type: ignore[arg-type]
        stores.append(store)
        return store

    yield open_one
    for store in stores:
        store.close()


# -- answers and votes -----------------------------------------------------------------


def test_one_vote_per_user_per_answer_and_it_can_change(opened):
    store = opened()
    answer = an_answer()
    store.remember(answer, "discord")
    assert store.vote(answer.id, "discord", "user-1", "up")
    assert store.vote(answer.id, "discord", "user-1", "down")
    assert store.vote(answer.id, "discord", "user-2", "up")
    votes = store.votes()
    assert sorted(v.vote for v in votes) == ["down", "up"]
    assert all(v.question == "Why?" and v.quote_ids == ("a.md:0-10",) for v in votes)
    assert all("user-1" not in v.user_hash for v in votes)


def test_an_answer_written_by_one_replica_is_shown_and_voted_on_by_another(opened):
    a, b = opened(), opened()
    answer = an_answer()
    a.remember(answer, "slack")
    assert b.answer(answer.id) == answer  # everything "Share in channel" shows again
    assert b.vote(answer.id, "slack", "U1", "up")
    assert a.vote(answer.id, "slack", "U1", "down")  # the same user, changing the vote
    assert [v.vote for v in b.votes()] == ["down"]


def test_an_answer_declined_by_the_bar_is_shown_the_same_from_the_store(opened):
    store = opened()
    declined = replace(an_answer(), quotes=(), abstained=True, declined_below=0.7)
    store.remember(declined, "slack")
    assert store.answer(declined.id) == declined


def test_answers_and_votes_survive_a_restart_and_unknown_answers_are_refused(opened):
    first = opened()
    answer = an_answer()
    first.remember(answer, "slack")
    first.close()
    again = opened()
    assert again.answer(answer.id) == answer
    assert again.vote(answer.id, "slack", "U1", "up")
    assert again.answer("no-such-answer") is None
    assert not again.vote("no-such-answer", "slack", "U1", "up")


# -- de-duplication ----------------------------------------------------------------------


def test_an_event_handed_to_many_replicas_at_once_is_claimed_once(opened):
    replicas = [opened(), opened()]
    claims: list[bool] = []
    start = threading.Barrier(8)

    def claim(store: Store) -> None:
        start.wait()
        claims.append(store.first_sight("slack:event:Ev42"))

    threads = [threading.Thread(target=claim, args=(replicas[i % 2],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claims) == [False] * 7 + [True]


def test_a_seen_event_is_forgotten_after_its_expiry(opened, clock):
    store = opened()
    assert store.first_sight("slack:event:Ev1", ttl_seconds=60)
    clock.now += 59
    assert not store.first_sight("slack:event:Ev1", ttl_seconds=60)
    clock.now += 2
    assert store.purge().events == 1
    assert store.first_sight("slack:event:Ev1", ttl_seconds=60)


# -- cooldowns -------------------------------------------------------------------------


def test_a_users_cooldown_counts_questions_made_on_every_replica(opened, clock):
    a, b = (Cooldown(opened(), "slack", 2, 60) for _ in range(2))
    assert a.retry_after("ann") == 0
    clock.now += 10
    assert b.retry_after("ann") == 0
    assert a.retry_after("ann") == pytest.approx(50)
    assert b.retry_after("ann") == pytest.approx(50)
    assert b.retry_after("bob") == 0  # other users are not affected
    clock.now += 50
    assert a.retry_after("ann") == 0  # the first question left the window


def test_denied_requests_do_not_extend_the_wait(opened, clock):
    cooldown = Cooldown(opened(), "discord", 1, 30)
    cooldown.retry_after("ann")
    for _ in range(5):
        clock.now += 5
        cooldown.retry_after("ann")
    assert cooldown.retry_after("ann") == pytest.approx(5)


def test_a_zero_window_never_limits(opened):
    cooldown = Cooldown(opened(), "discord", 1, 0)
    assert all(cooldown.retry_after("ann") == 0 for _ in range(10))


def test_concurrent_questions_from_two_replicas_never_exceed_the_rate(opened):
    replicas = [Cooldown(opened(), "slack", 5, 60) for _ in range(2)]
    allowed: list[bool] = []
    start = threading.Barrier(12)

    def ask(cooldown: Cooldown) -> None:
        start.wait()
        allowed.append(cooldown.retry_after("ann") == 0)

    threads = [threading.Thread(target=ask, args=(replicas[i % 2],)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert allowed.count(True) == 5


# -- privacy: keeping times --------------------------------------------------------------


def test_an_unrated_answer_is_deleted_once_its_buttons_no_longer_need_it(opened, clock):
    store = opened(policy=Policy(answer_ttl_seconds=2 * HOUR, retention_seconds=30 * DAY))
    unrated, rated = an_answer("Unrated?"), an_answer("Rated?")
    store.remember(unrated, "slack")
    store.remember(rated, "slack")
    assert store.vote(rated.id, "slack", "U1", "up")
    clock.now += 2 * HOUR + 1
    # Past its time the answer is gone for the buttons even before a purge runs.
    assert store.answer(unrated.id) is None
    assert not store.vote(unrated.id, "slack", "U2", "up")
    assert store.purge().answers == 1
    assert store.answer(rated.id) == rated  # someone voted: kept
    assert store.vote(rated.id, "slack", "U2", "down")
    assert {v.question for v in store.votes()} == {"Rated?"}


def test_retention_deletes_old_answers_and_their_votes(opened, clock):
    store = opened(policy=Policy(answer_ttl_seconds=HOUR, retention_seconds=7 * DAY))
    old, recent = an_answer("Old?"), an_answer("Recent?")
    store.remember(old, "discord")
    store.vote(old.id, "discord", "U1", "up")
    clock.now += 6 * DAY
    store.remember(recent, "discord")
    store.vote(recent.id, "discord", "U1", "down")
    clock.now += DAY + 1
    purged = store.purge()
    assert (purged.answers, purged.votes) == (1, 1)
    assert [v.question for v in store.votes()] == ["Recent?"]
    assert store.answer(old.id) is None


def test_a_retention_of_zero_keeps_voted_answers(opened, clock):
    store = opened(policy=Policy(answer_ttl_seconds=HOUR, retention_seconds=0))
    answer = an_answer()
    store.remember(answer, "slack")
    store.vote(answer.id, "slack", "U1", "up")
    clock.now += 3650 * DAY
    store.purge()
    assert store.answer(answer.id) == answer


# -- privacy: the user-hash key ----------------------------------------------------------


def test_the_user_hash_key_is_not_in_the_database(opened, store_url, tmp_path):
    key_file = tmp_path / "config" / "user-hash.key"
    store = opened(key_file=key_file)
    answer = an_answer()
    store.remember(answer, "slack")
    store.vote(answer.id, "slack", "U1", "up")
    key = key_file.read_text().strip()
    assert len(key) >= 32 and stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key not in dump(store_url)
    assert "U1" not in dump(store_url)
    # Without the key, nobody can recompute a user's hash from the database.
    other = opened(user_hash_key="another key")
    assert other.hash_user("slack", "U1") != store.votes()[0].user_hash
    assert opened(key_file=key_file).hash_user("slack", "U1") == store.votes()[0].user_hash


def dump(store_url: str) -> str:
    """Every value in every table, as text."""
    if store_url.startswith("sqlite:///"):
        with sqlite3.connect(store_url.removeprefix("sqlite:///")) as db:
            return "\n".join(db.iterdump())
    import psycopg

    with psycopg.connect(store_url) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = current_schema()"
            )
        ]
        return "\n".join(
            str(row) for table in tables for row in conn.execute(f"SELECT * FROM {table}")
        )


def test_the_key_from_the_environment_setting_wins_and_no_file_is_written(opened, tmp_path):
    store = opened(user_hash_key="from the environment")
    assert not (tmp_path / "config" / "user-hash.key").exists()
    assert store.hash_user("slack", "U1") == opened(user_hash_key="from the environment").hash_user(
        "slack", "U1"
    )


# -- schema ------------------------------------------------------------------------------


def test_the_schema_is_created_once_and_upgrading_again_changes_nothing(opened):
    first = opened()
    assert first.upgraded_from == 0 and first.schema_version() == SCHEMA_VERSION
    assert first.upgrade() == (SCHEMA_VERSION, SCHEMA_VERSION)
    assert opened().upgraded_from == SCHEMA_VERSION


def test_replicas_starting_together_migrate_the_schema_once(store_url, tmp_path):
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def start_one() -> None:
        start.wait()
        try:
            # Restarts too: a replica closing (the last SQLite connection checkpoints its
            # WAL) while another one opens.
            for _ in range(5):
                open_store(store_url, key_file=tmp_path / "config" / "user-hash.key").close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start_one) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_ping_answers_while_the_database_does(opened):
    store = opened()
    store.ping()
    assert store.backend in ("sqlite", "postgresql")


# -- SQLite specifics --------------------------------------------------------------------


def test_a_file_where_the_database_folder_should_be_is_named_as_such(tmp_path):
    blocker = tmp_path / "state"
    blocker.write_text("not a folder")
    with pytest.raises(StorageError, match="its folder is a file"):
        open_store(None, sqlite_path=blocker / "feedback.sqlite3", user_hash_key="k")


def test_the_sqlite_file_and_its_companions_are_private(tmp_path):
    path = tmp_path / "state" / "feedback.sqlite3"
    old = os.umask(0o022)
    try:
        with open_store(None, sqlite_path=path) as store:
            store.remember(an_answer(), "slack")
            modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in path.parent.iterdir()}
    finally:
        os.umask(old)
    assert {"feedback.sqlite3", "feedback.sqlite3-wal"} <= set(modes)
    assert set(modes.values()) == {0o600}, modes


def test_a_feedback_file_from_before_is_adopted_tightened_and_loses_its_salt(tmp_path):
    path = tmp_path / "feedback.sqlite3"
    with sqlite3.connect(path) as db:
        db.executescript(LEGACY_SCHEMA)
        db.execute("INSERT INTO meta VALUES ('salt', 'c0ffee')")
        db.execute("INSERT INTO answers VALUES ('abc123', 'slack', 'Old?', 'a.md:0-10', ?)", (1.0,))
        db.execute("INSERT INTO votes VALUES ('abc123', 'hash', 'up', ?)", (2.0,))
    db.close()
    os.chmod(path, 0o644)
    with open_store(None, sqlite_path=path, policy=Policy(retention_seconds=0)) as store:
        assert store.upgraded_from == 0 and store.schema_version() == SCHEMA_VERSION
        assert [(v.question, v.vote) for v in store.votes()] == [("Old?", "up")]
        assert store.answer("abc123") is None  # no body was kept then: "too old to share"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "c0ffee" not in dump(f"sqlite:///{path}")


LEGACY_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE answers (
    answer_id TEXT PRIMARY KEY, platform TEXT NOT NULL, question TEXT NOT NULL,
    quote_ids TEXT NOT NULL, created REAL NOT NULL
);
CREATE TABLE votes (
    answer_id TEXT NOT NULL REFERENCES answers(answer_id), user_hash TEXT NOT NULL,
    vote TEXT NOT NULL CHECK (vote IN ('up', 'down')), time REAL NOT NULL,
    PRIMARY KEY (answer_id, user_hash)
);
"""


def test_a_file_that_is_not_a_database_is_one_clear_error(tmp_path):
    path = tmp_path / "feedback.sqlite3"
    path.write_bytes(b"not a database at all" * 100)
    with pytest.raises(StorageError, match="feedback.sqlite3") as error:
        open_store(None, sqlite_path=path)
    assert "\n" not in str(error.value)


# -- URLs and the command line -----------------------------------------------------------


@pytest.mark.parametrize("url", ["mysql://somewhere/db", "sqlite:///", "feedback.sqlite3"])
def test_an_unknown_database_url_names_the_setting(url):
    with pytest.raises(ConfigError, match="QUOTEBOT_DATABASE_URL"):
        open_store(url)


def test_an_unreachable_postgresql_is_one_line_without_the_password(tmp_path):
    for url in (
        "postgresql://quotebot:s3cret@127.0.0.1:9/quotebot",  # port 9: nothing listens
        "postgresql://quotebot@127.0.0.1:9/quotebot?password=s3cret&connect_timeout=2",
    ):
        with pytest.raises(StorageError) as error:
            open_store(url, key_file=tmp_path / "config" / "user-hash.key")
        text = str(error.value)
        assert "127.0.0.1:9" in text and "s3cret" not in text and "\n" not in text


def test_quotebot_db_upgrade_creates_then_reports_the_schema(
    store_url, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("QUOTEBOT_DATABASE_URL", store_url)
    monkeypatch.setenv("QUOTEBOT_FEEDBACK_DB", str(tmp_path / "feedback.sqlite3"))
    monkeypatch.setenv("QUOTEBOT_USER_HASH_KEY", "a key")
    monkeypatch.chdir(tmp_path)
    assert main(["db", "upgrade"]) == 0
    assert f"upgraded from version 0 to {SCHEMA_VERSION}" in capsys.readouterr().out
    assert main(["db", "upgrade"]) == 0
    assert f"at version {SCHEMA_VERSION}" in capsys.readouterr().out


def test_quotebot_db_upgrade_with_an_unreachable_database_is_one_line(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("QUOTEBOT_DATABASE_URL", "postgresql://quotebot@127.0.0.1:9/quotebot")
    monkeypatch.setenv("QUOTEBOT_USER_HASH_KEY", "a key")
    monkeypatch.chdir(tmp_path)
    assert main(["db", "upgrade"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        "quotebot: Cannot reach the database at postgresql://quotebot@127.0.0.1:9"
    )
    assert err.count("\n") == 1 and "Traceback" not in err
