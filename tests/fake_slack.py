"""A loopback stand-in for Slack: Web API, ``response_url`` and the Socket Mode websocket.

One aiohttp server on 127.0.0.1 (ephemeral port), run on its own event loop in
a background thread so the synchronous slack-bolt app under test can call it.
It records everything the app sends and lets a test push Socket Mode envelopes
and wait for their acks.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.error import HTTPError
from urllib.parse import parse_qsl, quote
from urllib.request import ProxyHandler, Request, build_opener

import pytest
from aiohttp import WSMsgType, web
from slack_sdk.models.blocks import Block
from slack_sdk.signature import SignatureVerifier

BOT_TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-test-token"
BOT_USER_ID = "UQUOTEBOT"
BOT_ID = "BQUOTEBOT"
TEAM_ID = "T0001"


@dataclass
class Sent:
    """One thing the app sent: a Web API call or a POST to a response_url."""

    kind: str  # the Web API method ("chat.postMessage") or "response_url"
    data: dict[str, Any]
    target: str = ""  # the response_url's name
    at: float = field(default_factory=time.monotonic)


class FakeSlack:
    """Use as a context manager; ``api_url`` goes into ``SLACK_API_URL``."""

    def __init__(self, *, bot_token: str = BOT_TOKEN, app_token: str = APP_TOKEN) -> None:
        self.bot_token = bot_token
        self.app_token = app_token
        self.sent: list[Sent] = []
        self.acks: dict[str, dict[str, Any]] = {}
        self.connections = 0  # websocket connections accepted
        self.files: dict[str, bytes] = {}  # file id -> what url_private serves
        self.downloads: list[str] = []  # file ids fetched with the bot token
        self._changed = threading.Condition()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fake-slack")
        self._runner: web.AppRunner | None = None
        self._sockets: list[web.WebSocketResponse] = []
        self.port = 0

    # -- lifecycle --------------------------------------------------------------

    def __enter__(self) -> FakeSlack:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_post("/api/{method}", self._web_api)
        app.router.add_post("/respond/{name}", self._response_url)
        app.router.add_get("/socket", self._socket)
        app.router.add_get("/files-pri/{id}/{name}", self._file)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def _stop(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # -- addresses --------------------------------------------------------------

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    def response_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/respond/{name}"

    # -- what the app sent --------------------------------------------------------

    def _record(self, item: Sent) -> None:
        with self._changed:
            self.sent.append(item)
            self._changed.notify_all()

    def calls(self, kind: str, target: str | None = None) -> list[Sent]:
        with self._changed:
            return [
                s for s in self.sent if s.kind == kind and (target is None or s.target == target)
            ]

    def wait_for(self, condition: Callable[[], object], timeout: float = 10.0) -> bool:
        """Block until ``condition()`` is true (re-checked whenever something arrives)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not condition():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(min(left, 0.1))
            return True

    def wait_calls(self, kind: str, count: int = 1, target: str | None = None) -> list[Sent]:
        assert self.wait_for(lambda: len(self.calls(kind, target)) >= count), (
            f"expected {count} {kind} call(s), got {self.calls(kind, target)}"
        )
        return self.calls(kind, target)

    # -- Web API ------------------------------------------------------------------

    @staticmethod
    def valid_blocks(data: dict[str, Any]) -> bool:
        """False where Slack would answer ``invalid_blocks``: a block of no Block Kit type,
        or one with fields its type does not have (slack_sdk's models read each block and
        must write it back unchanged)."""
        blocks = data.get("blocks")
        if blocks is None:
            return True
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        for block in blocks:
            parsed = Block.parse(block)
            if parsed is None or parsed.to_dict() != block:
                return False
        return True

    async def _web_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        raw = await request.text()
        if request.content_type == "application/json" and raw:
            data: dict[str, Any] = json.loads(raw)
        else:
            data = dict(parse_qsl(raw))
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") or str(data.get("token", ""))
        self._record(Sent(method, data))

        if method == "apps.connections.open":
            if token != self.app_token:
                return web.json_response({"ok": False, "error": "invalid_auth"})
            return web.json_response({"ok": True, "url": f"ws://127.0.0.1:{self.port}/socket"})
        if token != self.bot_token:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        if method == "auth.test":
            return web.json_response(
                {
                    "ok": True,
                    "url": "https://quotebot-test.slack.com/",
                    "team": "Quotebot Test",
                    "user": "quotebot",
                    "team_id": TEAM_ID,
                    "user_id": BOT_USER_ID,
                    "bot_id": BOT_ID,
                }
            )
        if method.startswith("chat.") and not self.valid_blocks(data):
            return web.json_response({"ok": False, "error": "invalid_blocks"})
        if method == "chat.postMessage":
            ts = f"{time.time():.6f}"
            return web.json_response(
                {"ok": True, "channel": data.get("channel"), "ts": ts, "message": {"ts": ts}}
            )
        if method == "chat.postEphemeral":
            return web.json_response({"ok": True, "message_ts": f"{time.time():.6f}"})
        return web.json_response({"ok": False, "error": "unknown_method"})

    async def _response_url(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        data = await request.json()
        self._record(Sent("response_url", data, target=name))
        if not self.valid_blocks(data):
            return web.Response(status=400, text="invalid_blocks")
        if name.startswith("expired"):  # Slack's answer once a response_url has expired
            return web.Response(status=404, text="expired_url")
        return web.Response(text="ok")

    # -- files shared with the bot -----------------------------------------------------

    def file(
        self, name: str, data: bytes, *, mimetype: str = "text/plain", size: int | None = None
    ) -> dict[str, Any]:
        """A file object as a ``file_share`` message carries it; its ``url_private`` is served."""
        file_id = "F" + uuid.uuid4().hex[:10].upper()
        self.files[file_id] = data
        url = f"http://127.0.0.1:{self.port}/files-pri/{TEAM_ID}-{file_id}/{quote(name)}"
        return {
            "id": file_id,
            "name": name,
            "title": name,
            "mimetype": mimetype,
            "filetype": name.rpartition(".")[2],
            "size": len(data) if size is None else size,
            "url_private": url,
            "url_private_download": url + "?download=1",
        }

    async def _file(self, request: web.Request) -> web.Response:
        # Slack serves private files only with the bot token in the Authorization header.
        if request.headers.get("Authorization") != f"Bearer {self.bot_token}":
            return web.Response(status=302, headers={"Location": "https://slack.com/"})
        file_id = request.match_info["id"].rpartition("-")[2]
        if file_id not in self.files:
            return web.Response(status=404)
        with self._changed:
            self.downloads.append(file_id)
            self._changed.notify_all()
        return web.Response(body=self.files[file_id], content_type="application/octet-stream")

    # -- Socket Mode -----------------------------------------------------------------

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.append(ws)
        with self._changed:
            self.connections += 1
            self._changed.notify_all()
        await ws.send_json(
            {"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0001"}}
        )
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                ack = json.loads(msg.data)
                with self._changed:
                    self.acks[ack["envelope_id"]] = ack
                    self._changed.notify_all()
        finally:
            self._sockets.remove(ws)
        return ws

    def send_envelope(
        self, kind: str, payload: dict[str, Any], *, retry_attempt: int = 0, retry_reason: str = ""
    ) -> str:
        """Push one envelope to the connected app; return its ``envelope_id``."""
        assert self.wait_for(lambda: self._sockets), "no Socket Mode connection"
        envelope_id = str(uuid.uuid4())
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": kind != "events_api",
        }
        if kind == "events_api":
            envelope.update(retry_attempt=retry_attempt, retry_reason=retry_reason)
        asyncio.run_coroutine_threadsafe(self._sockets[-1].send_json(envelope), self._loop).result(
            5
        )
        return envelope_id

    def send_disconnect(self) -> None:
        """Ask the app to reconnect, as Slack does every few hours (``refresh_requested``)."""
        assert self.wait_for(lambda: self._sockets), "no Socket Mode connection"
        message = {"type": "disconnect", "reason": "refresh_requested"}
        asyncio.run_coroutine_threadsafe(self._sockets[-1].send_json(message), self._loop).result(5)

    def wait_ack(self, envelope_id: str) -> dict[str, Any]:
        assert self.wait_for(lambda: envelope_id in self.acks), f"no ack for {envelope_id}"
        return self.acks[envelope_id]


