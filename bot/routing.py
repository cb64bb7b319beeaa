"""Collections: named sets of documents, each with its own index, and which channel uses which.

Without a configuration file the corpus folder is one collection, ``default``,
read with its sub-folders as it always was. With ``quotebot.toml`` in the
working directory (or the file ``QUOTEBOT_CONFIG`` names), each sub-folder of
the corpus folder is a collection of its own (``corpus/hr/`` is ``hr``) and
``default`` holds only the files directly in the corpus folder. The file says
which channels answer from which collection and who may change each one
(see :mod:`bot.permissions`)::

    default_collection = "default"      # channels not listed below
    admins = ["U012ABCDEF"]             # optional: Slack member ids who may change every one

    [collections.hr]
    slack_channels = ["C0HR"]           # Slack channel ids
    discord_channels = ["112233445566"] # Discord channel or server (guild) ids
    min_confidence = 0.7                # optional: decline answers less likely right
    admins.slack = ["U0HRLEAD"]         # who may add and remove hr's documents
    admins.discord = [{ server = "112233445566", roles = ["998877665544"] }]

Without the file, ``QUOTEBOT_ADMINS`` may name the admins of ``default``.

``default`` keeps its index in ``QUOTEBOT_INDEX_DIR``; every other collection
in ``QUOTEBOT_INDEX_DIR/collections/<name>``.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, cast

from bot import messages
from bot.config import Settings, confidence_bar
from bot.errors import CollectionError, ConfigError
from bot.permissions import Admins, DiscordAdmins

if TYPE_CHECKING:
    from bot.answers import Answer, Context, Quote, SourceInfo
    from bot.followup import Turn
    from bot.library import Library

DEFAULT = "default"
CONFIG_NAME = "quotebot.toml"
INDEX_SUBFOLDER = "collections"

_TOP_KEYS = ("default_collection", "admins", "collections")
_COLLECTION_KEYS = ("slack_channels", "discord_channels", "min_confidence", "admins")
_ADMIN_KEYS = ("slack", "discord")
_DISCORD_ADMIN_KEYS = ("server", "users", "roles", "manage_server")
_DISCORD_ADMIN_EXAMPLE = '{ server = "112233445566", users = ["223344556677"] }'
_SLACK_ID = re.compile(r"[A-Z][A-Z0-9]{2,}")  # U012ABCDEF, W012ABCDEF
_DISCORD_PAIR = re.compile(r"(\d+):(\d+)")  # server id:user id


@dataclass(frozen=True)
class Collection:
    """One collection: its documents' folder and its index, as the settings to build it with."""

    name: str
    settings: Settings

    @property
    def folder(self) -> Path:
        return self.settings.corpus

    @property
    def index_dir(self) -> Path:
        return self.settings.index_dir


@dataclass(frozen=True)
class CollectionConfig:
    """The collections, the channel → collection routes and the admins."""

    collections: Mapping[str, Collection]  # "default" first, then by name
    default_collection: str = DEFAULT
    slack_channels: Mapping[str, str] = field(default_factory=dict)
    discord_channels: Mapping[str, str] = field(default_factory=dict)  # id → collection
    admins: Mapping[str, Admins] = field(default_factory=dict)  # collection → who may change it
    source: Path | None = None  # the file read; None: one collection, no file

    @property
    def names(self) -> list[str]:
        return list(self.collections)

    def get(self, name: str | None) -> Collection:
        """The collection ``name`` (None: the default one); CollectionError lists the known."""
        name = self.default_collection if name is None else name.strip()
        found = self.collections.get(name)
        if found is None:
            hint = "" if self.source is not None else messages.COLLECTIONS_NEED_CONFIG
            raise CollectionError(
                messages.UNKNOWN_COLLECTION.format(name=name, known=", ".join(self.names)) + hint
            )
        return found

    def for_slack(self, channel: str | None) -> str:
        """The collection answering in Slack channel ``channel``."""
        return self.slack_channels.get(channel or "", self.default_collection)

    def for_discord(self, *places: int | str | None) -> str:
        """The collection for the first of ``places`` that is listed: channel, parent, guild."""
        for place in places:
            if place is not None and str(place) in self.discord_channels:
                return self.discord_channels[str(place)]
        return self.default_collection


def single(settings: Settings) -> CollectionConfig:
    """The corpus folder as the one collection ``default``, sub-folders included.

    Its admins are those ``QUOTEBOT_ADMINS`` names (none: it cannot be changed from chat).
    """
    admins = env_admins(settings.admins)
    return CollectionConfig(
        {DEFAULT: Collection(DEFAULT, settings)}, admins={DEFAULT: admins} if admins else {}
    )


