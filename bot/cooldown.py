"""A per-user rate limit: at most ``rate`` questions in any ``per_seconds`` window.

The window is kept in the state store, so every replica counts a user's
questions together.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.storage import Store


class Cooldown:
    """A sliding-window limiter over the shared store, safe from any thread.

    ``retry_after(user)`` both checks and records: it returns 0.0 and counts the
    request when the user is within the limit, otherwise the seconds until the
    oldest request in the window expires (and counts nothing).
    """

    def __init__(self, store: Store, platform: str, rate: int, per_seconds: float) -> None:
        if rate < 1:
            raise ValueError("rate must be at least 1")
        if per_seconds < 0:
            raise ValueError("per_seconds must not be negative")
        self.store = store
        self.platform = platform
        self.rate = rate
        self.per_seconds = per_seconds

    def retry_after(self, user_id: Hashable) -> float:
        if self.per_seconds == 0:
            return 0.0
        # Keyed by the user's hash: the store never holds a raw user id.
        key = "cooldown:" + self.store.hash_user(self.platform, str(user_id))
        return self.store.retry_after(key, self.rate, self.per_seconds)