# -- what Slack sends -------------------------------------------------------------------

SIGNING_SECRET = "test-signing-secret"
USER = "UASKER01"
CHANNEL = "CGENERAL1"


def slash_command(text: str, response_url: str, *, user: str = USER) -> dict[str, str]:
    """The fields of a ``/ask`` request (form-encoded in HTTP mode, a dict in Socket Mode)."""
    return {
        "token": "legacy-verification-token",
        "team_id": TEAM_ID,
        "team_domain": "quotebot-test",
        "channel_id": CHANNEL,
        "channel_name": "general",
        "user_id": user,
        "user_name": "asker",
        "command": "/ask",
        "text": text,
        "api_app_id": "A0001",
        "response_url": response_url,
        "trigger_id": "1337.42.abcd",
    }


def mention_event(
    text: str,
    *,
    event_id: str = "Ev0001",
    ts: str = "1700000000.000100",
    thread_ts: str | None = None,
    user: str = USER,
    bot_id: str | None = None,
) -> dict[str, Any]:
    """An Events API ``event_callback`` carrying an ``app_mention``."""
    event: dict[str, Any] = {
        "type": "app_mention",
        "user": user,
        "text": text,
        "ts": ts,
        "channel": CHANNEL,
        "event_ts": ts,
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    if bot_id:
        event["bot_id"] = bot_id
    return {
        "token": "legacy-verification-token",
        "team_id": TEAM_ID,
        "api_app_id": "A0001",
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": 1700000000,
        "authorizations": [
            {"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True, "enterprise_id": None}
        ],
    }


def dm_file_event(
    text: str,
    files: list[dict[str, Any]],
    *,
    user: str = USER,
    event_id: str = "EvFILE01",
    channel: str = "D0DIRECT",
) -> dict[str, Any]:
    """An Events API ``message`` (subtype ``file_share``) in a DM with the bot."""
    ts = f"{time.time():.6f}"
    event = {
        "type": "message",
        "subtype": "file_share",
        "channel_type": "im",
        "channel": channel,
        "user": user,
        "text": text,
        "files": files,
        "upload": True,
        "ts": ts,
        "event_ts": ts,
    }
    return {
        "token": "legacy-verification-token",
        "team_id": TEAM_ID,
        "api_app_id": "A0001",
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()),
        "authorizations": [
            {"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True, "enterprise_id": None}
        ],
    }


def button_click(
    action_id: str, value: str, response_url: str, *, user: str = USER
) -> dict[str, Any]:
    """A ``block_actions`` payload for a click on one of the answer's buttons."""
    return {
        "type": "block_actions",
        "user": {"id": user, "username": "asker", "team_id": TEAM_ID},
        "api_app_id": "A0001",
        "token": "legacy-verification-token",
        "container": {"type": "message", "channel_id": CHANNEL, "is_ephemeral": True},
        "trigger_id": "1337.42.abcd",
        "team": {"id": TEAM_ID, "domain": "quotebot-test"},
        "channel": {"id": CHANNEL, "name": "general"},
        "response_url": response_url,
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": "quotebot_actions",
                "value": value,
                "action_ts": "1700000001.000200",
            }
        ],
    }


