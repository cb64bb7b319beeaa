"""Settings from the environment and ``.env``; explicit CLI flags win."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from bot.errors import ConfigError
from index.vectors import KINDS

DEFAULT_MODEL = "all-MiniLM-L6-v2"
DISCORD_API_BASE = "https://discord.com/api/v10"
SLACK_API_URL = "https://slack.com/api/"


@dataclass(frozen=True)
class Settings:
    """Everything quotebot can be configured with. Secrets never appear in ``repr``."""

    corpus: Path = Path("corpus")
    index_dir: Path = Path(".quotebot/index")
    model: str = DEFAULT_MODEL
    index_kind: str = "auto"  # one of index.vectors.KINDS
    max_question_chars: int = 500
    max_file_mb: float = 20.0  # corpus files larger than this are skipped
    reload_seconds: float = 2.0  # how often a running bot looks for a new index; 0: never
    feedback_db: Path = Path(".quotebot/feedback.sqlite3")
    log_level: str = "INFO"
    cooldown_rate: int = 5  # questions a user may ask ...
    cooldown_seconds: float = 60.0  # ... per this many seconds
    discord_token: str = field(default="", repr=False)
    discord_guild_id: int | None = None
    discord_api_base: str = DISCORD_API_BASE
    slack_bot_token: str = field(default="", repr=False)
    slack_signing_secret: str = field(default="", repr=False)
    slack_app_token: str = field(default="", repr=False)
    slack_api_url: str = SLACK_API_URL

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, *, dotenv: bool = True, **overrides: object
    ) -> Settings:
        """Build settings from ``env`` (default: ``os.environ`` plus ``.env``).

        ``overrides`` are explicit values (CLI flags); ``None`` means "not given".
        """
        if env is None:
            if dotenv:
                from dotenv import load_dotenv

                load_dotenv(Path.cwd() / ".env", override=False)
            env = os.environ

        def get(name: str) -> str:
            return env.get(name, "").strip()

        values: dict[str, object] = {}
        text_vars = {
            "corpus": "QUOTEBOT_CORPUS",
            "index_dir": "QUOTEBOT_INDEX_DIR",
            "model": "QUOTEBOT_MODEL",
            "index_kind": "QUOTEBOT_INDEX_KIND",
            "feedback_db": "QUOTEBOT_FEEDBACK_DB",
            "log_level": "QUOTEBOT_LOG_LEVEL",
            "discord_token": "DISCORD_TOKEN",
            "discord_api_base": "DISCORD_API_BASE",
            "slack_bot_token": "SLACK_BOT_TOKEN",
            "slack_signing_secret": "SLACK_SIGNING_SECRET",
            "slack_app_token": "SLACK_APP_TOKEN",
            "slack_api_url": "SLACK_API_URL",
        }
        for attr, var in text_vars.items():
            if get(var):
                values[attr] = get(var)
        number_vars = {
            "max_question_chars": ("QUOTEBOT_MAX_QUESTION_CHARS", int),
            "max_file_mb": ("QUOTEBOT_MAX_FILE_MB", float),
            "reload_seconds": ("QUOTEBOT_RELOAD_SECONDS", float),
            "cooldown_rate": ("QUOTEBOT_COOLDOWN_RATE", int),
            "cooldown_seconds": ("QUOTEBOT_COOLDOWN_SECONDS", float),
            "discord_guild_id": ("DISCORD_GUILD_ID", int),
        }
        for attr, (var, kind) in number_vars.items():
            if get(var):
                try:
                    values[attr] = kind(get(var))
                except ValueError:
                    raise ConfigError(f"{var} must be a number, got {get(var)!r}.") from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        for f in fields(cls):
            if f.name in ("corpus", "index_dir", "feedback_db") and f.name in values:
                values[f.name] = Path(str(values[f.name])).expanduser()
        settings = replace(cls(), **values)  # type: ignore[arg-type]
        settings.validate()
        return settings

    def validate(self) -> None:
        if self.index_kind not in KINDS:
            raise ConfigError(
                f"QUOTEBOT_INDEX_KIND must be one of {', '.join(KINDS)}, got {self.index_kind!r}."
            )
        if self.max_question_chars < 10:
            raise ConfigError("QUOTEBOT_MAX_QUESTION_CHARS must be at least 10.")
        if not 0 < self.max_file_mb < float("inf"):
            raise ConfigError("QUOTEBOT_MAX_FILE_MB must be a positive number of megabytes.")
        if not 0 <= self.reload_seconds < float("inf"):
            raise ConfigError("QUOTEBOT_RELOAD_SECONDS must be >= 0 (0 turns reloading off).")
        if self.cooldown_rate < 1 or self.cooldown_seconds < 0:
            raise ConfigError(
                "QUOTEBOT_COOLDOWN_RATE must be >= 1 and QUOTEBOT_COOLDOWN_SECONDS >= 0."
            )

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 1024 * 1024)

    @property
    def discord_configured(self) -> bool:
        return bool(self.discord_token)

    @property
    def slack_configured(self) -> bool:
        return bool(self.slack_bot_token and (self.slack_app_token or self.slack_signing_secret))
