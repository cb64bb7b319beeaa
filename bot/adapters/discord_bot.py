"""The Discord front end: /ask, /sources, /help and the buttons under answers.

A thin adapter over :class:`~bot.service.QuoteService`: each event becomes one
service call, run in a worker thread so the gateway heartbeat never waits, and
its result is rendered by :mod:`bot.adapters.discord_views`. Everything the bot sends
pings nobody (``AllowedMentions.none()``).

Button ids carry their state (``qb:vote:up:<answer id>``, ``qb:more:<quote id>``)
and are registered as dynamic items, so buttons keep working after a restart.

Sharding (``--shard-count N --shard-ids a,b``): the bot runs on discord.py's
``AutoShardedClient`` with the given shards; Discord sends each guild's events to
shard ``(guild_id >> 22) % N`` only, so several processes, each with some of the
shards, serve every guild once. Slash commands are global to the application, so
only the process that runs shard 0 registers them.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import re
import signal
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any

import aiohttp
import discord
import yarl
from discord import app_commands
from discord.gateway import DiscordWebSocket
from discord.http import Route

from bot import messages, permissions
from bot.adapters import discord_views as views
from bot.answers import Answer
from bot.collections import discord_route
from bot.config import Settings
from bot.cooldown import Cooldown
from bot.errors import CollectionError, ConfigError, QuotebotError
from bot.followup import Turn
from bot.library import library_for, safe_name, too_big
from bot.metrics import COOLDOWN, Metrics
from bot.storage import DOWN, UP, Store

if TYPE_CHECKING:
    from bot.service import QuoteService

log = logging.getLogger(__name__)

PLATFORM = "discord"
NO_MENTIONS = discord.AllowedMentions.none()
# How long a stopping bot waits for answers it is still writing.
SHUTDOWN_GRACE_SECONDS = 5.0
# Gateway close codes that reconnecting cannot fix because the token is wrong.
AUTH_FAILED_CODES = (4004,)


def run(
    settings: Settings,
    service: QuoteService,
    store: Store,
    *,
    metrics: Metrics | None = None,
) -> None:
    """Serve Discord until interrupted (Ctrl-C or SIGTERM)."""
    require_token(settings)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(settings, service, store, metrics=metrics))
    log.info("Discord bot stopped.")


def require_token(settings: Settings) -> str:
    if not settings.discord_token:
        raise ConfigError(messages.DISCORD_TOKEN_MISSING)
    return settings.discord_token


async def serve(
    settings: Settings,
    service: QuoteService,
    store: Store,
    *,
    stop: asyncio.Event | None = None,
    metrics: Metrics | None = None,
) -> None:
    """Log in, sync the slash commands, and answer interactions until ``stop`` is set."""
    token = require_token(settings)
    if stop is None:
        stop = asyncio.Event()
    _stop_on_sigterm(stop)
    client = make_client(settings, service, store, metrics=metrics)
    with discord_endpoints(settings.discord_api_base):
        async with client:
            await _login(client, token, settings.discord_api_base)
            DiscordWebSocket.DEFAULT_GATEWAY = await _gateway_url(client, settings.discord_api_base)
            connection = asyncio.create_task(client.connect(), name="discord-gateway")
            stopping = asyncio.create_task(stop.wait(), name="discord-stop")
            try:
                await asyncio.wait({connection, stopping}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                stopping.cancel()
                await client.close()
                with contextlib.suppress(asyncio.CancelledError):
                    await _connection_result(connection)


@contextlib.contextmanager
def discord_endpoints(api_base: str) -> Iterator[None]:
    """Point discord.py's REST routes at ``api_base`` (its gateway is set after login).

    discord.py keeps both addresses as class attributes; they are restored on exit.
    """
    saved = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    Route.BASE = api_base.rstrip("/")
    try:
        yield
    finally:
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = saved


async def _login(client: discord.Client, token: str, api_base: str) -> None:
    try:
        await client.login(token)
    except discord.LoginFailure:
        raise ConfigError(
            messages.DISCORD_TOKEN_REJECTED.format(reason="401 Unauthorized")
        ) from None
    except aiohttp.ClientConnectionError as exc:
        raise QuotebotError(messages.DISCORD_UNREACHABLE.format(url=api_base)) from exc


async def _gateway_url(client: discord.Client, api_base: str) -> yarl.URL:
    """The gateway address that the configured API announces (``GET /gateway/bot``)."""
    try:
        _, url, _ = await client.http.get_bot_gateway()
    except (discord.GatewayNotFound, aiohttp.ClientConnectionError) as exc:
        raise QuotebotError(messages.DISCORD_UNREACHABLE.format(url=api_base)) from exc
    return yarl.URL(url)


async def _connection_result(connection: asyncio.Task[None]) -> None:
    try:
        await asyncio.wait_for(connection, timeout=10)
    except TimeoutError:
        log.warning("The gateway connection did not close in time; abandoning it.")
    except discord.ConnectionClosed as exc:
        if exc.code in AUTH_FAILED_CODES:
            reason = f"gateway closed with {exc.code}"
            raise ConfigError(messages.DISCORD_TOKEN_REJECTED.format(reason=reason)) from None
        raise


def _stop_on_sigterm(stop: asyncio.Event) -> None:
    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
        # Only possible in the main thread of a Unix process; elsewhere the
        # caller stops the bot through ``stop``.
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)


class QuoteTree(app_commands.CommandTree["QuoteClient"]):
    async def on_error(
        self, interaction: discord.Interaction[QuoteClient], error: app_commands.AppCommandError
    ) -> None:
        await self.client.report(interaction, _user_error(error))


def _user_error(error: app_commands.AppCommandError) -> BaseException:
    """What to tell the user about a failed command: a clear reply for a mismatched call.

    Discord delivers commands this bot no longer has (registered by an older version,
    not yet refreshed in the client) and calls without a required option (an outdated
    command list); neither is a bug of this bot.
    """
    if isinstance(error, app_commands.CommandNotFound):
        return QuotebotError(messages.DISCORD_UNKNOWN_COMMAND.format(name=error.name))
    if isinstance(error, app_commands.CommandSignatureMismatch):
        if error.command.name == "ask":
            return QuotebotError(messages.EMPTY_QUESTION)
        return QuotebotError(messages.DISCORD_OUTDATED_COMMAND.format(name=error.command.name))
    return getattr(error, "original", error)


def make_client(
    settings: Settings,
    service: QuoteService,
    store: Store,
    *,
    metrics: Metrics | None = None,
) -> QuoteClient:
    """A :class:`QuoteClient`, or a :class:`ShardedQuoteClient` when shards are configured."""
    if settings.discord_shard_count is None:
        return QuoteClient(settings, service, store, metrics=metrics)
    ids = settings.discord_shard_ids
    return ShardedQuoteClient(
        settings,
        service,
        store,
        metrics=metrics,
        shard_count=settings.discord_shard_count,
        shard_ids=list(ids) if ids is not None else None,
    )


class QuoteClient(discord.Client):
    """The bot: slash commands and button handlers around one ``QuoteService``."""

    def __init__(
        self,
        settings: Settings,
        service: QuoteService,
        store: Store,
        *,
        metrics: Metrics | None = None,
        **options: Any,
    ) -> None:
        # This bot has no voice; spare every start the warnings about voice libraries.
        discord.VoiceClient.warn_nacl = False
        discord.VoiceClient.warn_dave = False
        # No privileged intents: slash commands and buttons arrive without any; the
        # (unprivileged) guilds intent keeps discord.py's guild cache consistent.
        intents = discord.Intents.none()
        intents.guilds = True
        # Replies to an answer arrive as guild messages; a reply mentions the bot by
        # default, and Discord sends a message's text to a bot it mentions without
        # the privileged message-content intent.
        intents.guild_messages = True
        super().__init__(intents=intents, allowed_mentions=NO_MENTIONS, **options)
        self.settings = settings
        self.service = service
        self.library = library_for(service)  # /add and /remove
        self.store = store
        self.metrics = metrics or Metrics()
        self.cooldown = Cooldown(store, PLATFORM, settings.cooldown_rate, settings.cooldown_seconds)
        self.tree = QuoteTree(self)
        _add_commands(self.tree)
        self._busy: set[asyncio.Task[Any]] = set()

    @property
    def registers_commands(self) -> bool:
        """Whether this process syncs the slash commands: only the one running shard 0."""
        shard_ids = getattr(self, "shard_ids", None)
        return shard_ids is None or 0 in shard_ids

    async def setup_hook(self) -> None:
        self.add_dynamic_items(VoteButton, ContextButton)
        if not self.registers_commands:
            log.info("Slash commands are registered by the process that runs shard 0.")
            return
        guild_id = self.settings.discord_guild_id
        guild = discord.Object(id=guild_id) if guild_id else None
        if guild is not None:
            self.tree.copy_global_to(guild=guild)
        try:
            synced = await self.tree.sync(guild=guild)
        except discord.Forbidden:
            raise ConfigError(messages.DISCORD_GUILD_REFUSED.format(guild_id=guild_id)) from None
        where = f"guild {guild_id}" if guild else "globally"
        log.info("Registered /%s %s.", ", /".join(c.name for c in synced), where)

    async def on_ready(self) -> None:
        log.info("Connected to Discord as %s.", self.user)

    async def close(self) -> None:
        """Let answers being written finish (briefly), then disconnect."""
        busy = {task for task in self._busy if task is not asyncio.current_task()}
        if busy:
            log.info("Finishing %d interaction(s) before disconnecting.", len(busy))
            await asyncio.wait(busy, timeout=SHUTDOWN_GRACE_SECONDS)
        await super().close()

    # Handlers: each answers its interaction; no exception text ever reaches chat.

    @contextlib.asynccontextmanager
    async def handling(self, interaction: discord.Interaction) -> AsyncIterator[None]:
        """Track an interaction in flight and turn any error into a reply to the user."""
        task = asyncio.current_task()
        busy = {task} if task is not None else set()
        self._busy |= busy
        try:
            yield
        except Exception as exc:
            await self.report(interaction, exc)
        finally:
            self._busy -= busy

    async def first_sight(self, interaction: discord.Interaction) -> bool:
        """True unless another process (or shard) already took this interaction."""
        key = f"discord:interaction:{interaction.id}"
        if await asyncio.to_thread(self.store.first_sight, key):
            return True
        self.metrics.deduplicated.labels(PLATFORM).inc()
        log.info("Interaction %s was already handled; ignoring it.", interaction.id)
        return False

    async def ask(self, interaction: discord.Interaction, question: str, private: bool) -> None:
        async with self.handling(interaction):
            if not await self.first_sight(interaction):
                return
            wait = await asyncio.to_thread(self.cooldown.retry_after, interaction.user.id)
            if wait > 0:
                self.metrics.question(PLATFORM, COOLDOWN)
                text = messages.COOLDOWN.format(seconds=math.ceil(wait))
                await interaction.response.send_message(
                    text, ephemeral=True, allowed_mentions=NO_MENTIONS
                )
                return
            await interaction.response.defer(ephemeral=private, thinking=True)
            started = time.perf_counter()
            # /ask in a thread continues its conversation: the thread's last public
            # answer (kept in the store, so any shard or replica knows it) is context.
            channel = interaction.channel
            thread = channel if isinstance(channel, discord.Thread) else None
            earlier = None
            if thread is not None:
                earlier = await asyncio.to_thread(
                    self.store.thread_answer, PLATFORM, str(thread.parent_id), str(thread.id)
                )
            answer = await self._answer(question, self.routed(interaction), earlier)
            if thread is not None and not private and not answer.abstained:
                await asyncio.to_thread(
                    self.store.remember_thread,
                    PLATFORM,
                    str(thread.parent_id),
                    str(thread.id),
                    answer.id,
                )
            await interaction.edit_original_response(
                embed=views.answer_embed(answer),
                view=answer_view(answer),
                allowed_mentions=NO_MENTIONS,
            )
            log.info(
                "Answered interaction %s (%s) in %.0f ms.",
                interaction.id,
                answer.confidence_label,
                (time.perf_counter() - started) * 1000,
            )

    async def _answer(
        self, question: str, route: tuple[str, Any], earlier: Answer | None = None
    ) -> Answer:
        """Answer from ``route`` (collection, service) in a worker thread, and store it.

        ``earlier``: the conversation so far (the answer a follow-up continues).
        """
        collection, service = route
        ask = service.ask
        if earlier is not None:
            ask = functools.partial(service.ask, previous=Turn.of(earlier))

        def answer_and_remember(answered: Callable[[bool], None]) -> Answer:
            answer = ask(question)
            answered(answer.abstained)
            self.store.remember(answer, PLATFORM, collection=collection)
            return answer

        # One trip to the worker threads, not two: a second trip to store the answer
        # would queue behind every question of a burst, holding back every answer until
        # the last question of the burst had been worked out.
        with self.metrics.answering(PLATFORM) as answered:
            return await asyncio.to_thread(answer_and_remember, answered)

    async def on_message(self, message: discord.Message) -> None:
        """A reply to one of this bot's answers that mentions it: a follow-up question."""
        me = self.user
        if me is None or message.author.bot or message.reference is None:
            return
        if not any(user.id == me.id for user in message.mentions):
            return  # a reply whose author turned the mention off is not meant for the bot
        replied = await self._replied_to(message)
        if replied is None or replied.author.id != me.id:
            return
        answer_id = _answer_id_of(replied)
        async with self.replying_to(message):
            key = f"discord:message:{message.id}"
            if not await asyncio.to_thread(self.store.first_sight, key):
                self.metrics.deduplicated.labels(PLATFORM).inc()
                return
            wait = await asyncio.to_thread(self.cooldown.retry_after, message.author.id)
            if wait > 0:
                self.metrics.question(PLATFORM, COOLDOWN)
                raise QuotebotError(messages.COOLDOWN.format(seconds=math.ceil(wait)))
            question = re.sub(rf"<@!?{me.id}>", " ", message.content).strip()
            if not question:
                raise QuotebotError(messages.FOLLOW_UP_EMPTY)
            earlier = None
            if answer_id is not None:
                earlier = await asyncio.to_thread(self.store.answer, answer_id)
            channel = message.channel
            route = discord_route(
                self.service,
                channel.id,
                getattr(channel, "parent_id", None),
                message.guild.id if message.guild else None,
            )
            answer = await self._answer(question, route, earlier)
            await message.reply(
                embed=views.answer_embed(answer),
                view=answer_view(answer),
                mention_author=False,
                allowed_mentions=NO_MENTIONS,
            )
            log.info("Answered a reply (%s).", answer.confidence_label)

    async def _replied_to(self, message: discord.Message) -> discord.Message | None:
        """The message ``message`` replies to: sent along with it, else fetched."""
        reference = message.reference
        if reference is None or reference.message_id is None:
            return None
        if isinstance(reference.resolved, discord.Message):
            return reference.resolved
        try:
            return await message.channel.fetch_message(reference.message_id)
        except discord.HTTPException:
            return None  # deleted, or not readable by the bot

    @contextlib.asynccontextmanager
    async def replying_to(self, message: discord.Message) -> AsyncIterator[None]:
        """Like :meth:`handling`, for a message: errors become a reply to it."""
        task = asyncio.current_task()
        busy = {task} if task is not None else set()
        self._busy |= busy
        try:
            yield
        except Exception as exc:
            if isinstance(exc, QuotebotError):
                text = str(exc)
                log.info("Message %s: %s", message.id, text)
            else:
                text = messages.GENERIC_ERROR
                log.error("Answering message %s failed.", message.id, exc_info=exc)
            try:
                await message.reply(
                    views.content(text), mention_author=False, allowed_mentions=NO_MENTIONS
                )
            except Exception as error:
                log.warning("Could not tell message %s about its error: %r", message.id, error)
        finally:
            self._busy -= busy

    async def sources(self, interaction: discord.Interaction) -> None:
        async with self.handling(interaction):
            embed = views.sources_embed(self.routed(interaction)[1].sources())
            await interaction.response.send_message(
                embed=embed, ephemeral=True, allowed_mentions=NO_MENTIONS
            )

    async def help(self, interaction: discord.Interaction) -> None:
        async with self.handling(interaction):
            await interaction.response.send_message(
                views.content(messages.HELP), ephemeral=True, allowed_mentions=NO_MENTIONS
            )

    async def vote(self, interaction: discord.Interaction, vote: str, answer_id: str) -> None:
        async with self.handling(interaction):
            if not await self.first_sight(interaction):
                return
            stored = await asyncio.to_thread(
                self.store.vote, answer_id, PLATFORM, str(interaction.user.id), vote
            )
            text = messages.FEEDBACK_THANKS if stored else messages.FEEDBACK_UNKNOWN
            await interaction.response.send_message(
                text, ephemeral=True, allowed_mentions=NO_MENTIONS
            )

    async def more_context(self, interaction: discord.Interaction, ref: str) -> None:
        async with self.handling(interaction):
            await interaction.response.defer(ephemeral=True, thinking=True)
            service = self.routed(interaction)[1]
            documents = [s.document for s in service.sources()] if ref[:1] == "#" else []
            quote_id = views.quote_id_from_ref(ref, documents)
            context = None
            if quote_id is not None:
                context = await asyncio.to_thread(service.context, quote_id)
            if context is None:
                await interaction.followup.send(
                    messages.NO_CONTEXT, ephemeral=True, allowed_mentions=NO_MENTIONS
                )
                return
            await interaction.followup.send(
                embed=views.context_embed(context), ephemeral=True, allowed_mentions=NO_MENTIONS
            )

    async def change_documents(
        self,
        interaction: discord.Interaction,
        *,
        file: discord.Attachment | None = None,
        document: str = "",
        collection: str | None = None,
    ) -> None:
        """``/add`` (with ``file``) or ``/remove`` (with ``document``), for admins only."""
        async with self.handling(interaction):
            if not await self.first_sight(interaction):
                return
            library = self.library
            if library is None:
                raise CollectionError(messages.ADD_UNAVAILABLE)
            # Roles as this server's cache knows them: only roles of the server itself.
            who = permissions.Requester(
                permissions.DISCORD,
                str(interaction.user.id),
                server=str(interaction.guild_id) if interaction.guild_id else None,
                roles=frozenset(str(r.id) for r in getattr(interaction.user, "roles", [])),
                manage_server=interaction.permissions.manage_guild,
            )
            # Refused: report() logs and shows the reason, before anything is downloaded.
            target = permissions.require(
                library.config, collection or self.routed(interaction)[0], who
            )
            limit = self.settings.max_file_bytes
            if file is not None:  # refused before downloading: an unsupported or huge file
                name = safe_name(file.filename)
                if file.size > limit:
                    raise CollectionError(too_big(name, file.size, self.settings.max_file_mb))
            await interaction.response.defer(ephemeral=True, thinking=True)
            if file is not None:
                try:
                    data = await file.read()
                except (discord.HTTPException, aiohttp.ClientError) as exc:
                    log.warning(
                        "Interaction %s: download failed (%s).", interaction.id, type(exc).__name__
                    )
                    raise CollectionError(
                        messages.ADD_DOWNLOAD_FAILED.format(name=safe_name(file.filename))
                    ) from None
                done: Any = await asyncio.to_thread(library.add, file.filename, data, target)
            else:
                done = await asyncio.to_thread(library.remove, document, target)
            await interaction.edit_original_response(
                content=views.content(done.reply()), allowed_mentions=NO_MENTIONS
            )

    def routed(self, interaction: discord.Interaction) -> tuple[str, Any]:
        """The collection (and its service) of the interaction's channel, thread parent or guild."""
        parent = getattr(interaction.channel, "parent_id", None)
        return discord_route(self.service, interaction.channel_id, parent, interaction.guild_id)

    async def report(self, interaction: discord.Interaction, exc: BaseException) -> None:
        """Tell the user what went wrong: a QuotebotError's own message, else an apology.

        Never raises: this is the last line of every handler.
        """
        if isinstance(exc, QuotebotError):
            text = str(exc)
            log.info("Interaction %s: %s", interaction.id, text)
        else:
            text = messages.GENERIC_ERROR
            log.error("Interaction %s failed.", interaction.id, exc_info=exc)
        text = views.content(text)
        try:
            if not interaction.response.is_done():
                await interaction.response.send_message(
                    text, ephemeral=True, allowed_mentions=NO_MENTIONS
                )
            elif (
                interaction.response.type
                is discord.InteractionResponseType.deferred_channel_message
            ):
                await interaction.edit_original_response(
                    content=text, embed=None, view=None, allowed_mentions=NO_MENTIONS
                )
            else:
                await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
        except Exception as error:
            log.warning("Could not tell interaction %s about its error: %r", interaction.id, error)


