"""Where the user-id hash key lives: never in the folder of the database it protects.

A copy of the data folder must not carry the key: without it, the stored hashes
cannot be tested against candidate user ids. Each test has its own home and
configuration folder.
"""

from __future__ import annotations

import logging
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from bot import messages
from bot.answers import Answer, Quote
from bot.cli import main
from bot.errors import ConfigError
from bot.storage import open_store

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home folder of the test's own, with no XDG_CONFIG_HOME and no quotebot settings."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    for name in ("QUOTEBOT_USER_HASH_KEY", "QUOTEBOT_USER_HASH_KEY_FILE", "QUOTEBOT_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    return home


def an_answer() -> Answer:
    return Answer("Why?", (Quote("Some text.", "a.md", "A", 1, 0, 10, 0.75),), False, 0.9)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_key_is_made_in_the_users_config_folder_not_beside_the_database(
    home: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    with open_store(None, sqlite_path=data / "feedback.sqlite3") as store:
        store.remember(answer := an_answer(), "slack")
        store.vote(answer.id, "slack", "U1", "up")
        hashed = store.votes()[0].user_hash

    key_file = home / ".config" / "quotebot" / "user-hash.key"
    assert len(key_file.read_text().strip()) == 64
    assert mode(key_file) == 0o600 and mode(key_file.parent) == 0o700
    # A copy of the data folder holds the hashes but no key.
    assert not [p for p in data.iterdir() if "key" in p.name]
    with open_store(None, sqlite_path=tmp_path / "copy.sqlite3", user_hash_key="guess") as other:
        assert other.hash_user("slack", "U1") != hashed
    # The same key is found again on the next start.
    with open_store(None, sqlite_path=data / "feedback.sqlite3") as again:
        assert again.hash_user("slack", "U1") == hashed


def test_xdg_config_home_and_an_explicit_key_file_are_followed(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    open_store(None, sqlite_path=tmp_path / "a" / "feedback.sqlite3").close()
    assert (tmp_path / "xdg" / "quotebot" / "user-hash.key").is_file()

    chosen = tmp_path / "secrets" / "quotebot.key"
    monkeypatch.setenv("QUOTEBOT_USER_HASH_KEY_FILE", str(chosen))
    monkeypatch.setenv("QUOTEBOT_FEEDBACK_DB", str(tmp_path / "b" / "feedback.sqlite3"))
    assert main(["feedback", "stats"]) == 0
    assert mode(chosen) == 0o600
    assert not (home / ".config").exists()


def test_a_key_file_in_the_databases_folder_is_refused(home: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    with pytest.raises(ConfigError, match="QUOTEBOT_USER_HASH_KEY_FILE") as refused:
        open_store(None, sqlite_path=data / "feedback.sqlite3", key_file=data / "my.key")
    assert "\n" not in str(refused.value)
    assert not (data / "my.key").exists()


def test_a_key_left_beside_the_database_is_moved_once_with_one_log_line(
    home: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    old = data / "user-hash.key"
    old.write_text("an older quotebot's key\n")
    old.chmod(0o644)
    reference = tmp_path / "reference.sqlite3"
    with open_store(None, sqlite_path=reference, user_hash_key="an older quotebot's key") as made:
        expected = made.hash_user("slack", "U1")
    caplog.set_level(logging.INFO)

    for _ in range(2):  # the first start moves it, the second finds it moved
        with open_store(None, sqlite_path=data / "feedback.sqlite3") as store:
            # The hashes made with the old key still match: it is the same key.
            assert store.hash_user("slack", "U1") == expected

    moved = home / ".config" / "quotebot" / "user-hash.key"
    assert moved.read_text() == "an older quotebot's key\n" and mode(moved) == 0o600
    assert not old.exists()
    lines = [r.getMessage() for r in caplog.records if "user-id hash key" in r.getMessage()]
    assert lines == [messages.USER_HASH_KEY_MOVED.format(old=old, new=moved)]


def test_two_different_keys_are_not_guessed_between(home: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "user-hash.key").write_text("the database's own key\n")
    config = home / ".config" / "quotebot"
    config.mkdir(parents=True)
    (config / "user-hash.key").write_text("another bot's key\n")

    with pytest.raises(ConfigError) as refused:
        open_store(None, sqlite_path=data / "feedback.sqlite3")

    assert str(data / "user-hash.key") in str(refused.value)
    assert (data / "user-hash.key").read_text() == "the database's own key\n"  # nothing lost
    assert (config / "user-hash.key").read_text() == "another bot's key\n"


def test_a_config_folder_that_cannot_hold_the_key_is_one_line(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "blocker").write_text("a file, not a folder")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "blocker"))
    monkeypatch.setenv("QUOTEBOT_FEEDBACK_DB", str(tmp_path / "data" / "feedback.sqlite3"))
    assert main(["feedback", "stats"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert str(tmp_path / "blocker" / "quotebot" / "user-hash.key") in err
    assert "QUOTEBOT_USER_HASH_KEY_FILE" in err


# -- a shared database --------------------------------------------------------------------


def test_postgresql_without_a_shared_key_stops_with_one_line_saying_how_to_make_one(
    home: Path, tmp_path: Path, postgres_url: str
) -> None:
    env = {
        "HOME": str(home),
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(ROOT),  # this checkout, wherever the test runs from
        "QUOTEBOT_DATABASE_URL": postgres_url,
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_SIGNING_SECRET": "test-signing-secret",
        "QUOTEBOT_CORPUS": str(ROOT / "corpus"),
        "QUOTEBOT_INDEX_DIR": str(tmp_path / "index"),
    }

    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "run", "slack", "--http", "--port", "0"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 2
    assert result.stderr == f"quotebot: {messages.USER_HASH_KEY_REQUIRED}\n"
    assert "QUOTEBOT_USER_HASH_KEY" in result.stderr
    assert 'python -c "import secrets; print(secrets.token_hex(32))"' in result.stderr
    assert not (home / ".config").exists() and not (tmp_path / ".quotebot").exists()


def test_postgresql_names_the_key_it_used_before(
    home: Path, tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".quotebot").mkdir()
    (tmp_path / ".quotebot" / "user-hash.key").write_text("the key used so far\n")
    monkeypatch.chdir(tmp_path)

    with pytest.raises(ConfigError) as refused:
        open_store(postgres_url)

    assert "QUOTEBOT_USER_HASH_KEY" in str(refused.value)
    assert str(Path(".quotebot") / "user-hash.key") in str(refused.value)


def test_postgresql_with_the_key_or_a_key_file_starts(
    home: Path, tmp_path: Path, postgres_url: str
) -> None:
    with open_store(postgres_url, user_hash_key="shared") as a:
        key_file = tmp_path / "shared.key"
        key_file.write_text("shared\n")
        with open_store(postgres_url, key_file=key_file) as b:
            assert a.hash_user("slack", "U1") == b.hash_user("slack", "U1")
