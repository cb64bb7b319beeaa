"""A logging filter that keeps secrets out of every log line, at every level.

At DEBUG, discord.py logs each gateway payload (interaction tokens included)
and each REST route (``/interactions/{id}/{token}/callback``,
``/webhooks/{app}/{token}``); slack-bolt and slack-sdk log request bodies and
the ``response_url`` they post to. Anyone holding an interaction token or a
``response_url`` can speak as the bot for up to 15 or 30 minutes, and a bot
token for ever, so none of them may reach a log file. The same payloads carry
people's questions and the bot's answers (``chat.postMessage`` bodies, Socket
Mode envelopes, gateway events), which are not the log's business either.

:class:`Redactor` rewrites a record's message (and its formatted traceback)
before any handler writes it. It knows the configured tokens, recognises the
shapes of Slack and Discord secrets, and can be told about more while running
(the Slack HTTP server registers each ``response_url`` it receives). In the
records of other libraries' loggers it also replaces every payload: a quoted
string, or a bracketed structure holding one (a request or response body, an
event), whatever the library's message looks like around it.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any

REDACTED = "[redacted]"

# Loggers of the libraries that talk to the platforms. A filter on a logger only
# sees records created by that very logger (not its children's), so each is named;
# the root handlers get the filter too, which covers every logger that propagates.
LIBRARY_LOGGERS = (
    "discord",
    "discord.client",
    "discord.gateway",
    "discord.http",
    "discord.shard",
    "discord.state",
    "discord.webhook.async_",
    "discord.app_commands.tree",
    "slack_bolt",
    "slack_bolt.App",
    "bot.slack_bolt",
    "slack_sdk",
    "slack_sdk.web.base_client",
    "slack_sdk.webhook.client",
    "slack_sdk.socket_mode.builtin.client",
    "slack_sdk.socket_mode.builtin.connection",
    "urllib3",
    "urllib3.connectionpool",
    "aiohttp",
    "aiohttp.access",
    "aiohttp.client",
    "aiohttp.server",
    "aiohttp.web",
    "aiohttp.websocket",
    "waitress",
    "waitress.queue",
)

_PATTERNS = [
    # Slack tokens: bot, user, app-level, refresh, config (xoxb-, xoxp-, xapp-, xoxe-...).
    re.compile(r"\bxox[abeoprs](?:\.[\w-]+)?-[\w-]+"),
    re.compile(r"\bxapp-[\w-]+"),
    # Discord bot tokens: base64 user id, timestamp and HMAC separated by dots.
    re.compile(r"\b[MNO][\w-]{23,27}\.[\w-]{6}\.[\w-]{27,}"),
    # Discord interaction tokens start with base64("interaction:").
    re.compile(r"aW50ZXJhY3Rpb24[\w.-]*"),
    # Slack's response_url and incoming webhooks.
    re.compile(r"https?://hooks\.slack(?:-gov)?\.com/\S*"),
]
# Interaction tokens and webhook tokens inside Discord REST paths.
_DISCORD_PATHS = re.compile(r"(/(?:interactions/\d+|webhooks/\d+)/)([^/\s?'\"]+)")
# A secret under a well-known key, in JSON, a Python repr or a form body.
_KEYED = re.compile(
    r"""(?P<key>['"]?\b(?:token|response_url|signing_secret|authorization|x-slack-signature)"""
    r"""['"]?\s*[:=]\s*)(?P<value>'[^']*'|"[^"]*"|[^\s&,}\]]+)""",
    re.IGNORECASE,
)
_REMEMBERED = 4096  # dynamic secrets (response_urls) kept; the oldest are forgotten first
# Loggers whose messages quotebot writes itself, never with a payload in them; bolt
# logs through "bot.slack_bolt", which is a library's like any other.
_OWN_LOGGERS = re.compile(r"(?:bot|index)(?:\.|$)")
_LIBRARY_IN_OWN = re.compile(r"bot\.slack_bolt(?:\.|$)")
# Where a payload can begin: a bracket, or a quote (or b-quote) that does not sit
# inside a word, so the apostrophe of "can't" starts nothing.
_PAYLOAD_START = re.compile(r"""[{\[]|(?<![\w'"])b?['"]""")
_BRACKETS = re.compile(r"""[{}\[\]'"]""")
_CLOSERS = {"{": "}", "[": "]"}
_STRING_STOPS = {"'": re.compile(r"['\\]"), '"': re.compile(r'["\\]')}


class Redactor(logging.Filter):
    """Replace secrets in log records with ``[redacted]``; never drops a record."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._fixed = {s for s in secrets if s and len(s) >= 6}
        self._dynamic: OrderedDict[str, None] = OrderedDict()

    def add(self, secret: str) -> None:
        """Also redact ``secret`` (e.g. a ``response_url`` just received) from now on."""
        if not secret or len(secret) < 6:
            return
        with self._lock:
            self._dynamic[secret] = None
            self._dynamic.move_to_end(secret)
            while len(self._dynamic) > _REMEMBERED:
                self._dynamic.popitem(last=False)

    def add_response_urls(self, body: Mapping[str, Any]) -> None:
        """Redact the ``response_url``(s) of a Slack request body from now on.

        A response_url lets whoever holds it post as the bot for 30 minutes.
        """
        urls = [body.get("response_url")]
        urls += [u.get("response_url") for u in body.get("response_urls") or [] if _is_map(u)]
        for url in urls:
            if isinstance(url, str):
                self.add(url)

    def redact(self, text: str) -> str:
        """``text`` with every secret this filter knows of replaced."""
        with self._lock:
            known = [*self._fixed, *self._dynamic]
        # Longest first, so a URL is replaced before a prefix of it.
        for secret in sorted(known, key=len, reverse=True):
            if secret in text:
                text = text.replace(secret, REDACTED)
        for pattern in _PATTERNS:
            text = pattern.sub(REDACTED, text)
        text = _DISCORD_PATHS.sub(rf"\1{REDACTED}", text)
        return _KEYED.sub(_keyed, text)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: let logging report it as usual
            return True
        clean = self.redact(message)
        if not _OWN_LOGGERS.match(record.name) or _LIBRARY_IN_OWN.match(record.name):
            clean = mask_payloads(clean)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def mask_payloads(text: str) -> str:
    """``text`` with each quoted string, and each bracketed structure holding one, replaced.

    Made for the messages of libraries that log what they send and receive
    (``json_body: {...}``, ``body: "..."``, ``Received bytes: b'...'``): the
    words around a payload stay, the payload goes. A payload cut short (a quote or
    bracket never closed) is masked to the end. Empty ones (``{}``, ``''``) and
    brackets without a string inside (``[Errno 111]``) stay, they tell nothing.
    """
    parts: list[str] = []
    done = 0
    while found := _PAYLOAD_START.search(text, done):
        start = found.start()
        if text[start] in _CLOSERS:
            end = _structure_end(text, start)
            keep = '"' not in text[start:end] and "'" not in text[start:end]
        else:
            quote = start + len(found.group()) - 1
            end = _literal_end(text, quote)
            keep = end - quote == 2  # an empty string
        parts.append(text[done:end] if keep else text[done:start] + REDACTED)
        done = end
    parts.append(text[done:])
    return "".join(parts)


def _literal_end(text: str, quote: int) -> int:
    """The index after the string literal whose opening quote is at ``quote``."""
    stops = _STRING_STOPS[text[quote]]
    i = quote + 1
    while found := stops.search(text, i):
        if found.group() != "\\":
            return found.end()
        i = found.end() + 1  # an escaped character
    return len(text)


def _structure_end(text: str, start: int) -> int:
    """The index after the bracketed structure opened at ``start`` (its strings skipped)."""
    expected = [_CLOSERS[text[start]]]
    i = start + 1
    while expected and (found := _BRACKETS.search(text, i)):
        char = found.group()
        i = found.end()
        if char in "'\"":
            i = _literal_end(text, found.start())
        elif char in _CLOSERS:
            expected.append(_CLOSERS[char])
        elif char == expected[-1]:
            expected.pop()
        else:
            return len(text)  # mismatched: not a structure after all; mask the rest
    return i if not expected else len(text)


def _is_map(value: object) -> bool:
    return isinstance(value, Mapping)


def _keyed(match: re.Match[str]) -> str:
    value = match["value"]
    if value == REDACTED or value.strip("'\"") in ("", REDACTED, "None", "null"):
        return match[0]
    quote = value[0] if value[0] in "'\"" else ""
    return f"{match['key']}{quote}{REDACTED}{quote}"


def install(redactor: Redactor, extra_loggers: Iterable[str] = ()) -> Redactor:
    """Put ``redactor`` on the root logger's handlers and on the libraries' loggers.

    Call it after logging is configured (handlers added later are not covered,
    though records of the named loggers are redacted before any handler sees them).
    """
    for handler in logging.getLogger().handlers:
        if redactor not in handler.filters:
            handler.addFilter(redactor)
    for name in (*LIBRARY_LOGGERS, *extra_loggers):
        logger = logging.getLogger(name)
        if redactor not in logger.filters:
            logger.addFilter(redactor)
    return redactor


def uninstall(redactor: Redactor, extra_loggers: Iterable[str] = ()) -> None:
    """Remove what :func:`install` added (tests)."""
    for handler in logging.getLogger().handlers:
        handler.removeFilter(redactor)
    for name in (*LIBRARY_LOGGERS, *extra_loggers):
        logging.getLogger(name).removeFilter(redactor)
