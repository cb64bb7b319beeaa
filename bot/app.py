"""The one place that builds everything: index, embedders, service, state store."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.config import Settings
from bot.service import QuoteService
from index import store
from index.documents import find_files, load_corpus
from index.store import CorpusIndex

if TYPE_CHECKING:
    from bot.metrics import Health, Metrics
    from bot.storage import Store

logger = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


def file_stamps(settings: Settings, paths: list[Path] | None = None) -> dict[str, list[int]]:
    """Size and modification time of every corpus file, by doc_id: a cheap change detector."""
    stamps = {}
    for path, doc_id in find_files(settings.corpus, paths, warn=lambda _: None):
        try:
            st = path.stat()
        except OSError:
            continue
        stamps[doc_id] = [st.st_size, st.st_mtime_ns]
    return stamps


def _sources(manifest: dict[str, Any] | None) -> list[Path] | None:
    paths = (manifest or {}).get("paths") or None
    return [Path(p) for p in paths] if paths else None


def build(
    settings: Settings,
    paths: list[Path] | None = None,
    *,
    rebuild: bool = False,
    progress: Progress | None = None,
    warn: Callable[[str], None] | None = None,
) -> CorpusIndex:
    """Build or update the index in ``settings.index_dir``; re-embed only changed documents."""
    from index.embedder import SentenceTransformerEmbedder

    documents = load_corpus(settings.corpus, paths, warn=warn)
    previous = None
    if not rebuild and store.exists(settings.index_dir):
        try:
            previous = store.load_index(settings.index_dir, model=settings.model)
        except Exception as exc:  # a broken or foreign index is simply not reused
            logger.info("Not reusing the previous index: %s", exc)
    embedder: Any = _LazyEmbedder(lambda: SentenceTransformerEmbedder(settings.model))
    if previous is not None:
        embedder.name, embedder.dim = previous.manifest["model"], previous.manifest["dim"]
    index = store.build_index(
        documents, embedder, kind=settings.index_kind, previous=previous, progress=progress
    )
    index.manifest["corpus"] = str(settings.corpus)
    index.manifest["paths"] = [str(p) for p in paths] if paths else []
    index.manifest["files"] = file_stamps(settings, paths)

    def export(target: Path) -> None:
        embedder.load().export_onnx(target)

    store.save_index(index, settings.index_dir, export_model=export)
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


def open_index(
    settings: Settings,
    *,
    progress: Progress | None = None,
    notice: Callable[[str], None] | None = None,
) -> CorpusIndex:
    """The live index, built on first use and updated when the corpus changed."""
    notice = notice or logger.info
    manifest = store.read_manifest(settings.index_dir) if store.exists(settings.index_dir) else None
    if manifest is None:
        notice(f"No index yet; building it from {settings.corpus} (first run only)…")
        return build(settings, progress=progress)
    if manifest.get("model") == settings.model and is_stale(settings, manifest):
        notice("The corpus changed; updating the index…")
        return build(settings, _sources(manifest), progress=progress)
    return store.load_index(settings.index_dir, model=settings.model)


def query_embedder(index: CorpusIndex, settings: Settings) -> Any:
    """ONNX when the index has an export (no torch import), else sentence-transformers."""
    model_dir = index.model_dir
    if model_dir is not None:
        from index.embedder import OnnxEmbedder

        return OnnxEmbedder(model_dir)
    from index.embedder import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(settings.model)


def build_service(
    settings: Settings,
    *,
    progress: Progress | None = None,
    notice: Callable[[str], None] | None = None,
) -> QuoteService:
    from index.search import Searcher

    index = open_index(settings, progress=progress, notice=notice)
    searcher = Searcher(index, query_embedder(index, settings))
    return QuoteService(index, searcher, max_question_chars=settings.max_question_chars)


def build_store(settings: Settings) -> Store:
    """The shared state store: ``QUOTEBOT_DATABASE_URL``, else the SQLite file ``feedback_db``.

    Opening it creates or migrates the schema and applies the retention policy.
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
        policy=policy,
    )


def build_ops(service: QuoteService, store: Store | None = None) -> tuple[Metrics, Health]:
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