def env_admins(text: str) -> Admins:
    """``QUOTEBOT_ADMINS``: Slack member ids and Discord ``server:user`` id pairs, by commas."""
    slack: set[str] = set()
    discord: list[DiscordAdmins] = []
    for item in text.replace(",", " ").split():
        pair = _DISCORD_PAIR.fullmatch(item)
        if pair:
            discord.append(DiscordAdmins(pair[1], users=frozenset([pair[2]])))
        elif _SLACK_ID.fullmatch(item):
            slack.add(item)
        else:
            raise ConfigError(messages.ADMINS_ENV_INVALID.format(item=item[:40]))
    return Admins(frozenset(slack), tuple(discord))


def config_path(settings: Settings) -> Path | None:
    """The configuration file to read: QUOTEBOT_CONFIG, else ./quotebot.toml if it exists."""
    if settings.config_file is not None:
        if not settings.config_file.is_file():
            raise ConfigError(messages.CONFIG_MISSING.format(path=settings.config_file))
        return settings.config_file
    local = Path.cwd() / CONFIG_NAME
    return Path(CONFIG_NAME) if local.is_file() else None


def load(settings: Settings) -> CollectionConfig:
    """The collections of ``settings.corpus`` and their routes; ConfigError (one line) if wrong."""
    path = config_path(settings)
    if path is None:
        return single(settings)
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(messages.CONFIG_UNREADABLE.format(path=path, reason=exc)) from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(messages.CONFIG_UNREADABLE.format(path=path, reason=reason)) from None
    return parse(data, settings, path)


def subfolders(corpus: Path) -> list[str]:
    """The names of the collections found in ``corpus``: its non-hidden real sub-folders."""
    try:
        entries = list(os.scandir(corpus))
    except OSError:
        return []  # a missing corpus is reported when it is read
    return sorted(
        e.name for e in entries if not e.name.startswith(".") and e.is_dir(follow_symlinks=False)
    )


def parse(data: Mapping[str, Any], settings: Settings, source: Path) -> CollectionConfig:
    """Check the parsed TOML ``data`` against the corpus folder and build the configuration."""

    def fail(text: str) -> ConfigError:
        return ConfigError(f"{source}: {text}")

    if settings.admins.strip():
        raise fail(messages.ADMINS_ENV_WITH_FILE)
    if "discord_admin_role" in data:
        raise fail(messages.CONFIG_ADMIN_ROLE_GONE)
    for key in data:
        if key not in _TOP_KEYS:
            raise fail(messages.CONFIG_UNKNOWN_KEY.format(key=key, known=", ".join(_TOP_KEYS)))
    folders = subfolders(settings.corpus)
    if DEFAULT in folders:
        raise fail(messages.CONFIG_DEFAULT_FOLDER.format(folder=settings.corpus / DEFAULT))
    collections: dict[str, Collection] = {
        DEFAULT: Collection(DEFAULT, replace(settings, corpus_subfolders=False))
    }
    for name in folders:
        collections[name] = Collection(
            name,
            replace(
                settings,
                corpus=settings.corpus / name,
                index_dir=settings.index_dir / INDEX_SUBFOLDER / name,
            ),
        )
    known = ", ".join(collections)

    default = data.get("default_collection", DEFAULT)
    if not isinstance(default, str):
        raise fail("default_collection must be a collection name in quotes.")
    if default not in collections:
        raise fail(
            messages.CONFIG_UNKNOWN_COLLECTION.format(
                what=f"default_collection = {default!r}",
                folder=settings.corpus / default,
                known=known,
            )
        )

    tables = data.get("collections", {})
    if not isinstance(tables, dict):
        raise fail("collections must be tables like [collections.hr].")
    routes: dict[str, dict[str, str]] = {"slack_channels": {}, "discord_channels": {}}
    admin_tables: dict[str, Any] = {}  # read once every channel is known
    for name, table in tables.items():
        if name not in collections:
            raise fail(
                messages.CONFIG_UNKNOWN_COLLECTION.format(
                    what=f"[collections.{name}]", folder=settings.corpus / name, known=known
                )
            )
        if not isinstance(table, dict):
            raise fail(f"[collections.{name}] must be a table.")
        for key, values in table.items():
            if key not in _COLLECTION_KEYS:
                raise fail(
                    messages.CONFIG_UNKNOWN_KEY.format(
                        key=f"collections.{name}.{key}", known=", ".join(_COLLECTION_KEYS)
                    )
                )
            if key == "admins":
                admin_tables[name] = values
                continue
            if key == "min_confidence":
                # This collection's own bar (a stricter #hr, say): wins over the environment's.
                if not confidence_bar(values):
                    raise fail(messages.CONFIG_MIN_CONFIDENCE.format(name=name))
                own = replace(collections[name].settings, min_confidence=float(values))
                collections[name] = Collection(name, own)
                continue
            numeric = key == "discord_channels"
            for channel in _ids(values, f"collections.{name}.{key}", fail, numeric):
                taken = routes[key].get(channel)
                if taken is not None:
                    raise fail(
                        messages.CONFIG_CHANNEL_TWICE.format(
                            channel=channel, first=taken, second=name
                        )
                    )
                routes[key][channel] = name

    everywhere = data.get("admins", [])
    if not isinstance(everywhere, list) or not all(
        isinstance(a, str) and a.strip() for a in everywhere
    ):
        raise fail('admins must be a list of Slack member ids, like ["U012ABCDEF"].')
    admins: dict[str, Admins] = {}
    for name in collections:
        named = _admins(admin_tables.get(name, {}), name, routes["discord_channels"], fail)
        slack = named.slack | {a.strip() for a in everywhere}
        if slack or named.discord:
            admins[name] = Admins(slack, named.discord)
    return CollectionConfig(
        collections,
        default_collection=default,
        slack_channels=routes["slack_channels"],
        discord_channels=routes["discord_channels"],
        admins=admins,
        source=source,
    )


