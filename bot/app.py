"""The one place that builds everything: index, embedders, service, state store."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.config import Settings
from bot.service import QuoteService
from index import store
from index.documents import find_files, load_corpus
from index.errors import ModelError
from index.store import CorpusIndex, Progress

if TYPE_CHECKING:
    from bot.collections import Collection, CollectionConfig, CollectionServices
    from bot.metrics import Health, Metrics
    from bot.reload import ReloadingService
    from bot.storage import Store

logger = logging.getLogger(__name__)

Notice = Callable[[str], None]
# Builds the embedding model from its name; the default loads sentence-transformers.
EmbedderFactory = Callable[[str], Any]


def file_stamps(settings: Settings, paths: list[Path] | None = None) -> dict[str, list[int]]:
    """Size and modification time of every corpus file, by doc_id: a cheap change detector."""
    stamps = {}
    quiet = lambda _: None  # noqa: E731
    for path, doc_id in find_files(
        settings.corpus, paths, warn=quiet, recursive=settings.corpus_subfolders
    ):
        try:
            st = path.stat()
        except OSError:
            continue
        stamps[doc_id] = [st.st_size, st.st_mtime_ns]
    return stamps


def _sources(manifest: dict[str, Any] | None) -> list[Path] | None:
    paths = (manifest or {}).get("paths") or None
    return [Path(p) for p in paths] if paths else None


def _sentence_transformer(name: str) -> Any:
    from index.embedder import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(name)


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


def build(
    settings: Settings,
    paths: list[Path] | None = None,
    *,
    rebuild: bool = False,
    progress: Progress | None = None,
    warn: Callable[[str], None] | None = None,
    notice: Notice | None = None,
    embedder_factory: EmbedderFactory | None = None,
) -> CorpusIndex:
    """Build or update the index in ``settings.index_dir``; re-embed only changed documents.

    One build at a time per index folder: a second one waits (``notice`` says so
    once), then reuses whatever the first one embedded.
    """
    factory = embedder_factory or _sentence_transformer
    with store.writer_lock(settings.index_dir, notice=notice):
        documents = load_corpus(
            settings.corpus,
            paths,
            warn=warn,
            max_bytes=settings.max_file_bytes,
            progress=progress,
            recursive=settings.corpus_subfolders,
        )
        previous = None
        if not rebuild and store.exists(settings.index_dir):
            try:
                previous = store.load_index(settings.index_dir, model=settings.model)
            except Exception as exc:  # a broken or foreign index is simply not reused
                logger.info("Not reusing the previous index: %s", str(exc))
        embedder: Any = _LazyEmbedder(lambda: factory(settings.model))
        if previous is not None:
            embedder.name, embedder.dim = previous.manifest["model"], previous.manifest["dim"]
        index = store.build_index(
            documents, embedder, kind=settings.index_kind, previous=previous, progress=progress
        )
        if previous is not None:
            previous.release()
        index.manifest["corpus"] = str(settings.corpus)
        index.manifest["paths"] = [str(p) for p in paths] if paths else []
        index.manifest["files"] = file_stamps(settings, paths)

        def export(target: Path) -> None:
            export_onnx = getattr(embedder.load(), "export_onnx", None)
            if export_onnx is None:
                raise ModelError(f"The model {embedder.name!r} cannot be exported to ONNX.")
            export_onnx(target)

        store.save_index(
            index,
            settings.index_dir,
            export_model=export,
            progress=progress,
            reuse_model=not rebuild,  # a rebuild renews the question model too
        )
    return index


class _LazyEmbedder:
    """Loads the (slow to import) model only if something actually needs embedding."""

    def __init__(self, factory: Callable[[], Any]) -> None:
        self._factory = factory
        self._inner: Any = None
        self.name: str = ""
        self.dim: int = 0

    def load(self) -> Any:
        if self._inner is None:
            self._inner = self._factory()
            self.name, self.dim = self._inner.name, self._inner.dim
        return self._inner

    def encode(self, texts: Any, *, progress: Any = None) -> Any:
        return self.load().encode(texts, progress=progress)

    def __getattr__(self, item: str) -> Any:
        return getattr(self.load(), item)


def is_stale(settings: Settings, manifest: dict[str, Any]) -> bool:
    """True when corpus files were added, removed or modified since the index was built."""
    try:
        return file_stamps(settings, _sources(manifest)) != manifest.get("files")
    except Exception:
        return True


def _look(settings: Settings) -> tuple[dict[str, Any] | None, bool]:
    """The live manifest (None: no index) and whether the corpus changed since it was built."""
    if not store.exists(settings.index_dir):
        return None, False
    manifest = store.read_manifest(settings.index_dir)
    # An index written in an older format is rebuilt as if the corpus had changed.
    stale = (
        manifest is not None
        and manifest.get("model") == settings.model
        and (manifest.get("format_version") != store.FORMAT_VERSION or is_stale(settings, manifest))
    )
    return manifest, stale


def open_index(
    settings: Settings,
    *,
    progress: Progress | None = None,
    notice: Notice | None = None,
    embedder_factory: EmbedderFactory | None = None,
) -> CorpusIndex:
    """The live index, built on first use and updated when the corpus changed."""
    notice = notice or logger.info
    manifest, stale = _look(settings)
    if manifest is None or stale:
        with store.writer_lock(settings.index_dir, notice=notice):
            # Look again as the only writer: another process may have built it meanwhile.
            manifest, stale = _look(settings)
            options: dict[str, Any] = dict(
                progress=progress, notice=notice, embedder_factory=embedder_factory
            )
            if manifest is None:
                notice(f"No index yet; building it from {settings.corpus} (first run only)…")
                return build(settings, **options)
            if stale:
                notice("The corpus changed; updating the index…")
                return build(settings, _sources(manifest), **options)
    return store.load_index(settings.index_dir, model=settings.model)


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
        settings, progress=progress, notice=notice, embedder_factory=embedder_factory
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


def has_documents(settings: Settings) -> bool:
    """Whether the corpus folder holds any file of a supported type (CorpusError if missing)."""
    found = find_files(settings.corpus, warn=lambda _: None, recursive=settings.corpus_subfolders)
    return bool(found)


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
    if config.source is not None and not has_documents(collection.settings):
        store.unpublish(collection.index_dir)
        return None
    return build_service(
        collection.settings, progress=progress, notice=notice, embedder_factory=embedder_factory
    )


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
    from bot.collections import CollectionServices

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
