"""The index on disk: documents, sentences, vectors, FAISS and BM25, with a manifest.

Layout of the index folder::

    CURRENT                 name of the live generation (replaced atomically)
    .lock                   held exclusively by the one process writing a generation
    gen-<time>-<random>/    one complete index
        .readers            held shared by every process serving this generation
        manifest.json       format version, model, dimension, per-document hashes, build time
        documents.json      the documents (text, paragraphs, metadata)
        sentences.npy       (doc, paragraph, start, end) for each sentence
        vectors.npy         one L2-normalised vector per sentence (with its heading trail)
        headings.npy        (doc, section) of each heading, when documents have headings
        heading_vectors.npy one L2-normalised vector per heading title
        dense.faiss         FAISS index over vectors
        bm25/               bm25s index over stemmed sentence words
        model/              the embedding model exported to ONNX, for torch-free queries

A build takes the folder's writer lock (a second build waits for it), writes a
new generation folder completely and fsyncs it, then points CURRENT at it with
one atomic rename, then removes the older generations that no process still
reads (their ``.readers`` lock can be taken exclusively). A crash at any point
leaves the previous index live.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import stat as stat_module
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from index import vectors as vector_index
from index.documents import READING, Block, Document, Progress, Section
from index.durable import fsync_dir, fsync_file, fsync_tree
from index.errors import IndexUnavailableError, IndexWriteError, ModelError
from index.passages import Sentence, split_document
from index.structure import Structure, headings, unit_text
from index.text import stems

logger = logging.getLogger(__name__)

# 2: documents.json holds each document's blocks and sections (its structure).
FORMAT_VERSION = 2
CURRENT = "CURRENT"
WRITER_LOCK = ".lock"
READERS_LOCK = ".readers"
REBUILD_HINT = "run `quotebot index --rebuild` to rebuild it"
# What a generation name looks like; anything else in CURRENT is not ours.
_GENERATION_NAME = re.compile(r"gen-[0-9A-Za-z-]{1,64}")

# The long stages of a build, as ``progress(stage, done, total)`` names them.
SPLITTING = "Splitting sentences"
EMBEDDING = "Embedding sentences"
WRITING = "Writing the index"
STAGES = (READING, SPLITTING, EMBEDDING, WRITING)


def content_hash(doc: Document) -> str:
    """Hash of everything about a document that its index entries depend on."""
    h = hashlib.sha256()
    parts = (doc.doc_id, doc.title, doc.source, doc.date, doc.text, repr(doc.paragraphs))
    # The structure decides how paragraphs are split into units, so it is part of the hash.
    for part in (*parts, repr(doc.blocks), repr(doc.sections)):
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    return h.hexdigest()


@dataclass
class CorpusIndex:
    """Everything a search needs, in memory."""

    documents: list[Document]
    sentences: np.ndarray  # int64 (n, 4): doc, paragraph, start, end
    vectors: np.ndarray  # float32 (n, dim)
    dense: Any  # faiss.Index
    bm25: Any  # bm25s.BM25
    manifest: dict[str, Any]
    folder: Path | None = None  # the generation folder it was loaded from
    # (doc, section) of every heading, and each heading's title embedded: FAQ entries.
    headings: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.int64))
    heading_vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    _texts: list[str] | None = field(default=None, repr=False)
    # A shared flock on folder/.readers; closed (so released) on release() or garbage collection.
    _lease: BinaryIO | None = field(default=None, repr=False)

    def release(self) -> None:
        """Stop reading the generation on disk, so a later build may delete it."""
        lease, self._lease = self._lease, None
        if lease is not None:
            lease.close()

    def __len__(self) -> int:
        return len(self.sentences)

    def sentence(self, row: int) -> Sentence:
        d, p, s, e = (int(x) for x in self.sentences[row])
        return Sentence(d, p, s, e)

    def sentence_text(self, row: int) -> str:
        d, _, s, e = self.sentences[row]
        return self.documents[int(d)].text[int(s) : int(e)]

    @property
    def texts(self) -> list[str]:
        if self._texts is None:
            self._texts = [self.sentence_text(i) for i in range(len(self))]
        return self._texts

    def structure(self) -> Structure | None:
        """Who sits under which heading; None when no document has headings."""
        return Structure.build(
            self.documents,
            self.sentences,
            self.headings,
            self.heading_vectors,
            unit_vectors=self.vectors,
        )

    @property
    def model_dir(self) -> Path | None:
        if self.folder is None:
            return None
        folder = self.folder / "model"
        return folder if (folder / "model.onnx").exists() else None

    @property
    def kind(self) -> str:
        return str(self.manifest.get("index_kind", "flat"))


def build_bm25(texts: Sequence[str]) -> Any:
    import bm25s

    tokens = [stems(t) or [""] for t in texts]
    retriever = bm25s.BM25()
    retriever.index(tokens, show_progress=False)
    return retriever


def build_index(
    documents: Sequence[Document],
    embedder: Any,
    *,
    kind: str = "auto",
    previous: CorpusIndex | None = None,
    progress: Progress | None = None,
) -> CorpusIndex:
    """Split, embed and index ``documents``; reuse ``previous`` vectors of unchanged documents.

    ``progress(stage, done, total)`` is called as documents are split and
    sentences embedded.
    """
    documents = list(documents)
    reusable: dict[str, np.ndarray] = {}
    if previous is not None and previous.manifest.get("model") == embedder.name:
        old_hashes = previous.manifest.get("documents", {})
        for i, doc in enumerate(previous.documents):
            mine = np.nonzero(previous.sentences[:, 0] == i)[0]
            reusable[old_hashes.get(doc.doc_id, {}).get("hash", "")] = previous.vectors[mine]

    rows: list[tuple[int, int, int, int]] = []
    parts: list[np.ndarray | None] = []
    todo: list[str] = []
    hashes: dict[str, dict[str, Any]] = {}
    paragraphs = sum(len(doc.paragraphs) for doc in documents)
    split_so_far = 0

    def paragraph_done() -> None:
        nonlocal split_so_far
        split_so_far += 1
        if progress:
            progress(SPLITTING, split_so_far, paragraphs)

    if progress:
        progress(SPLITTING, 0, paragraphs)
    for i, doc in enumerate(documents):
        split = split_document(doc, i, paragraph_done=paragraph_done)
        rows.extend((s.doc, s.paragraph, s.start, s.end) for s in split)
        h = content_hash(doc)
        hashes[doc.doc_id] = {
            "hash": h,
            "title": doc.title,
            "paragraphs": len(doc.paragraphs),
            "sentences": len(split),
        }
        old = reusable.get(h)
        if old is not None and len(old) == len(split):
            parts.append(old)
        else:
            parts.append(None)
            todo.extend(unit_text(doc, s.paragraph, s.start, s.end) for s in split)

    # Boilerplate repeated across pages (a footer, a notice) is embedded once: the
    # same text gives the same vector, scattered back to every unit that holds it.
    first: dict[str, int] = {}
    slots = np.array([first.setdefault(t, len(first)) for t in todo], dtype=np.int64)
    unique = list(first)
    total = len(unique)
    done = 0

    def step(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress(EMBEDDING, done, total)

    if progress:
        progress(EMBEDDING, 0, total)
    fresh = (
        np.asarray(embedder.encode(unique, progress=step))[slots]
        if todo
        else np.zeros((0, embedder.dim))
    )
    pieces, cursor = [], 0
    for doc, part in zip(documents, parts, strict=True):
        if part is None:
            n = int(hashes[doc.doc_id]["sentences"])
            part = fresh[cursor : cursor + n]
            cursor += n
        pieces.append(part)
    vectors = (
        np.concatenate(pieces).astype(np.float32)
        if pieces
        else np.zeros((0, embedder.dim), np.float32)
    )
    table = np.array(rows, dtype=np.int64).reshape(-1, 4)
    texts = [documents[d].text[s:e] for d, _, s, e in rows]
    keyed = [unit_text(documents[d], p, s, e) for d, p, s, e in rows]
    heading_keys, titles = headings(documents)
    heading_vectors = (
        np.asarray(embedder.encode(titles), dtype=np.float32)
        if titles
        else np.zeros((0, embedder.dim), np.float32)
    )
    chosen = vector_index.choose_kind(len(vectors), kind)
    manifest = {
        "format_version": FORMAT_VERSION,
        "model": embedder.name,
        "dim": int(embedder.dim),
        "index_kind": chosen,
        "index_kind_requested": kind,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "sentences": len(rows),
        "reused_documents": sum(p is not None for p in parts),
        "documents": hashes,
    }
    return CorpusIndex(
        documents=documents,
        sentences=table,
        vectors=vectors,
        dense=vector_index.build(vectors, chosen),
        bm25=build_bm25(keyed),
        manifest=manifest,
        headings=heading_keys,
        heading_vectors=heading_vectors,
        _texts=texts,
    )


# --------------------------------------------------------------------------- locks


class _WriterLock:
    """One folder's writer lock: a thread lock inside this process, ``flock`` across processes."""

    def __init__(self) -> None:
        self.threads = threading.RLock()
        self.fd: int | None = None
        self.depth = 0


