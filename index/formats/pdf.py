"""PDF (``.pdf``): pypdf's text of each page, and headings where the file tells them.

The text is each page's extracted text, pages separated by a blank line, and the
paragraphs are its blank-line blocks (or, on a page without blank lines, runs
of lines up to a sentence end). Headings come from the outline (bookmarks) when
the file has one: each bookmark opens a section at the line that carries its
title on the page it points to, or at the top of that page. Without an outline,
short lines set in a larger font than the body text are headings, a level per
size. A heading's line stays in the text but is not a paragraph. A PDF with
neither gives flat prose.
"""

from __future__ import annotations

import bisect
import contextlib
import io
import logging
import math
import re
import warnings
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from index.documents import (
    PROSE,
    Block,
    CorpusError,
    Document,
    Section,
    Span,
    _blocks,
    _collapse,
    _lines,
    _pretty_stem,
    _read_bytes,
    _trim,
)

# A line ending a sentence, possibly inside closing quotes or brackets.
_SENTENCE_END = re.compile(r"[.!?][\"'”’)\]]*[ \t]*$")
# Section numbers in front of a heading line ("2.1 ", "IV. ") that its bookmark may leave out.
_NUMBERING = re.compile(r"^(?:\d+(?:\.\d+)*\.?|[IVXLC]+\.)")
# Font-size headings: at least this much larger than the body text, at most this long.
_HEADING_RATIO = 1.15
_MAX_HEADING_CHARS = 120
_MAX_LEVELS = 6


@dataclass(frozen=True)
class _Mark:
    """A heading to place: its title, level and parent, and the page it is on."""

    title: str
    level: int
    parent: int | None
    page: int | None  # index into the reader's pages; None when the page is not known


@dataclass
class _Page:
    text: str
    # Font-size heading lines seen while extracting: (whitespace-free text, size).
    lines: list[tuple[str, float]] = field(default_factory=list)


def load(path: Path, doc_id: str) -> Document:
    from pypdf import PdfReader

    data = _read_bytes(path)
    if b"%PDF-" not in data[:1024]:
        raise CorpusError(f"{path}: not a PDF file.")
    try:
        with _quiet_pypdf():
            reader = PdfReader(io.BytesIO(data))
            if reader.is_encrypted and not reader.decrypt(""):
                raise CorpusError(f"{path}: the PDF is encrypted.")
            marks = _outline_marks(reader)
            pages = [_extract(page, sizes=not marks) for page in reader.pages]
            metadata = reader.metadata
            title = _collapse(str(metadata.title or "")) if metadata else ""
            date = _pdf_date(metadata)
    except CorpusError:
        raise
    except Exception as exc:  # pypdf raises many kinds of errors on damaged files
        raise CorpusError(f"{path}: broken or unreadable PDF ({type(exc).__name__}).") from exc

    text = ""
    starts: list[int | None] = []  # where each page's text begins; None for a blank page
    for page in pages:
        page.text = page.text.replace("\r\n", "\n").replace("\r", "\n")
        if not page.text.strip():
            starts.append(None)
            continue
        if text:
            text += "\n\n"
        starts.append(len(text))
        text += page.text

    if marks:
        headings = _place_outline(text, pages, starts, marks)
    else:
        marks, headings = _font_headings(text, pages, starts)

    paragraphs: list[Span] = []
    for page, start in zip(pages, starts, strict=True):
        if start is None:
            continue
        end = start + len(page.text)
        cut = start
        for line_start, line_end in sorted(
            (a, b) for a, b, _ in headings if a is not None and b is not None and start <= a < end
        ):
            paragraphs.extend(_pdf_paragraphs(text, cut, line_start))
            cut = min(line_end + 1, end)
        paragraphs.extend(_pdf_paragraphs(text, cut, end))

    sections = tuple(Section(m.title, m.level, m.parent) for m in marks)
    blocks: tuple[Block, ...] = ()
    if sections:
        opened = sorted((where, n) for n, (_, _, where) in enumerate(headings))
        keys = [o[0] for o in opened]
        blocks = tuple(Block(PROSE, _innermost(opened, keys, start)) for start, _ in paragraphs)
    return Document(
        doc_id=doc_id,
        title=title or _pretty_stem(path),
        text=text,
        paragraphs=tuple(paragraphs),
        date=date,
        blocks=blocks,
        sections=sections,
    )


