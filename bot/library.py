"""Documents added to and removed from a collection from chat, by its admins.

The chat adapters only download the file and check who asks; everything else
happens here. An added file is checked as a corpus file is (a supported type
by its extension, within ``QUOTEBOT_MAX_FILE_MB``, readable and holding text),
written into the collection's folder under a name derived from the uploaded
one (never a path a user chose: no folders, no dot-files, a restricted set of
characters), atomically (a hidden temporary file, then ``os.replace``), and
indexed incrementally by the same build as ``quotebot index``, holding the
index's writer lock. A document of the same name is replaced (the reply says
so). The collection's running service then switches to the new index at once.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot import messages, render
from bot.errors import CollectionError
from bot.routing import Collection, CollectionConfig, CollectionServices
from index import store
from index.documents import ACCEPTED, SUFFIXES, Document, find_files, load_document
from index.durable import fsync_dir
from index.errors import CorpusError

MAX_NAME_CHARS = 80  # of a stored file name's stem
UPLOAD_PREFIX = ".upload-"  # hidden: a corpus walk never reads a file being written
_UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class Added:
    collection: str
    document: str  # the file name in the collection's folder
    title: str
    paragraphs: int
    replaced: bool  # a document of the same name was there before

    def reply(self) -> str:
        template = messages.DOCUMENT_REPLACED if self.replaced else messages.DOCUMENT_ADDED
        return template.format(**dict(self.__dict__, paragraphs=render.paragraphs(self.paragraphs)))


@dataclass(frozen=True)
class Removed:
    collection: str
    document: str
    title: str

    def reply(self) -> str:
        return messages.DOCUMENT_REMOVED.format(**self.__dict__)


def safe_name(filename: str) -> str:
    """The file name an upload called ``filename`` is stored under; CollectionError if none.

    Only the last path component counts (``../../etc/passwd.txt`` is
    ``passwd.txt``); accents are dropped, every other character outside
    ``A-Z a-z 0-9 . _ -`` becomes ``-``, the stem is cut to
    :data:`MAX_NAME_CHARS`; a stem with nothing left is named from a hash of
    the original. Dot-files and unsupported extensions are refused.
    """
    base = unicodedata.normalize("NFKC", filename).replace("\\", "/").rsplit("/", 1)[-1].strip()
    shown = base[:MAX_NAME_CHARS] or "(no name)"
    if base.startswith("."):
        raise CollectionError(messages.ADD_HIDDEN.format(name=shown))
    stem, dot, extension = base.rpartition(".")
    suffix = f".{extension.lower()}"
    if not dot or suffix not in SUFFIXES:
        raise CollectionError(messages.ADD_UNSUPPORTED.format(name=shown, accepted=ACCEPTED))
    plain = "".join(c for c in unicodedata.normalize("NFKD", stem) if not unicodedata.combining(c))
    clean = _UNSAFE_CHARS.sub("-", plain)[:MAX_NAME_CHARS].strip("-._")
    if not clean:
        clean = "document-" + hashlib.sha256(base.encode()).hexdigest()[:8]
    return clean + suffix


class Library:
    """Adds and removes the documents of ``config``'s collections for chat admins.

    ``services`` (when given) are the running bot's: after a change, the
    collection's service switches to the new index before the reply is sent.
    Who may change which collection is decided before, by :mod:`bot.permissions`.
    """

    def __init__(
        self,
        config: CollectionConfig,
        services: CollectionServices | None = None,
        *,
        embedder_factory: Any = None,
    ) -> None:
        self.config = config
        self.services = services
        self.embedder_factory = embedder_factory

    def add(self, filename: str, data: bytes, collection: str | None = None) -> Added:
        """Check ``data`` as a corpus file, store it in ``collection`` and index it."""
        target = self.config.get(collection)
        name = safe_name(filename)
        if len(data) > target.settings.max_file_bytes:
            raise CollectionError(too_big(name, len(data), target.settings.max_file_mb))
        if not data.strip():
            raise CollectionError(messages.ADD_EMPTY.format(name=name))
        folder = target.folder
        with store.writer_lock(target.index_dir):
            temporary = self._write_hidden(folder, name, data)
            try:
                document = _readable(temporary, name)
            except BaseException:
                _unlink(temporary)
                raise
            path = folder / name
            previous = _read_old(path)
            try:
                os.replace(temporary, path)
                fsync_dir(folder)
                self._reindex(target)
            except BaseException:
                _restore(path, previous)
                _unlink(temporary)
                raise
        self._refresh(target.name)
        return Added(
            collection=target.name,
            document=name,
            title=document.title,
            paragraphs=len(document.paragraphs),
            replaced=previous is not None,
        )

    def remove(self, name: str, collection: str | None = None) -> Removed:
        """Delete the document ``name`` (its file name, or its exact title) and re-index."""
        target = self.config.get(collection)
        wanted = name.strip()
        with store.writer_lock(target.index_dir):
            path, doc_id, title = self._find(target, wanted)
            try:
                path.unlink()
            except OSError as exc:
                raise CollectionError(
                    messages.REMOVE_FAILED.format(name=doc_id, reason=exc.strerror or exc)
                ) from None
            fsync_dir(path.parent)
            self._reindex(target)
        self._refresh(target.name)
        return Removed(collection=target.name, document=doc_id, title=title)

    # Steps

    @staticmethod
    def _write_hidden(folder: Path, name: str, data: bytes) -> Path:
        suffix = Path(name).suffix
        temporary = folder / f"{UPLOAD_PREFIX}{secrets.token_hex(8)}{suffix}"
        try:
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        except OSError as exc:
            _unlink(temporary)
            raise CollectionError(
                messages.ADD_WRITE_FAILED.format(name=name, reason=exc.strerror or exc)
            ) from None
        return temporary

    def _find(self, target: Collection, wanted: str) -> tuple[Path, str, str]:
        """The file of the document named ``wanted``: found by walking, never built from it."""
        settings = target.settings
        files = dict(
            (doc_id, path)
            for path, doc_id in find_files(
                settings.corpus, warn=lambda _: None, recursive=settings.corpus_subfolders
            )
        )
        if wanted in files:
            return files[wanted], wanted, self._title(target, wanted)
        titled = [
            s.document
            for s in self._sources(target)
            if s.title.casefold() == wanted.casefold() and s.document in files
        ]
        if len(titled) == 1:
            return files[titled[0]], titled[0], wanted
        if titled:
            raise CollectionError(
                messages.REMOVE_AMBIGUOUS.format(name=wanted, documents=", ".join(titled))
            )
        raise CollectionError(
            messages.REMOVE_UNKNOWN.format(name=wanted[:MAX_NAME_CHARS], collection=target.name)
        )

    def _sources(self, target: Collection) -> list[Any]:
        if self.services is None or target.name not in self.services.services:
            return []
        return list(self.services.get(target.name).sources())

    def _title(self, target: Collection, doc_id: str) -> str:
        return next((s.title for s in self._sources(target) if s.document == doc_id), doc_id)

    def _reindex(self, target: Collection) -> None:
        from index.build import build, build_or_unpublish

        spec = target.settings.index_spec()
        build_or_unpublish(spec, lambda: build(spec, embedder_factory=self.embedder_factory))

    def _refresh(self, name: str) -> None:
        if self.services is not None and name in self.services.services:
            self.services.get(name).check()


def too_big(name: str, size: int, limit_mb: float) -> str:
    """The refusal of a file of ``size`` bytes over the ``QUOTEBOT_MAX_FILE_MB`` limit."""
    shown = f"{size / 2**20:.1f} MB" if size >= 2**20 // 10 else f"{size / 1024:.0f} KB"
    return messages.ADD_TOO_BIG.format(name=name, size=shown, limit=limit_mb)


def _readable(path: Path, name: str) -> Document:
    """The document in ``path`` as the index would read it; CollectionError saying why not."""
    try:
        return load_document(path, name)
    except CorpusError as exc:
        reason = str(exc).removeprefix(f"{path}: ").rstrip(".")
        raise CollectionError(messages.ADD_UNREADABLE.format(name=name, reason=reason)) from None


def _read_old(path: Path) -> bytes | None:
    try:
        return path.read_bytes() if path.is_file() and not path.is_symlink() else None
    except OSError:
        return None


def _restore(path: Path, previous: bytes | None) -> None:
    """Put back what an add replaced (or remove what it added) when indexing failed."""
    with contextlib.suppress(OSError):
        if previous is None:
            path.unlink()
        else:
            path.write_bytes(previous)


def _unlink(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
