"""Documents added and removed by admins in Slack: a file in a DM, ``/remove``.

A shared file is downloaded with the bot token, from Slack's file host only.
"""

from __future__ import annotations

import logging
import urllib.request
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from slack_bolt import Respond
from slack_sdk import WebClient

from bot import messages, permissions
from bot.adapters.slack_blocks import notice, replying, unescape
from bot.config import Settings
from bot.errors import CollectionError
from bot.library import Library, safe_name, too_big

if TYPE_CHECKING:
    from bot.adapters.slack_bot import SlackBot

log = logging.getLogger(__name__)

API_TIMEOUT = 15  # seconds for one download


def add_from_direct_message(
    bot: SlackBot, body: dict[str, Any], event: dict[str, Any], client: WebClient
) -> None:
    """A file shared in a DM to the bot with the text ``add [collection]``."""
    if event.get("channel_type") != "im" or event.get("bot_id"):
        return  # channel messages (mentions have their own event) and bots
    user, files = event.get("user", ""), event.get("files") or []
    words = unescape(event.get("text", "")).split()
    asks_to_add = bool(words) and words[0].lower() == "add"
    if not user or user == bot.bot_user_id or not (files or asks_to_add):
        return  # other direct messages are not commands

    def reply(text: str) -> None:
        client.chat_postMessage(channel=event["channel"], text=notice(text))

    key = body.get("event_id") or f"{event.get('channel')}:{event.get('ts')}"
    with replying(reply):
        if not bot.asking.claim(f"event:{key}"):
            return
        if not files or not asks_to_add:  # "add" without a file, or a file without "add"
            reply(messages.SLACK_ADD_HINT)
            return
        library, collection = _admin_library(bot, user, words[1] if len(words) > 1 else None)
        for file in files:
            with replying(reply):
                name = safe_name(str(file.get("name") or ""))
                data = download(file, name, bot.settings)
                reply(library.add(name, data, collection).reply())


def remove_command(bot: SlackBot, command: dict[str, Any], respond: Respond) -> None:
    """``/remove <document> [collection]`` (default: the channel's collection)."""

    def private(text: str) -> None:
        respond(text=notice(text), response_type="ephemeral")

    with replying(private):
        words = unescape(command.get("text", "")).split()
        if not words or words == ["help"]:
            private(messages.SLACK_REMOVE_USAGE)
            return
        known = bot.library.config.collections if bot.library is not None else {}
        if len(words) > 1 and words[-1] in known:
            collection = words.pop()
        else:
            collection = bot.service.for_slack(command.get("channel_id")).collection
        library, collection = _admin_library(bot, command.get("user_id", ""), collection)
        private(library.remove(" ".join(words), collection).reply())


def _admin_library(bot: SlackBot, user: str, collection: str | None) -> tuple[Library, str]:
    """The library and the collection ``user`` may change; PermissionDenied says why not."""
    if bot.library is None:
        raise CollectionError(messages.ADD_UNAVAILABLE)
    who = permissions.Requester(permissions.SLACK, user)
    return bot.library, permissions.require(bot.library.config, collection, who)


def download(file: dict[str, Any], name: str, settings: Settings) -> bytes:
    """The bytes of a shared file, fetched with the bot token from Slack's file host only."""
    limit = settings.max_file_bytes
    size = int(file.get("size") or 0)
    if size > limit:
        raise CollectionError(too_big(name, size, settings.max_file_mb))
    url = str(file.get("url_private_download") or file.get("url_private") or "")
    if not _slack_file_url(url, settings.slack_api_url):
        log.warning("Slack: not downloading a shared file from an unexpected host")
        raise CollectionError(messages.ADD_DOWNLOAD_FAILED.format(name=name))
    request = urllib.request.Request(
        url, headers={"Authorization": f"Bearer {settings.slack_bot_token}"}
    )
    try:
        # No redirects: the token must never follow one to another host.
        with _NO_REDIRECTS.open(request, timeout=API_TIMEOUT) as response:
            data: bytes = response.read(limit + 1)
    except (OSError, ValueError) as exc:
        log.warning("Slack: downloading a shared file failed: %s", type(exc).__name__)
        raise CollectionError(messages.ADD_DOWNLOAD_FAILED.format(name=name)) from None
    if len(data) > limit:
        raise CollectionError(too_big(name, len(data), settings.max_file_mb))
    return data


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # the 3xx is then raised as an HTTPError


_NO_REDIRECTS = urllib.request.build_opener(_RefuseRedirects())


def _slack_file_url(url: str, api_url: str) -> bool:
    """Whether ``url`` is on Slack's file host, or on the host of SLACK_API_URL."""
    parts, api = urlsplit(url), urlsplit(api_url)
    if parts.scheme == "https" and parts.hostname == "files.slack.com":
        return True
    return bool(parts.netloc) and (parts.scheme, parts.netloc) == (api.scheme, api.netloc)