def _admins(table: Any, name: str, discord_routes: Mapping[str, str], fail: Any) -> Admins:
    """``[collections.NAME] admins``: Slack member ids, Discord ids with their server."""
    key = f"collections.{name}.admins"
    if not isinstance(table, dict):
        raise fail(f'{key} must be a table, like admins.slack = ["U012ABCDEF"].')
    for unknown in sorted(set(table) - set(_ADMIN_KEYS)):
        raise fail(
            messages.CONFIG_UNKNOWN_KEY.format(key=f"{key}.{unknown}", known=", ".join(_ADMIN_KEYS))
        )
    slack = frozenset(_ids(table.get("slack", []), f"{key}.slack", fail, False, '["U012ABCDEF"]'))
    entries = table.get("discord", [])
    example = f"{key}.discord must be a list of tables, like [{_DISCORD_ADMIN_EXAMPLE}]"
    if not isinstance(entries, list):
        raise fail(f"{example}.")
    discord = []
    for entry in entries:
        if not isinstance(entry, dict):
            raise fail(f"{example}; got {entry!r}.")
        for unknown in sorted(set(entry) - set(_DISCORD_ADMIN_KEYS)):
            raise fail(
                messages.CONFIG_UNKNOWN_KEY.format(
                    key=f"{key}.discord.{unknown}", known=", ".join(_DISCORD_ADMIN_KEYS)
                )
            )
        server = entry.get("server")
        server = str(server).strip() if isinstance(server, str | int) else ""
        if not server.isdigit():
            raise fail(
                f"{key}.discord: each entry needs the server id its ids count in, "
                f"like {_DISCORD_ADMIN_EXAMPLE}."
            )
        manage_server = entry.get("manage_server", False)
        if not isinstance(manage_server, bool):
            raise fail(f"{key}.discord manage_server must be true or false.")
        if manage_server and discord_routes.get(server) != name:
            raise fail(messages.CONFIG_MANAGE_SERVER_UNMAPPED.format(name=name, server=server))
        users = frozenset(_ids(entry.get("users", []), f"{key}.discord users", fail, True))
        roles = frozenset(_ids(entry.get("roles", []), f"{key}.discord roles", fail, True))
        if not (users or roles or manage_server):
            raise fail(
                f"{key}.discord: the entry for server {server} names nobody; give users, "
                "roles or manage_server = true."
            )
        discord.append(DiscordAdmins(server, users, roles, manage_server))
    return Admins(slack, tuple(discord))


def _ids(values: Any, key: str, fail: Any, numeric: bool, example: str = "") -> Iterator[str]:
    example = example or ('["112233445566"]' if numeric else '["C0123ABCD"]')
    if not isinstance(values, list):
        raise fail(f"{key} must be a list of ids, like {example}.")
    for value in values:
        text = str(value).strip() if isinstance(value, str | int) else ""
        if not text or isinstance(value, bool) or (numeric and not text.isdigit()):
            raise fail(f"{key} must be a list of ids, like {example}; got {value!r}.")
        yield text


# -- what the chat adapters call ------------------------------------------------------


