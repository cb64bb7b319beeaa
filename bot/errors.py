"""Errors that front ends may show to users; see :mod:`index.errors`."""

from __future__ import annotations

import math

from bot import messages
from index.errors import CorpusError, IndexUnavailableError, ModelError, QuotebotError

__all__ = [
    "CollectionError",
    "ConfigError",
    "CooldownError",
    "CorpusError",
    "IndexUnavailableError",
    "ModelError",
    "PermissionDenied",
    "QuestionError",
    "QuotebotError",
    "StorageError",
]


class ConfigError(QuotebotError):
    """A required setting is missing or malformed."""


class QuestionError(QuotebotError):
    """The question cannot be answered as asked (empty, too long, ...)."""


class StorageError(QuotebotError):
    """The state store (SQLite file or PostgreSQL) cannot be reached or used."""


class CollectionError(QuotebotError):
    """A collection is unknown, empty, or a document cannot be added to or removed from it."""


class PermissionDenied(CollectionError):
    """The user may not add to or remove from this collection; the message says who may."""


class CooldownError(QuotebotError):
    """The user asked more often than the cooldown allows; the message says when to ask again."""

    def __init__(self, retry_after: float) -> None:
        # Whole seconds, rounded up: "try again in 0 s" would be wrong until it is true.
        self.seconds = max(1, math.ceil(retry_after))
        super().__init__(messages.COOLDOWN.format(seconds=self.seconds))
