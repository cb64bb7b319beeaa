"""Settings from the environment, .env and flags; feedback store; shared rendering."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import render
from bot.answers import Answer, Quote
from bot.config import Settings
from bot.errors import ConfigError
from bot.feedback import FeedbackStore


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
        ({"QUOTEBOT_MAX_FILE_MB": "big"}, "QUOTEBOT_MAX_FILE_MB"),
        ({"QUOTEBOT_MAX_FILE_MB": "0"}, "QUOTEBOT_MAX_FILE_MB"),
        ({"QUOTEBOT_MAX_FILE_MB": "inf"}, "QUOTEBOT_MAX_FILE_MB"),
        ({"QUOTEBOT_RELOAD_SECONDS": "-1"}, "QUOTEBOT_RELOAD_SECONDS"),
        ({"QUOTEBOT_RELOAD_SECONDS": "nan"}, "QUOTEBOT_RELOAD_SECONDS"),
    ],
)
def test_malformed_values_name_the_variable(env, variable):
    with pytest.raises(ConfigError, match=variable):
        Settings.from_env(env)


def test_file_size_limit_and_reload_interval_come_from_the_environment():
    settings = Settings.from_env({"QUOTEBOT_MAX_FILE_MB": "0.5", "QUOTEBOT_RELOAD_SECONDS": "0"})
    assert settings.max_file_bytes == 512 * 1024
    assert settings.reload_seconds == 0
    assert Settings.from_env({}).max_file_bytes == 20 * 1024 * 1024


def _answer() -> Answer:
    quote = Quote("Some text.", "a.md", "A", 1, 0, 10, 1.0)
    return Answer("Why?", (quote,), False, 0.9)


def test_one_vote_per_user_per_answer_and_it_can_change(tmp_path: Path):
    store = FeedbackStore(tmp_path / "feedback.sqlite3")
    answer = _answer()
    store.remember(answer, "discord")
    assert store.vote(answer.id, "discord", "user-1", "up")
    assert store.vote(answer.id, "discord", "user-1", "down")
    assert store.vote(answer.id, "discord", "user-2", "up")
    votes = store.votes()
    assert sorted(v.vote for v in votes) == ["down", "up"]
    assert all(v.question == "Why?" and v.quote_ids == ("a.md:0-10",) for v in votes)
    assert all("user-1" not in v.user_hash for v in votes)


def test_votes_survive_a_restart_and_unknown_answers_are_refused(tmp_path: Path):
    path = tmp_path / "feedback.sqlite3"
    answer = _answer()
    first = FeedbackStore(path)
    first.remember(answer, "slack")
    first.close()
    again = FeedbackStore(path)
    assert again.vote(answer.id, "slack", "U1", "up")
    assert not again.vote("no-such-answer", "slack", "U1", "up")


def test_truncate_cuts_on_a_word_boundary_with_an_ellipsis():
    text = "alpha beta gamma delta epsilon"
    cut = render.truncate(text, 17)
    assert cut == "alpha beta gamma…" and len(cut) <= 17
    assert render.truncate(text, 100) == text
