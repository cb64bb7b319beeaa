"""Answering one question, the same way on every chat platform.

An adapter turns a platform event into two calls of :class:`Asking` and renders
what comes back:

1. :meth:`Asking.admit`: claim the event (Slack retries an event, other shards and
   replicas may see it too: the first process to claim it answers) and count the
   question against the user's cooldown, which raises :class:`~bot.errors.CooldownError`.
2. :meth:`Asking.answer`: the conversation so far (the thread's last answer, or the
   answer a reply continues), the answer of the collection routed to, timed and
   counted, remembered for the buttons under it and as its thread's last answer.

All of it is kept in the shared store, so any replica can take the next event. Both
calls block (store and model); an asyncio adapter runs each in a worker thread.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.cooldown import Cooldown
from bot.errors import CooldownError
from bot.followup import Turn
from bot.metrics import COOLDOWN, Metrics

if TYPE_CHECKING:
    from bot.answers import Answer
    from bot.config import Settings
    from bot.routing import Route
    from bot.storage import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Thread:
    """A conversation: a Slack thread (channel, thread ts), a Discord thread (parent, id)."""

    channel: str
    thread: str


@dataclass(frozen=True)
class Question:
    """One question as an adapter passes it on, with where it was asked."""

    text: str
    route: Route
    follows: Thread | None = None  # the thread whose last answer is the conversation so far
    replies_to: str | None = None  # the id of the answer a reply continues
    keep_in: Thread | None = None  # the thread this answer becomes the last answer of


class Asking:
    """The platform-neutral steps of answering on ``platform`` ("slack", "discord")."""

    def __init__(self, settings: Settings, store: Store, platform: str, metrics: Metrics) -> None:
        self.store = store
        self.platform = platform
        self.metrics = metrics
        self.cooldown = Cooldown(store, platform, settings.cooldown_rate, settings.cooldown_seconds)

    def claim(self, event: str) -> bool:
        """True unless another process (or shard) already took ``event``."""
        if self.store.first_sight(f"{self.platform}:{event}"):
            return True
        self.metrics.deduplicated.labels(self.platform).inc()
        log.info("%s: %s was already handled; ignoring it.", self.platform, event)
        return False

    def admit(self, user: object, event: str | None = None) -> bool:
        """Claim ``event`` (when given; False: another process has it) and count the
        question against ``user``'s cooldown; :class:`CooldownError` when it is spent."""
        if event is not None and not self.claim(event):
            return False
        wait = self.cooldown.retry_after(str(user))
        if wait > 0:
            self.metrics.question(self.platform, COOLDOWN)
            raise CooldownError(wait)
        return True

    def answer(self, question: Question) -> Answer:
        """Answer ``question`` here, timed from now."""
        with self.metrics.answering(self.platform) as answered:
            return self._answer(question, answered)

    async def answer_in_worker(self, question: Question) -> Answer:
        """:meth:`answer` from an event loop, timed from the call: in one trip to the
        worker threads, not several, since each trip queues behind every question of
        a burst and would hold back every answer until the burst was worked out."""
        with self.metrics.answering(self.platform) as answered:
            return await asyncio.to_thread(self._answer, question, answered)

    def _answer(self, question: Question, answered: Callable[[bool], None]) -> Answer:
        earlier = self._earlier(question)
        service = question.route.service
        if earlier is None:
            answer = service.ask(question.text)
        else:
            answer = service.ask(question.text, previous=Turn.of(earlier))
        answered(answer.abstained)
        self.store.remember(answer, self.platform, collection=question.route.collection)
        kept = question.keep_in
        if kept is not None and not answer.abstained:
            self.store.remember_thread(self.platform, kept.channel, kept.thread, answer.id)
        return answer

    def _earlier(self, question: Question) -> Answer | None:
        if question.replies_to is not None:
            return self.store.answer(question.replies_to)
        if question.follows is not None:
            thread = question.follows
            return self.store.thread_answer(self.platform, thread.channel, thread.thread)
        return None
