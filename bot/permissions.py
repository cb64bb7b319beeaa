"""Who may add and remove a collection's documents: one decision for every chat platform.

Each collection names its own admins in ``quotebot.toml``::

    [collections.hr]
    discord_channels = ["111122223333"]            # this server answers from hr
    admins.slack = ["U012ABCDEF"]                  # Slack member ids
    admins.discord = [
      { server = "111122223333", users = ["444455556666"] },  # user ids, in this server
      { server = "111122223333", roles = ["777788889999"] },  # role ids, in this server
      { server = "111122223333", manage_server = true },      # Manage Server, in this server
    ]

A Discord user or role id counts only in the server named with it, and Manage
Server only where an entry turns it on for a server that answers from the
collection (start-up refuses any other). A collection with no admins, and a bot
without ``quotebot.toml`` unless ``QUOTEBOT_ADMINS`` names admins of its one
collection, refuse every change with a reply saying how to name some.

The adapters describe who asks (:class:`Requester`) and call :func:`require`
before anything is downloaded or written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot import messages
from bot.errors import PermissionDenied

if TYPE_CHECKING:
    from bot.routing import CollectionConfig

SLACK, DISCORD = "slack", "discord"


@dataclass(frozen=True)
class Requester:
    """Who asks to change a collection, as the platform reports it."""

    platform: str  # SLACK or DISCORD
    user: str  # the platform's user id
    server: str | None = None  # Discord: the server (guild) the command came from; None in a DM
    roles: frozenset[str] = frozenset()  # Discord: the member's role ids in that server
    manage_server: bool = False  # Discord: the member has Manage Server in that server


@dataclass(frozen=True)
class DiscordAdmins:
    """Discord members who may change a collection: they count in ``server`` only."""

    server: str
    users: frozenset[str] = frozenset()
    roles: frozenset[str] = frozenset()
    manage_server: bool = False  # members with Manage Server in ``server``

    def admits(self, who: Requester, *, server_answers_here: bool) -> bool:
        """``server_answers_here``: the server is one the collection answers in."""
        if who.platform != DISCORD or who.server != self.server:
            return False
        return (
            who.user in self.users
            or not self.roles.isdisjoint(who.roles)
            or (self.manage_server and who.manage_server and server_answers_here)
        )


@dataclass(frozen=True)
class Admins:
    """The admins of one collection; none (the default) means it cannot be changed from chat."""

    slack: frozenset[str] = frozenset()  # Slack member ids
    discord: tuple[DiscordAdmins, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.slack or self.discord)

    def admits(self, who: Requester, *, server_answers_here: bool = False) -> bool:
        if who.platform == SLACK:
            return bool(who.user) and who.user in self.slack
        return any(e.admits(who, server_answers_here=server_answers_here) for e in self.discord)


@dataclass(frozen=True)
class Decision:
    """Whether ``collection`` may be changed by the requester, and if not, the line to show."""

    allowed: bool
    collection: str
    reason: str = ""


def decide(config: CollectionConfig, collection: str | None, who: Requester) -> Decision:
    """May ``who`` add to or remove from ``collection`` (None: the default collection)?

    An unknown name raises the usual CollectionError listing the collections,
    but only for someone who is an admin of one of them: anyone else is refused
    without learning which collections exist.
    """
    name = config.default_collection if collection is None else collection.strip()
    if name not in config.collections:
        if any(_admits(config, known, who) for known in config.admins):
            config.get(name)
        return Decision(False, name, messages.NOT_ADMIN_ANYWHERE)
    if not config.admins.get(name):
        return Decision(False, name, _how_to_name_admins(config, name, who))
    if _admits(config, name, who):
        return Decision(True, name)
    elsewhere = who.platform == DISCORD and who.manage_server
    template = messages.NOT_ADMIN_MANAGE_SERVER if elsewhere else messages.NOT_ADMIN
    return Decision(False, name, template.format(name=name))


def require(config: CollectionConfig, collection: str | None, who: Requester) -> str:
    """The name of ``collection`` if ``who`` may change it; PermissionDenied (its reason) if not."""
    decision = decide(config, collection, who)
    if not decision.allowed:
        raise PermissionDenied(decision.reason)
    return decision.collection


def _admits(config: CollectionConfig, name: str, who: Requester) -> bool:
    # Start-up refuses manage_server for a server that does not answer from the
    # collection; checked again here, so that nothing else can make it count.
    here = who.server is not None and config.discord_channels.get(who.server) == name
    return config.admins.get(name, Admins()).admits(who, server_answers_here=here)


_HOW = {
    (True, DISCORD): messages.NO_ADMINS_TOML_DISCORD,
    (True, SLACK): messages.NO_ADMINS_TOML_SLACK,
    (False, DISCORD): messages.NO_ADMINS_ENV_DISCORD,
    (False, SLACK): messages.NO_ADMINS_ENV_SLACK,
}


def _how_to_name_admins(config: CollectionConfig, name: str, who: Requester) -> str:
    """The refusal for a collection without admins, with the setting that names some."""
    how = _HOW[config.source is not None, who.platform]
    server = who.server or "<server id>"
    return messages.NO_ADMINS.format(name=name, how=how.format(name=name, server=server))
