"""The Slack front end, on slack-bolt: ``/ask``, ``/sources``, mentions, vote and share buttons.

Two ways to connect, one bolt ``App``:

* Socket Mode (``SLACK_APP_TOKEN`` + ``SLACK_BOT_TOKEN``): the app opens a
  websocket to Slack, so no public URL is needed. It uses slack-sdk's built-in
  Socket Mode client, which has no extra dependencies.
* HTTP mode (``SLACK_BOT_TOKEN`` + ``SLACK_SIGNING_SECRET``): Slack POSTs
  events, slash commands and button clicks to ``/slack/events``; bolt checks
  every request's signature and timestamp and answers 401 when they are wrong.

The app runs with ``process_before_response=True``: each listener's ``ack``
function runs on the request thread and returns at once, and the answering runs
in bolt's lazy listeners on a worker pool, so Slack's 3-second deadline holds
however busy the service is.

Answering itself is :mod:`bot.asking`; this module turns Slack's events into
its calls and renders the answers with :mod:`bot.adapters.slack_blocks`.

HTTP mode is served by waitress (:mod:`bot.http_server`) behind
:class:`~bot.adapters.slack_http.SlackGate`, with ``/healthz`` and ``/metrics``
on the same port. SIGTERM stops accepting requests, lets the acknowledgements in
progress and every answer already queued finish, then exits.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk import WebClient
from slack_sdk.webhook import WebhookResponse

from bot import messages
from bot.adapters.slack_blocks import (
    ACTION_SHARE,
    ACTION_VOTE_DOWN,
    ACTION_VOTE_UP,
    answer_blocks,
    fallback_text,
    notice,
    replying,
    unescape,
)
from bot.adapters.slack_connect import (
    check_settings,
    check_token,
    connect_socket_mode,
    stop_on_sigterm,
)
from bot.adapters.slack_documents import add_from_direct_message, remove_command
from bot.adapters.slack_http import events_server
from bot.asking import Asking, Question, Thread
from bot.config import Settings
from bot.errors import QuotebotError
from bot.http_server import HttpServer
from bot.logfilter import Redactor
from bot.metrics import Health, Metrics
from bot.render import sources_text
from bot.routing import Service
from bot.storage import DOWN, UP, Store

log = logging.getLogger(__name__)

PLATFORM = "slack"
EVENTS_PATH = "/slack/events"
WORKERS = 8  # threads answering questions; acks never wait for them
API_TIMEOUT = 15  # seconds for one Web API call


class SlackBot:
    """A bolt ``App`` wired to the answering service, plus the ways to serve it.

    Building it checks the bot token with ``auth.test``. Call :meth:`close`
    when done; it stops the Socket Mode connection and the worker threads.

    Everything another replica needs (seen event ids, answers behind the
    buttons, votes, cooldown windows) is kept in ``store``, never in this process.
    """

    def __init__(
        self,
        settings: Settings,
        service: Service,
        store: Store,
        *,
        metrics: Metrics | None = None,
        redactor: Redactor | None = None,
    ) -> None:
        self.settings = settings
        self.service = service
        self.library = service.library  # files added in a DM, /remove
        self.store = store
        self.metrics = metrics or Metrics()
        self.redactor = redactor
        self.asking = Asking(settings, store, PLATFORM, self.metrics)
        self.client = WebClient(
            token=settings.slack_bot_token, base_url=settings.slack_api_url, timeout=API_TIMEOUT
        )
        identity = check_token(self.client, settings.slack_api_url)
        self.bot_user_id = str(identity.get("user_id", ""))
        log.info("Slack: signed in as %s in %s", identity.get("user"), identity.get("team"))
        self._executor = ThreadPoolExecutor(WORKERS, thread_name_prefix="quotebot-slack")
        self._socket: SocketModeHandler | None = None
        self.app = App(
            client=self.client,
            signing_secret=settings.slack_signing_secret,
            process_before_response=True,
            listener_executor=self._executor,
            logger=logging.getLogger("bot.slack_bolt"),
            name="quotebot",
        )
        self._register()

    # -- wiring ---------------------------------------------------------------

    def _register(self) -> None:
        app = self.app
        if self.redactor is not None:
            app.use(self._hide_response_urls)
        app.command("/ask")(ack=self._ack_ask, lazy=[self._answer_command])
        app.command("/sources")(self._sources)
        app.event("app_mention")(ack=_ack, lazy=[self._answer_mention])
        app.event("message")(ack=_ack, lazy=[self._direct_message])
        app.command("/remove")(ack=_ack, lazy=[self._remove_command])
        app.action(ACTION_VOTE_UP)(ack=_ack, lazy=[self._vote])
        app.action(ACTION_VOTE_DOWN)(ack=_ack, lazy=[self._vote])
        app.action(ACTION_SHARE)(ack=_ack, lazy=[self._share])

    def _hide_response_urls(self, body: dict[str, Any], next: Callable[[], None]) -> None:
        # Socket Mode requests do not pass SlackGate; both reach this middleware.
        if self.redactor is not None:
            self.redactor.add_response_urls(body)
        next()

    def socket_mode(self) -> SocketModeHandler:
        """Connect to Slack over Socket Mode (returns once connected; :meth:`close` ends it)."""
        self._socket = connect_socket_mode(self.app, self.settings, self.client)
        return self._socket

    def http_server(self, host: str, port: int, *, health: Health | None = None) -> HttpServer:
        """The HTTP server for ``/slack/events``, ``/healthz`` and ``/metrics``.

        It is bound on return; the caller runs :meth:`HttpServer.serve` (or ``start``).
        """
        health = health or Health(
            lambda: self.service.index, database=self.store.ping, backend=self.store.backend
        )
        return events_server(
            self.app, self.settings, self.metrics, health, host, port, redactor=self.redactor
        )

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        self._executor.shutdown(wait=True)

    # -- slash commands -------------------------------------------------------

    def _ack_ask(self, ack: Ack, command: dict[str, Any]) -> None:
        if _wants_help(command.get("text", "")):
            ack(text=notice(messages.SLACK_HELP), response_type="ephemeral")
        else:
            ack()

    def _answer_command(self, command: dict[str, Any], respond: Respond) -> None:
        if _wants_help(command.get("text", "")):
            return  # the ack has shown the help
        question = unescape(command.get("text", "")).strip()
        with replying(lambda text: respond(text=notice(text), response_type="ephemeral")):
            self.asking.admit(command.get("user_id", ""))
            route = self.service.for_slack(command.get("channel_id"))
            answer = self.asking.answer(Question(question, route))
            _check_delivery(
                respond(
                    text=fallback_text(answer),
                    blocks=answer_blocks(answer, shareable=True),
                    response_type="ephemeral",
                )
            )

    def _sources(self, ack: Ack, command: dict[str, Any]) -> None:
        with replying(lambda text: ack(text=notice(text))):
            service = self.service.for_slack(command.get("channel_id")).service
            ack(text=notice(sources_text(service.sources())), response_type="ephemeral")

    # -- mentions -------------------------------------------------------------

    def _answer_mention(
        self, body: dict[str, Any], event: dict[str, Any], client: WebClient
    ) -> None:
        if event.get("bot_id") or event.get("subtype"):
            return  # other bots and bot_message subtypes; bolt already drops our own
        key = body.get("event_id") or f"{event.get('channel')}:{event.get('ts')}"
        channel, user = event["channel"], event.get("user", "")
        thread_ts = event.get("thread_ts") or event["ts"]

        def private(text: str) -> None:
            client.chat_postEphemeral(
                channel=channel, user=user, thread_ts=thread_ts, text=notice(text)
            )

        question = unescape(self._without_own_mention(event.get("text", ""))).strip()
        with replying(private):
            # Slack retries an event it thinks was missed, maybe to another replica;
            # the first process to claim its id answers it.
            if not self.asking.claim(f"event:{key}"):
                return
            if _wants_help(question):
                private(messages.SLACK_HELP)
                return
            self.asking.admit(user)
            # A mention inside a thread continues its conversation: the thread's last
            # answered question (kept in the store, so any replica knows it) is context.
            # A mention outside one starts a thread under it.
            thread = Thread(channel, thread_ts)
            asked = Question(
                question,
                self.service.for_slack(channel),
                follows=thread if event.get("thread_ts") else None,
                keep_in=thread,
            )
            answer = self.asking.answer(asked)
            client.chat_postMessage(
                channel=channel,
                thread_ts=thread_ts,
                text=fallback_text(answer),
                blocks=answer_blocks(answer, shareable=False),
                unfurl_links=False,
                unfurl_media=False,
            )

    def _without_own_mention(self, text: str) -> str:
        if not self.bot_user_id:
            return text
        return re.sub(rf"<@{re.escape(self.bot_user_id)}(\|[^>]*)?>", " ", text)

    # -- documents added and removed by admins ----------------------------------

    def _direct_message(
        self, body: dict[str, Any], event: dict[str, Any], client: WebClient
    ) -> None:
        add_from_direct_message(self, body, event, client)

    def _remove_command(self, command: dict[str, Any], respond: Respond) -> None:
        remove_command(self, command, respond)

    # -- buttons --------------------------------------------------------------

    def _vote(self, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        thread_ts = body.get("container", {}).get("thread_ts")  # set when voting in a thread

        def private(text: str) -> None:
            respond(
                text=notice(text),
                response_type="ephemeral",
                replace_original=False,
                thread_ts=thread_ts,
            )

        with replying(private):
            vote = UP if action.get("action_id") == ACTION_VOTE_UP else DOWN
            known = self.store.vote(action.get("value", ""), PLATFORM, body["user"]["id"], vote)
            private(messages.FEEDBACK_THANKS if known else messages.FEEDBACK_UNKNOWN)

    def _share(self, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        def private(text: str) -> None:
            respond(text=notice(text), response_type="ephemeral", replace_original=False)

        with replying(private):
            answer = self.store.answer(action.get("value", ""))
            if answer is None:
                private(messages.SLACK_SHARE_UNKNOWN)
                return
            _check_delivery(
                respond(
                    text=fallback_text(answer),
                    blocks=answer_blocks(answer, shareable=False, shared_by=body["user"]["id"]),
                    response_type="in_channel",
                    replace_original=False,
                )
            )
            # The asker's private copy becomes a note, so it cannot be shared twice.
            respond(text=notice(messages.SHARED), replace_original=True)


def _ack(ack: Ack) -> None:
    ack()


def _wants_help(text: str) -> bool:
    # "/ask help" is Slack's convention for a command's usage (slash command style guide).
    return text.strip().lower() in ("", "help")


def _check_delivery(response: WebhookResponse) -> None:
    # A response_url refuses with an HTTP status rather than an exception
    # (expired after 30 minutes, or used more than five times).
    if response.status_code != 200:
        raise RuntimeError(f"response_url answered {response.status_code}: {response.body[:200]}")


def run(
    settings: Settings,
    service: Service,
    store: Store,
    *,
    http: bool = False,
    port: int = 3000,
    host: str | None = None,
    metrics: Metrics | None = None,
    health: Health | None = None,
    redactor: Redactor | None = None,
) -> None:
    """Run the Slack bot until interrupted: Socket Mode, or HTTP mode with ``http=True``.

    Ctrl-C or SIGTERM stops it gracefully: answers in progress are finished first.
    """
    check_settings(settings, http=http)
    bot = SlackBot(settings, service, store, metrics=metrics, redactor=redactor)
    stop = threading.Event()
    try:
        with stop_on_sigterm(stop), contextlib.suppress(KeyboardInterrupt):
            if http:
                address = settings.host if host is None else host
                try:
                    server = bot.http_server(address, port, health=health)
                except OSError as exc:
                    raise QuotebotError(
                        messages.LISTEN_FAILED.format(
                            host=address,
                            port=port,
                            reason=exc.strerror or exc,
                            setting="--port or --host (QUOTEBOT_HOST)",
                        )
                    ) from None
                log.info("Slack: listening on http://%s:%d%s", address, server.port, EVENTS_PATH)
                server.serve(stop)
            else:
                bot.socket_mode()
                log.info("Slack: connected over Socket Mode")
                stop.wait()
    finally:
        log.info("Slack: stopping; finishing the answers in progress")
        bot.close()
