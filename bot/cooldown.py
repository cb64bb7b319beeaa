"""A per-user rate limit: at most ``rate`` questions in any ``per_seconds`` window."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Hashable


class Cooldown:
    """A sliding-window limiter, safe to share between threads and event loops.

    ``retry_after(user)`` both checks and records: it returns 0.0 and counts the
    request when the user is within the limit, otherwise the seconds until the
    oldest request in the window expires (and counts nothing).
    """

    def __init__(
        self, rate: int, per_seconds: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate < 1:
            raise ValueError("rate must be at least 1")
        if per_seconds < 0:
            raise ValueError("per_seconds must not be negative")
        self.rate = rate
        self.per_seconds = per_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._recent: dict[Hashable, deque[float]] = {}

    def retry_after(self, user_key: Hashable) -> float:
        if self.per_seconds == 0:
            return 0.0
        now = self._clock()
        with self._lock:
            self._forget_idle(now)
            times = self._recent.setdefault(user_key, deque())
            while times and times[0] <= now - self.per_seconds:
                times.popleft()
            if len(times) >= self.rate:
                return times[0] + self.per_seconds - now
            times.append(now)
            return 0.0

    def _forget_idle(self, now: float) -> None:
        # Users who have not asked within the window hold no state, so the map
        # stays as small as the set of recently active users.
        if len(self._recent) < 1024:
            return
        idle = [key for key, times in self._recent.items() if times[-1] <= now - self.per_seconds]
        for key in idle:
            del self._recent[key]
