"""Building the index of a corpus folder, and noticing when it is out of date.

A build reads the corpus, re-embeds only the documents that changed since the
published index, and publishes a new generation (:mod:`index.store`). The live
index is built on first use and updated when the corpus files' sizes or
modification times differ from those the manifest recorded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from index import model_cache, store
from index.documents import find_files, load_corpus
from index.errors import ModelError
from index.store import CorpusIndex, Progress

logger = logging.getLogger(__name__)

Notice = Callable[[str], None]
# Builds the embedding model from its name; the default loads sentence-transformers.
EmbedderFactory = Callable[[str], Any]
T = TypeVar("T")


@dataclass(frozen=True)
class BuildSpec:
    """What a build needs to know: where the documents are, where the index goes, how to embed."""

    corpus: Path
    index_dir: Path
    model: str
    kind: str = "auto"  # one of index.vectors.KINDS
    max_file_bytes: int = 20 * 2**20
    recursive: bool = True  # read the corpus folder's subfolders too
    # Where exports of the question model are kept for every index (QUOTEBOT_MODEL_CACHE);
    # None: index.model_cache.default_folder().
    model_cache: Path | None = None


def file_stamps(spec: BuildSpec, paths: list[Path] | None = None) -> dict[str, list[int]]:
    """Size and modification time of every corpus file, by doc_id: a cheap change detector."""
    stamps = {}
    quiet = lambda _: None  # noqa: E731
    for path, doc_id in find_files(spec.corpus, paths, warn=quiet, recursive=spec.recursive):
        try:
            st = path.stat()
        except OSError:
            continue
        stamps[doc_id] = [st.st_size, st.st_mtime_ns]
    return stamps


def _sources(manifest: dict[str, Any] | None) -> list[Path] | None:
    paths = (manifest or {}).get("paths") or None
    return [Path(p) for p in paths] if paths else None


def sentence_transformer(name: str) -> Any:
    from index.embedder import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(name)


def build(
    spec: BuildSpec,
    paths: list[Path] | None = None,
    *,
    rebuild: bool = False,
    progress: Progress | None = None,
    warn: Callable[[str], None] | None = None,
    notice: Notice | None = None,
    embedder_factory: EmbedderFactory | None = None,
) -> CorpusIndex:
    """Build or update the index in ``spec.index_dir``; re-embed only changed documents.

    One build at a time per index folder: a second one waits (``notice`` says so
    once), then reuses whatever the first one embedded.
    """
    factory = embedder_factory or sentence_transformer
    with store.writer_lock(spec.index_dir, notice=notice):
        documents = load_corpus(
            spec.corpus,
            paths,
            warn=warn,
            max_bytes=spec.max_file_bytes,
            progress=progress,
            recursive=spec.recursive,
        )
        previous = None
        if not rebuild and store.exists(spec.index_dir):
            try:
                previous = store.load_index(spec.index_dir, model=spec.model)
            except Exception as exc:  # a broken or foreign index is simply not reused
                logger.info("Not reusing the previous index: %s", str(exc))
        embedder: Any = _LazyEmbedder(lambda: factory(spec.model))
        if previous is not None:
            embedder.name, embedder.dim = previous.manifest["model"], previous.manifest["dim"]
        index = store.build_index(
            documents, embedder, kind=spec.kind, previous=previous, progress=progress
        )
        if previous is not None:
            previous.release()
        index.manifest["corpus"] = str(spec.corpus)
        index.manifest["paths"] = [str(p) for p in paths] if paths else []
        index.manifest["files"] = file_stamps(spec, paths)

        def export(target: Path) -> None:
            model = embedder.load()
            export_onnx = getattr(model, "export_onnx", None)
            if export_onnx is None:
                raise ModelError(f"The model {embedder.name!r} cannot be exported to ONNX.")
            # The folder the model was loaded from; none for a model from a hub's cache,
            # which is then exported for this index alone.
            path = getattr(model, "path", None)
            source = Path(path) if path else None
            if source is None or not source.is_dir():
                export_onnx(target)
                return
            model_cache.place(
                target,
                key=model_cache.model_key(model.name, source),
                export=export_onnx,
                folder=spec.model_cache or model_cache.default_folder(),
                renew=rebuild,  # a rebuild renews the shared export too
            )

        store.save_index(
            index,
            spec.index_dir,
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


def is_stale(spec: BuildSpec, manifest: dict[str, Any]) -> bool:
    """True when corpus files were added, removed or modified since the index was built."""
    try:
        return file_stamps(spec, _sources(manifest)) != manifest.get("files")
    except Exception:
        return True


def _look(spec: BuildSpec) -> tuple[dict[str, Any] | None, bool]:
    """The live manifest (None: no index) and whether the corpus changed since it was built."""
    if not store.exists(spec.index_dir):
        return None, False
    manifest = store.read_manifest(spec.index_dir)
    # An index written in an older format is rebuilt as if the corpus had changed.
    stale = (
        manifest is not None
        and manifest.get("model") == spec.model
        and (manifest.get("format_version") != store.FORMAT_VERSION or is_stale(spec, manifest))
    )
    return manifest, stale


def open_index(
    spec: BuildSpec,
    *,
    progress: Progress | None = None,
    notice: Notice | None = None,
    embedder_factory: EmbedderFactory | None = None,
) -> CorpusIndex:
    """The live index, built on first use and updated when the corpus changed."""
    notice = notice or logger.info
    manifest, stale = _look(spec)
    if manifest is None or stale:
        with store.writer_lock(spec.index_dir, notice=notice):
            # Look again as the only writer: another process may have built it meanwhile.
            manifest, stale = _look(spec)
            options: dict[str, Any] = dict(
                progress=progress, notice=notice, embedder_factory=embedder_factory
            )
            if manifest is None:
                notice(f"No index yet; building it from {spec.corpus} (first run only)…")
                return build(spec, **options)
            if stale:
                notice("The corpus changed; updating the index…")
                return build(spec, _sources(manifest), **options)
    return store.load_index(spec.index_dir, model=spec.model)


def has_documents(spec: BuildSpec) -> bool:
    """Whether the corpus folder holds any file of a supported type (CorpusError if missing)."""
    found = find_files(spec.corpus, warn=lambda _: None, recursive=spec.recursive)
    return bool(found)


def build_or_unpublish(spec: BuildSpec, make: Callable[[], T]) -> T | None:
    """``make()`` (a build, or whatever opens the index), unless ``spec``'s corpus holds no
    document of a supported type: then its published index is withdrawn and None returned."""
    if not has_documents(spec):
        store.unpublish(spec.index_dir)
        return None
    return make()
