"""Settings from the environment, .env and flags; shared rendering."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot import render
from bot.config import Settings
from bot.errors import ConfigError


def test_environment_then_flags(tmp_path: Path):
    env = {"QUOTEBOT_CORPUS": "docs", "QUOTEBOT_MAX_QUESTION_CHARS": "300"}
    settings = Settings.from_env(env, corpus=tmp_path)
    assert settings.corpus == tmp_path  # the flag wins
    assert settings.max_question_chars == 300


def test_dotenv_is_read_but_the_environment_wins(tmp_path: Path, monkeypatch):
    (tmp_path / ".env").write_text("QUOTEBOT_MODEL=from-dotenv\nQUOTEBOT_LOG_LEVEL=DEBUG\n")
    monkeypatch.chdir(tmp_path)
    # load_dotenv writes into os.environ: a copy keeps its values out of later tests.
    monkeypatch.setattr(os, "environ", os.environ.copy())
    monkeypatch.delenv("QUOTEBOT_MODEL", raising=False)
    monkeypatch.setenv("QUOTEBOT_LOG_LEVEL", "WARNING")
    settings = Settings.from_env()
    assert settings.model == "from-dotenv"
    assert settings.log_level == "WARNING"


def test_secrets_never_appear_in_repr():
    settings = Settings.from_env(
        {
            "DISCORD_TOKEN": "disc-secret",
            "SLACK_BOT_TOKEN": "xoxb-secret",
            "SLACK_SIGNING_SECRET": "sign-secret",
            "SLACK_APP_TOKEN": "xapp-secret",
            "QUOTEBOT_DATABASE_URL": "postgresql://bot:db-secret@db.example:5432/quotebot",
            "QUOTEBOT_USER_HASH_KEY": "key-secret",
        }
    )
    text = repr(settings) + str(settings)
    assert "secret" not in text
    assert settings.discord_configured and settings.slack_configured


@pytest.mark.parametrize(
    "env, variable",
    [
        ({"QUOTEBOT_MAX_QUESTION_CHARS": "lots"}, "QUOTEBOT_MAX_QUESTION_CHARS"),
        ({"DISCORD_GUILD_ID": "my-guild"}, "DISCORD_GUILD_ID"),
        ({"QUOTEBOT_INDEX_KIND": "tree"}, "QUOTEBOT_INDEX_KIND"),
        ({"QUOTEBOT_ANSWER_TTL_HOURS": "a day"}, "QUOTEBOT_ANSWER_TTL_HOURS"),
        ({"QUOTEBOT_ANSWER_TTL_HOURS": "0"}, "QUOTEBOT_ANSWER_TTL_HOURS"),
        ({"QUOTEBOT_RETENTION_DAYS": "-1"}, "QUOTEBOT_RETENTION_DAYS"),
        ({"QUOTEBOT_RETENTION_DAYS": "1", "QUOTEBOT_ANSWER_TTL_HOURS": "48"}, "RETENTION"),
        ({"QUOTEBOT_MAX_FILE_MB": "big"}, "QUOTEBOT_MAX_FILE_MB"),
        ({"QUOTEBOT_MAX_FILE_MB": "0"}, "QUOTEBOT_MAX_FILE_MB"),
        ({"QUOTEBOT_MAX_FILE_MB": "inf"}, "QUOTEBOT_MAX_FILE_MB"),
        ({"QUOTEBOT_RELOAD_SECONDS": "-1"}, "QUOTEBOT_RELOAD_SECONDS"),
        ({"QUOTEBOT_RELOAD_SECONDS": "nan"}, "QUOTEBOT_RELOAD_SECONDS"),
        ({"QUOTEBOT_MIN_CONFIDENCE": "high"}, "QUOTEBOT_MIN_CONFIDENCE"),
        ({"QUOTEBOT_MIN_CONFIDENCE": "1"}, "QUOTEBOT_MIN_CONFIDENCE"),
        ({"QUOTEBOT_MIN_CONFIDENCE": "-0.1"}, "QUOTEBOT_MIN_CONFIDENCE"),
        ({"QUOTEBOT_MIN_CONFIDENCE": "nan"}, "QUOTEBOT_MIN_CONFIDENCE"),
    ],
)
def test_malformed_values_name_the_variable(env, variable):
    with pytest.raises(ConfigError, match=variable):
        Settings.from_env(env)


def test_keeping_times_are_read_from_the_environment():
    settings = Settings.from_env(
        {"QUOTEBOT_ANSWER_TTL_HOURS": "2.5", "QUOTEBOT_RETENTION_DAYS": "0"}, dotenv=False
    )
    assert (settings.answer_ttl_hours, settings.retention_days) == (2.5, 0)


def test_file_size_limit_and_reload_interval_come_from_the_environment():
    settings = Settings.from_env({"QUOTEBOT_MAX_FILE_MB": "0.5", "QUOTEBOT_RELOAD_SECONDS": "0"})
    assert settings.max_file_bytes == 512 * 1024
    assert settings.reload_seconds == 0
    assert Settings.from_env({}).max_file_bytes == 20 * 1024 * 1024


def test_truncate_cuts_on_a_word_boundary_with_an_ellipsis():
    text = "alpha beta gamma delta epsilon"
    cut = render.truncate(text, 17)
    assert cut == "alpha beta gamma…" and len(cut) <= 17
    assert render.truncate(text, 100) == text


def test_http_settings_come_from_the_environment_and_flags_win():
    env = {
        "QUOTEBOT_HOST": "0.0.0.0",
        "QUOTEBOT_HTTP_THREADS": "4",
        "QUOTEBOT_HTTP_TIMEOUT": "12.5",
        "QUOTEBOT_METRICS_PORT": "9100",
    }
    settings = Settings.from_env(env, dotenv=False)
    assert (settings.host, settings.http_threads, settings.http_timeout) == ("0.0.0.0", 4, 12.5)
    assert settings.metrics_port == 9100
    assert Settings.from_env(env, dotenv=False, host="127.0.0.1").host == "127.0.0.1"
    assert Settings.from_env({}, dotenv=False).host == "127.0.0.1"  # loopback by default


@pytest.mark.parametrize(
    "env, variable",
    [
        ({"QUOTEBOT_HTTP_THREADS": "0"}, "QUOTEBOT_HTTP_THREADS"),
        ({"QUOTEBOT_HTTP_TIMEOUT": "soon"}, "QUOTEBOT_HTTP_TIMEOUT"),
        ({"QUOTEBOT_METRICS_PORT": "70000"}, "QUOTEBOT_METRICS_PORT"),
        ({"QUOTEBOT_METRICS_PORT": "metrics"}, "QUOTEBOT_METRICS_PORT"),
    ],
)
def test_malformed_http_settings_name_the_variable(env, variable):
    with pytest.raises(ConfigError, match=variable) as error:
        Settings.from_env(env, dotenv=False)
    assert "\n" not in str(error.value)
