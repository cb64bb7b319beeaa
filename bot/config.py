"""Settings from the environment and ``.env``; explicit CLI flags win."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING

from bot.errors import ConfigError
from index.vectors import KINDS

if TYPE_CHECKING:
    from index.build import BuildSpec

DEFAULT_MODEL = "all-MiniLM-L6-v2"
DISCORD_API_BASE = "https://discord.com/api/v10"
SLACK_API_URL = "https://slack.com/api/"


def confidence_bar(value: object) -> bool:
    """Whether ``value`` can be a minimum confidence: a number from 0 to below 1."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return 0 <= value < 1


@dataclass(frozen=True)
class Settings:
    """Everything quotebot can be configured with. Secrets never appear in ``repr``."""

    corpus: Path = Path("corpus")
    index_dir: Path = Path(".quotebot/index")
    # One export of the question model shared by every index built from it;
    # None: $XDG_CACHE_HOME/quotebot/models (~/.cache/...).
    model_cache: Path | None = None
    # Collections and who may add documents: QUOTEBOT_CONFIG, else quotebot.toml when present.
    config_file: Path | None = None
    # Without that file: who may add and remove documents (see bot.permissions).
    admins: str = ""
    # False for the collection "default" when sub-folders are collections of their own:
    # then it holds only the files directly in ``corpus``. Set by bot.routing.
    corpus_subfolders: bool = True
    model: str = DEFAULT_MODEL
    index_kind: str = "auto"  # one of index.vectors.KINDS
    max_question_chars: int = 500
    # Decline answers less likely than this to hold the answer in their first quote
    # (the confidence is calibrated); 0 answers wherever the tuned model does.
    min_confidence: float = 0.0
    max_file_mb: float = 20.0  # corpus files larger than this are skipped
    reload_seconds: float = 2.0  # how often a running bot looks for a new index; 0: never
    feedback_db: Path = Path(".quotebot/feedback.sqlite3")
    log_level: str = "INFO"
    cooldown_rate: int = 5  # questions a user may ask ...
    cooldown_seconds: float = 60.0  # ... per this many seconds
    # Shared state: empty means the SQLite file feedback_db; may hold a password.
    database_url: str = field(default="", repr=False)
    user_hash_key: str = field(default="", repr=False)  # empty: the 0600 key file
    # None: $XDG_CONFIG_HOME/quotebot/user-hash.key (~/.config/...), never beside the database.
    user_hash_key_file: Path | None = None
    # `quotebot run` with a PostgreSQL that does not answer: serve (/healthz 503, questions
    # refused as busy) and connect once it does; False stops at once with one line.
    database_wait: bool = True
    answer_ttl_hours: float = 24.0  # unrated answers (question, quotes) are kept this long
    retention_days: float = 90.0  # every stored row is deleted at this age; 0 keeps them
    discord_token: str = field(default="", repr=False)
    discord_guild_id: int | None = None
    discord_api_base: str = DISCORD_API_BASE
    slack_bot_token: str = field(default="", repr=False)
    slack_signing_secret: str = field(default="", repr=False)
    slack_app_token: str = field(default="", repr=False)
    slack_api_url: str = SLACK_API_URL
    # Where HTTP servers listen (Slack HTTP mode, --metrics-port). Loopback by default:
    # Slack only calls https URLs, so a TLS proxy or tunnel stands in front anyway.
    host: str = "127.0.0.1"
    http_threads: int = 8  # request threads of the HTTP server (acks; answers have their own)
    http_timeout: float = 30.0  # seconds before an idle or stalled connection is closed
    metrics_port: int | None = None  # /metrics and /healthz for Socket Mode and Discord
    discord_shard_count: int | None = None  # None: one connection, no sharding
    discord_shard_ids: tuple[int, ...] | None = None  # this process's shards (None: all)

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
            "model_cache": "QUOTEBOT_MODEL_CACHE",
            "config_file": "QUOTEBOT_CONFIG",
            "admins": "QUOTEBOT_ADMINS",
            "model": "QUOTEBOT_MODEL",
            "index_kind": "QUOTEBOT_INDEX_KIND",
            "feedback_db": "QUOTEBOT_FEEDBACK_DB",
            "log_level": "QUOTEBOT_LOG_LEVEL",
            "database_url": "QUOTEBOT_DATABASE_URL",
            "user_hash_key": "QUOTEBOT_USER_HASH_KEY",
            "user_hash_key_file": "QUOTEBOT_USER_HASH_KEY_FILE",
            "discord_token": "DISCORD_TOKEN",
            "discord_api_base": "DISCORD_API_BASE",
            "slack_bot_token": "SLACK_BOT_TOKEN",
            "slack_signing_secret": "SLACK_SIGNING_SECRET",
            "slack_app_token": "SLACK_APP_TOKEN",
            "slack_api_url": "SLACK_API_URL",
            "host": "QUOTEBOT_HOST",
        }
        for attr, var in text_vars.items():
            if get(var):
                values[attr] = get(var)
        number_vars = {
            "max_question_chars": ("QUOTEBOT_MAX_QUESTION_CHARS", int),
            "min_confidence": ("QUOTEBOT_MIN_CONFIDENCE", float),
            "max_file_mb": ("QUOTEBOT_MAX_FILE_MB", float),
            "reload_seconds": ("QUOTEBOT_RELOAD_SECONDS", float),
            "cooldown_rate": ("QUOTEBOT_COOLDOWN_RATE", int),
            "cooldown_seconds": ("QUOTEBOT_COOLDOWN_SECONDS", float),
            "discord_guild_id": ("DISCORD_GUILD_ID", int),
            "http_threads": ("QUOTEBOT_HTTP_THREADS", int),
            "http_timeout": ("QUOTEBOT_HTTP_TIMEOUT", float),
            "metrics_port": ("QUOTEBOT_METRICS_PORT", int),
            "answer_ttl_hours": ("QUOTEBOT_ANSWER_TTL_HOURS", float),
            "retention_days": ("QUOTEBOT_RETENTION_DAYS", float),
        }
        for attr, (var, kind) in number_vars.items():
            if get(var):
                try:
                    values[attr] = kind(get(var))
                except ValueError:
                    raise ConfigError(f"{var} must be a number, got {get(var)!r}.") from None
        if wait := get("QUOTEBOT_DATABASE_WAIT"):
            values["database_wait"] = _switch("QUOTEBOT_DATABASE_WAIT", wait)
        if get("QUOTEBOT_DISCORD_SHARDS"):
            values["discord_shard_ids"], values["discord_shard_count"] = parse_shards(
                get("QUOTEBOT_DISCORD_SHARDS")
            )
        values.update({k: v for k, v in overrides.items() if v is not None})
        paths = (
            "corpus",
            "index_dir",
            "model_cache",
            "feedback_db",
            "config_file",
            "user_hash_key_file",
        )
        for f in fields(cls):
            if f.name in paths and f.name in values:
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
        if not confidence_bar(self.min_confidence):
            raise ConfigError(
                "QUOTEBOT_MIN_CONFIDENCE must be from 0 (answer as tuned) to below 1, "
                f"got {self.min_confidence}."
            )
        if not 0 < self.max_file_mb < float("inf"):
            raise ConfigError("QUOTEBOT_MAX_FILE_MB must be a positive number of megabytes.")
        if not 0 <= self.reload_seconds < float("inf"):
            raise ConfigError("QUOTEBOT_RELOAD_SECONDS must be >= 0 (0 turns reloading off).")
        if self.cooldown_rate < 1 or self.cooldown_seconds < 0:
            raise ConfigError(
                "QUOTEBOT_COOLDOWN_RATE must be >= 1 and QUOTEBOT_COOLDOWN_SECONDS >= 0."
            )
        if not self.answer_ttl_hours > 0:
            raise ConfigError("QUOTEBOT_ANSWER_TTL_HOURS must be more than 0.")
        if not self.retention_days >= 0:
            raise ConfigError("QUOTEBOT_RETENTION_DAYS must be 0 (keep) or more.")
        if self.retention_days and self.retention_days * 24 < self.answer_ttl_hours:
            raise ConfigError(
                "QUOTEBOT_RETENTION_DAYS must not be shorter than QUOTEBOT_ANSWER_TTL_HOURS."
            )
        if self.http_threads < 1 or self.http_timeout <= 0:
            raise ConfigError("QUOTEBOT_HTTP_THREADS must be >= 1 and QUOTEBOT_HTTP_TIMEOUT > 0.")
        if self.metrics_port is not None and not 0 <= self.metrics_port <= 65535:
            raise ConfigError("QUOTEBOT_METRICS_PORT must be a port number (0-65535).")
        count, ids = self.discord_shard_count, self.discord_shard_ids
        if count is not None and count < 1:
            raise ConfigError("The Discord shard count must be at least 1.")
        if ids is not None:
            if count is None:
                raise ConfigError(
                    "Discord shard ids need a shard count (--shard-count or "
                    "QUOTEBOT_DISCORD_SHARDS=ids/count, e.g. 0,1/4)."
                )
            if not ids or any(not 0 <= i < count for i in ids) or len(set(ids)) != len(ids):
                raise ConfigError(
                    f"Discord shard ids must be distinct numbers from 0 to {count - 1}, "
                    f"got {','.join(map(str, ids))}."
                )

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every configured token and secret, for the log filter."""
        values = (
            self.discord_token,
            self.slack_bot_token,
            self.slack_signing_secret,
            self.slack_app_token,
        )
        return tuple(v for v in values if v)

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 1024 * 1024)

    def index_spec(self) -> BuildSpec:
        """What building this corpus's index needs, and nothing else (no tokens)."""
        from index.build import BuildSpec

        return BuildSpec(
            corpus=self.corpus,
            index_dir=self.index_dir,
            model=self.model,
            kind=self.index_kind,
            max_file_bytes=self.max_file_bytes,
            recursive=self.corpus_subfolders,
            model_cache=self.model_cache,
        )

    @property
    def discord_configured(self) -> bool:
        return bool(self.discord_token)

    @property
    def slack_configured(self) -> bool:
        return bool(self.slack_bot_token and (self.slack_app_token or self.slack_signing_secret))


def _switch(name: str, text: str) -> bool:
    word = text.lower()
    if word in ("1", "true", "yes", "on"):
        return True
    if word in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be 1 or 0 (yes or no), got {text!r}.")


def parse_shards(text: str) -> tuple[tuple[int, ...] | None, int]:
    """``QUOTEBOT_DISCORD_SHARDS``: ``N`` (all N shards) or ``a,b/N`` (shards a and b of N)."""
    ids_text, _, count_text = text.rpartition("/")
    try:
        count = int(count_text)
        ids = parse_shard_ids(ids_text) if ids_text else None
    except ValueError:
        raise ConfigError(
            f"QUOTEBOT_DISCORD_SHARDS takes N or ids/N (e.g. 4, or 0,1/4), got {text!r}."
        ) from None
    return ids, count


def parse_shard_ids(text: str) -> tuple[int, ...]:
    """``"0,2"`` → ``(0, 2)``; ValueError when a part is not a number."""
    return tuple(int(part) for part in text.split(",") if part.strip())