class Answerer(Protocol):
    """What answers questions about one collection (:class:`~bot.service.QuoteService`,
    :class:`~bot.reload.ReloadingService`)."""

    def ask(self, question: str, previous: Turn | None = None) -> Answer: ...

    def sources(self) -> list[SourceInfo]: ...

    def quote(self, quote_id: str) -> Quote | None: ...

    def context(self, quote_id: str, sentences: int = 2) -> Context | None: ...

    @property
    def index(self) -> Any: ...


class Route(NamedTuple):
    """The collection that answers in a place, and its service."""

    collection: str
    service: Answerer


class Service(Answerer, Protocol):
    """What the chat adapters and the terminal chat call: answering (for the active
    collection), which collection answers where, and the library behind /add.

    Met by :class:`CollectionServices` and, through :class:`OneCollection`, by a
    service that is its own only collection.
    """

    @property
    def active(self) -> str: ...

    @property
    def names(self) -> list[str]: ...

    def use(self, name: str) -> str: ...

    def for_slack(self, channel: str | None) -> Route: ...

    def for_discord(self, *places: int | str | None) -> Route: ...

    @property
    def library(self) -> Library | None: ...


class OneCollection:
    """The routing of a service without collections: it answers everywhere as ``default``,
    and documents cannot be added from chat (there is no library)."""

    active = DEFAULT
    library: Library | None = None

    @property
    def names(self) -> list[str]:
        return [DEFAULT]

    def use(self, name: str) -> str:
        return DEFAULT  # one collection: there is no other to switch to

    def for_slack(self, channel: str | None) -> Route:
        return Route(DEFAULT, cast(Answerer, self))

    def for_discord(self, *places: int | str | None) -> Route:
        return Route(DEFAULT, cast(Answerer, self))


# -- one service per collection ---------------------------------------------------------


class _NoIndex:
    """What /healthz and /metrics see while the collection in front has no index."""

    manifest: dict[str, Any] = {}
    folder = None
    documents: list[Any] = []

    def __len__(self) -> int:
        return 0


class CollectionServices:
    """One service per collection, and which one answers where.

    It stands where one service stands (the terminal chat, ``quotebot ask``,
    /healthz): those calls go to the ``active`` collection, the default one
    unless :meth:`use` chose another. Chat adapters pick the service of the
    channel with :meth:`for_slack` / :meth:`for_discord`.
    """

    def __init__(
        self, config: CollectionConfig, services: Mapping[str, Any], embedder_factory: Any = None
    ) -> None:
        self.config = config
        self.services = dict(services)
        self.embedder_factory = embedder_factory  # what builds after /add embed with
        self.active = config.default_collection

    def get(self, name: str | None) -> Any:
        return self.services[self.config.get(name).name]

    def use(self, name: str) -> str:
        """Make ``name`` the active collection; CollectionError when there is no such one."""
        self.active = self.config.get(name).name
        return self.active

    @property
    def names(self) -> list[str]:
        return self.config.names

    @cached_property
    def library(self) -> Library | None:
        """Adds and removes the documents of these collections (``/add``, ``/remove``)."""
        from bot.library import Library

        return Library(self.config, self, embedder_factory=self.embedder_factory)

    def for_slack(self, channel: str | None) -> Route:
        """The collection and service answering in Slack ``channel``."""
        name = self.config.for_slack(channel)
        return Route(name, self.services[name])

    def for_discord(self, *places: int | str | None) -> Route:
        """The collection and service for a Discord channel, its parent channel, its guild."""
        name = self.config.for_discord(*places)
        return Route(name, self.services[name])

    # The service interface, for the active collection.

    def ask(self, question: str, previous: Turn | None = None) -> Answer:
        return self.services[self.active].ask(question, previous)

    def sources(self) -> list[SourceInfo]:
        return self.services[self.active].sources()

    def quote(self, quote_id: str) -> Quote | None:
        return self.services[self.active].quote(quote_id)

    def context(self, quote_id: str, sentences: int = 2) -> Context | None:
        return self.services[self.active].context(quote_id, sentences)

    @property
    def index(self) -> Any:
        index = self.services[self.active].index
        return _NoIndex() if index is None else index

    def start(self) -> CollectionServices:
        for service in self.services.values():
            getattr(service, "start", lambda: None)()
        return self

    def close(self) -> None:
        for service in self.services.values():
            getattr(service, "close", lambda: None)()

    def __enter__(self) -> CollectionServices:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def switch(service: Service, name: str) -> str:
    """The terminal chat's ``/collection [NAME]``: switch to NAME if given; say which answers."""
    if name.strip():
        service.use(name)
    return messages.COLLECTION_ACTIVE.format(name=service.active, known=", ".join(service.names))
