"""Prometheus metrics and the health check, served at ``/metrics`` and ``/healthz``.

One :class:`Metrics` object (its own ``CollectorRegistry``, so tests and
several bots in one process never share counters) is built by
:mod:`bot.app` and passed to the adapters, which count what they do.
:func:`ops_app` is a tiny WSGI application for the two paths; the Slack HTTP
server mounts it in front of bolt, and ``--metrics-port`` serves it alone.
"""

from __future__ import annotations

import calendar
import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

log = logging.getLogger(__name__)

ANSWERED, ABSTAINED, ERROR, COOLDOWN = "answered", "abstained", "error", "cooldown"
OUTCOMES = (ANSWERED, ABSTAINED, ERROR, COOLDOWN)
HEALTH_PATH = "/healthz"
METRICS_PATH = "/metrics"
# Answering is milliseconds of CPU; the tail is a cold model or a busy machine.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class IndexView(Protocol):
    """What health and metrics read from the live index (a ``CorpusIndex``)."""

    manifest: dict[str, Any]

    def __len__(self) -> int: ...


class Metrics:
    """Counters, histograms and gauges of one quotebot process."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.questions = Counter(
            "quotebot_questions",
            "Questions received, by platform and outcome (answered, abstained, error, cooldown).",
            ["platform", "outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "quotebot_answer_seconds",
            "Time to compute an answer (search and quote selection), by platform.",
            ["platform"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.deduplicated = Counter(
            "quotebot_events_deduplicated",
            "Platform events ignored because they had already been handled (retries).",
            ["platform"],
            registry=self.registry,
        )
        self.index_sentences = Gauge(
            "quotebot_index_sentences",
            "Sentences in the live index.",
            registry=self.registry,
        )
        self.index_documents = Gauge(
            "quotebot_index_documents",
            "Documents in the live index.",
            registry=self.registry,
        )
        self.index_generation = Gauge(
            "quotebot_index_generation_timestamp_seconds",
            "When the live index generation was built (Unix time).",
            registry=self.registry,
        )
        self.http_refused = Counter(
            "quotebot_http_refused",
            "HTTP requests the server refused (4xx, and waitress's own errors), "
            "by status code and reason.",
            ["status", "reason"],
            registry=self.registry,
        )

    def question(self, platform: str, outcome: str) -> None:
        self.questions.labels(platform, outcome).inc()

    def refused(self, status: int, reason: str) -> None:
        """Count one refused HTTP request; ``reason`` is one of a few fixed phrases."""
        self.http_refused.labels(str(status), reason).inc()

    @contextmanager
    def answering(self, platform: str) -> Iterator[Callable[[bool], None]]:
        """Time one answer; call the yielded function with ``abstained`` once it is made.

        An exception counts as an ``error`` outcome and is re-raised.
        """
        started = time.perf_counter()
        done = False

        def finish(abstained: bool) -> None:
            nonlocal done
            done = True
            self.latency.labels(platform).observe(time.perf_counter() - started)
            self.question(platform, ABSTAINED if abstained else ANSWERED)

        try:
            yield finish
        except Exception:
            if not done:
                self.question(platform, ERROR)
            raise

    def observe_index(self, index: IndexView) -> None:
        """Set the index gauges from the live index (called before each scrape)."""
        self.index_sentences.set(len(index))
        self.index_documents.set(len(getattr(index, "documents", ())))
        built = _timestamp((index.manifest or {}).get("built_at"))
        if built is not None:
            self.index_generation.set(built)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


def _timestamp(text: object) -> float | None:
    """Unix time of a manifest's ``built_at`` (``2026-11-27T06:00:00Z``), or None."""
    try:
        return float(calendar.timegm(time.strptime(str(text), "%Y-%m-%dT%H:%M:%SZ")))
    except ValueError:
        return None


class Health:
    """What ``/healthz`` reports: the live index and whether the database answers.

    ``index`` returns the live index (it may change while running, after a
    reload); ``database`` is a check that raises when the database cannot be
    reached (``None`` when no database is configured), and ``backend`` names it.
    """

    def __init__(
        self,
        index: Callable[[], IndexView],
        *,
        database: Callable[[], object] | None = None,
        backend: str = "",
    ) -> None:
        self.index = index
        self.database = database
        self.backend = backend

    def report(self) -> tuple[bool, dict[str, Any]]:
        """``(healthy, details)``; unhealthy only when a configured database is unreachable."""
        index = self.index()
        manifest = index.manifest or {}
        folder = getattr(index, "folder", None)
        details: dict[str, Any] = {
            "index": {
                "generation": getattr(folder, "name", None),
                "built_at": manifest.get("built_at"),
                "sentences": len(index),
            }
        }
        healthy = True
        if self.database is not None:
            try:
                self.database()
                reachable = True
            except Exception as exc:
                # One line, no traceback: a load balancer polls this every few seconds.
                log.warning("Health check: the database is unreachable (%s)", type(exc).__name__)
                reachable = False
            details["database"] = {"backend": self.backend, "reachable": reachable}
            healthy = reachable
        details["status"] = "ok" if healthy else "unavailable"
        return healthy, details


def ops_app(metrics: Metrics, health: Health, fallback: WSGIApp | None = None) -> WSGIApp:
    """WSGI app for ``GET /healthz`` and ``GET /metrics``; other paths go to ``fallback``."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path in (HEALTH_PATH, METRICS_PATH) and environ.get("REQUEST_METHOD") in (
            "GET",
            "HEAD",
        ):
            if path == HEALTH_PATH:
                healthy, details = health.report()
                body = json.dumps(details).encode()
                status = "200 OK" if healthy else "503 Service Unavailable"
                content_type = "application/json"
            else:
                metrics.observe_index(health.index())
                body, status, content_type = metrics.exposition(), "200 OK", CONTENT_TYPE_LATEST
            start_response(
                status, [("Content-Type", content_type), ("Content-Length", str(len(body)))]
            )
            return [] if environ.get("REQUEST_METHOD") == "HEAD" else [body]
        if fallback is not None:
            return fallback(environ, start_response)
        body = b"Not Found"
        start_response(
            "404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))]
        )
        return [body]

    return app
