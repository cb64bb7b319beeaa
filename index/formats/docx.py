"""Word documents (``.docx``): headings from paragraph styles, lists, tables, code.

Read with python-docx, which exposes each paragraph's own style name and
numbering and the tables in body order. The text is built from the paragraphs:
a heading's line, each paragraph, each table row with its cells joined by
" | ", separated by blank lines (see :mod:`index.formats.builder`).
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from index.documents import (
    CODE,
    HEADER,
    ITEM,
    ROW,
    CorpusError,
    Document,
    _pretty_stem,
    _read_bytes,
)
from index.formats.builder import TextBuilder

# A .docx holding more than this once unpacked is refused: a zip bomb, not a document.
MAX_UNPACKED_BYTES = 256 * 2**20

_HEADING_STYLE = re.compile(r"^heading\s*([1-9])$", re.IGNORECASE)
_LIST_STYLE = re.compile(r"^list(\s+(bullet|number|paragraph))?(\s*\d+)?$", re.IGNORECASE)
_CODE_STYLES = frozenset(
    {"code", "html preformatted", "plain text", "macro text", "source code", "verbatim"}
)
_MONOSPACE = re.compile(
    r"courier|consolas|menlo|monaco|mono|lucida console|source code|inconsolata|fira code",
    re.IGNORECASE,
)
_CELL_SEPARATOR = " | "


def load(path: Path, doc_id: str) -> Document:
    """Read one ``.docx`` file; :class:`CorpusError` when it is not one or is damaged."""
    import docx

    data = _read_bytes(path)
    if not data.startswith(b"PK"):
        raise CorpusError(f"{path}: not a Word .docx file (it is not a zip archive).")
    try:
        _check_unpacked_size(data)
        word = docx.Document(io.BytesIO(data))
        builder = TextBuilder()
        title = _walk(word, builder)
        properties = word.core_properties
        title = " ".join((properties.title or "").split()) or title
        created = properties.created
        date = created.date().isoformat() if created else ""
    except CorpusError as exc:
        raise CorpusError(f"{path}: {exc}") from exc
    except Exception as exc:  # a damaged package fails in many ways inside python-docx
        raise CorpusError(
            f"{path}: broken or unreadable Word document ({type(exc).__name__})."
        ) from exc
    return builder.document(doc_id, title or _pretty_stem(path), date=date)


def _check_unpacked_size(data: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        unpacked = sum(info.file_size for info in archive.infolist())
    if unpacked > MAX_UNPACKED_BYTES:
        raise CorpusError(
            f"unpacks to {unpacked / 2**20:.0f} MB, over the "
            f"{MAX_UNPACKED_BYTES / 2**20:.0f} MB a Word document may hold."
        )


def _walk(word: Any, builder: TextBuilder) -> str:
    """Append the body of ``word`` to ``builder``; return its first Title or Heading 1.

    The first Title-style paragraph is the document's title, not a section; a
    later one opens a section at level 1, like Heading 1.
    """
    title = ""
    seen_title = False
    code: list[str] = []  # consecutive code-styled paragraphs: one code block

    def flush_code() -> None:
        if code:
            builder.paragraph("\n".join(code), CODE)
            code.clear()

    for part in _body_parts(word):
        if part.__class__.__name__ == "Table":
            flush_code()
            _table(part, builder)
            continue
        text = part.text
        style = _style_name(part)
        if _is_code(part, style):
            if text.strip() or code:
                code.append(text.rstrip())
            continue
        flush_code()
        if not text.strip():
            continue
        level = _heading_level(part, style)
        if style.lower() == "title" and not seen_title:
            # The document's own title, shown with every citation: not a section.
            seen_title = True
            title = " ".join(text.split())
        elif level is not None:
            if not title and level <= 1:
                title = " ".join(text.split())
            builder.heading(text, level)
        elif _is_list_item(part, style):
            builder.item(text, "list", ITEM, _list_depth(part, style))
        else:
            builder.paragraph(text)
    flush_code()
    return title


def _body_parts(word: Any) -> Iterator[Any]:
    """The body's paragraphs and tables in order, including those inside content controls."""
    from docx.oxml.ns import qn
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    body = word._body
    stack = list(reversed(list(word.element.body)))
    while stack:
        element = stack.pop()
        if element.tag == qn("w:p"):
            yield Paragraph(element, body)
        elif element.tag == qn("w:tbl"):
            yield Table(element, body)
        elif element.tag == qn("w:sdt"):
            content = element.find(qn("w:sdtContent"))
            if content is not None:
                stack.extend(reversed(list(content)))


def _style_name(paragraph: Any) -> str:
    try:
        style = paragraph.style
    except (KeyError, ValueError):
        return ""
    return str(style.name or "") if style is not None else ""


def _heading_level(paragraph: Any, style: str) -> int | None:
    """1-9 for a heading (Title counts as 1), None for anything else."""
    if style.lower() == "title":
        return 1
    if match := _HEADING_STYLE.match(style):
        return int(match.group(1))
    # A custom heading style based on a built-in one ("My Heading" based on Heading 2).
    try:
        base = paragraph.style.base_style if paragraph.style is not None else None
    except (KeyError, ValueError):
        base = None
    for _ in range(5):
        if base is None:
            break
        if match := _HEADING_STYLE.match(str(base.name or "")):
            return int(match.group(1))
        base = base.base_style
    return None


def _is_list_item(paragraph: Any, style: str) -> bool:
    if _LIST_STYLE.match(style):
        return True
    properties = paragraph._p.pPr
    return properties is not None and properties.numPr is not None


def _list_depth(paragraph: Any, style: str) -> int:
    """0 for a top-level item: the numbering level, else the style's number ("List Bullet 2")."""
    properties = paragraph._p.pPr
    numbering = properties.numPr if properties is not None else None
    if numbering is not None and numbering.ilvl is not None:
        return max(0, min(int(numbering.ilvl.val), 8))
    match = _LIST_STYLE.match(style)
    level = (match.group(3) or "").strip() if match else ""
    return int(level) - 1 if level.isdigit() and int(level) > 0 else 0


def _is_code(paragraph: Any, style: str) -> bool:
    if style.lower() in _CODE_STYLES:
        return True
    runs = [run for run in paragraph.runs if run.text.strip()]
    if not runs:
        return False
    try:
        style_font = paragraph.style.font.name if paragraph.style is not None else None
    except (KeyError, ValueError):
        style_font = None
    fonts = [run.font.name or style_font for run in runs]
    return all(font and _MONOSPACE.search(font) for font in fonts)


def _table(table: Any, builder: TextBuilder) -> None:
    """A table's first row as its header, the others as rows, all in one group."""
    rows = []
    for row in table.rows:
        cells = []
        previous = None
        for cell in row.cells:
            if cell._tc is previous:  # a merged cell repeats once per grid column
                continue
            previous = cell._tc
            cells.append(" ".join(cell.text.split()))
        if any(cells):
            rows.append(_CELL_SEPARATOR.join(cells))
    for n, text in enumerate(rows):
        kind = HEADER if n == 0 and len(rows) > 1 else ROW
        builder.item(text, table, kind)
