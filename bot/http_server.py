"""quotebot's HTTP server: waitress, with timeouts, a body limit and a graceful stop.

Why waitress: quotebot is one process holding one loaded index and model, and
answers run on its own thread pool after the acknowledgement. waitress is a
pure-Python, threaded WSGI server (no fork, so the index is loaded once and
shared; no C extension; also runs on Windows and macOS) that buffers each
request fully before the application sees it, refuses bodies over a limit while
reading them (413), closes connections idle longer than a timeout, and is
maintained by the Pylons project. slack-bolt's WSGI adapter plugs straight in.
gunicorn would fork workers that each load the index (or need ``--preload`` and
copy-on-write care) and is Unix-only; an ASGI server would need bolt's async app
and a second code path for every listener.

:class:`HttpServer` serves one WSGI app; :meth:`HttpServer.serve` blocks until
its ``stop`` event is set, then stops accepting, lets requests in progress finish
(up to a grace period), and closes every connection.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from waitress.channel import HTTPChannel
from waitress.server import create_server
from waitress.task import ErrorTask

from bot import messages
from bot.config import Settings
from bot.errors import QuotebotError
from bot.metrics import Health, Metrics, WSGIApp, ops_app

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024  # Slack's payloads are a few kB; anything near 1 MB is not Slack
SHUTDOWN_GRACE_SECONDS = 10.0  # requests in progress get this long to finish on stop
# How long waitress's loop waits for a socket event; work for the loop wakes it at once
# (its trigger pipe), so this only paces the sweep of idle connections.
LOOP_TIMEOUT_SECONDS = 1
# The WSGI environ key where a layer of the app (the Slack gate) says why it refused a
# request, for the reason label of quotebot_http_refused_total.
REFUSAL_REASON = "quotebot.refusal"


def ops_server(settings: Settings, metrics: Metrics, health: Health) -> HttpServer | None:
    """``/metrics`` and ``/healthz`` on ``settings.metrics_port``, started; None when unset.

    Socket Mode and Discord have no HTTP port of their own; this is theirs.
    """
    if settings.metrics_port is None:
        return None
    try:
        server = HttpServer(
            ops_app(metrics, health),
            settings.host,
            settings.metrics_port,
            threads=2,
            timeout=settings.http_timeout,
            metrics=metrics,
        )
    except OSError as exc:
        raise QuotebotError(
            messages.LISTEN_FAILED.format(
                host=settings.host,
                port=settings.metrics_port,
                reason=exc.strerror or exc,
                setting="--metrics-port (QUOTEBOT_METRICS_PORT) or --host (QUOTEBOT_HOST)",
            )
        ) from None
    log.info("Metrics and health on http://%s:%d/metrics", settings.host, server.port)
    return server.start()


class HttpServer:
    """A waitress server bound at construction (``port=0`` picks a free port).

    With ``metrics``, every request it refuses is counted: those waitress refuses
    itself (a body over ``max_body``, malformed headers) and every 4xx response
    of ``app``.
    """

    def __init__(
        self,
        app: WSGIApp,
        host: str,
        port: int,
        *,
        threads: int = 8,
        timeout: float = 30.0,
        max_body: int = MAX_BODY_BYTES,
        name: str = "quotebot",
        metrics: Metrics | None = None,
    ) -> None:
        if metrics is not None:
            app = count_refusals(app, metrics)
        self._server: Any = create_server(
            app,
            host=host,
            port=port,
            threads=threads,
            # waitress reads these three as whole seconds (int(0.5) is 0). A loop
            # timeout of 0 made its select() return at once: an idle server spun a
            # whole core. Idle and stalled connections are closed after ``timeout``
            # seconds (at least 1), swept for every second or so.
            channel_timeout=max(1, math.ceil(timeout)),
            cleanup_interval=max(1, min(int(timeout / 2), 30)),
            asyncore_loop_timeout=LOOP_TIMEOUT_SECONDS,
            max_request_body_size=max_body,
            backlog=128,
            ident=name,
            expose_tracebacks=False,
            clear_untrusted_proxy_headers=True,
        )
        self._server.channel_class = type("Channel", (_Channel,), {"metrics": metrics})
        self._thread: threading.Thread | None = None
        self.host = host
        self.port = int(self._server.effective_port)

    def start(self) -> HttpServer:
        """Serve in a background thread; :meth:`shutdown` stops it."""
        self._thread = threading.Thread(target=self._server.run, name="quotebot-http", daemon=True)
        self._thread.start()
        return self

    def serve(self, stop: threading.Event) -> None:
        """Serve until ``stop`` is set (e.g. by SIGTERM), then stop gracefully."""
        self.start()
        try:
            while not stop.wait(0.5):
                if self._thread is not None and not self._thread.is_alive():
                    break
        finally:
            self.shutdown()

    def shutdown(self, grace: float = SHUTDOWN_GRACE_SECONDS) -> None:
        """Stop accepting, let requests in progress finish (up to ``grace`` s), close all."""
        server = self._server
        thread = self._thread
        if thread is None or not thread.is_alive():
            server.task_dispatcher.shutdown(cancel_pending=False, timeout=grace)
            return
        closed = threading.Event()

        def stop_listening() -> None:
            server.accepting = False
            server.del_channel()
            server.socket.close()
            closed.set()

        if _on_loop(server, stop_listening):
            closed.wait(5)
        else:  # closed below, once the loop has ended
            server.accepting = False
            server.del_channel()
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and _busy(server):
            time.sleep(0.05)

        def close_all() -> None:
            for channel in _channels(server):
                channel.handle_close()
            server.trigger.close()

        if not _on_loop(server, close_all):
            # The loop cannot be woken any more. Connections are taken off its map
            # first (it ends once the map is empty) and closed after it has ended,
            # so it never waits on a socket closed under it.
            channels = _channels(server)
            for channel in channels:
                channel.del_channel()
            thread.join(5)
            for channel in channels:
                channel.handle_close()
        thread.join(5)
        server.socket.close()  # already closed unless the loop could not be woken
        server.task_dispatcher.shutdown(cancel_pending=True, timeout=grace)


def _on_loop(server: Any, thunk: Any) -> bool:
    """Run ``thunk`` on the server's loop thread; False when its trigger is already closed."""
    trigger = server.trigger
    if trigger._closed:  # its descriptor number may belong to another file by now
        return False
    try:
        trigger.pull_trigger(thunk)
    except OSError:
        with trigger.lock:  # it will never run: do not leave it queued
            trigger.thunks.clear()
        return False
    return True


