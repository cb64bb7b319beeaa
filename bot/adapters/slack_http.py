"""What stands between the network and bolt in Slack HTTP mode.

:class:`SlackGate` is WSGI middleware in front of bolt's ``SlackRequestHandler``.
It checks each POST to ``/slack/events`` the way bolt would, but first, and
without ever logging the body: bolt parses a body before it checks the
signature (so a malformed one raised a 500 with a traceback) and logs the whole
body of a request whose signature fails (so one 20 MB unsigned POST wrote 20 MB
to the log). Here a refused request costs one log line with its size and
reason:

* no signature or timestamp, a stale timestamp or a wrong signature → 401;
* a non-numeric timestamp, invalid UTF-8, malformed JSON, a form whose
  ``payload`` is not a JSON object, an unknown content type → 400;
* a body over the limit → 413 (waitress refuses it while reading, see
  :mod:`bot.http_server`; the gate checks the announced length again).
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot import messages
from bot.config import Settings
from bot.errors import ConfigError
from bot.http_server import MAX_BODY_BYTES, REFUSAL_REASON, HttpServer
from bot.logfilter import Redactor
from bot.metrics import Health, Metrics, WSGIApp, ops_app

log = logging.getLogger(__name__)

SIGNATURE_MAX_AGE = 5 * 60  # seconds; Slack's documented replay window
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


class Refused(Exception):
    """A request the gate answers itself: HTTP ``status`` and a short ``reason`` to log."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


_STATUS = {
    400: "400 Bad Request",
    401: "401 Unauthorized",
    405: "405 Method Not Allowed",
    411: "411 Length Required",
    413: "413 Payload Too Large",
}


class SlackGate:
    """Checks requests for ``path`` before ``app`` (bolt) sees them; other paths pass through."""

    def __init__(
        self,
        app: WSGIApp,
        signing_secret: str,
        *,
        path: str,
        max_body: int = MAX_BODY_BYTES,
        redactor: Redactor | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.app = app
        self._secret = signing_secret.encode()
        self.path = path
        self.max_body = max_body
        self.redactor = redactor
        self._clock = clock

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != self.path:
            return self.app(environ, start_response)
        size = environ.get("CONTENT_LENGTH") or "?"
        try:
            body = self._check(environ)
        except Refused as refusal:
            log.info("Slack HTTP: refused %d: %s (%s bytes)", refusal.status, refusal.reason, size)
            environ[REFUSAL_REASON] = refusal.reason  # counted by the server (bot.http_server)
            text = json.dumps({"error": refusal.reason}).encode()
            start_response(
                _STATUS[refusal.status],
                [("Content-Type", JSON), ("Content-Length", str(len(text)))],
            )
            return [text]
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        return self.app(environ, start_response)

    def _check(self, environ: dict[str, Any]) -> bytes:
        """The body of an acceptable request, else :class:`Refused`."""
        if environ.get("REQUEST_METHOD") != "POST":
            raise Refused(405, "only POST is accepted")
        try:
            length = int(environ.get("CONTENT_LENGTH") or "")
        except ValueError:
            raise Refused(411, "no valid Content-Length") from None
        if length < 0:
            raise Refused(400, "negative Content-Length")
        if length > self.max_body:
            raise Refused(413, f"body over the {self.max_body}-byte limit")
        timestamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", "")
        signature = environ.get("HTTP_X_SLACK_SIGNATURE", "")
        if not timestamp or not signature:
            raise Refused(401, "no Slack signature")
        if not timestamp.isascii() or not timestamp.isdigit():
            raise Refused(400, "non-numeric X-Slack-Request-Timestamp")
        if abs(self._clock() - int(timestamp)) > SIGNATURE_MAX_AGE:
            raise Refused(401, "stale or future timestamp")
        body = environ["wsgi.input"].read(length)
        if len(body) != length:
            raise Refused(400, "body shorter than its Content-Length")
        # Slack's v0 signature: HMAC-SHA256 of "v0:{timestamp}:{body}" with the signing secret.
        base = b"v0:" + timestamp.encode() + b":" + body
        expected = b"v0=" + hmac.new(self._secret, base, hashlib.sha256).hexdigest().encode()
        if not hmac.compare_digest(expected, signature.encode("latin-1", "replace")):
            raise Refused(401, "invalid signature")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise Refused(400, "body is not UTF-8") from None
        content_type = environ.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
        if content_type == JSON:
            parsed = _json_object(text, "body")
        elif content_type == FORM:
            parsed = _form(text)
        else:
            raise Refused(400, "unsupported Content-Type")
        if self.redactor is not None:
            self.redactor.add_response_urls(parsed)
        return body


def _json_object(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        raise Refused(400, f"{what} is not valid JSON") from None
    if not isinstance(value, dict):
        raise Refused(400, f"{what} is not a JSON object")
    return value


def _form(text: str) -> dict[str, Any]:
    try:
        fields = dict(parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text)))
    except ValueError:
        raise Refused(400, "malformed form body") from None
    if "payload" in fields:
        return {**fields, **_json_object(fields["payload"], "payload")}
    if "command" not in fields and "ssl_check" not in fields:
        raise Refused(400, "form body is neither a command nor a payload")
    return fields


def events_server(
    app: App,
    settings: Settings,
    metrics: Metrics,
    health: Health,
    host: str,
    port: int,
    *,
    redactor: Redactor | None = None,
    path: str = "/slack/events",
) -> HttpServer:
    """The HTTP server for bolt's ``app`` at ``path``, with ``/healthz`` and ``/metrics``.

    It is bound on return; the caller runs :meth:`HttpServer.serve` (or ``start``).
    """
    if not settings.slack_signing_secret:
        raise ConfigError(
            messages.SLACK_SETTINGS_MISSING.format(
                names="SLACK_SIGNING_SECRET",
                needed="SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET",
                mode="HTTP mode (--http)",
            )
        )
    gate = SlackGate(
        SlackRequestHandler(app, path=path),  # type: ignore[arg-type]
        settings.slack_signing_secret,
        path=path,
        redactor=redactor,
    )
    return HttpServer(
        ops_app(metrics, health, fallback=gate),
        host,
        port,
        threads=settings.http_threads,
        timeout=settings.http_timeout,
        name="quotebot",
        metrics=metrics,
    )
