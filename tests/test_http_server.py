"""Stopping quotebot's HTTP server (Slack's HTTP mode and the metrics port)."""

from __future__ import annotations

import socket
import time
from typing import Any

from test_slack_http import refuses_connections

from bot.http import HttpServer


def hello(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello"]


def test_stopping_closes_everything_when_the_loop_can_no_longer_be_woken() -> None:
    server = HttpServer(hello, "127.0.0.1", 0, threads=1).start()
    client = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    reply = b""
    while not reply.endswith(b"hello"):
        reply += client.recv(4096)  # a kept-alive connection, still open
    # The pipe that wakes the server's loop is closed under it, on its own thread.
    trigger = server._server.trigger
    trigger.pull_trigger(trigger.close)
    deadline = time.monotonic() + 5
    while not trigger._closed and time.monotonic() < deadline:
        time.sleep(0.01)
    assert trigger._closed

    server.shutdown(grace=1)  # no exception

    assert client.recv(1) == b""  # the connection was closed
    assert refuses_connections(server.port, within=2)
    assert server._thread is not None and not server._thread.is_alive()
    client.close()
