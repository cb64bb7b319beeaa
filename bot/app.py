"""The one place that builds everything: index, embedders, service, state store."""

from __future__ import annotations

import logging
import os
import threading
from typing import TYPE_CHECKING, Any

from bot.config import Settings
from bot.service import QuoteService
from index import store
from index.build import EmbedderFactory, Notice, build_or_unpublish, open_index
from index.build import sentence_transformer as _sentence_transformer
from index.store import CorpusIndex, Progress

if TYPE_CHECKING:
    from bot.metrics import Health, Metrics
    from bot.reload import ReloadingService
    from bot.routing import Collection, CollectionConfig, CollectionServices
    from bot.storage import Store

logger = logging.getLogger(__name__)


def shared_embedders(factory: EmbedderFactory | None = None) -> EmbedderFactory:
    """``factory`` (default: sentence-transformers) loading each model once, for every build.

    Several collections, and every document added from chat, then share one model
    instead of loading it for each build.
    """
    made: dict[str, Any] = {}
    lock = threading.Lock()

    def make(name: str) -> Any:
        with lock:
            if name not in made:
                made[name] = (factory or _sentence_transformer)(name)
            return made[name]

    return make


def query_embedder(
    index: CorpusIndex, settings: Settings, embedder_factory: EmbedderFactory | None = None
) -> Any:
    """ONNX when the index has an export (no torch import), else the build model."""
    model_dir = index.model_dir
    if model_dir is not None:
        from index.embedder import OnnxEmbedder

        return OnnxEmbedder(model_dir)
    return (embedder_factory or _sentence_transformer)(settings.model)


def service_for(
    index: CorpusIndex, settings: Settings, embedder_factory: EmbedderFactory | None = None
) -> QuoteService:
    """A QuoteService answering from ``index``."""
    from index.search import Searcher

    searcher = Searcher(index, query_embedder(index, settings, embedder_factory))
    return QuoteService(
        index,
        searcher,
        max_question_chars=settings.max_question_chars,
        min_confidence=settings.min_confidence,
    )


def build_service(
    settings: Settings,
    *,
    progress: Progress | None = None,
    notice: Notice | None = None,
    embedder_factory: EmbedderFactory | None = None,
) -> QuoteService:
    index = open_index(
        settings.index_spec(), progress=progress, notice=notice, embedder_factory=embedder_factory
    )
    return service_for(index, settings, embedder_factory)


def live_service(
    settings: Settings,
    service: QuoteService | None,
    *,
    embedder_factory: EmbedderFactory | None = None,
    empty: str | None = None,
    collection: str = "default",
) -> ReloadingService:
    """``service``, followed by the service of each new generation a build publishes.

    The returned service checks every ``settings.reload_seconds`` (never when 0)
    once started; close it to stop. ``empty``: the line it answers with while
    the collection has no index (``service`` may then be None).
    """
    from bot.reload import ReloadingService

    def load() -> QuoteService:
        index = store.load_index(settings.index_dir, model=settings.model)
        try:
            return service_for(index, settings, embedder_factory)
        except BaseException:
            index.release()
            raise

    return ReloadingService(
        service,
        generation=lambda: store.current_generation(settings.index_dir),
        load=load,
        interval=settings.reload_seconds,
        cleanup=lambda: store.remove_unused(settings.index_dir),
        empty=empty,
        collection=collection,
    )


def collection_service(
    collection: Collection,
    config: CollectionConfig,
    *,
    progress: Progress | None = None,
    notice: Notice | None = None,
    embedder_factory: EmbedderFactory | None = None,
) -> QuoteService | None:
    """The collection's service, its index built or updated first; None when it has no documents.

    With collections, an empty one has no index (an old one is withdrawn); with
    the corpus as the only collection, an empty corpus is an error, as it was.
    """

    def make() -> QuoteService:
        return build_service(
            collection.settings, progress=progress, notice=notice, embedder_factory=embedder_factory
        )

    if config.source is None:
        return make()
    return build_or_unpublish(collection.settings.index_spec(), make)


def build_collections(
    config: CollectionConfig,
    names: list[str] | None = None,
    *,
    progress: Progress | None = None,
    notice: Notice | None = None,
    embedder_factory: EmbedderFactory | None = None,
) -> CollectionServices:
    """A service for each collection in ``names`` (default: all), each following its index.

    Start the result (or use it as a context manager) to follow new builds.
    """
    from bot import messages
    from bot.routing import CollectionServices

    embedder_factory = shared_embedders(embedder_factory)
    services: dict[str, ReloadingService] = {}
    try:
        for name in names or config.names:
            collection = config.collections[name]
            service = collection_service(
                collection,
                config,
                progress=progress,
                notice=notice,
                embedder_factory=embedder_factory,
            )
            services[name] = live_service(
                collection.settings,
                service,
                embedder_factory=embedder_factory,
                empty=messages.COLLECTION_EMPTY.format(name=name),
                collection=name,
            )
    except BaseException:
        for built in services.values():
            built.close()
        raise
    result = CollectionServices(config, services, embedder_factory)
    if names:
        result.active = names[0]
    return result


def build_store(settings: Settings, *, wait: bool = False) -> Store:
    """The shared state store: ``QUOTEBOT_DATABASE_URL``, else the SQLite file ``feedback_db``.

    Opening it creates or migrates the schema and applies the retention policy.
    With ``wait``, a PostgreSQL database that does not answer yet is waited for
    (the store refuses calls until it does) instead of stopping with an error.
    """
    from bot.storage import Policy, open_store

    policy = Policy(
        answer_ttl_seconds=settings.answer_ttl_hours * 3600,
        retention_seconds=settings.retention_days * 86400,
    )
    return open_store(
        settings.database_url,
        sqlite_path=settings.feedback_db,
        user_hash_key=settings.user_hash_key,
        key_file=settings.user_hash_key_file,
        policy=policy,
        wait=wait,
    )


def build_ops(
    service: QuoteService | ReloadingService, store: Store | None = None
) -> tuple[Metrics, Health]:
    """The process's metrics (its own registry) and its health check.

    The health check pings ``store`` (its ``ping()`` raises when the database is
    unreachable) and reads the live index from ``service`` on every request.
    """
    from bot.metrics import Health, Metrics

    metrics = Metrics()
    health = Health(
        lambda: service.index,
        database=store.ping if store is not None else None,
        backend=store.backend if store is not None else "",
    )
    return metrics, health


def quiet_libraries() -> None:
    """Keep third-party chatter (progress bars, hub warnings) out of the user's terminal."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    for name in ("sentence_transformers", "transformers", "optimum", "faiss", "httpx"):
        logging.getLogger(name).setLevel(logging.ERROR)
    # bm25s sets its own logger to DEBUG when imported; import it first to override that.
    import bm25s  # noqa: F401

    logging.getLogger("bm25s").setLevel(logging.WARNING)
