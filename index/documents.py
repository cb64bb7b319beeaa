"""Documents and the loaders that read them from the corpus folder.

Supported formats: plain text (``.txt``), Markdown with optional front matter
(``.md``, ``.markdown``), HTML (``.html``, ``.htm``), PDF (``.pdf``), Word
(``.docx``) and reStructuredText (``.rst``). Each
loader produces a :class:`Document` whose ``text`` is what quotes are cut from
and whose ``paragraphs`` are exact offsets into that text. The loaders live in
``index.formats``, one module per format; this module holds the model, the corpus
walk, the dispatch by suffix and the helpers the loaders share.
"""

from __future__ import annotations

import codecs
import errno
import importlib
import logging
import os
import re
import stat
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from index.errors import CorpusError

logger = logging.getLogger(__name__)

SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx", ".rst")
ACCEPTED = ", ".join(SUFFIXES)
# A first line longer than this is prose, not a title.
MAX_TITLE_CHARS = 120

Span = tuple[int, int]
# ``progress(stage, done, total)``: a long stage of a build advanced.
Progress = Callable[[str, int, int], None]
READING = "Reading documents"
# The setting that bounds a corpus file's size, named in the warning about a file over it.
MAX_FILE_SETTING = "QUOTEBOT_MAX_FILE_MB"


# What a paragraph of a document is. Sentences are cut from a block according to its
# kind: prose by the sentence splitter, the others whole (an item, a row, a code block).
PROSE = "prose"
ITEM = "item"  # one item of a bulleted or numbered list
ROW = "row"  # one row of a table
HEADER = "header"  # a table's header row
CODE = "code"  # a code block (fenced, indented, <pre>, literal block)
KINDS = (PROSE, ITEM, ROW, HEADER, CODE)


@dataclass(frozen=True)
class Section:
    """One heading of a document's outline (a FAQ entry's question is one too)."""

    title: str  # the heading as a reader sees it, markup removed
    level: int  # 1 for the top level
    parent: int | None = None  # index into ``Document.sections`` of the enclosing heading
    anchor: str = ""  # fragment for a deep link (``source#anchor``); "" when the source has none


@dataclass(frozen=True)
class Block:
    """What one paragraph is and where it sits: parallel to ``Document.paragraphs``."""

    kind: str = PROSE
    section: int | None = None  # index into ``Document.sections`` of the innermost heading above
    # Consecutive items of one list, or rows of one table, share a group number.
    group: int | None = None
    depth: int = 0  # how deeply a list item is nested: 0 for the outermost list


@dataclass(frozen=True)
class Document:
    """One source document.

    ``text`` is what quotes are cut from: every quote is ``text[start:end]``.
    ``paragraphs`` holds the (start, end) offsets of each paragraph in ``text``,
    in order; paragraph numbers shown to users are 1-based indexes into it.
    ``blocks`` (parallel to ``paragraphs``, or empty when every paragraph is
    prose outside any heading) says what each paragraph is and under which of
    ``sections`` it sits. Headings are not paragraphs: they live in ``sections``.
    """

    doc_id: str  # path relative to the corpus root, with forward slashes
    title: str
    text: str
    paragraphs: tuple[tuple[int, int], ...]
    source: str = ""  # URL, empty when unknown
    date: str = ""
    blocks: tuple[Block, ...] = ()
    sections: tuple[Section, ...] = ()

    def block(self, paragraph: int) -> Block:
        """What the 1-based ``paragraph`` is (prose outside any section when unknown)."""
        if self.blocks:
            return self.blocks[paragraph - 1]
        return Block()

    def trail(self, paragraph: int) -> tuple[Section, ...]:
        """The headings above the 1-based ``paragraph``, outermost first."""
        chain: list[Section] = []
        at = self.block(paragraph).section
        while at is not None:
            chain.append(self.sections[at])
            at = self.sections[at].parent
        return tuple(reversed(chain))

    def paragraph_of(self, offset: int) -> int:
        """The 1-based number of the paragraph containing ``offset``."""
        for n, (start, end) in enumerate(self.paragraphs, start=1):
            if start <= offset < end:
                return n
        raise ValueError(f"offset {offset} is outside every paragraph of {self.doc_id}")


# --------------------------------------------------------------------------- corpus


