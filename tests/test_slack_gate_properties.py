"""Property tests of Slack HTTP mode's front door: whatever arrives, a 4xx or an answer.

Random bytes, random content types and randomly nested JSON and form bodies, signed
and unsigned, go over a real socket to the real waitress server, the Slack gate and
bolt behind it. Each request gets a status below 500, the log holds no traceback,
and nothing reaches the Slack API except what a well-formed command asks for.
"""

from __future__ import annotations

import json
import logging
from urllib.parse import urlencode

import pytest
from fake_slack import FakeSlack, loopback_only  # noqa: F401  (autouse: loopback only)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_slack import serve
from test_slack_http import raw_request

from bot.service import QuoteService

PROPERTY = settings(
    max_examples=60,
    deadline=None,
    # One server serves every example: starting one per example would take minutes.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

CONTENT_TYPES = st.sampled_from(
    [
        "application/json",
        "application/x-www-form-urlencoded",
        "application/x-www-form-urlencoded; charset=utf-8",
        "text/plain",
        "multipart/form-data; boundary=x",
        "",
    ]
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)


@st.composite
def bodies(draw: st.DrawFn) -> tuple[bytes, str]:
    """A body and the content type it is sent with: random bytes or random structure."""
    shape = draw(st.sampled_from(["bytes", "json", "form", "payload"]))
    if shape == "bytes":
        return draw(st.binary(max_size=512)), draw(CONTENT_TYPES)
    if shape == "json":
        return json.dumps(draw(json_values)).encode(), "application/json"
    fields = draw(st.dictionaries(st.text(max_size=10), st.text(max_size=20), max_size=5))
    if shape == "payload":
        fields["payload"] = json.dumps(draw(json_values))
    return urlencode(fields).encode(), "application/x-www-form-urlencoded"


@pytest.fixture
def running(service: QuoteService, tmp_path):  # type: ignore[no-untyped-def]
    with FakeSlack() as fake, serve(fake, service, tmp_path) as running:
        yield running


@PROPERTY
@given(body=bodies(), sign=st.booleans())
def test_any_request_gets_a_status_below_500_and_no_traceback(
    running, caplog: pytest.LogCaptureFixture, body: tuple[bytes, str], sign: bool
) -> None:
    data, content_type = body
    caplog.clear()
    with caplog.at_level(logging.DEBUG):
        status, _ = raw_request(running, data, content_type=content_type, sign=sign)
    assert status < 500
    if not sign:
        assert status == 401
    assert "Traceback" not in caplog.text
    assert not any(r.exc_info for r in caplog.records)
    # A random body is never taken for a question: nothing is posted to a channel.
    assert not [s for s in running.fake.sent if s.kind == "chat.postMessage"]