def _channels(server: Any) -> list[Any]:
    """The server's open connections (everything its loop watches but the trigger)."""
    return [c for c in list(server._map.values()) if c is not server.trigger]


def _busy(server: Any) -> bool:
    """True while any connection has a request being handled or a response to send."""
    for channel in list(server.active_channels.values()):
        if channel.requests or channel.total_outbufs_len:
            return True
    return bool(server.task_dispatcher.queue) or server.task_dispatcher.active_count > 0


def count_refusals(app: WSGIApp, metrics: Metrics) -> WSGIApp:
    """``app``, counting each of its 4xx responses in ``quotebot_http_refused_total``.

    The reason is what the refusing layer put in ``environ[REFUSAL_REASON]``,
    else the status's own phrase ("not found").
    """

    def counted(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        seen = False

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            nonlocal seen
            code, _, phrase = status.partition(" ")
            if not seen and code.isdigit() and 400 <= int(code) < 500:
                seen = True  # a second start_response (after an error) is the same request
                metrics.refused(int(code), environ.get(REFUSAL_REASON) or phrase.lower())
            return start_response(status, headers, exc_info)

        return app(environ, start)

    return counted


class _RefusalTask(ErrorTask):
    """waitress's error response, plus one log line saying why (never the body)."""

    def execute(self) -> None:
        error = self.request.error
        # error.body can quote a malformed header line, which may hold a secret.
        log.info(
            "HTTP: refused %s %s (%s bytes announced)",
            error.code,
            error.reason,
            self.request.content_length,
        )
        metrics: Metrics | None = self.channel.metrics
        if metrics is not None:
            metrics.refused(error.code, error.reason.lower())
        super().execute()


class _Channel(HTTPChannel):
    error_task_class = _RefusalTask
    metrics: Metrics | None = None  # set per server
