"""Settings from the environment, .env and flags; shared rendering."""

from __future__ import annotations

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
    ],
)
def test_malformed_values_name_the_variable(env, variable):
    with pytest.raises(ConfigError, match=variable):
        Settings.from_env(env)


def test_truncate_cuts_on_a_word_boundary_with_an_ellipsis():
    text = "alpha beta gamma delta epsilon"
    cut = render.truncate(text, 17)
    assert cut == "alpha beta gamma…" and len(cut) <= 17
    assert render.truncate(text, 100) == text
