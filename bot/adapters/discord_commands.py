"""The slash commands (/ask, /sources, /help, /add, /remove), and what a failure tells the user.

Each command hands its interaction to the client that received it (a
:class:`CommandHandler`: :class:`bot.adapters.discord_bot.QuoteClient`); a
command Discord delivers that does not match this bot's becomes a clear reply.
A :class:`~bot.errors.QuotebotError` shows its own message; anything else is
logged with its traceback and the user sees an apology, never the exception.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol, runtime_checkable

import discord
from discord import app_commands

from bot import messages
from bot.adapters.discord_documents import Change
from bot.adapters.discord_views import NO_MENTIONS, content
from bot.errors import QuotebotError

log = logging.getLogger(__name__)


@runtime_checkable
class CommandHandler(Protocol):
    """What the commands call on the client that received them."""

    async def ask(self, interaction: discord.Interaction, question: str, private: bool) -> None: ...

    async def sources(self, interaction: discord.Interaction) -> None: ...

    async def help(self, interaction: discord.Interaction) -> None: ...

    async def change_documents(self, interaction: discord.Interaction, change: Change) -> None: ...


class QuoteTree(app_commands.CommandTree[Any]):
    async def on_error(
        self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError
    ) -> None:
        await report(interaction, _user_error(error))


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


def add_commands(tree: QuoteTree) -> None:
    @tree.command(name="ask", description=messages.ASK_DESCRIPTION)
    @app_commands.describe(
        question=messages.ASK_QUESTION_DESCRIPTION, private=messages.ASK_PRIVATE_DESCRIPTION
    )
    async def ask(
        interaction: discord.Interaction[Any], question: str, private: bool = False
    ) -> None:
        await _handler(interaction).ask(interaction, question, private)

    @tree.command(name="sources", description=messages.SOURCES_DESCRIPTION)
    async def sources(interaction: discord.Interaction[Any]) -> None:
        await _handler(interaction).sources(interaction)

    @tree.command(name="help", description=messages.HELP_DESCRIPTION)
    async def help_(interaction: discord.Interaction[Any]) -> None:
        await _handler(interaction).help(interaction)

    @tree.command(name="add", description=messages.ADD_DESCRIPTION)
    @app_commands.describe(
        file=messages.ADD_FILE_DESCRIPTION, collection=messages.ADD_COLLECTION_DESCRIPTION
    )
    async def add(
        interaction: discord.Interaction[Any],
        file: discord.Attachment,
        collection: str | None = None,
    ) -> None:
        await _handler(interaction).change_documents(interaction, Change(file, "", collection))

    @tree.command(name="remove", description=messages.REMOVE_DESCRIPTION)
    @app_commands.describe(
        document=messages.REMOVE_DOCUMENT_DESCRIPTION,
        collection=messages.ADD_COLLECTION_DESCRIPTION,
    )
    async def remove(
        interaction: discord.Interaction[Any],
        document: str,
        collection: str | None = None,
    ) -> None:
        change = Change(document=document, collection=collection)
        await _handler(interaction).change_documents(interaction, change)


def _handler(interaction: discord.Interaction[Any]) -> CommandHandler:
    client = interaction.client
    if not isinstance(client, CommandHandler):
        raise TypeError(f"commands need a quotebot client, not {type(client).__name__}")
    return client


def _told(exc: BaseException, what: str) -> str:
    """What the user is told about ``exc`` (and the log line about it): a
    QuotebotError's own message, else an apology; never the exception's text."""
    if isinstance(exc, QuotebotError):
        log.info("%s: %s", what, exc)
        return content(str(exc))
    log.error("%s failed.", what, exc_info=exc)
    return content(messages.GENERIC_ERROR)


async def report_to_message(message: discord.Message, exc: BaseException) -> None:
    """Like :func:`report`, for a message: the error becomes a reply to it."""
    text = _told(exc, f"Answering message {message.id}")
    try:
        await message.reply(text, mention_author=False, allowed_mentions=NO_MENTIONS)
    except Exception as error:
        log.warning("Could not tell message %s about its error: %r", message.id, error)


async def report(interaction: discord.Interaction, exc: BaseException) -> None:
    """Tell the user what went wrong: a QuotebotError's own message, else an apology.

    Never raises: this is the last line of every handler.
    """
    text = _told(exc, f"Interaction {interaction.id}")
    try:
        if not interaction.response.is_done():
            await interaction.response.send_message(
                text, ephemeral=True, allowed_mentions=NO_MENTIONS
            )
        elif interaction.response.type is discord.InteractionResponseType.deferred_channel_message:
            await interaction.edit_original_response(
                content=text, embed=None, view=None, allowed_mentions=NO_MENTIONS
            )
        else:
            await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
    except Exception as error:
        log.warning("Could not tell interaction %s about its error: %r", interaction.id, error)