def load_corpus(
    root: Path,
    paths: Sequence[Path] | None = None,
    *,
    warn: Callable[[str], None] | None = None,
    max_bytes: int | None = None,
    progress: Progress | None = None,
    recursive: bool = True,
) -> list[Document]:
    """Load every readable document under ``root`` (or under ``paths``), sorted by doc_id.

    Folders are walked recursively for files ending in one of :data:`SUFFIXES`;
    hidden files and folders are left out. ``doc_id`` is the path relative to
    ``root`` with forward slashes; a path outside ``root`` is named from its own
    folder down (a file: its name). Files that cannot be read are skipped, each
    with one call of ``warn`` naming it (default: a logging warning); so are
    symlink loops, FIFOs, sockets and devices (never opened) and files over
    ``max_bytes``. ``progress(stage, done, total)`` is told as files are read.
    ``recursive=False`` reads only the files directly in ``root`` (not in its
    sub-folders) when no ``paths`` are given.

    Raises :class:`CorpusError` when ``root`` (or a given path) does not exist,
    or when no readable document is found.
    """
    warn = warn or logger.warning
    where = ", ".join(str(p) for p in paths) if paths else str(root)
    candidates = find_files(root, paths, warn=warn, recursive=recursive)
    documents: list[Document] = []
    seen_files: set[Path] = set()
    seen_ids: dict[str, Path] = {}
    skipped = 0
    candidates = sorted(candidates, key=lambda c: c[1])
    for n, (path, doc_id) in enumerate(candidates):
        if progress:
            progress(READING, n, len(candidates))
        refused = _refusal(path, max_bytes)
        if refused:
            warn(f"Skipping {path}: {refused}.")
            skipped += 1
            continue
        real = path.resolve()
        if real in seen_files:
            continue
        seen_files.add(real)
        if doc_id in seen_ids:
            warn(
                f"Skipping {path}: another document is already named {doc_id} ({seen_ids[doc_id]})."
            )
            skipped += 1
            continue
        try:
            documents.append(load_document(path, doc_id))
        except CorpusError as exc:
            warn(f"Skipping {exc}")
            skipped += 1
            continue
        seen_ids[doc_id] = path
    if progress:
        progress(READING, len(candidates), len(candidates))

    if not documents:
        if skipped:
            raise CorpusError(
                f"No readable document in {where}: {skipped} file(s) skipped as unreadable; "
                f"accepted types: {ACCEPTED}."
            )
        raise CorpusError(f"No documents in {where}; add files ending in {ACCEPTED}.")
    return documents


def find_files(
    root: Path,
    paths: Sequence[Path] | None = None,
    *,
    warn: Callable[[str], None] | None = None,
    recursive: bool = True,
) -> list[tuple[Path, str]]:
    """The (path, doc_id) pairs :func:`load_corpus` would read, without reading them.

    Cheap enough to run before every answer, to notice that the corpus changed.
    """
    warn = warn or logger.warning
    root = Path(root)
    if not paths:
        if not root.is_dir():
            what = "is not a folder" if root.exists() else "does not exist"
            raise CorpusError(
                f"Corpus folder {root} {what}; create it and put documents in it ({ACCEPTED})."
            )
        candidates = list(_walk(root, root, warn, recursive=recursive))
    else:
        candidates = []
        for path in map(Path, paths):
            if not path.exists():
                raise CorpusError(f"{path} does not exist.")
            base = root if _is_within(path, root) else path.parent
            if path.is_dir():
                candidates.extend(_walk(path, base, warn))
            elif path.suffix.lower() in SUFFIXES:
                candidates.append((path, _doc_id(path, base)))
            else:
                warn(f"Skipping {path}: not a supported file type (accepted: {ACCEPTED}).")

    return candidates


def _walk(
    folder: Path, base: Path, warn: Callable[[str], None], *, recursive: bool = True
) -> Iterator[tuple[Path, str]]:
    """Supported, non-hidden files under ``folder`` with doc_ids relative to ``base``."""

    def on_error(exc: OSError) -> None:
        warn(f"Skipping {exc.filename}: {exc.strerror or exc}.")

    for dirpath, dirnames, filenames in os.walk(folder, onerror=on_error):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".")) if recursive else []
        for name in sorted(filenames):
            if name.startswith(".") or Path(name).suffix.lower() not in SUFFIXES:
                continue
            path = Path(dirpath) / name
            yield path, _doc_id(path, base)


_SPECIAL_FILES = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISDIR, "a folder"),
)


def _refusal(path: Path, max_bytes: int | None) -> str | None:
    """Why ``path`` must not be opened (a loop, a FIFO, too big...), or None when it may be.

    Only ``stat`` is used: a FIFO is never opened, so it cannot hang the build.
    """
    try:
        st = os.stat(path)  # follows a symlink to what it names
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "a symlink loop, not followed"
        if exc.errno == errno.ENOENT and os.path.islink(path):
            return "a symlink to nothing"
        return f"cannot be read ({exc.strerror or exc})"
    if not stat.S_ISREG(st.st_mode):
        kind = next((what for test, what in _SPECIAL_FILES if test(st.st_mode)), "special")
        return f"{kind}, not a regular file; not opened"
    if max_bytes is not None and st.st_size > max_bytes:
        return (
            f"{st.st_size / 2**20:.1f} MB is over the {max_bytes / 2**20:g} MB limit "
            f"({MAX_FILE_SETTING})"
        )
    return None


def _is_within(path: Path, root: Path) -> bool:
    return path.resolve().is_relative_to(root.resolve())


