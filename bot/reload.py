"""A running bot follows the index: when a build publishes a new generation, answer from it.

:class:`ReloadingService` stands where a :class:`~bot.service.QuoteService` stands
(the adapters call the same methods) and holds the service of the live
generation. A background thread looks at the index's CURRENT every few seconds;
when it names a new generation, a service is loaded for it and swapped in
atomically. Questions in flight finish on the service they started with, which
then lets go of its generation so a later build may delete it. A generation
that fails to load is logged once and the old service keeps answering.

A collection may have no documents, hence no index: built with ``empty`` (the
line to answer with), the service starts or becomes empty when CURRENT is
absent, and answers again once a build publishes a generation.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

from bot.answers import Answer, Context, Quote, SourceInfo
from bot.errors import CollectionError
from bot.followup import Turn
from bot.routing import OneCollection
from bot.service import QuoteService

logger = logging.getLogger(__name__)


class _Slot:
    """One service and how many calls are using it."""

    def __init__(self, service: QuoteService | None) -> None:
        self.service = service
        self.users = 0
        self.retired = False

    def release_if_idle(self) -> bool:
        """Let go of the generation once retired and unused; True when that happened now."""
        if self.service is None:
            return False
        if self.retired and self.users == 0 and self.service.index.folder is not None:
            self.service.index.release()
            return True
        return False


def generation_of(service: QuoteService | None) -> str:
    if service is None:
        return ""
    folder = service.index.folder
    return folder.name if folder is not None else ""


class ReloadingService(OneCollection):
    """The service of the live index generation, replaced when a new one is published.

    ``generation()`` names the live generation (cheap, called every ``interval``
    seconds); ``load()`` builds a service for it; ``cleanup()``, when given, is
    called from the watcher thread after an old generation was let go of, so the
    disk it takes is freed before the next build.
    """

    def __init__(
        self,
        service: QuoteService | None,
        *,
        generation: Callable[[], str | None],
        load: Callable[[], QuoteService],
        interval: float = 2.0,
        cleanup: Callable[[], None] | None = None,
        empty: str | None = None,
        collection: str = "default",
    ) -> None:
        if service is None and empty is None:
            raise ValueError("a service without an index needs the line to answer with")
        self.collection = collection
        self._empty = empty  # None: a missing index keeps the loaded one answering
        self._slot = _Slot(service)
        self._generation = generation
        self._load = load
        self.interval = interval
        self._cleanup = cleanup
        self._released = threading.Event()  # an old generation is no longer read
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._reported: str | None = None  # the last failure logged, so it is logged once
        self._failed: str | None = None  # a generation that did not load: not tried again

    # The methods the adapters call, each on the service current when the call starts.

    def ask(self, question: str, previous: Turn | None = None) -> Answer:
        with self._borrow() as service:
            if service is None:
                raise CollectionError(str(self._empty))
            return service.ask(question, previous)

    def sources(self) -> list[SourceInfo]:
        with self._borrow() as service:
            return [] if service is None else service.sources()

    def quote(self, quote_id: str) -> Quote | None:
        with self._borrow() as service:
            return None if service is None else service.quote(quote_id)

    def context(self, quote_id: str, sentences: int = 2) -> Context | None:
        with self._borrow() as service:
            return None if service is None else service.context(quote_id, sentences)

    @property
    def index(self) -> Any:
        """The index new questions are answered from (None while there is none)."""
        service = self._slot.service
        return None if service is None else service.index

    @contextlib.contextmanager
    def _borrow(self) -> Iterator[QuoteService | None]:
        with self._lock:
            slot = self._slot
            slot.users += 1
        try:
            yield slot.service
        finally:
            with self._lock:
                slot.users -= 1
                if slot.release_if_idle():
                    self._released.set()

    # Following the index

    def check(self) -> bool:
        """Switch to the live generation if it changed; True when a new one now answers."""
        try:
            live = self._generation()
        except Exception as exc:  # a damaged CURRENT: keep serving what is loaded
            self._report(f"Cannot read the live index ({exc}); still answering from the old one.")
            return False
        current = generation_of(self._slot.service)
        if not live and self._empty is not None and self._slot.service is not None:
            # Every document of the collection was removed: answer that it is empty.
            self._swap(None)
            logger.info("The collection %s has no index any more.", self.collection)
            return True
        if not live or live in (current, self._failed):
            return False
        try:
            fresh = self._load()
        except Exception as exc:
            # A published generation never changes: loading it again would fail again.
            self._failed = live
            self._report(
                f"Cannot load the new index generation {live} ({exc}); "
                f"still answering from {current or 'the old one'}."
            )
            return False
        self._swap(fresh)
        self._reported = None
        logger.info("Now answering from the new index generation %s.", generation_of(fresh))
        return True

    def _swap(self, fresh: QuoteService | None) -> None:
        with self._lock:
            old, self._slot = self._slot, _Slot(fresh)
            old.retired = True
            if old.release_if_idle():
                self._released.set()

    def _report(self, text: str) -> None:
        if text != self._reported:
            self._reported = text
            logger.warning("%s", text)

    def start(self) -> ReloadingService:
        """Check every ``interval`` seconds in a daemon thread until :meth:`close`."""
        if self.interval > 0 and self._thread is None:
            self._thread = threading.Thread(target=self._follow, name="index-reload", daemon=True)
            self._thread.start()
        return self

    def _follow(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.check()
                if self._cleanup is not None and self._released.is_set():
                    self._released.clear()
                    self._cleanup()
            except Exception:  # never let the watcher die silently
                logger.exception("Checking for a new index failed.")

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def __enter__(self) -> ReloadingService:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
