"""The Discord front end: /ask, /sources, /help and the buttons under answers.

A thin adapter over :mod:`bot.asking`: each event becomes the steps of answering,
run in worker threads so the gateway heartbeat never waits, and the result is
rendered by :mod:`bot.adapters.discord_views`. The commands are declared in
:mod:`bot.adapters.discord_commands`; connecting is :mod:`bot.adapters.discord_gateway`.
Everything the bot sends pings nobody (``AllowedMentions.none()``).

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
import logging
import re
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import discord
from discord.gateway import DiscordWebSocket

from bot import messages
from bot.adapters import discord_documents as documents
from bot.adapters import discord_gateway as gateway
from bot.adapters import discord_views as views
from bot.adapters.discord_commands import QuoteTree, add_commands, report, report_to_message
from bot.adapters.discord_documents import Change
from bot.asking import Asking, Question, Thread
from bot.config import Settings
from bot.errors import ConfigError, QuotebotError
from bot.metrics import Metrics
from bot.routing import Route, Service
from bot.storage import Store

log = logging.getLogger(__name__)

PLATFORM = "discord"
NO_MENTIONS = views.NO_MENTIONS
# How long a stopping bot waits for answers it is still writing.
SHUTDOWN_GRACE_SECONDS = 5.0


def run(
    settings: Settings,
    service: Service,
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
    service: Service,
    store: Store,
    *,
    stop: asyncio.Event | None = None,
    metrics: Metrics | None = None,
) -> None:
    """Log in, sync the slash commands, and answer interactions until ``stop`` is set."""
    token = require_token(settings)
    if stop is None:
        stop = asyncio.Event()
    gateway.stop_on_sigterm(stop)
    client = make_client(settings, service, store, metrics=metrics)
    with gateway.discord_endpoints(settings.discord_api_base):
        async with client:
            await gateway.login(client, token, settings.discord_api_base)
            address = await gateway.gateway_url(client, settings.discord_api_base)
            DiscordWebSocket.DEFAULT_GATEWAY = address
            connection = asyncio.create_task(client.connect(), name="discord-gateway")
            stopping = asyncio.create_task(stop.wait(), name="discord-stop")
            try:
                await asyncio.wait({connection, stopping}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                stopping.cancel()
                await client.close()
                with contextlib.suppress(asyncio.CancelledError):
                    await gateway.connection_result(connection)


def make_client(
    settings: Settings,
    service: Service,
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
    """The bot: slash commands, replies and button handlers around one :class:`Service`."""

    def __init__(
        self,
        settings: Settings,
        service: Service,
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
        self.library = service.library  # /add and /remove
        self.store = store
        self.metrics = metrics or Metrics()
        self.asking = Asking(settings, store, PLATFORM, self.metrics)
        self.tree = QuoteTree(self)
        add_commands(self.tree)
        self._busy: set[asyncio.Task[Any]] = set()

    @property
    def registers_commands(self) -> bool:
        """Whether this process syncs the slash commands: only the one running shard 0."""
        shard_ids = getattr(self, "shard_ids", None)
        return shard_ids is None or 0 in shard_ids

    async def setup_hook(self) -> None:
        self.add_dynamic_items(views.VoteButton, views.ContextButton)
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
        async with self._busy_with(lambda exc: report(interaction, exc)):
            yield

    @contextlib.asynccontextmanager
    async def _busy_with(self, report: Callable[[Exception], Any]) -> AsyncIterator[None]:
        task = asyncio.current_task()
        busy = {task} if task is not None else set()
        self._busy |= busy
        try:
            yield
        except Exception as exc:
            await report(exc)
        finally:
            self._busy -= busy

    async def first_sight(self, interaction: discord.Interaction) -> bool:
        """True unless another process (or shard) already took this interaction."""
        return await asyncio.to_thread(self.asking.claim, f"interaction:{interaction.id}")

    async def ask(self, interaction: discord.Interaction, question: str, private: bool) -> None:
        async with self.handling(interaction):
            event = f"interaction:{interaction.id}"
            if not await asyncio.to_thread(self.asking.admit, interaction.user.id, event):
                return
            await interaction.response.defer(ephemeral=private, thinking=True)
            started = time.perf_counter()
            # /ask in a thread continues its conversation: the thread's last public
            # answer (kept in the store, so any shard or replica knows it) is context.
            channel = interaction.channel
            thread = None
            if isinstance(channel, discord.Thread):
                thread = Thread(str(channel.parent_id), str(channel.id))
            asked = Question(
                question,
                self.routed(interaction),
                follows=thread,
                keep_in=None if private else thread,
            )
            answer = await self.asking.answer_in_worker(asked)
            await interaction.edit_original_response(
                embed=views.answer_embed(answer),
                view=views.answer_view(answer),
                allowed_mentions=NO_MENTIONS,
            )
            log.info(
                "Answered interaction %s (%s) in %.0f ms.",
                interaction.id,
                answer.confidence_label,
                (time.perf_counter() - started) * 1000,
            )

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
        async with self._busy_with(lambda exc: report_to_message(message, exc)):
            event = f"message:{message.id}"
            if not await asyncio.to_thread(self.asking.admit, message.author.id, event):
                return
            question = re.sub(rf"<@!?{me.id}>", " ", message.content).strip()
            if not question:
                raise QuotebotError(messages.FOLLOW_UP_EMPTY)
            channel = message.channel
            route = self.service.for_discord(
                channel.id,
                getattr(channel, "parent_id", None),
                message.guild.id if message.guild else None,
            )
            asked = Question(question, route, replies_to=views.answer_id_of(replied))
            answer = await self.asking.answer_in_worker(asked)
            await message.reply(
                embed=views.answer_embed(answer),
                view=views.answer_view(answer),
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

    async def sources(self, interaction: discord.Interaction) -> None:
        async with self.handling(interaction):
            embed = views.sources_embed(self.routed(interaction).service.sources())
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
            service = self.routed(interaction).service
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

    async def change_documents(self, interaction: discord.Interaction, change: Change) -> None:
        """``/add`` or ``/remove``, for admins only."""
        async with self.handling(interaction):
            if await self.first_sight(interaction):
                await documents.change_documents(self, interaction, change)

    def routed(self, interaction: discord.Interaction) -> Route:
        """The collection (and its service) of the interaction's channel, thread parent or guild."""
        parent = getattr(interaction.channel, "parent_id", None)
        return self.service.for_discord(interaction.channel_id, parent, interaction.guild_id)


class ShardedQuoteClient(QuoteClient, discord.AutoShardedClient):
    """The same bot on ``AutoShardedClient``: it runs ``shard_ids`` of ``shard_count`` shards."""