def _innermost(opened: list[tuple[int, int]], keys: list[int], offset: int) -> int | None:
    """The last section opened at or before ``offset``."""
    at = bisect.bisect_right(keys, offset)
    return opened[at - 1][1] if at else None


# --------------------------------------------------------------------------- outline


def _outline_marks(reader: Any) -> list[_Mark]:
    """The bookmarks in order, each with its nesting level and page; [] when none or broken."""
    try:
        outline = reader.outline
    except Exception:  # a damaged outline is not worth losing the text for
        return []
    marks: list[_Mark] = []
    # (items still to visit, level, parent index): an explicit stack, no recursion.
    stack: list[tuple[Iterator[Any], int, int | None]] = [(iter(outline), 1, None)]
    while stack and len(marks) < 10_000:
        items, level, parent = stack[-1]
        item = next(items, None)
        if item is None:
            stack.pop()
            continue
        if isinstance(item, list):
            # Children of the bookmark just before them.
            if marks and len(stack) < 50:
                stack.append((iter(item), level + 1, len(marks) - 1))
            continue
        title = _collapse(str(getattr(item, "title", "") or ""))
        if not title:
            continue
        try:
            page = reader.get_destination_page_number(item)
        except Exception:
            page = None
        if page is not None and page < 0:
            page = None
        marks.append(_Mark(title, level, parent, page))
    return marks


def _place_outline(
    text: str, pages: Sequence[_Page], starts: Sequence[int | None], marks: Sequence[_Mark]
) -> list[tuple[int | None, int | None, int]]:
    """For each bookmark: the span of its title's line (or Nones) and where its section opens.

    The title is looked for among the lines of the page the bookmark points to,
    after the previous bookmark's line on that page; when it is not there the
    section opens at the top of the page (the next page with text for a blank one).
    """
    placed: list[tuple[int | None, int | None, int]] = []
    searched_from: dict[int, int] = {}
    for mark in marks:
        page = mark.page
        if page is None or page >= len(pages):
            # Unknown page: right after the previous section's start.
            where = placed[-1][2] if placed else 0
            placed.append((None, None, where))
            continue
        start = starts[page]
        if start is None:
            later = [s for s in starts[page:] if s is not None]
            placed.append((None, None, later[0] if later else len(text)))
            continue
        end = start + len(pages[page].text)
        wanted = _key(mark.title)
        found = None
        for a, b in _lines(text, searched_from.get(page, start), end):
            line = _key(text[a:b])
            if line and (line == wanted or _NUMBERING.sub("", line) == wanted):
                found = (a, b)
                break
        if found:
            searched_from[page] = min(found[1] + 1, end)
            placed.append((found[0], found[1], found[0]))
        else:
            placed.append((None, None, start))
    return placed


def _key(line: str) -> str:
    return "".join(line.split()).casefold()


# --------------------------------------------------------------------------- font sizes


def _extract(page: Any, *, sizes: bool) -> _Page:
    """The page's text; with ``sizes``, also each visual line's text and font size."""
    if not sizes:
        return _Page(page.extract_text() or "")
    lines: list[tuple[str, float]] = []
    current: list[str] = []
    current_sizes: list[float] = []
    last_y: float | None = None

    def end_line() -> None:
        key = "".join("".join(current).split())
        if key and current_sizes:
            lines.append((key, min(current_sizes)))
        current.clear()
        current_sizes.clear()

    def visit(chunk: str, cm: Any, tm: Any, font: Any, font_size: Any) -> None:
        nonlocal last_y
        try:
            c = tm[2] * cm[0] + tm[3] * cm[2]
            d = tm[2] * cm[1] + tm[3] * cm[3]
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            size = float(font_size) * math.hypot(c, d)
        except (TypeError, IndexError, ValueError):
            return
        if last_y is not None and abs(y - last_y) > max(1.0, size * 0.3):
            end_line()
        last_y = y
        for n, piece in enumerate(chunk.split("\n")):
            if n:
                end_line()
            if piece.strip():
                current.append(piece)
                current_sizes.append(round(size * 2) / 2)

    text = page.extract_text(visitor_text=visit) or ""
    end_line()
    return _Page(text, lines)


