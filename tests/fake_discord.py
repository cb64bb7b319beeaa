"""A loopback fake of Discord's v10 REST API and gateway, for end-to-end tests.

It follows Discord's documented payloads closely enough that the real,
unmodified discord.py client runs against it:

REST (under ``/api/v10``)
    ``GET /users/@me`` (401 for a wrong token), ``GET /oauth2/applications/@me``,
    ``GET /gateway/bot``, ``PUT /applications/{app}/commands`` and
    ``PUT /applications/{app}/guilds/{guild}/commands`` (bulk overwrite),
    ``POST /interactions/{id}/{token}/callback`` (404 "Unknown interaction" after
    Discord's 3-second deadline, 400 when already acknowledged),
    ``POST /webhooks/{app}/{token}`` (follow-ups) and
    ``GET|PATCH|DELETE /webhooks/{app}/{token}/messages/{@original|id}``,
    ``POST /channels/{channel}/messages`` (a message, or a reply with
    ``message_reference``) and ``GET /channels/{channel}/messages/{id}``.

Gateway (``/gateway``)
    HELLO (op 10), IDENTIFY (op 2; close 4004 for a wrong token), HEARTBEAT
    (op 1) answered by HEARTBEAT_ACK (op 11), RESUME (op 6), the READY dispatch,
    and INTERACTION_CREATE dispatches for slash commands (type 2) and button
    clicks (type 3). MESSAGE_CREATE for messages users post (:meth:`FakeDiscord.post`)
    goes to sessions that asked for the GUILD_MESSAGES intent; without the
    MESSAGE_CONTENT intent a message's content is blank unless it mentions the
    bot, as Discord does. Commands may run in a thread (:meth:`FakeDiscord.thread`).
    Sharding: ``GET /gateway/bot`` recommends ``shards``, an IDENTIFY may carry
    ``shard: [id, count]``, and a guild's interactions go only to the session of
    its shard, ``(guild_id >> 22) % count``, as Discord routes them (a session
    without ``shard`` is shard 0 of 1). Transport compression follows the
    ``compress`` query parameter: ``zlib-stream`` (one zlib context,
    each message ending in a Z_SYNC_FLUSH) or ``zstd-stream``.

The fake runs its own event loop in a thread, so tests drive it with plain
blocking calls and every wait is bounded by a timeout. It only binds 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import WSMsgType, web

API_PREFIX = "/api/v10"
INTERACTION_DEADLINE = 3.0  # seconds Discord allows before the first callback
EPHEMERAL = 1 << 6
MEMBER_PERMISSIONS = 2248473465835073  # an ordinary member: no Manage Server
MANAGE_GUILD = 1 << 5
ATTACHMENT_OPTION = 11
LOADING = 1 << 7

# Gateway intents (bits of IDENTIFY's ``intents``)
GUILD_MESSAGES_INTENT = 1 << 9
MESSAGE_CONTENT_INTENT = 1 << 15
# Channel and message types
PUBLIC_THREAD = 11
DEFAULT_MESSAGE, REPLY_MESSAGE = 0, 19

# Interaction callback types
PONG, CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE, UPDATE_MESSAGE = 1, 4, 5, 6, 7


@dataclass
class Request:
    """One REST call as the fake received it."""

    method: str
    path: str  # without the /api/v10 prefix
    query: dict[str, str]
    json: Any
    authorized: bool
    time: float
    status: int = 0  # what the fake answered


@dataclass
class Interaction:
    """An interaction the fake dispatched, and what the bot did with it."""

    payload: dict[str, Any]
    dispatched: float
    callbacks: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    original: dict[str, Any] | None = None  # the current original response message
    followups: list[dict[str, Any]] = field(default_factory=list)
    bodies: list[dict[str, Any]] = field(default_factory=list)  # every message body sent

    @property
    def id(self) -> str:
        return self.payload["id"]

    @property
    def token(self) -> str:
        return self.payload["token"]

    @property
    def first_callback_delay(self) -> float | None:
        return self.callbacks[0][0] - self.dispatched if self.callbacks else None

    @property
    def answered(self) -> bool:
        """True once a final (not "thinking…") message is visible to the user."""
        if self.followups:
            return True
        return self.original is not None and not self.original["flags"] & LOADING


class FakeDiscord:
    """Start with :meth:`start` (or ``with FakeDiscord() as fake``); stop with :meth:`stop`."""

    def __init__(
        self,
        *,
        token: str = "fake-bot-token",
        heartbeat_interval_ms: int = 200,
        guild_id: int = 1_100_000_000_000_000_001,
        shards: int = 1,
        roles: list[str] | None = None,
        other_guilds: tuple[int, ...] = (),
    ) -> None:
        self.shards = shards  # the shard count GET /gateway/bot recommends
        self.token = token
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.guild_id = str(guild_id)
        self._ids = itertools.count(1_200_000_000_000_000_001)
        self.application_id = self._next_id()
        self.bot_user = {
            "id": self.application_id,
            "username": "quotebot",
            "discriminator": "0",
            "global_name": None,
            "avatar": None,
            "bot": True,
            "public_flags": 0,
            "flags": 0,
        }
        self.channel_id = self._next_id()
        # Role name -> id. When given, the guild (with these roles) is sent in GUILD_CREATE
        # after READY, as Discord does for bots with the guilds intent.
        self.roles = {name: self._next_id() for name in (roles or {})}
        # More servers the bot is in, sent in GUILD_CREATE too, each with the same roles
        # (the same ids): what a role id seen from the wrong server would look like.
        self.other_guilds = [str(g) for g in other_guilds]
        self.attachments: dict[str, tuple[str, bytes]] = {}  # id -> (filename, bytes)
        self.attachment_downloads = 0
        self.messages: dict[str, dict[str, Any]] = {}  # every message, by id
        self.posted: list[dict[str, Any]] = []  # messages the bot posted to channels

        self.requests: list[Request] = []
        self.commands: dict[str | None, list[dict[str, Any]]] = {}  # guild id (None: global)
        self.interactions: dict[str, Interaction] = {}
        self.identify: dict[str, Any] | None = None
        self.identifies: list[dict[str, Any]] = []  # every IDENTIFY payload, in order
        self.compression: str | None = None
        self.heartbeats: list[float] = []
        self.acks: list[float] = []
        self.gateway_closes: list[int] = []
        self.resumes = 0
        self.session_shards: dict[str, tuple[int, int]] = {}  # session id -> [id, count]

        self._changed = threading.Condition()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._sessions: list[_GatewaySession] = []
        self.port = 0

    # Lifecycle

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    def start(self) -> FakeDiscord:
        started = threading.Event()
        self._thread = threading.Thread(
            target=self._serve, args=(started,), name="fake-discord", daemon=True
        )
        self._thread.start()
        if not started.wait(10):
            raise RuntimeError("the fake Discord did not start")
        return self

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        future = asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop)
        future.result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop = None

    def __enter__(self) -> FakeDiscord:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _serve(self, started: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        app = web.Application()
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get("/attachments/{id}/{filename}", self._attachment_file)
        app.router.add_route("*", API_PREFIX + "/{path:.*}", self._rest)
        self._runner = web.AppRunner(app, handle_signals=False)
        loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        started.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _shutdown(self) -> None:
        for session in list(self._sessions):
            await session.ws.close(code=1001)
        if self._runner is not None:
            await self._runner.cleanup()

    # Waiting (from the test thread)

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        """Block until ``predicate()`` holds; AssertionError after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out after {timeout} s waiting for the bot")
                self._changed.wait(left)

    def ready_sessions(self) -> int:
        """How many gateway connections have identified (or resumed) and are open."""
        return sum(1 for s in self._sessions if s.ready and not s.ws.closed)

    def notify(self) -> None:
        """Wake up :meth:`wait_for` callers (e.g. when the bot under test exits)."""
        with self._changed:
            self._changed.notify_all()

    # Driving the bot: dispatch interactions as a user would create them

    def run_command(
        self,
        name: str,
        options: dict[str, Any] | None = None,
        *,
        user_id: int = 4242,
        username: str = "asker",
        guild_id: int | str | None = None,
        channel_id: int | str | None = None,
        thread_of: int | str | None = None,
        permissions: int | None = None,
        roles: list[str] | None = None,
        channel: dict[str, Any] | None = None,
    ) -> Interaction:
        """Dispatch a slash command (interaction type 2) as if ``user_id`` typed it.

        ``guild_id`` (default: the fake's guild) chooses the guild, hence the shard;
        ``channel_id`` the channel (default: the fake's one), which is a thread of the
        channel ``thread_of`` when given. ``permissions`` (a bit set) and ``roles``
        (names given to the fake) describe the member. An attachment option's value is
        what :meth:`attachment` returned. ``channel``, when given, is the whole channel
        object where it is typed, e.g. a :meth:`thread`.
        """
        command = self._registered(name)
        types = {o["name"]: o["type"] for o in command.get("options", [])}
        data: dict[str, Any] = {
            "id": command["id"],
            "name": name,
            "type": 1,
            "options": [],
        }
        for key, value in (options or {}).items():
            kind = types.get(key, 3)
            if kind == ATTACHMENT_OPTION:
                resolved = data.setdefault("resolved", {}).setdefault("attachments", {})
                resolved[value["id"]] = value
                value = value["id"]
            data["options"].append({"name": key, "type": kind, "value": value})
        if command.get("guild_id"):
            data["guild_id"] = command["guild_id"]
        guild = str(guild_id) if guild_id is not None else None
        return self._dispatch_interaction(
            2,
            data,
            user_id,
            username,
            guild_id=guild,
            channel_id=str(channel_id) if channel_id is not None else None,
            thread_of=str(thread_of) if thread_of is not None else None,
            permissions=permissions,
            roles=[self.roles[r] for r in roles or []],
            channel=channel,
        )

    def attachment(
        self, filename: str, data: bytes, content_type: str = "text/plain", size: int | None = None
    ) -> dict[str, Any]:
        """An uploaded file, served at its ``url``; ``size`` may claim another size."""
        attachment_id = self._next_id()
        self.attachments[attachment_id] = (filename, data)
        # Discord names the file in its URL after its own clean-up; any fixed name will do.
        url = f"http://127.0.0.1:{self.port}/attachments/{attachment_id}/upload"
        return {
            "id": attachment_id,
            "filename": filename,
            "size": len(data) if size is None else size,
            "url": url,
            "proxy_url": url,
            "content_type": content_type,
        }

    async def _attachment_file(self, request: web.Request) -> web.StreamResponse:
        found = self.attachments.get(request.match_info["id"])
        if found is None:
            return web.Response(status=404)
        with self._changed:
            self.attachment_downloads += 1
            self._changed.notify_all()
        return web.Response(body=found[1], content_type="application/octet-stream")

    def thread(self, name: str = "follow-ups", *, owner_id: int = 4242) -> dict[str, Any]:
        """A new public thread (channel type 11) under the fake's text channel."""
        return {
            "id": self._next_id(),
            "type": PUBLIC_THREAD,
            "guild_id": self.guild_id,
            "parent_id": self.channel_id,
            "owner_id": str(owner_id),
            "name": name,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "message_count": 0,
            "member_count": 1,
            "total_message_sent": 0,
            "flags": 0,
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": 1440,
                "archive_timestamp": _timestamp(),
                "locked": False,
            },
        }

    def post(
        self,
        content: str,
        *,
        reply_to: dict[str, Any] | None = None,
        mention_bot: bool = True,
        user_id: int = 4242,
        username: str = "asker",
        channel_id: str | None = None,
    ) -> dict[str, Any]:
        """A user posts a message (a reply to ``reply_to`` when given); dispatches MESSAGE_CREATE.

        A reply mentions the author of the message it replies to unless the user
        turned that off (``mention_bot=False``), as Discord's client does.
        """
        user = self._user(user_id, username)
        channel = channel_id or (reply_to["channel_id"] if reply_to else self.channel_id)
        mentions = []
        if mention_bot and (reply_to is not None or f"<@{self.application_id}>" in content):
            mentions.append({**self.bot_user, "member": self._member(None)})
        message: dict[str, Any] = {
            "id": self._next_id(),
            "channel_id": channel,
            "guild_id": self.guild_id,
            "author": user,
            "member": self._member(None),
            "content": content,
            "timestamp": _timestamp(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": mentions,
            "mention_roles": [],
            "attachments": [],
            "embeds": [],
            "components": [],
            "pinned": False,
            "type": REPLY_MESSAGE if reply_to else DEFAULT_MESSAGE,
            "flags": 0,
        }
        if reply_to is not None:
            message["message_reference"] = {
                "type": 0,
                "message_id": reply_to["id"],
                "channel_id": reply_to["channel_id"],
                "guild_id": self.guild_id,
            }
            message["referenced_message"] = reply_to
        with self._changed:
            self.messages[message["id"]] = message
        self._call(self._broadcast_message(message))
        return message

    async def _broadcast_message(self, message: dict[str, Any]) -> None:
        mentioned = any(u["id"] == self.application_id for u in message["mentions"])
        for session in self._sessions:
            if not session.ready or not session.serves(self.guild_id):
                continue
            intents = int((session.identified or {}).get("intents", 0))
            if not intents & GUILD_MESSAGES_INTENT:
                continue
            data = message
            if not intents & MESSAGE_CONTENT_INTENT and not mentioned:
                data = {**message, "content": "", "embeds": [], "attachments": []}
            await session.dispatch("MESSAGE_CREATE", data)

    def run_unregistered_command(
        self, name: str, *, user_id: int = 4242, username: str = "asker"
    ) -> Interaction:
        """Dispatch ``/name`` though the bot never registered it.

        Discord does this when a client still lists a command from an older
        version of the bot (command lists are cached per client).
        """
        data = {"id": self._next_id(), "name": name, "type": 1, "options": []}
        return self._dispatch_interaction(2, data, user_id, username)

    def click(
        self,
        message: dict[str, Any],
        custom_id: str,
        *,
        user_id: int = 4242,
        username: str = "clicker",
    ) -> Interaction:
        """Dispatch a button click (interaction type 3) on ``message``."""
        ids = [
            c.get("custom_id") for row in message.get("components", []) for c in row["components"]
        ]
        if custom_id not in ids:
            raise AssertionError(f"{custom_id!r} is not a button on that message: {ids}")
        data = {"custom_id": custom_id, "component_type": 2}
        return self._dispatch_interaction(3, data, user_id, username, message=message)

    def _registered(self, name: str) -> dict[str, Any]:
        for scope in (self.guild_id, None):
            for command in self.commands.get(scope, []):
                if command["name"] == name:
                    return command
        raise AssertionError(f"/{name} is not registered")

    def _dispatch_interaction(
        self,
        kind: int,
        data: dict[str, Any],
        user_id: int,
        username: str,
        *,
        message: dict[str, Any] | None = None,
        guild_id: str | None = None,
        channel_id: str | None = None,
        thread_of: str | None = None,
        permissions: int | None = None,
        roles: list[str] | None = None,
        channel: dict[str, Any] | None = None,
    ) -> Interaction:
        guild = guild_id or self.guild_id
        user = self._user(user_id, username)
        channel_id = channel_id or self.channel_id
        channel = channel or {
            "id": channel_id,
            "type": 0,
            "guild_id": guild,
            "name": "general",
            "position": 0,
            "permission_overwrites": [],
            "nsfw": False,
            "parent_id": None,
            "topic": None,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "flags": 0,
        }
        if thread_of is not None:
            channel = {
                "id": channel_id,
                "type": 11,  # a public thread
                "guild_id": guild,
                "name": "a thread",
                "parent_id": thread_of,
                "owner_id": str(user_id),
                "message_count": 1,
                "member_count": 1,
                "rate_limit_per_user": 0,
                "flags": 0,
                "thread_metadata": {
                    "archived": False,
                    "auto_archive_duration": 1440,
                    "archive_timestamp": _timestamp(),
                    "locked": False,
                },
            }
        payload: dict[str, Any] = {
            "id": self._next_id(),
            "application_id": self.application_id,
            "type": kind,
            "data": data,
            "guild_id": guild,
            "channel_id": channel["id"],
            "channel": channel,
            "member": self._member(user, permissions=permissions, roles=roles),
            "token": "aW50ZXJhY3Rpb24" + secrets.token_urlsafe(48),
            "version": 1,
            "app_permissions": "2248473465835073",
            "locale": "en-US",
            "guild_locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {"0": guild},
            "context": 0,
            "attachment_size_limit": 10 * 1024 * 1024,
        }
        if message is not None:
            payload["message"] = message
        interaction = Interaction(payload=payload, dispatched=time.monotonic())
        with self._changed:
            self.interactions[interaction.id] = interaction
        self._call(self._broadcast("INTERACTION_CREATE", payload, guild_id=guild))
        return interaction

    def guild_payload(self, guild_id: str | None = None) -> dict[str, Any]:
        """The guild as GUILD_CREATE carries it: its roles, no channels or members."""
        guild_id = guild_id or self.guild_id
        everyone = {"id": guild_id, "name": "@everyone"}
        roles = [everyone] + [{"id": i, "name": n} for n, i in self.roles.items()]
        return {
            "id": guild_id,
            "name": "Quotebot Test",
            "icon": None,
            "owner_id": "1",
            "roles": [
                {
                    **role,
                    "color": 0,
                    "hoist": False,
                    "position": n,
                    "permissions": "0",
                    "managed": False,
                    "mentionable": False,
                    "flags": 0,
                }
                for n, role in enumerate(roles)
            ],
            "emojis": [],
            "features": [],
            "member_count": 2,
            "members": [],
            "channels": [],
            "threads": [],
            "voice_states": [],
            "presences": [],
            "stickers": [],
            "large": False,
            "unavailable": False,
            "joined_at": _timestamp(),
        }

    @staticmethod
    def _user(user_id: int, username: str) -> dict[str, Any]:
        return {
            "id": str(user_id),
            "username": username,
            "discriminator": "0",
            "global_name": username.title(),
            "avatar": None,
            "public_flags": 0,
        }

    @staticmethod
    def _member(
        user: dict[str, Any] | None,
        *,
        permissions: int | None = None,
        roles: list[str] | None = None,
    ) -> dict[str, Any]:
        """A guild member object (without ``user`` where Discord nests it elsewhere)."""
        member: dict[str, Any] = {
            "roles": roles or [],
            "joined_at": _timestamp(),
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "nick": None,
            "avatar": None,
            "premium_since": None,
            "communication_disabled_until": None,
            "permissions": str(MEMBER_PERMISSIONS if permissions is None else permissions),
        }
        if user is not None:
            member["user"] = user
        return member

    def _call(self, coro: Any) -> Any:
        if self._loop is None:
            raise RuntimeError("the fake Discord is not running")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    async def _broadcast(
        self, event: str, data: dict[str, Any], *, guild_id: str | None = None
    ) -> None:
        sessions = [s for s in self._sessions if s.ready]
        if guild_id is not None:
            sessions = [s for s in sessions if s.serves(guild_id)]
        if not sessions:
            raise AssertionError("no bot is connected to the gateway (for that guild's shard)")
        for session in sessions:
            await session.dispatch(event, data)

    def close_gateway(self, code: int) -> None:
        """Close every gateway connection with ``code`` (e.g. 4000 to make the bot reconnect)."""

        async def close() -> None:
            for session in list(self._sessions):
                await session.ws.close(code=code)

        self._call(close())

    # REST

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["path"]
        body: Any = None
        if request.can_read_body:
            raw = await request.read()
            if request.content_type == "application/json" and raw:
                body = json.loads(raw)
        authorized = request.headers.get("Authorization") == f"Bot {self.token}"
        record = Request(
            request.method, path, dict(request.query), body, authorized, time.monotonic()
        )
        with self._changed:
            self.requests.append(record)
            response = self._route(record)
            record.status = response.status
            self._changed.notify_all()
        return response

    def _route(self, r: Request) -> web.StreamResponse:
        parts = r.path.strip("/").split("/")
        webhook = parts[0] in ("webhooks", "interactions")
        if not webhook and not r.authorized:
            return _error(401, 0, "401: Unauthorized")
        match r.method, parts:
            case "GET", ["users", "@me"]:
                return _json(self.bot_user)
            case "GET", ["oauth2", "applications", "@me"]:
                return _json(self._application())
            case "GET", ["gateway", "bot"]:
                return _json(
                    {
                        "url": self.gateway_url,
                        "shards": self.shards,
                        "session_start_limit": {
                            "total": 1000,
                            "remaining": 999,
                            "reset_after": 14_400_000,
                            "max_concurrency": 1,
                        },
                    }
                )
            case "PUT", ["applications", app, "commands"] if app == self.application_id:
                return _json(self._overwrite_commands(None, r.json))
            case "PUT", ["applications", app, "guilds", guild, "commands"] if (
                app == self.application_id
            ):
                if guild != self.guild_id:
                    return _error(403, 50001, "Missing Access")
                return _json(self._overwrite_commands(guild, r.json))
            case "POST", ["interactions", interaction_id, token, "callback"]:
                return self._callback(interaction_id, token, r)
            case "POST", ["webhooks", app, token] if app == self.application_id:
                return self._followup(token, r)
            case method, ["webhooks", app, token, "messages", message_id] if (
                app == self.application_id
            ):
                return self._webhook_message(method, token, message_id, r)
            case "POST", ["channels", channel_id, "messages"]:
                return self._create_message(channel_id, r)
            case "GET", ["channels", channel_id, "messages", message_id]:
                found = self.messages.get(message_id)
                if found is None or found["channel_id"] != channel_id:
                    return _error(404, 10008, "Unknown Message")
                return _json(found)
        return _error(404, 0, "404: Not Found")

    def _create_message(self, channel_id: str, r: Request) -> web.StreamResponse:
        body = r.json or {}
        if not (body.get("content") or body.get("embeds")):
            return _error(400, 50006, "Cannot send an empty message")
        message: dict[str, Any] = {
            "id": self._next_id(),
            "channel_id": channel_id,
            "guild_id": self.guild_id,
            "author": self.bot_user,
            "content": body.get("content") or "",
            "timestamp": _timestamp(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": body.get("embeds") or [],
            "components": body.get("components") or [],
            "pinned": False,
            "type": DEFAULT_MESSAGE,
            "flags": body.get("flags", 0),
            "allowed_mentions": body.get("allowed_mentions"),
        }
        reference = body.get("message_reference")
        if reference:
            replied = self.messages.get(str(reference.get("message_id")))
            if replied is None:
                return _error(400, 50035, "Invalid Form Body: Unknown message")
            message.update(
                type=REPLY_MESSAGE,
                message_reference={
                    "type": 0,
                    "message_id": replied["id"],  # snowflakes go out as strings
                    "channel_id": channel_id,
                    "guild_id": self.guild_id,
                },
                referenced_message=replied,
            )
        self.messages[message["id"]] = message
        self.posted.append(message)
        return _json(message)

    def _application(self) -> dict[str, Any]:
        return {
            "id": self.application_id,
            "name": "quotebot",
            "icon": None,
            "description": "",
            "summary": "",
            "type": None,
            "bot_public": False,
            "bot_require_code_grant": False,
            "verify_key": "0" * 64,
            "flags": 0,
            "owner": {**self.bot_user, "id": "1000", "username": "owner", "bot": False},
            "team": None,
            "bot": self.bot_user,
            "interactions_endpoint_url": None,
            "rpc_origins": [],
            "redirect_uris": [],
            "tags": [],
        }

    def _overwrite_commands(self, guild: str | None, body: list[dict[str, Any]]) -> Any:
        previous = {c["name"]: c["id"] for c in self.commands.get(guild, [])}
        commands = []
        for command in body:
            created = {
                "type": 1,
                "options": [],
                "default_member_permissions": None,
                "nsfw": False,
                **command,
                "id": previous.get(command["name"]) or self._next_id(),
                "application_id": self.application_id,
                "version": self._next_id(),
            }
            if guild is not None:
                created["guild_id"] = guild
            commands.append(created)
        self.commands[guild] = commands
        return commands

    def _callback(self, interaction_id: str, token: str, r: Request) -> web.StreamResponse:
        interaction = self.interactions.get(interaction_id)
        if interaction is None or interaction.token != token:
            return _error(404, 10062, "Unknown interaction")
        if interaction.callbacks:
            return _error(400, 40060, "Interaction has already been acknowledged.")
        if r.time - interaction.dispatched > INTERACTION_DEADLINE:
            return _error(404, 10062, "Unknown interaction")
        body = r.json or {}
        interaction.callbacks.append((r.time, body))
        kind = body.get("type")
        data = body.get("data") or {}
        message: dict[str, Any] | None = None
        if kind == CHANNEL_MESSAGE:
            interaction.bodies.append(data)
            message = self._message(interaction, data, flags=data.get("flags", 0))
            interaction.original = message
        elif kind == DEFERRED_CHANNEL_MESSAGE:
            message = self._message(interaction, {}, flags=(data.get("flags", 0) | LOADING))
            interaction.original = message
        elif kind == UPDATE_MESSAGE:
            interaction.bodies.append(data)
        if r.query.get("with_response") not in ("1", "true", "True"):
            return web.Response(status=204)
        response: dict[str, Any] = {
            "interaction": {
                "id": interaction.id,
                "type": interaction.payload["type"],
            }
        }
        if message is not None:
            response["interaction"].update(
                response_message_id=message["id"],
                response_message_loading=bool(message["flags"] & LOADING),
                response_message_ephemeral=bool(message["flags"] & EPHEMERAL),
            )
            response["resource"] = {"type": kind, "message": message}
        return _json(response)

    def _interaction_by_token(self, token: str) -> Interaction | None:
        for interaction in self.interactions.values():
            if interaction.token == token:
                return interaction
        return None

    def _followup(self, token: str, r: Request) -> web.StreamResponse:
        interaction = self._interaction_by_token(token)
        if interaction is None or not interaction.callbacks:
            return _error(404, 10015, "Unknown Webhook")
        body = r.json or {}
        interaction.bodies.append(body)
        message = self._message(interaction, body, flags=body.get("flags", 0))
        interaction.followups.append(message)
        if r.query.get("wait") in ("1", "true", "True"):
            return _json(message)
        return web.Response(status=204)

    def _webhook_message(
        self, method: str, token: str, message_id: str, r: Request
    ) -> web.StreamResponse:
        interaction = self._interaction_by_token(token)
        if interaction is None or not interaction.callbacks:
            return _error(404, 10015, "Unknown Webhook")
        messages = ([interaction.original] if interaction.original else []) + interaction.followups
        if message_id == "@original":
            target = interaction.original
        else:
            target = next((m for m in messages if m["id"] == message_id), None)
        if target is None:
            return _error(404, 10008, "Unknown Message")
        if method == "GET":
            return _json(target)
        if method == "DELETE":
            if target is interaction.original:
                interaction.original = None
            else:
                interaction.followups.remove(target)
            return web.Response(status=204)
        if method != "PATCH":
            return _error(405, 0, "405: Method Not Allowed")
        body = r.json or {}
        interaction.bodies.append(body)
        for key in ("content", "embeds", "components", "allowed_mentions"):
            if key in body:
                target[key] = body[key] if body[key] is not None else _EMPTY[key]
        target["flags"] = target["flags"] & ~LOADING
        target["edited_timestamp"] = _timestamp()
        return _json(target)

    def _message(
        self, interaction: Interaction, body: dict[str, Any], *, flags: int
    ) -> dict[str, Any]:
        user = interaction.payload["member"]["user"]
        message = {
            "id": self._next_id(),
            "channel_id": interaction.payload["channel_id"],
            "guild_id": self.guild_id,
            "author": self.bot_user,
            "content": body.get("content") or "",
            "timestamp": _timestamp(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": body.get("embeds") or [],
            "components": body.get("components") or [],
            "pinned": False,
            "type": 20 if interaction.payload["type"] == 2 else 0,
            "flags": flags,
            "webhook_id": self.application_id,
            "application_id": self.application_id,
            "interaction_metadata": {
                "id": interaction.id,
                "type": interaction.payload["type"],
                "user": user,
                "authorizing_integration_owners": {"0": self.guild_id},
            },
        }
        self.messages[message["id"]] = message
        return message

    # Gateway

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(autoclose=True, max_msg_size=0)
        await ws.prepare(request)
        session = _GatewaySession(self, ws, request.query.get("compress"))
        self.compression = session.compression
        self._sessions.append(session)
        try:
            await session.run()
        finally:
            self._sessions.remove(session)
            if ws.close_code is not None:
                self.gateway_closes.append(ws.close_code)
            self.notify()
        return ws

    def _next_id(self) -> str:
        return str(next(self._ids))


class _GatewaySession:
    def __init__(self, fake: FakeDiscord, ws: web.WebSocketResponse, compression: str | None):
        self.fake = fake
        self.ws = ws
        self.compression = compression
        self.ready = False
        self.sequence = 0
        self.shard: tuple[int, int] = (0, 1)  # [id, count] from IDENTIFY
        self.identified: dict[str, Any] | None = None  # this session's IDENTIFY payload
        self.session_id = secrets.token_hex(16)
        self._send_lock = asyncio.Lock()
        self._zlib = zlib.compressobj() if compression == "zlib-stream" else None
        self._zstd = None
        if compression == "zstd-stream":
            import zstandard

            self._zstd = zstandard.ZstdCompressor().compressobj()

    def serves(self, guild_id: str) -> bool:
        """Whether Discord would send this guild's events to this session."""
        shard_id, count = self.shard
        return (int(guild_id) >> 22) % count == shard_id

    async def run(self) -> None:
        await self.send({"op": 10, "d": {"heartbeat_interval": self.fake.heartbeat_interval_ms}})
        async for message in self.ws:
            if message.type is not WSMsgType.TEXT:
                break
            payload = json.loads(message.data)
            op = payload.get("op")
            if op == 1:  # HEARTBEAT
                with self.fake._changed:
                    self.fake.heartbeats.append(time.monotonic())
                await self.send({"op": 11})
                with self.fake._changed:
                    self.fake.acks.append(time.monotonic())
                    self.fake._changed.notify_all()
            elif op == 2:  # IDENTIFY
                await self._identify(payload["d"])
            elif op == 6:  # RESUME
                if payload["d"].get("token") != self.fake.token:
                    await self.ws.close(code=4004, message=b"Authentication failed.")
                    return
                self.ready = True
                self.shard = self.fake.session_shards.get(payload["d"].get("session_id"), (0, 1))
                self.fake.resumes += 1
                await self.dispatch("RESUMED", {})
                self.fake.notify()

    async def _identify(self, data: dict[str, Any]) -> None:
        if data.get("token") != self.fake.token:
            await self.ws.close(code=4004, message=b"Authentication failed.")
            return
        self.fake.identify = data
        self.fake.identifies.append(data)
        self.identified = data
        if "shard" in data:
            shard_id, count = (int(x) for x in data["shard"])
            if not 0 <= shard_id < count:
                await self.ws.close(code=4010, message=b"Invalid shard.")
                return
            self.shard = (shard_id, count)
        self.fake.session_shards[self.session_id] = self.shard
        ready = {
            "v": 10,
            "user": {**self.fake.bot_user, "verified": True, "mfa_enabled": False},
            "guilds": [],
            "session_id": self.session_id,
            "resume_gateway_url": self.fake.gateway_url,
            "application": {"id": self.fake.application_id, "flags": 0},
        }
        if "shard" in data:
            ready["shard"] = data["shard"]
        await self.dispatch("READY", ready)
        for guild in [self.fake.guild_id, *self.fake.other_guilds]:
            if self.fake.roles and self.serves(guild):
                await self.dispatch("GUILD_CREATE", self.fake.guild_payload(guild))
        self.ready = True
        self.fake.notify()

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        async with self._send_lock:
            self.sequence += 1
            await self._send_locked({"op": 0, "s": self.sequence, "t": event, "d": data})

    async def send(self, payload: dict[str, Any]) -> None:
        async with self._send_lock:
            await self._send_locked({"s": None, "t": None, **payload})

    async def _send_locked(self, payload: dict[str, Any]) -> None:
        if self.ws.closed:
            return
        raw = json.dumps(payload).encode()
        if self._zlib is not None:
            await self.ws.send_bytes(self._zlib.compress(raw) + self._zlib.flush(zlib.Z_SYNC_FLUSH))
        elif self._zstd is not None:
            import zstandard

            chunk = self._zstd.compress(raw) + self._zstd.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)
            await self.ws.send_bytes(chunk)
        else:
            await self.ws.send_str(raw.decode())


_EMPTY: dict[str, Any] = {"content": "", "embeds": [], "components": [], "allowed_mentions": None}


def _json(data: Any, status: int = 200) -> web.Response:
    # Exactly "application/json", as Discord sends it: discord.py parses no other type.
    return web.Response(
        body=json.dumps(data).encode(), status=status, headers={"Content-Type": "application/json"}
    )


def _error(status: int, code: int, message: str) -> web.Response:
    return _json({"message": message, "code": code}, status=status)


def _timestamp() -> str:
    return datetime.now(UTC).isoformat()
