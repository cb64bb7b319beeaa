"""Stopping quotebot's HTTP server (Slack's HTTP mode and the metrics port)."""

from __future__ import annotations

import socket
import time
from typing import Any

from test_slack_http import refuses_connections

from bot.config import Settings
from bot.http_server import HttpServer, ops_server
from bot.metrics import Health, Metrics
from bot.service import QuoteService


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


def test_the_metrics_port_counts_what_it_refuses(service: QuoteService) -> None:
    metrics = Metrics()
    server = ops_server(Settings(metrics_port=0), metrics, Health(lambda: service.index))
    assert server is not None
    try:
        for request, status in (
            (b"GET /admin HTTP/1.1\r\nHost: x\r\n\r\n", b"404"),
            (b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n", b"413"),
        ):
            with socket.create_connection(("127.0.0.1", server.port), timeout=10) as conn:
                conn.sendall(request)
                assert conn.recv(4096).split(b" ")[1] == status
        scraped = metrics.exposition().decode()
    finally:
        server.shutdown(grace=1)

    assert 'quotebot_http_refused_total{reason="not found",status="404"} 1.0' in scraped
    assert (
        'quotebot_http_refused_total{reason="request entity too large",status="413"} 1.0' in scraped
    )
