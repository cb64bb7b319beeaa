"""Reaching Discord: its REST and gateway addresses, login, and how a connection ends.

The parts of connecting that are about Discord itself, not about this bot's
commands; :func:`bot.adapters.discord_bot.serve` puts them together.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator

import aiohttp
import discord
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

from bot import messages
from bot.errors import ConfigError, QuotebotError

log = logging.getLogger(__name__)

# Gateway close codes that reconnecting cannot fix because the token is wrong.
AUTH_FAILED_CODES = (4004,)


@contextlib.contextmanager
def discord_endpoints(api_base: str) -> Iterator[None]:
    """Point discord.py's REST routes at ``api_base`` (its gateway is set after login).

    discord.py keeps both addresses as class attributes; they are restored on exit.
    """
    saved = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    Route.BASE = api_base.rstrip("/")
    try:
        yield
    finally:
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = saved


async def login(client: discord.Client, token: str, api_base: str) -> None:
    try:
        await client.login(token)
    except discord.LoginFailure:
        raise ConfigError(
            messages.DISCORD_TOKEN_REJECTED.format(reason="401 Unauthorized")
        ) from None
    except aiohttp.ClientConnectionError as exc:
        raise QuotebotError(messages.DISCORD_UNREACHABLE.format(url=api_base)) from exc


async def gateway_url(client: discord.Client, api_base: str) -> yarl.URL:
    """The gateway address that the configured API announces (``GET /gateway/bot``)."""
    try:
        _, url, _ = await client.http.get_bot_gateway()
    except (discord.GatewayNotFound, aiohttp.ClientConnectionError) as exc:
        raise QuotebotError(messages.DISCORD_UNREACHABLE.format(url=api_base)) from exc
    return yarl.URL(url)


async def connection_result(connection: asyncio.Task[None]) -> None:
    try:
        await asyncio.wait_for(connection, timeout=10)
    except TimeoutError:
        log.warning("The gateway connection did not close in time; abandoning it.")
    except discord.ConnectionClosed as exc:
        if exc.code in AUTH_FAILED_CODES:
            reason = f"gateway closed with {exc.code}"
            raise ConfigError(messages.DISCORD_TOKEN_REJECTED.format(reason=reason)) from None
        raise


def stop_on_sigterm(stop: asyncio.Event) -> None:
    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
        # Only possible in the main thread of a Unix process; elsewhere the
        # caller stops the bot through ``stop``.
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
