"""Documents and the loaders that read them from the corpus folder.

Supported formats: plain text (``.txt``), Markdown with optional front matter
(``.md``, ``.markdown``), HTML (``.html``, ``.htm``), PDF (``.pdf``), Word
(``.docx``) and reStructuredText (``.rst``). Each
loader produces a :class:`Document` whose ``text`` is what quotes are cut from
and whose ``paragraphs`` are exact offsets into that text.
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
from typing import Any

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
        ".txt": _load_txt,
        ".md": _load_markdown,
        ".markdown": _load_markdown,
        ".html": _load_html,
        ".htm": _load_html,
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


# --------------------------------------------------------------------------- plain text


def _load_txt(path: Path, doc_id: str) -> Document:
    text = _decode(path, _read_bytes(path))
    first_line = next((line.strip() for line in text.split("\n") if line.strip()), "")
    title = first_line if 0 < len(first_line) <= MAX_TITLE_CHARS else _pretty_stem(path)
    return Document(doc_id=doc_id, title=title, text=text, paragraphs=tuple(_blocks(text)))


# --------------------------------------------------------------------------- Markdown

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_ATX_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+|$)(.*)$")
_SETEXT_UNDERLINE = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_THEMATIC_BREAK = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")


def _load_markdown(path: Path, doc_id: str) -> Document:
    raw = _decode(path, _read_bytes(path))
    meta, text = _split_front_matter(raw)
    paragraphs, heading = _markdown_paragraphs(text)
    title = meta.get("title") or heading or _pretty_stem(path)
    return Document(
        doc_id=doc_id,
        title=title,
        text=text,
        paragraphs=tuple(paragraphs),
        source=meta.get("source") or meta.get("url") or "",
        date=meta.get("date", ""),
    )


def _split_front_matter(text: str) -> tuple[dict[str, str], str]:
    """``(fields, body)``: simple ``key: value`` lines between leading ``---`` lines.

    Without a closing ``---`` (or ``...``) line the whole text is the body.
    """
    lines = text.split("\n")
    if not lines or lines[0].rstrip() != "---":
        return {}, text
    closing = next((i for i, line in enumerate(lines) if i and line.rstrip() in ("---", "...")), 0)
    if not closing:
        return {}, text
    meta: dict[str, str] = {}
    for line in lines[1:closing]:
        key, sep, value = line.partition(":")
        key = key.strip().lower()
        if sep and key and not key.startswith("#") and " " not in key:
            meta.setdefault(key, _unquote(value.strip()))
    body_start = sum(len(line) + 1 for line in lines[: closing + 1])
    return meta, text[body_start:]


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].replace('\\"', '"').replace("\\\\", "\\").strip()
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1].replace("''", "'").strip()
    return value


def _markdown_paragraphs(text: str) -> tuple[list[Span], str]:
    """Paragraph spans of a Markdown body and its first level-1 heading.

    Fenced code blocks, headings and thematic breaks stay in the text but are not
    paragraphs; they end the paragraph before them.
    """
    spans: list[Span] = []
    block: Span | None = None
    fence = ""
    heading = ""

    def close() -> None:
        nonlocal block
        if block:
            spans.append(block)
        block = None

    for a, b in _lines(text):
        line = text[a:b]
        if fence:
            if line.strip().startswith(fence) and not line.strip().strip(fence[0]):
                fence = ""
            continue
        if opened := _FENCE.match(line):
            close()
            fence = opened.group(1)
            continue
        if atx := _ATX_HEADING.match(line):
            close()
            if not heading and len(atx.group(1)) == 1:
                heading = re.sub(r"[ \t]+#+[ \t]*$|^#+[ \t]*$", "", atx.group(2)).strip()
            continue
        if block and _SETEXT_UNDERLINE.match(line):
            # The paragraph above was a heading written with an underline.
            if not heading and line.strip()[0] == "=":
                heading = " ".join(text[block[0] : block[1]].split())
            block = None
            continue
        if not line.strip() or _THEMATIC_BREAK.match(line):
            close()
            continue
        block = (block[0], b) if block else (a, b)
    close()
    return [s for s in (_trim(text, a, b) for a, b in spans) if s], heading


# --------------------------------------------------------------------------- HTML

# Page furniture, not content.
_DROP_TAGS = (
    "script",
    "style",
    "noscript",
    "template",
    "nav",
    "aside",
    "head",
    "svg",
    "iframe",
    "object",
    "button",
    "select",
)
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
# Elements whose text is a block of its own; text directly inside the containers
# (div, section, body...) also forms a block.
_BLOCK_TAGS = _HEADINGS | frozenset(
    {
        "p",
        "li",
        "blockquote",
        "pre",
        "td",
        "th",
        "dd",
        "dt",
        "figcaption",
        "caption",
        "address",
        "summary",
        "legend",
        "div",
        "section",
        "article",
        "main",
        "body",
        "html",
        "header",
        "footer",
        "ul",
        "ol",
        "dl",
        "table",
        "thead",
        "tbody",
        "tfoot",
        "tr",
        "figure",
        "details",
        "fieldset",
        "form",
        "hr",
    }
)
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)


def _load_html(path: Path, doc_id: str) -> Document:
    from bs4 import BeautifulSoup

    data = _read_bytes(path)
    declared = _CHARSET.search(data[:4096])
    raw = _decode(path, data, declared.group(1).decode("ascii") if declared else None)
    soup = BeautifulSoup(raw, "html.parser")

    title = _collapse(soup.title.get_text()) if soup.title else ""
    if not title and (h1 := soup.find("h1")):
        title = _collapse(h1.get_text())
    source = _html_source(soup)
    date = _meta_content(soup, "article:published_time", "date", "dc.date")

    for tag in soup.find_all(_DROP_TAGS):
        tag.decompose()
    # A page's own header and footer are site chrome; an article's hold its headline.
    for tag in soup.find_all(("header", "footer")):
        if not tag.find_parent(("article", "main")):
            tag.decompose()
    for tag in soup.find_all(hidden=True):
        tag.decompose()

    pieces: list[str] = []
    paragraphs: list[Span] = []
    pos = 0
    for block, is_heading in _html_blocks(soup):
        if pieces:
            pos += 2
        pieces.append(block)
        if not is_heading:
            paragraphs.append((pos, pos + len(block)))
        pos += len(block)
    return Document(
        doc_id=doc_id,
        title=title or _pretty_stem(path),
        text="\n\n".join(pieces),
        paragraphs=tuple(paragraphs),
        source=source,
        date=date,
    )


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _html_blocks(soup: Any) -> Iterator[tuple[str, bool]]:
    """``(text, is_heading)`` for each block of a parsed page, in document order.

    Walks the tree without recursion so deeply nested pages cannot exhaust the stack.
    """
    from bs4 import NavigableString, Tag
    from bs4.element import PreformattedString

    buffer: list[str] = []
    open_blocks: list[str] = []

    def flush(kind: str) -> Iterator[tuple[str, bool]]:
        text = _collapse("".join(buffer))
        buffer.clear()
        if text:
            yield text, kind in _HEADINGS

    stack: list[Any] = [soup]
    while stack:
        node = stack.pop()
        if isinstance(node, tuple):  # ("end", tag name): the block closes here
            yield from flush(node[1])
            open_blocks.pop()
            continue
        if isinstance(node, NavigableString):
            if not isinstance(node, PreformattedString):
                buffer.append(str(node))
            continue
        if not isinstance(node, Tag):
            continue
        if node.name == "br":
            buffer.append(" ")
            continue
        if node.name in _BLOCK_TAGS:
            yield from flush(open_blocks[-1] if open_blocks else "")
            open_blocks.append(node.name)
            stack.append(("end", node.name))
        stack.extend(reversed(node.contents))
    yield from flush("")


def _html_source(soup: Any) -> str:
    for link in soup.find_all("link", href=True):
        rel = link.get("rel") or []
        rels = rel.split() if isinstance(rel, str) else rel
        if "canonical" in (r.lower() for r in rels):
            return str(link["href"]).strip()
    return _meta_content(soup, "og:url")


def _meta_content(soup: Any, *names: str) -> str:
    """The ``content`` of the first ``<meta>`` whose property or name is one of ``names``."""
    for meta in soup.find_all("meta", content=True):
        key = str(meta.get("property") or meta.get("name") or "").lower()
        if key in names and str(meta["content"]).strip():
            return str(meta["content"]).strip()
    return ""