def texts(blocks: list[dict[str, Any]]) -> list[str]:
    """Every text string in a list of blocks, in order."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                out.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(blocks)
    return out


def _quote_parts(blocks: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    return [
        element["elements"]
        for block in blocks
        if block["type"] == "rich_text"
        for element in block["elements"]
        if element["type"] == "rich_text_quote"
    ]


def quoted(blocks: list[dict[str, Any]]) -> list[str]:
    """The text of each rich-text block quote, in order, as a reader sees it."""
    return ["".join(part["text"] for part in parts) for parts in _quote_parts(blocks)]


def bold(blocks: list[dict[str, Any]]) -> list[list[str]]:
    """For each rich-text block quote, the parts of it shown in bold."""
    return [
        [part["text"] for part in parts if part.get("style", {}).get("bold")]
        for parts in _quote_parts(blocks)
    ]


def button_value(blocks: list[dict[str, Any]], action_id: str) -> str:
    for block in blocks:
        for element in block.get("elements", []):
            if element.get("action_id") == action_id:
                return str(element["value"])
    raise AssertionError(f"no {action_id} button")


def threads_left_behind(before: set[threading.Thread], timeout: float = 3.0) -> list[str]:
    """Threads started since ``before`` that are still running after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        left = [t.name for t in threading.enumerate() if t not in before and t.is_alive()]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.02)


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch, service: Any) -> Iterator[None]:
    # slack-sdk routes through a proxy named in the environment; tests talk to loopback only.
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    # Taken once the service exists: threads its index starts (tqdm's monitor) are not the bot's.
    before = set(threading.enumerate())
    yield
    assert threads_left_behind(before) == []


@dataclass
class Reply:
    status: int
    body: str
    seconds: float


def signed_post(
    url: str,
    body: str,
    content_type: str,
    *,
    secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
    headers: dict[str, str] | None = None,
) -> Reply:
    """POST ``body`` to ``url`` signed the way Slack signs requests."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    request = Request(
        url,
        data=body.encode(),
        method="POST",
        headers={
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": signature,
            **(headers or {}),
        },
    )
    opener = build_opener(ProxyHandler({}))
    start = time.monotonic()
    try:
        with opener.open(request, timeout=10) as response:
            return Reply(response.status, response.read().decode(), time.monotonic() - start)
    except HTTPError as error:
        return Reply(error.code, error.read().decode(), time.monotonic() - start)