class ShardedQuoteClient(QuoteClient, discord.AutoShardedClient):
    """The same bot on ``AutoShardedClient``: it runs ``shard_ids`` of ``shard_count`` shards."""


def _add_commands(tree: QuoteTree) -> None:
    @tree.command(name="ask", description=messages.ASK_DESCRIPTION)
    @app_commands.describe(
        question=messages.ASK_QUESTION_DESCRIPTION, private=messages.ASK_PRIVATE_DESCRIPTION
    )
    async def ask(
        interaction: discord.Interaction[QuoteClient], question: str, private: bool = False
    ) -> None:
        await interaction.client.ask(interaction, question, private)

    @tree.command(name="sources", description=messages.SOURCES_DESCRIPTION)
    async def sources(interaction: discord.Interaction[QuoteClient]) -> None:
        await interaction.client.sources(interaction)

    @tree.command(name="help", description=messages.HELP_DESCRIPTION)
    async def help_(interaction: discord.Interaction[QuoteClient]) -> None:
        await interaction.client.help(interaction)

    @tree.command(name="add", description=messages.ADD_DESCRIPTION)
    @app_commands.describe(
        file=messages.ADD_FILE_DESCRIPTION, collection=messages.ADD_COLLECTION_DESCRIPTION
    )
    async def add(
        interaction: discord.Interaction[QuoteClient],
        file: discord.Attachment,
        collection: str | None = None,
    ) -> None:
        await interaction.client.change_documents(interaction, file=file, collection=collection)

    @tree.command(name="remove", description=messages.REMOVE_DESCRIPTION)
    @app_commands.describe(
        document=messages.REMOVE_DOCUMENT_DESCRIPTION,
        collection=messages.ADD_COLLECTION_DESCRIPTION,
    )
    async def remove(
        interaction: discord.Interaction[QuoteClient],
        document: str,
        collection: str | None = None,
    ) -> None:
        await interaction.client.change_documents(
            interaction, document=document, collection=collection
        )


