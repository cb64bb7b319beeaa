"""Slack HTTP mode as the network sees it: refusals, timeouts, health, metrics, SIGTERM.

The real bolt app behind the real waitress server on loopback, driven with raw
sockets where a well-behaved HTTP client would not send what an attacker sends.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest
from fake_slack import (
    BOT_TOKEN,
    BOT_USER_ID,
    SIGNING_SECRET,
    FakeSlack,
    loopback_only,  # noqa: F401  (autouse: loopback only)
    mention_event,
    slash_command,
    texts,
)
from test_slack import QUESTION, VOTE_SENTENCE, GatedService, Running, serve

from bot.service import QuoteService

ROOT = Path(__file__).resolve().parent.parent


def raw_request(
    running: Running,
    body: bytes,
    *,
    content_type: str = "application/json",
    timestamp: str | None = None,
    sign: bool = True,
    secret: str = SIGNING_SECRET,
    path: str = "/slack/events",
    method: str = "POST",
) -> tuple[int, bytes]:
    """Send one HTTP/1.1 request over a fresh socket; return status and body."""
    ts = timestamp if timestamp is not None else str(int(time.time()))
    headers = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    if method == "POST":
        headers += [f"Content-Type: {content_type}", f"Content-Length: {len(body)}"]
    if sign:
        base = b"v0:" + ts.encode() + b":" + body
        digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
        headers += [f"X-Slack-Request-Timestamp: {ts}", f"X-Slack-Signature: v0={digest}"]
    port = int(running.url.split(":")[2].split("/")[0])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(("\r\n".join(headers) + "\r\n\r\n").encode() + body)
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    head, _, payload = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), payload


def port_of(running: Running) -> int:
    return int(running.url.split(":")[2].split("/")[0])


# -- refusals ---------------------------------------------------------------------------


def test_a_large_unsigned_body_is_refused_without_logging_it(
    slack: Running, caplog: pytest.LogCaptureFixture
) -> None:
    marker = b"SECRET-BODY-MARKER "
    body = marker * (900_000 // len(marker))  # just under the 1 MB limit

    with caplog.at_level(logging.DEBUG):
        status, _ = raw_request(slack, body, sign=False)
        forged_status, _ = raw_request(slack, body, secret="not-the-signing-secret")

    assert (status, forged_status) == (401, 401)
    assert "SECRET-BODY-MARKER" not in caplog.text
    assert len(caplog.text) < 2_000  # a line or two per request, not the 900 kB body
    refusals = [r for r in caplog.records if "refused 401" in r.getMessage()]
    assert len(refusals) == 2
    assert all(str(len(body)) in r.getMessage() for r in refusals)  # the size is logged


def test_a_body_over_the_limit_is_refused_before_it_is_sent(
    slack: Running, caplog: pytest.LogCaptureFixture
) -> None:
    port = port_of(slack)
    with caplog.at_level(logging.DEBUG), socket.create_connection(("127.0.0.1", port), 10) as conn:
        # Announce 20 MB and send none of it: the answer must not wait for the body.
        conn.sendall(
            b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 20971520\r\n\r\n"
        )
        head = conn.recv(4096)

    assert head.startswith(b"HTTP/1.1 413")
    assert len(caplog.text) < 1_000
    assert "refused 413" in caplog.text
    _, scraped = http_get(slack, "/metrics")
    refused = "quotebot_http_refused_total"
    assert metric(scraped, refused, status="413", reason="request entity too large") == 1


def test_every_refusal_of_the_server_is_counted_with_its_reason(slack: Running) -> None:
    port = port_of(slack)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:  # waitress's own
        conn.sendall(b"POST /slack/events HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n")
        assert conn.recv(4096).split(b" ")[1] == b"400"
    assert raw_request(slack, b"{}", sign=False)[0] == 401  # the Slack gate's
    assert raw_request(slack, b"", method="GET", sign=False)[0] == 405
    assert http_get(slack, "/wp-login.php")[0] == 404  # no such page
    assert http_get(slack, "/healthz")[0] == 200  # not a refusal

    _, scraped = http_get(slack, "/metrics")

    counted = {
        (labels["status"], labels["reason"]): float(value)
        for labels, value in samples(scraped, "quotebot_http_refused_total")
    }
    assert counted == {
        ("400", "bad request"): 1,
        ("401", "no Slack signature"): 1,
        ("405", "only POST is accepted"): 1,
        ("404", "not found"): 1,
    }


@pytest.mark.parametrize(
    ("body", "content_type", "timestamp"),
    [
        (b'{"type": "event_callback", "event": ', "application/json", None),
        (b'["a", "list"]', "application/json", None),
        (b"payload=%7Bnot-json", "application/x-www-form-urlencoded", None),
        (b'{"text": "caf\xe9 \xff"}', "application/json", None),
        (b'{"type": "event_callback"}', "application/json", "17000x0000"),
        (b"just text", "text/plain", None),
    ],
    ids=["malformed-json", "json-not-object", "payload-not-json", "not-utf8", "bad-ts", "type"],
)
def test_malformed_signed_requests_get_400_and_one_log_line(
    slack: Running,
    caplog: pytest.LogCaptureFixture,
    body: bytes,
    content_type: str,
    timestamp: str | None,
) -> None:
    with caplog.at_level(logging.DEBUG, logger="bot"):
        status, reply = raw_request(slack, body, content_type=content_type, timestamp=timestamp)
        slack.stop()

    assert status == 400
    assert "error" in json.loads(reply)
    lines = [r for r in caplog.records if r.name.startswith("bot") and r.levelno >= logging.INFO]
    assert len(lines) <= 2  # the refusal (and the stop notice)
    assert any("refused 400" in r.getMessage() for r in lines)
    assert "Traceback" not in caplog.text and not any(r.exc_info for r in caplog.records)
    assert [s.kind for s in slack.fake.sent if s.kind != "auth.test"] == []


def test_an_idle_connection_is_closed_after_the_timeout(
    service: QuoteService, tmp_path: Path
) -> None:
    with FakeSlack() as fake, serve(fake, service, tmp_path, http_timeout=1.0) as running:
        idle = socket.create_connection(("127.0.0.1", port_of(running)), timeout=10)
        started = time.monotonic()
        assert idle.recv(1) == b""  # the server hung up on a connection that sent nothing
        waited = time.monotonic() - started
        idle.close()
        # ... and still serves others.
        assert running.ask(QUESTION, "after").status == 200

    assert 0.9 <= waited < 10


# -- health and metrics -------------------------------------------------------------------


def http_get(running: Running, path: str) -> tuple[int, str]:
    status, body = raw_request(running, b"", method="GET", path=path, sign=False)
    return status, body.decode()


def samples(text: str, name: str) -> list[tuple[dict[str, str], str]]:
    """The labels and value of each sample of metric ``name`` in the Prometheus text format."""
    found = []
    for line in text.splitlines():
        sample = re.fullmatch(r"(\w+)(?:\{(.*)\})? (\S+)", line)
        if sample and sample.group(1) == name:
            labels = dict(re.findall(r'(\w+)="([^"]*)"', sample.group(2) or ""))
            found.append((labels, sample.group(3)))
    return found


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample in the Prometheus text format (0 when absent)."""
    for pairs, value in samples(text, name):
        if pairs == labels:
            return float(value)
    return 0.0