def _font_headings(
    text: str, pages: Sequence[_Page], starts: Sequence[int | None]
) -> tuple[list[_Mark], list[tuple[int | None, int | None, int]]]:
    """Headings told by font size: lines set larger than the body and short, a level per size."""
    chars: Counter[float] = Counter()
    for page in pages:
        for key, size in page.lines:
            chars[size] += len(key)
    if not chars:
        return [], []
    body = chars.most_common(1)[0][0]
    big: dict[str, float] = {}
    on_pages: Counter[str] = Counter()
    for page in pages:
        seen: set[str] = set()
        for key, size in page.lines:
            if (
                size >= body * _HEADING_RATIO
                and len(key) <= _MAX_HEADING_CHARS
                # A chapter or page number set large is not a heading: words are.
                and sum(c.isalpha() for c in key) >= 2
            ):
                big[key.casefold()] = max(size, big.get(key.casefold(), 0.0))
                seen.add(key.casefold())
        on_pages.update(seen)
    # A line on most pages is a running header, not a heading.
    pages_with_text = sum(1 for s in starts if s is not None)
    if pages_with_text >= 3:
        big = {k: s for k, s in big.items() if on_pages[k] <= pages_with_text // 2}
    if not big or sum(len(k) for k in big) > chars[body]:
        return [], []  # more "heading" text than body text: the sizes say nothing
    sizes = sorted(set(big.values()), reverse=True)[:_MAX_LEVELS]

    marks: list[_Mark] = []
    placed: list[tuple[int | None, int | None, int]] = []
    open_levels: list[tuple[int, int]] = []  # (level, index) of the headings above
    for page, start in zip(pages, starts, strict=True):
        if start is None:
            continue
        previous: tuple[int, int, int] | None = None  # the heading on the line just above
        for a, b in _lines(text, start, start + len(page.text)):
            line = text[a:b]
            key = _key(line)
            size = big.get(key, 0.0)
            if size not in sizes or _SENTENCE_END.search(line):
                previous = None
                continue
            level = sizes.index(size) + 1
            if previous and previous[2] == level and previous[1] == a - 1:
                # A heading set on two lines: one heading.
                n = previous[0]
                first = placed[n][0]
                assert first is not None
                marks[n] = _Mark(_collapse(text[first:b]), level, marks[n].parent, None)
                placed[n] = (first, b, first)
                previous = (n, b, level)
                continue
            while open_levels and open_levels[-1][0] >= level:
                open_levels.pop()
            parent = open_levels[-1][1] if open_levels else None
            marks.append(_Mark(_collapse(line), level, parent, None))
            placed.append((a, b, a))
            open_levels.append((level, len(marks) - 1))
            previous = (len(marks) - 1, b, level)
    return marks, placed


# --------------------------------------------------------------------------- helpers


@contextlib.contextmanager
def _quiet_pypdf() -> Iterator[None]:
    """Silence pypdf's own complaints: a damaged file gets one warning, from the caller."""
    pypdf_logger = logging.getLogger("pypdf")
    level = pypdf_logger.level
    pypdf_logger.setLevel(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        pypdf_logger.setLevel(level)


def _pdf_paragraphs(text: str, start: int, end: int) -> list[Span]:
    """Blank-line paragraphs of one page; without blank lines, sentence-final line ends."""
    if start >= end:
        return []
    blocks = _blocks(text, start, end)
    if len(blocks) > 1:
        return blocks
    spans: list[Span] = []
    para_start = start
    for a, b in _lines(text, start, end):
        if _SENTENCE_END.search(text[a:b]):
            spans.append((para_start, b))
            para_start = b + 1
    spans.append((para_start, end))
    return [s for s in (_trim(text, a, b) for a, b in spans) if s]


def _pdf_date(metadata: Any) -> str:
    try:
        created = metadata.creation_date if metadata else None
    except Exception:  # a malformed date string in the metadata is not worth a skip
        return ""
    return created.date().isoformat() if created else ""