def answer_view(answer: Answer) -> discord.ui.View:
    """👍 / 👎 and, when there is a quote to expand, "More context"."""
    view = discord.ui.View(timeout=None)
    view.add_item(VoteButton(UP, answer.id))
    view.add_item(VoteButton(DOWN, answer.id))
    shown = answer.closest if answer.abstained else answer.quotes
    if shown:
        view.add_item(ContextButton(views.context_id(shown[0])))
    return view


class VoteButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=views.VOTE_TEMPLATE):
    def __init__(self, vote: str, answer_id: str) -> None:
        super().__init__(
            discord.ui.Button(
                style=discord.ButtonStyle.secondary,
                emoji="👍" if vote == UP else "👎",
                custom_id=views.vote_id(vote, answer_id),
            )
        )
        self.vote = vote
        self.answer_id = answer_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any, /
    ) -> VoteButton:
        return cls(match["vote"], match["answer_id"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await _quote_client(interaction).vote(interaction, self.vote, self.answer_id)


class ContextButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=views.CONTEXT_TEMPLATE
):
    def __init__(self, custom_id: str) -> None:
        super().__init__(
            discord.ui.Button(
                style=discord.ButtonStyle.secondary,
                label=messages.MORE_CONTEXT,
                custom_id=custom_id,
            )
        )
        self.ref = custom_id.removeprefix(views.CONTEXT_PREFIX)

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any, /
    ) -> ContextButton:
        return cls(views.CONTEXT_PREFIX + match["ref"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await _quote_client(interaction).more_context(interaction, self.ref)


def _answer_id_of(message: discord.Message) -> str | None:
    """The id of the answer a message of this bot shows, read from its vote buttons."""
    for row in message.components:
        for item in getattr(row, "children", ()):
            match = re.fullmatch(views.VOTE_TEMPLATE, getattr(item, "custom_id", None) or "")
            if match:
                return match["answer_id"]
    return None


def _quote_client(interaction: discord.Interaction[Any]) -> QuoteClient:
    client = interaction.client
    if not isinstance(client, QuoteClient):
        raise TypeError(f"buttons need a QuoteClient, not {type(client).__name__}")
    return client