def test_healthz_reports_the_index_on_the_slack_port(slack: Running) -> None:
    status, body = http_get(slack, "/healthz")

    assert status == 200
    report = json.loads(body)
    assert report["status"] == "ok"
    assert report["index"]["sentences"] == len(slack.bot.service.index)
    assert report["database"] == {"backend": "sqlite", "reachable": True}


def test_metrics_count_questions_by_outcome_and_retries(
    service: QuoteService, tmp_path: Path
) -> None:
    with FakeSlack() as fake, serve(fake, service, tmp_path, cooldown_rate=2) as running:
        _, before = http_get(running, "/metrics")
        # Each answer is awaited before the next question: answers run on a pool after
        # the ack, so under load a later question could otherwise take the cooldown.
        running.ask(QUESTION, "one")
        fake.wait_calls("response_url", count=1)
        running.ask("What is the boiling point of mercury?", "two")
        fake.wait_calls("response_url", count=2)
        running.ask(QUESTION, "three")  # the third in a minute: cooldown
        event = mention_event(f"<@{BOT_USER_ID}> {QUESTION}", event_id="EvM1", user="UOTHER")
        running.event(event)
        running.event(event, headers={"X-Slack-Retry-Num": "1"})
        fake.wait_calls("response_url", count=3)
        fake.wait_calls("chat.postMessage")
        # The retry is recognised on the listener pool too, maybe after the answer.
        deadline = time.monotonic() + 10
        while True:
            status, after = http_get(running, "/metrics")
            retried = metric(after, "quotebot_events_deduplicated_total", platform="slack")
            if retried or time.monotonic() > deadline:
                break
            time.sleep(0.05)

    assert status == 200

    q = "quotebot_questions_total"
    assert metric(before, q, platform="slack", outcome="answered") == 0
    answered = metric(after, q, platform="slack", outcome="answered")
    abstained = metric(after, q, platform="slack", outcome="abstained")
    assert answered + abstained == 3  # two asks and one mention were answered ...
    assert abstained >= 1  # ... the mercury question is not in the corpus
    assert metric(after, q, platform="slack", outcome="cooldown") == 1
    assert metric(after, "quotebot_events_deduplicated_total", platform="slack") == 1
    assert metric(after, "quotebot_answer_seconds_count", platform="slack") == 3
    assert metric(after, "quotebot_index_sentences") == len(service.index)


