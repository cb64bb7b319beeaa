"""The index on disk: documents, sentences, vectors, FAISS and BM25, with a manifest.

Layout of the index folder::

    CURRENT                 name of the live generation (replaced atomically)
    gen-<time>-<random>/    one complete index
        manifest.json       format version, model, dimension, per-document hashes, build time
        documents.json      the documents (text, paragraphs, metadata)
        sentences.npy       (doc, paragraph, start, end) for each sentence
        vectors.npy         one L2-normalised vector per sentence
        dense.faiss         FAISS index over vectors
        bm25/               bm25s index over stemmed sentence words
        model/              the embedding model exported to ONNX, for torch-free queries

A build writes a new generation folder completely, then points CURRENT at it
with one atomic rename, then removes older generations. A crash at any point
leaves the previous index live.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from index import vectors as vector_index
from index.documents import Document
from index.errors import IndexUnavailableError, ModelError
from index.passages import Sentence, split_document
from index.text import stems

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
CURRENT = "CURRENT"
REBUILD_HINT = "run `quotebot index --rebuild` to rebuild it"


def content_hash(doc: Document) -> str:
    """Hash of everything about a document that its index entries depend on."""
    h = hashlib.sha256()
    for part in (doc.doc_id, doc.title, doc.source, doc.date, doc.text, repr(doc.paragraphs)):
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
    _texts: list[str] | None = field(default=None, repr=False)

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
    progress: Callable[[int, int], None] | None = None,
) -> CorpusIndex:
    """Split, embed and index ``documents``; reuse ``previous`` vectors of unchanged documents.

    ``progress(done, total)`` is called as sentences are embedded.
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
    for i, doc in enumerate(documents):
        split = split_document(doc, i)
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
            todo.extend(doc.text[s.start : s.end] for s in split)

    total = len(todo)
    done = 0

    def step(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress(done, total)

    fresh = embedder.encode(todo, progress=step) if todo else np.zeros((0, embedder.dim))
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
        bm25=build_bm25(texts),
        manifest=manifest,
        _texts=texts,
    )


def _generation(folder: Path) -> Path | None:
    try:
        name = (folder / CURRENT).read_text().strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise IndexUnavailableError(f"Cannot read the index in {folder}; {REBUILD_HINT}.") from exc
    if not name or "/" in name or name.startswith("."):
        raise IndexUnavailableError(f"The index in {folder} is corrupted; {REBUILD_HINT}.")
    return folder / name


def exists(folder: Path) -> bool:
    return (folder / CURRENT).exists()


def save_index(
    index: CorpusIndex,
    folder: Path,
    *,
    export_model: Callable[[Path], None] | None = None,
) -> Path:
    """Write ``index`` as a new generation of ``folder`` and make it live atomically.

    ``export_model(target)`` writes the ONNX model; when omitted, the previous
    generation's export is reused if it was made from the same model.
    """
    import bm25s  # noqa: F401  (fail before writing anything if missing)

    folder.mkdir(parents=True, exist_ok=True)
    name = f"gen-{time.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(3)}"
    tmp = folder / f".tmp-{name}"
    try:
        tmp.mkdir()
        docs = [
            {
                "doc_id": d.doc_id,
                "title": d.title,
                "source": d.source,
                "date": d.date,
                "text": d.text,
                "paragraphs": [list(p) for p in d.paragraphs],
            }
            for d in index.documents
        ]
        (tmp / "documents.json").write_text(json.dumps(docs, ensure_ascii=False))
        np.save(tmp / "sentences.npy", index.sentences)
        np.save(tmp / "vectors.npy", index.vectors)
        vector_index.save(index.dense, tmp / "dense.faiss")
        index.bm25.save(str(tmp / "bm25"), show_progress=False)
        manifest = dict(index.manifest)
        manifest["query_backend"] = _place_model(folder, tmp / "model", manifest, export_model)
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
        _fsync_tree(tmp)
        live = folder / name
        os.rename(tmp, live)
        pointer = folder / f".{CURRENT}.{name}"
        pointer.write_text(name + "\n")
        _fsync_file(pointer)
        os.replace(pointer, folder / CURRENT)  # the moment the new index goes live
        _fsync_dir(folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    index.folder = live
    index.manifest = manifest
    _remove_old_generations(folder, keep=name)
    return live


def _place_model(
    folder: Path,
    target: Path,
    manifest: dict[str, Any],
    export_model: Callable[[Path], None] | None,
) -> str:
    """Put the ONNX export in ``target``; return the query backend it allows."""
    try:
        current = _generation(folder)
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
        logger.warning("Questions will be embedded with torch: %s", exc)
        shutil.rmtree(target, ignore_errors=True)
        return "torch"
    return "onnx"


def _remove_old_generations(folder: Path, keep: str) -> None:
    for child in folder.iterdir():
        if child.name != keep and (child.name.startswith("gen-") or child.name.startswith(".tmp-")):
            shutil.rmtree(child, ignore_errors=True)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    try:
        _fsync_file(path)
    except OSError:  # some filesystems refuse fsync on directories
        pass


def _fsync_tree(root: Path) -> None:
    for dirpath, _, files in os.walk(root):
        for f in files:
            _fsync_file(Path(dirpath) / f)
        _fsync_dir(Path(dirpath))


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
    """Load the live index; refuse one built with another model or format."""
    gen = _generation(folder)
    if gen is None:
        raise IndexUnavailableError(f"No index in {folder}; run `quotebot index` to build it.")
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
            )
            for d in raw
        ]
        sentences = np.load(gen / "sentences.npy", allow_pickle=False)
        vectors = np.load(gen / "vectors.npy", allow_pickle=False)
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
    return CorpusIndex(documents, sentences, vectors, dense, bm25, manifest, folder=gen)
