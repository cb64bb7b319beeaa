"""Errors whose message is safe to show a user as one line.

Anything raised as a subclass of :class:`QuotebotError` carries a message written
for the person at the keyboard or in the chat channel. Any other exception is a
bug: front ends log its traceback and show a generic apology instead.
"""

from __future__ import annotations


class QuotebotError(Exception):
    """Base class for errors whose message can be shown to a user as is."""


class CorpusError(QuotebotError):
    """The corpus is missing, empty, or has no readable document."""


class IndexUnavailableError(QuotebotError):
    """The index on disk is missing, corrupted, or was built differently."""


class ModelError(QuotebotError):
    """The embedding model could not be loaded."""


class IndexWriteError(QuotebotError):
    """The index could not be written (disk full, no permission); the old one is intact."""
