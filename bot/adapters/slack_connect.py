"""Reaching Slack: the settings each mode needs, the bot token, Socket Mode, SIGTERM.

The parts of connecting that are about Slack itself, not about this bot's
listeners; :func:`bot.adapters.slack_bot.run` puts them together.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot import messages
from bot.config import Settings
from bot.errors import ConfigError, QuotebotError

log = logging.getLogger(__name__)


def check_settings(settings: Settings, *, http: bool) -> None:
    """Raise :class:`ConfigError` naming the variables the chosen mode still needs."""
    if http:
        needed = ["SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"]
        values = [settings.slack_bot_token, settings.slack_signing_secret]
        mode = "HTTP mode (--http)"
    else:
        needed = ["SLACK_BOT_TOKEN", "SLACK_APP_TOKEN"]
        values = [settings.slack_bot_token, settings.slack_app_token]
        mode = "Socket Mode (or SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET with --http)"
    missing = [name for name, value in zip(needed, values, strict=True) if not value]
    if missing:
        raise ConfigError(
            messages.SLACK_SETTINGS_MISSING.format(
                names=" and ".join(missing), needed=" and ".join(needed), mode=mode
            )
        )
    if not http and not settings.slack_app_token.startswith("xapp-"):
        raise ConfigError(messages.SLACK_APP_TOKEN_KIND)


def check_token(client: WebClient, api_url: str) -> dict[str, Any]:
    """Call ``auth.test``; a rejected token or an unreachable API becomes one clear line."""
    try:
        return dict(client.auth_test().data)  # type: ignore[arg-type]
    except SlackApiError as exc:
        reason = exc.response.get("error", "unknown error")
        raise ConfigError(messages.SLACK_TOKEN_REJECTED.format(reason=reason)) from None
    except (OSError, SlackClientError):
        log.debug("auth.test failed", exc_info=True)
        raise QuotebotError(messages.SLACK_UNREACHABLE.format(url=api_url)) from None


def connect_socket_mode(app: App, settings: Settings, client: WebClient) -> SocketModeHandler:
    """Connect to Slack over Socket Mode (returns once connected; closing the handler ends it)."""
    handler = SocketModeHandler(app, app_token=settings.slack_app_token, web_client=client)
    try:
        handler.connect()
    except SlackApiError as exc:
        handler.close()
        reason = exc.response.get("error", "unknown error")
        raise ConfigError(messages.SLACK_APP_TOKEN_REJECTED.format(reason=reason)) from None
    except (OSError, SlackClientError):
        handler.close()
        log.debug("Socket Mode connection failed", exc_info=True)
        raise QuotebotError(messages.SLACK_UNREACHABLE.format(url=settings.slack_api_url)) from None
    return handler


@contextmanager
def stop_on_sigterm(stop: threading.Event) -> Iterator[None]:
    """Make SIGTERM set ``stop`` while inside (only possible in the main thread)."""
    try:
        previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    except ValueError:  # not the main thread: whoever started us stops us
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
