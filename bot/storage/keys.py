"""The key that user-id hashes are made with, kept out of the database it protects.

Anyone holding both the database and the key can test a user id against the
stored hashes, so the key lives in ``QUOTEBOT_USER_HASH_KEY`` or in a file
readable by its owner only (0600), created on first use.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from bot import messages
from bot.errors import ConfigError


def load_or_create_key(path: Path) -> bytes:
    """The key in ``path``; a new random one is written there (mode 0600) when it is missing.

    Two processes starting at once agree on one key: the file appears whole,
    by a hard link of a finished temporary file, and the loser reads the winner's.
    """
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    except OSError as exc:  # a file where a folder should be, a disk error…
        raise ConfigError(_unusable(path, exc)) from None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_hex(32) + "\n")
                out.flush()
                os.fsync(out.fileno())
            with contextlib.suppress(FileExistsError):
                os.link(temp, path)
        finally:
            temp.unlink(missing_ok=True)
    except OSError as exc:
        raise ConfigError(_unusable(path, exc)) from None
    return _read(path)


def _unusable(path: Path, exc: OSError) -> str:
    return messages.USER_HASH_KEY_UNUSABLE.format(path=path, reason=exc.strerror or exc)


def _read(path: Path) -> bytes:
    try:
        key = path.read_text(encoding="ascii").strip()
    except (UnicodeDecodeError, IsADirectoryError):
        key = ""
    except PermissionError:
        raise ConfigError(messages.USER_HASH_KEY_UNREADABLE.format(path=path)) from None
    if not key:
        raise ConfigError(messages.USER_HASH_KEY_UNREADABLE.format(path=path))
    if path.stat().st_mode & 0o077:
        # A key file others can read defeats its purpose; tighten it.
        os.chmod(path, 0o600)
    return key.encode()
