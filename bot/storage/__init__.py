"""Shared state: answers, votes, seen platform events, cooldown windows and the last answer
in each chat thread, behind one interface.

Two backends with the same behaviour:

* SQLite, a file on this machine: the default, right for one bot process (or a
  few on one machine).
* PostgreSQL, for replicas on several machines: every process pointed at one
  database behaves as one bot (an event retried to another replica is answered
  once, buttons work on any replica, a user's cooldown counts everywhere).

``open_store(url, ...)`` picks the backend from the URL
(``sqlite:///relative/path``, ``sqlite:////absolute/path`` or
``postgresql://user@host:port/db``), creates or migrates the schema, and
returns a :class:`Store`. The schema is versioned and migrated by quotebot
itself (``quotebot db upgrade``, also run when a store opens).

Privacy: the question and quotes of an answer are kept only as long as its
buttons need them (``answer_ttl_seconds``) unless someone votes on it; rows
older than ``retention_seconds`` are deleted; user ids are stored as keyed
hashes whose key never lives in the database (see :mod:`bot.storage.keys`).
"""

from __future__ import annotations

from bot.errors import StorageError
from bot.storage.base import Store
from bot.storage.codec import decode_answer, encode_answer
from bot.storage.factory import BACKENDS, open_store, redact
from bot.storage.records import (
    DEFAULT_COLLECTION,
    DOWN,
    EVENT_TTL_SECONDS,
    UP,
    Policy,
    Purged,
    Rated,
    Vote,
)

__all__ = [
    "BACKENDS",
    "DEFAULT_COLLECTION",
    "DOWN",
    "EVENT_TTL_SECONDS",
    "Policy",
    "Purged",
    "Rated",
    "StorageError",
    "Store",
    "UP",
    "Vote",
    "decode_answer",
    "encode_answer",
    "open_store",
    "redact",
]
