"""Errors that front ends may show to users; see :mod:`index.errors`."""

from __future__ import annotations

from index.errors import CorpusError, IndexUnavailableError, ModelError, QuotebotError

__all__ = [
    "CollectionError",
    "ConfigError",
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