_writers: dict[str, _WriterLock] = {}
_writers_guard = threading.Lock()


def _waiting(folder: Path) -> str:
    return f"Another quotebot is writing the index in {folder}; waiting for it to finish…"


@contextlib.contextmanager
def writer_lock(folder: Path, *, notice: Callable[[str], None] | None = None) -> Iterator[None]:
    """Be the one process (and thread) writing ``folder``; wait for any other writer first.

    ``notice`` is told once, in one line, when there is something to wait for.
    Re-entrant within a thread. Readers are never blocked by it.
    """
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        key = str(folder.resolve())
    except OSError as exc:
        raise _write_error(folder, exc) from exc
    with _writers_guard:
        lock = _writers.setdefault(key, _WriterLock())
    if not lock.threads.acquire(blocking=False):
        (notice or logger.info)(_waiting(folder))
        lock.threads.acquire()
    try:
        if lock.depth == 0:
            lock.fd = _flock_writer(folder, notice)
        lock.depth += 1
        try:
            yield
        finally:
            lock.depth -= 1
            if lock.depth == 0 and lock.fd is not None:
                os.close(lock.fd)  # closing the descriptor releases the flock
                lock.fd = None
    finally:
        lock.threads.release()


def _flock_writer(folder: Path, notice: Callable[[str], None] | None) -> int:
    try:
        fd = os.open(folder / WRITER_LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise _write_error(folder, exc) from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        (notice or logger.info)(_waiting(folder))
        fcntl.flock(fd, fcntl.LOCK_EX)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _lease(gen: Path) -> BinaryIO | None:
    """A shared lock on ``gen``'s readers file; None when the generation has none (or is gone).

    A cleaner deletes a generation only while holding this lock exclusively, and
    renames the folder away first: a reader that got the lock on a file that is no
    longer at its path has lost the race and must look at CURRENT again.
    """
    path = gen / READERS_LOCK
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        if os.stat(path).st_ino != os.fstat(fd).st_ino:
            raise FileNotFoundError(path)
    except OSError:
        os.close(fd)
        return None
    return os.fdopen(fd, "rb")


# --------------------------------------------------------------------------- CURRENT


def _read_pointer(path: Path) -> bytes:
    """The bytes of a small regular file, without ever blocking on a FIFO or device."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        if not stat_module.S_ISREG(os.fstat(fd).st_mode):
            raise IsADirectoryError(errno.EISDIR, "not a regular file", str(path))
        return os.read(fd, 4096)
    finally:
        os.close(fd)


def _generation(folder: Path) -> Path | None:
    """The live generation folder named by CURRENT; None when there is no CURRENT at all."""
    corrupted = f"The index in {folder} is corrupted ({{what}}); {REBUILD_HINT}."
    try:
        raw = _read_pointer(folder / CURRENT)
    except FileNotFoundError:
        return None
    except IsADirectoryError as exc:
        raise IndexUnavailableError(corrupted.format(what="CURRENT is not a file")) from exc
    except OSError as exc:
        raise IndexUnavailableError(
            f"Cannot read the index in {folder} ({exc.strerror or exc}); {REBUILD_HINT}."
        ) from exc
    try:
        name = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        name = ""
    if not _GENERATION_NAME.fullmatch(name):
        raise IndexUnavailableError(corrupted.format(what="CURRENT does not name a generation"))
    gen = folder / name
    if gen.is_symlink() or not gen.is_dir():
        raise IndexUnavailableError(corrupted.format(what=f"generation {name} is missing"))
    return gen


def current_generation(folder: Path) -> str | None:
    """The name of the live generation (cheap: reads CURRENT only); None without an index.

    Raises IndexUnavailableError when CURRENT is damaged.
    """
    gen = _generation(folder)
    return None if gen is None else gen.name


def exists(folder: Path) -> bool:
    return os.path.lexists(folder / CURRENT)


# --------------------------------------------------------------------------- writing


def save_index(
    index: CorpusIndex,
    folder: Path,
    *,
    export_model: Callable[[Path], None] | None = None,
    progress: Progress | None = None,
    reuse_model: bool = True,
) -> Path:
    """Write ``index`` as a new generation of ``folder`` and make it live atomically.

    ``export_model(target)`` writes the ONNX model; the previous generation's
    export is reused instead if it was made from the same model, unless
    ``reuse_model`` is False (a rebuild, which also renews the export). Holds the
    folder's writer lock meanwhile. A full disk or a permission problem raises
    IndexWriteError (one line) and leaves the previous index live.
    """
    import bm25s  # noqa: F401  (fail before writing anything if missing)

    with writer_lock(folder):
        try:
            live = _write_generation(index, folder, export_model, progress, reuse_model)
        except OSError as exc:
            raise _write_error(folder, exc) from exc
        index.release()
        index.folder = live
        index._lease = _lease(live)  # this process serves it: no other build may delete it
        _remove_stale(folder, keep=live.name)
    return live


def unpublish(folder: Path) -> bool:
    """Make ``folder`` hold no live index (its documents are all gone); True when one was live.

    Removes CURRENT atomically under the writer lock; readers see "no index" at
    once, and the old generation is deleted by the next build once unread.
    """
    with writer_lock(folder):
        try:
            os.unlink(folder / CURRENT)
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise _write_error(folder, exc) from exc
        fsync_dir(folder)
    return True


def _write_error(folder: Path, exc: OSError) -> IndexWriteError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        reason = "the disk is full"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        reason = f"permission denied for {exc.filename or folder}"
    else:
        reason = exc.strerror or type(exc).__name__
    return IndexWriteError(
        f"Cannot write the index in {folder}: {reason}. The previous index, if any, is unchanged."
    )


def _write_generation(
    index: CorpusIndex,
    folder: Path,
    export_model: Callable[[Path], None] | None,
    progress: Progress | None,
    reuse_model: bool = True,
) -> Path:
    name = f"gen-{time.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(3)}"
    tmp = folder / f".tmp-{name}"
    steps = 8

    def step(done: int) -> None:
        if progress:
            progress(WRITING, done, steps)

    made: Path | None = tmp  # what to remove if this fails before CURRENT moves
    try:
        step(0)
        tmp.mkdir()
        (tmp / READERS_LOCK).touch()
        docs = [
            {
                "doc_id": d.doc_id,
                "title": d.title,
                "source": d.source,
                "date": d.date,
                "text": d.text,
                "paragraphs": [list(p) for p in d.paragraphs],
                **_structure_json(d),
            }
            for d in index.documents
        ]
        (tmp / "documents.json").write_text(json.dumps(docs, ensure_ascii=False))
        step(1)
        np.save(tmp / "sentences.npy", index.sentences)
        step(2)
        np.save(tmp / "vectors.npy", index.vectors)
        if len(index.headings):
            np.save(tmp / "headings.npy", index.headings)
            np.save(tmp / "heading_vectors.npy", index.heading_vectors)
        step(3)
        vector_index.save(index.dense, tmp / "dense.faiss")
        step(4)
        index.bm25.save(str(tmp / "bm25"), show_progress=False)
        step(5)
        manifest = dict(index.manifest)
        manifest["query_backend"] = _place_model(
            folder, tmp / "model", manifest, export_model, reuse_model
        )
        step(6)
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
        fsync_tree(tmp)
        step(7)
        live = folder / name
        os.rename(tmp, live)
        made = live
        fsync_dir(folder)
        pointer = folder / f".{CURRENT}.{name}"
        pointer.write_text(name + "\n")
        fsync_file(pointer)
        current = folder / CURRENT
        if current.is_dir() and not current.is_symlink():
            # A folder cannot be replaced by a file: move the damaged one aside (cleaned below).
            os.rename(current, folder / f".tmp-{CURRENT}-{secrets.token_hex(3)}")
        os.replace(pointer, current)  # the moment the new index goes live
        made = None
        fsync_dir(folder)
        step(8)
    except BaseException:
        if made is not None:
            shutil.rmtree(made, ignore_errors=True)
        with contextlib.suppress(OSError):
            (folder / f".{CURRENT}.{name}").unlink()
        raise
    index.manifest = manifest
    return live


def _place_model(
    folder: Path,
    target: Path,
    manifest: dict[str, Any],
    export_model: Callable[[Path], None] | None,
    reuse_model: bool = True,
) -> str:
    """Put the ONNX export in ``target``; return the query backend it allows."""
    try:
        current = _generation(folder) if reuse_model or export_model is None else None
    except IndexUnavailableError:
        current = None
    if current is not None:
        old_model = current / "model"
        old_manifest = _read_manifest(current, quiet=True)
        if (
            old_manifest
            and old_manifest.get("model") == manifest["model"]
            and (old_model / "model.onnx").exists()
        ):
            target.mkdir()
            for f in old_model.iterdir():
                try:
                    os.link(f, target / f.name)
                except OSError:
                    shutil.copy2(f, target / f.name)
            return "onnx"
    if export_model is None:
        return "torch"
    try:
        export_model(target)
    except ModelError as exc:
        # The text only: a kept record must not keep this build's frames (and leases) alive.
        logger.warning("Questions will be embedded with torch: %s", str(exc))
        shutil.rmtree(target, ignore_errors=True)
        return "torch"
    return "onnx"


def _remove_stale(folder: Path, keep: str) -> None:
    """Delete what no one needs: unread old generations, temporary folders, stray pointers.

    Runs under the writer lock, so no ``.tmp-`` folder or pointer belongs to a
    build in progress.
    """
    for child in folder.iterdir():
        name = child.name
        if name == keep:
            continue
        try:
            if name.startswith(".tmp-"):
                _remove(child)
            elif name.startswith(f".{CURRENT}."):
                child.unlink()
            elif _GENERATION_NAME.fullmatch(name) and child.is_dir() and not child.is_symlink():
                _remove_generation(folder, child)
        except OSError as exc:  # cleaning is best effort; the new index is already live
            logger.warning("Could not remove %s: %s", child, exc.strerror or exc)


def remove_unused(folder: Path) -> None:
    """Delete the old generations no process reads any more, unless a build is running.

    For a serving process that just let go of a generation. Never waits: a build
    in progress cleans up when it finishes. Does nothing where it may not write.
    """
    try:
        fd = os.open(folder / WRITER_LOCK, os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        keep = current_generation(folder)
        if keep is not None:
            _remove_stale(folder, keep=keep)
    except (OSError, IndexUnavailableError):
        return  # a writer holds the lock, or CURRENT is damaged: leave it to the next build
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def _remove_generation(folder: Path, gen: Path) -> None:
    """Delete ``gen`` unless some process still holds a shared lease on it."""
    try:
        fd = os.open(gen / READERS_LOCK, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        fd = None  # made by an older quotebot, which took no leases
    try:
        if fd is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                logger.debug("Keeping %s: a running quotebot still reads it.", gen.name)
                return
        # Renamed first, so a reader that finds it afterwards sees it gone at once.
        doomed = folder / f".tmp-{gen.name}"
        os.rename(gen, doomed)
        shutil.rmtree(doomed)
    finally:
        if fd is not None:
            os.close(fd)


# --------------------------------------------------------------------------- reading


def _read_manifest(gen: Path, quiet: bool = False) -> dict[str, Any] | None:
    try:
        manifest = json.loads((gen / "manifest.json").read_text())
        if not isinstance(manifest, dict):
            raise ValueError("manifest is not an object")
        return manifest
    except (OSError, ValueError) as exc:
        if quiet:
            return None
        raise IndexUnavailableError(
            f"The index in {gen.parent} is corrupted (manifest); {REBUILD_HINT}."
        ) from exc


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The live manifest, or None when there is no index."""
    gen = _generation(folder)
    return None if gen is None else _read_manifest(gen)


def load_index(folder: Path, *, model: str | None = None) -> CorpusIndex:
    """Load the live index; refuse one built with another model or format.

    The index holds a shared lease on its generation until :meth:`CorpusIndex.release`
    (or until the process ends), so no build deletes it while it is served.
    """
    for _ in range(5):
        gen = _generation(folder)
        if gen is None:
            raise IndexUnavailableError(f"No index in {folder}; run `quotebot index` to build it.")
        lease = _lease(gen)
        if lease is None and not gen.is_dir():
            continue  # a build replaced and removed it in between: read CURRENT again
        try:
            index = _load_generation(folder, gen, model)
        except BaseException:
            if lease is not None:
                lease.close()
            raise
        index._lease = lease
        return index
    raise IndexUnavailableError(f"The index in {folder} keeps changing; try again.")


def _structure_json(doc: Document) -> dict[str, Any]:
    """A document's blocks and sections for documents.json (left out when it has none)."""
    out: dict[str, Any] = {}
    if doc.blocks:
        out["blocks"] = [[b.kind, b.section, b.group, b.depth] for b in doc.blocks]
    if doc.sections:
        out["sections"] = [[s.title, s.level, s.parent, s.anchor] for s in doc.sections]
    return out


def _block(row: list[Any]) -> Block:
    kind, section, group, depth = row
    return Block(
        str(kind),
        None if section is None else int(section),
        None if group is None else int(group),
        int(depth),
    )


def _section(row: list[Any]) -> Section:
    title, level, parent, anchor = row
    return Section(str(title), int(level), None if parent is None else int(parent), str(anchor))


def _load_generation(folder: Path, gen: Path, model: str | None) -> CorpusIndex:
    manifest = _read_manifest(gen)
    assert manifest is not None
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise IndexUnavailableError(
            f"The index in {folder} has format {version}, this quotebot reads format "
            f"{FORMAT_VERSION}; {REBUILD_HINT}."
        )
    if model is not None and manifest.get("model") != model:
        raise IndexUnavailableError(
            f"The index in {folder} was built with model {manifest.get('model')!r}, "
            f"not {model!r} (QUOTEBOT_MODEL); {REBUILD_HINT}."
        )
    try:
        import bm25s

        raw = json.loads((gen / "documents.json").read_text())
        documents = [
            Document(
                doc_id=d["doc_id"],
                title=d["title"],
                text=d["text"],
                paragraphs=tuple((int(a), int(b)) for a, b in d["paragraphs"]),
                source=d.get("source", ""),
                date=d.get("date", ""),
                blocks=tuple(_block(b) for b in d.get("blocks", ())),
                sections=tuple(_section(s) for s in d.get("sections", ())),
            )
            for d in raw
        ]
        sentences = np.load(gen / "sentences.npy", allow_pickle=False)
        vectors = np.load(gen / "vectors.npy", allow_pickle=False)
        heading_keys = np.zeros((0, 2), np.int64)
        heading_vectors = np.zeros((0, vectors.shape[1] if vectors.ndim == 2 else 0), np.float32)
        if (gen / "headings.npy").exists():
            heading_keys = np.load(gen / "headings.npy", allow_pickle=False)
            heading_vectors = np.load(gen / "heading_vectors.npy", allow_pickle=False)
        dense = vector_index.load(gen / "dense.faiss")
        bm25 = bm25s.BM25.load(str(gen / "bm25"), show_progress=False, verbosity=0)
    except Exception as exc:  # any unreadable piece means the same thing to the user
        raise IndexUnavailableError(
            f"The index in {folder} is corrupted ({type(exc).__name__}); {REBUILD_HINT}."
        ) from exc
    n = len(sentences)
    if (
        sentences.ndim != 2
        or sentences.shape[1] != 4
        or vectors.shape != (n, manifest.get("dim"))
        or dense.ntotal != n
        or int(bm25.scores.get("num_docs", -1)) != n
        or (n and int(sentences[:, 0].max()) >= len(documents))
    ):
        raise IndexUnavailableError(f"The index in {folder} is inconsistent; {REBUILD_HINT}.")
    if len(heading_keys) and (
        heading_vectors.shape != (len(heading_keys), manifest.get("dim"))
        or int(heading_keys[:, 0].max()) >= len(documents)
        or any(int(s) >= len(documents[int(d)].sections) for d, s in heading_keys)
    ):
        raise IndexUnavailableError(f"The index in {folder} is inconsistent; {REBUILD_HINT}.")
    return CorpusIndex(
        documents,
        sentences,
        vectors,
        dense,
        bm25,
        manifest,
        folder=gen,
        headings=heading_keys,
        heading_vectors=heading_vectors,
    )