def _doc_id(path: Path, base: Path) -> str:
    try:
        return path.relative_to(base).as_posix()
    except ValueError:
        # ``path`` reaches ``base`` only through symlinks or ``..``: compare real paths.
        try:
            return path.resolve().relative_to(base.resolve()).as_posix()
        except ValueError:
            return path.name


# --------------------------------------------------------------------------- one document


def load_document(path: Path, doc_id: str) -> Document:
    """Read one file into a :class:`Document`, choosing the loader by its suffix.

    Raises :class:`CorpusError` (its message names the file) when the file cannot
    be read, looks binary, is not valid text, is a broken or encrypted PDF, or
    holds no text at all.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    loaders: dict[str, Callable[[Path, str], Document]] = {
        ".txt": _format("text"),
        ".md": _format("markdown"),
        ".markdown": _format("markdown"),
        ".html": _format("html"),
        ".htm": _format("html"),
        ".pdf": _format("pdf"),
        ".docx": _format("docx"),
        ".rst": _format("rst"),
    }
    if suffix not in loaders:
        raise CorpusError(f"{path}: not a supported file type (accepted: {ACCEPTED}).")
    document = loaders[suffix](path, doc_id)
    if not document.paragraphs:
        raise CorpusError(f"{path}: no text found.")
    return document


def _format(module: str) -> Callable[[Path, str], Document]:
    """The ``load`` function of ``index.formats.<module>``, imported when first needed.

    The format modules import this one for :class:`Document` and the shared helpers,
    so they are imported here lazily rather than at the top.
    """

    def load(path: Path, doc_id: str) -> Document:
        loader: Callable[[Path, str], Document] = importlib.import_module(
            f"index.formats.{module}"
        ).load
        return loader(path, doc_id)

    return load


def _read_bytes(path: Path) -> bytes:
    try:
        # Non-blocking, so a FIFO put in place after the corpus walk cannot hang the build.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise CorpusError(f"{path}: cannot be read ({exc.strerror or exc}).") from exc
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise CorpusError(f"{path}: not a regular file; not read.")
        with os.fdopen(fd, "rb", closefd=False) as f:
            return f.read()
    except OSError as exc:
        raise CorpusError(f"{path}: cannot be read ({exc.strerror or exc}).") from exc
    finally:
        os.close(fd)


def _decode(path: Path, data: bytes, fallback: str | None = None) -> str:
    """Text from ``data``: UTF-8 (a BOM is dropped), UTF-16 with a BOM, else ``fallback``.

    Newlines are normalised to ``\\n``; nothing else changes.
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        encoding = "utf-8-sig"
        if b"\0" in data:
            raise CorpusError(f"{path}: looks like a binary file (it contains NUL bytes).")
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        decoded = _decode_fallback(data, fallback)
        if decoded is None:
            raise CorpusError(
                f"{path}: not UTF-8 text (undecodable byte at offset {exc.start})."
            ) from exc
        text = decoded
    if "\0" in text:
        raise CorpusError(f"{path}: looks like a binary file (it contains NUL bytes).")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _decode_fallback(data: bytes, encoding: str | None) -> str | None:
    if not encoding:
        return None
    try:
        return data.decode(encoding)
    except (LookupError, UnicodeDecodeError):
        return None


def _pretty_stem(path: Path) -> str:
    """A title made from a file name: ``city-council_minutes`` -> ``City council minutes``."""
    words = " ".join(re.split(r"[-_\s]+", path.stem)).strip()
    return words[:1].upper() + words[1:] if words else path.name


def _collapse(text: str) -> str:
    """``text`` with each run of whitespace made one space, ends stripped."""
    return " ".join(text.split())


def _trim(text: str, start: int, end: int) -> Span | None:
    """``(start, end)`` shrunk to exclude surrounding whitespace; None when nothing is left."""
    piece = text[start:end]
    stripped = piece.lstrip()
    if not stripped:
        return None
    start += len(piece) - len(stripped)
    end = start + len(stripped.rstrip())
    return start, end


def _lines(text: str, start: int = 0, end: int | None = None) -> Iterator[Span]:
    """``(start, end)`` of each line in ``text[start:end]``, newline excluded."""
    end = len(text) if end is None else end
    pos = start
    while pos < end:
        stop = text.find("\n", pos, end)
        if stop == -1:
            stop = end
        yield pos, stop
        pos = stop + 1


def _blocks(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    """Paragraphs of ``text[start:end]`` separated by blank (whitespace-only) lines."""
    spans: list[Span] = []
    block: Span | None = None
    for a, b in _lines(text, start, end):
        if text[a:b].strip():
            block = (block[0], b) if block else (a, b)
        elif block:
            spans.append(block)
            block = None
    if block:
        spans.append(block)
    return [s for s in (_trim(text, a, b) for a, b in spans) if s]
