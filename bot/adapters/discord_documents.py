"""Documents added and removed by admins in Discord: ``/add`` with a file, ``/remove``."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiohttp
import discord

from bot import messages, permissions
from bot.adapters import discord_views as views
from bot.errors import CollectionError
from bot.library import safe_name, too_big

if TYPE_CHECKING:
    from bot.adapters.discord_bot import QuoteClient

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Change:
    """``/add`` (``file``) or ``/remove`` (``document``) in ``collection`` (None: the channel's)."""

    file: discord.Attachment | None = None
    document: str = ""
    collection: str | None = None


async def change_documents(
    client: QuoteClient, interaction: discord.Interaction, change: Change
) -> None:
    """Make ``change`` if the user may; refused before anything is downloaded."""
    file, document, collection = change.file, change.document, change.collection
    library = client.library
    if library is None:
        raise CollectionError(messages.ADD_UNAVAILABLE)
    # Roles as this server's cache knows them: only roles of the server itclient.
    who = permissions.Requester(
        permissions.DISCORD,
        str(interaction.user.id),
        server=str(interaction.guild_id) if interaction.guild_id else None,
        roles=frozenset(str(r.id) for r in getattr(interaction.user, "roles", [])),
        manage_server=interaction.permissions.manage_guild,
    )
    # Refused: report() logs and shows the reason, before anything is downloaded.
    target = permissions.require(
        library.config, collection or client.routed(interaction).collection, who
    )
    limit = client.settings.max_file_bytes
    if file is not None:  # refused before downloading: an unsupported or huge file
        name = safe_name(file.filename)
        if file.size > limit:
            raise CollectionError(too_big(name, file.size, client.settings.max_file_mb))
    await interaction.response.defer(ephemeral=True, thinking=True)
    if file is not None:
        try:
            data = await file.read()
        except (discord.HTTPException, aiohttp.ClientError) as exc:
            log.warning("Interaction %s: download failed (%s).", interaction.id, type(exc).__name__)
            raise CollectionError(
                messages.ADD_DOWNLOAD_FAILED.format(name=safe_name(file.filename))
            ) from None
        done: Any = await asyncio.to_thread(library.add, file.filename, data, target)
    else:
        done = await asyncio.to_thread(library.remove, document, target)
    await interaction.edit_original_response(
        content=views.content(done.reply()), allowed_mentions=views.NO_MENTIONS
    )