# -- stopping -------------------------------------------------------------------------------


def test_stopping_finishes_answers_in_flight(service: QuoteService, tmp_path: Path) -> None:
    gated = GatedService(service)
    with FakeSlack() as fake, serve(fake, gated, tmp_path) as running:
        assert running.ask(QUESTION, "in-flight").status == 200
        stopper = threading.Thread(target=running.stop)
        stopper.start()
        # No longer accepting new requests ...
        assert refuses_connections(port_of(running), within=10)
        # ... but the answer being computed is still delivered.
        gated.gate.set()
        stopper.join(15)
        assert not stopper.is_alive()
        (sent,) = fake.calls("response_url", target="in-flight")

    assert VOTE_SENTENCE in "\n".join(texts(sent.data["blocks"]))


def refuses_connections(port: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
        except OSError:
            return True
        time.sleep(0.05)
    return False


CHILD = """
import sys, time
from pathlib import Path
sys.path.insert(0, {tests!r})
from fakes import FakeEmbedder
from bot.cli import _configure_logging
from bot.config import Settings
from bot.adapters.slack_bot import run
from bot.storage import Store, open_store
from bot.service import QuoteService
from index.documents import load_corpus
from index.search import Searcher
from index.store import build_index

class Slow(QuoteService):
    def ask(self, question):
        time.sleep(1.5)
        return super().ask(question)

_configure_logging("INFO")
index = build_index(load_corpus(Path("corpus")), FakeEmbedder())
service = Slow(index, Searcher(index, FakeEmbedder()))
settings = Settings(slack_bot_token={token!r}, slack_signing_secret={secret!r},
                    slack_api_url={api!r})
run(settings, service, open_store(None, sqlite_path=Path({db!r})), http=True, port=0)
print("clean exit")
"""


def test_sigterm_lets_the_answer_in_flight_finish(tmp_path: Path) -> None:
    with FakeSlack() as fake:
        code = CHILD.format(
            tests=str(Path(__file__).parent),
            token=BOT_TOKEN,
            secret=SIGNING_SECRET,
            api=fake.api_url,
            db=str(tmp_path / "feedback.sqlite3"),
        )
        child = subprocess.Popen(
            [sys.executable, "-c", code],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            port = _listening_port(child)
            running = Running(fake, None, None, f"http://127.0.0.1:{port}/slack/events", None)  # type: ignore[arg-type]
            form = urlencode(slash_command(QUESTION, fake.response_url("term")))
            status, _ = raw_request(
                running, form.encode(), content_type="application/x-www-form-urlencoded"
            )
            assert status == 200
            child.send_signal(signal.SIGTERM)  # while the answer takes 1.5 s
            out, err = child.communicate(timeout=30)
        finally:
            if child.poll() is None:
                child.kill()
                child.communicate()
        answers = fake.calls("response_url", target="term")

    assert child.returncode == 0, err
    assert "clean exit" in out
    assert "Traceback" not in err
    assert len(answers) == 1 and VOTE_SENTENCE in "\n".join(texts(answers[0].data["blocks"]))


def _listening_port(child: subprocess.Popen[str]) -> int:
    assert child.stderr is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = child.stderr.readline()
        if not line:
            break
        found = re.search(r"listening on http://[\d.]+:(\d+)/", line)
        if found:
            return int(found.group(1))
    child.kill()
    raise AssertionError(f"the bot did not start: {child.communicate()[1]}")


@pytest.fixture
def slack(service: QuoteService, tmp_path: Path):  # type: ignore[no-untyped-def]
    with FakeSlack() as fake, serve(fake, service, tmp_path) as running:
        yield running


def test_bad_headers_get_400_and_one_log_line(
    slack: Running, caplog: pytest.LogCaptureFixture
) -> None:
    port = port_of(slack)
    with caplog.at_level(logging.DEBUG):
        for head in (
            b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: ten\r\n\r\n",
            b"POST /slack/events HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n",
        ):
            with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
                conn.sendall(head)
                assert conn.recv(4096).split(b" ")[1] == b"400"

    refusals = [r for r in caplog.records if "refused 400" in r.getMessage()]
    assert len(refusals) == 2
    assert "Bad Header Line" not in caplog.text and "Traceback" not in caplog.text
