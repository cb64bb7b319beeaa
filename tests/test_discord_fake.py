"""The fake Discord itself speaks the gateway protocol with zlib-stream compression.

discord.py picks zstd-stream when a zstd library is installed and zlib-stream
otherwise; the end-to-end tests exercise whichever the environment has, and
this test covers zlib-stream with a raw websocket client.
"""

from __future__ import annotations

import asyncio
import json
import zlib
from typing import Any

import aiohttp
from fake_discord import FakeDiscord

ZLIB_SUFFIX = b"\x00\x00\xff\xff"


async def gateway_exchange(
    fake: FakeDiscord, token: str
) -> tuple[list[dict[str, Any]], int | None]:
    """Connect with zlib-stream, IDENTIFY with ``token``, heartbeat once; return what came back."""
    inflate = zlib.decompressobj()
    received: list[dict[str, Any]] = []
    url = f"{fake.gateway_url}?v=10&encoding=json&compress=zlib-stream"
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:

        async def next_payload() -> dict[str, Any] | None:
            buffer = b""
            while True:
                message = await asyncio.wait_for(ws.receive(), timeout=5)
                if message.type is not aiohttp.WSMsgType.BINARY:
                    return None
                buffer += message.data
                if buffer.endswith(ZLIB_SUFFIX):
                    return json.loads(inflate.decompress(buffer))

        hello = await next_payload()
        assert hello is not None
        received.append(hello)
        await ws.send_json({"op": 2, "d": {"token": token, "intents": 1, "properties": {}}})
        ready = await next_payload()
        if ready is None:
            return received, ws.close_code
        received.append(ready)
        await ws.send_json({"op": 1, "d": ready["s"]})
        ack = await next_payload()
        assert ack is not None
        received.append(ack)
        return received, None


def test_zlib_stream_hello_identify_ready_heartbeat_ack():
    with FakeDiscord(heartbeat_interval_ms=41250) as fake:
        received, closed = asyncio.run(gateway_exchange(fake, fake.token))

    hello, ready, ack = received
    assert hello["op"] == 10 and hello["d"]["heartbeat_interval"] == 41250
    assert ready["op"] == 0 and ready["t"] == "READY" and ready["s"] == 1
    assert ready["d"]["user"]["id"] == fake.application_id
    assert ready["d"]["application"]["id"] == fake.application_id
    assert ready["d"]["resume_gateway_url"] == fake.gateway_url and ready["d"]["session_id"]
    assert ack["op"] == 11
    assert closed is None and fake.compression == "zlib-stream"
    assert len(fake.heartbeats) == 1 and len(fake.acks) == 1


def test_a_wrong_token_is_refused_with_close_code_4004():
    with FakeDiscord() as fake:
        received, closed = asyncio.run(gateway_exchange(fake, "wrong"))
    assert [p["op"] for p in received] == [10]
    assert closed == 4004
