"""HTML (``.html``, ``.htm``): the page's main content, with its structure.

The page's furniture (scripts, navigation, site header and footer) is dropped, then
readability-lxml picks the main content (leaving out cookie banners, sidebars and
other boilerplate). Headings h1-h6 become sections (anchored at their ``id``), as do
a ``dt`` and a ``summary`` (the entry they head, as in a FAQ); ``li`` are list items,
``tr`` table rows (cells joined by `` | ``) and ``pre`` code. ``Document.text`` is the
extracted text: blocks joined by blank lines, every paragraph an exact span of it.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from index.documents import (
    CODE,
    HEADER,
    ITEM,
    PROSE,
    ROW,
    Block,
    CorpusError,
    Document,
    Span,
    _collapse,
    _decode,
    _pretty_stem,
    _read_bytes,
)
from index.formats.outline import Outline

logger = logging.getLogger(__name__)

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


# readability keeps the main content; when it keeps less than this share of the page's
# text it has most likely picked one part of a page made of many (a short page, a page
# of sibling sections), and the whole page without its furniture is read instead.
MIN_MAIN_SHARE = 0.4
CELL_SEPARATOR = " | "
_MARK = "data-quotebot-n"  # numbers the page's elements while readability reads it
# Separators between a page's own title and its site's name in <title>.
_TITLE_PARTS = re.compile(r"\s+[|\u2013\u2014\u00b7:-]\s+")


def _parse(path: Path, raw: str) -> Any:
    from bs4 import BeautifulSoup
    from bs4.exceptions import ParserRejectedMarkup

    try:
        return BeautifulSoup(raw, "html.parser")
    except ParserRejectedMarkup:  # e.g. a broken "<![" declaration the parser cannot skip
        raise CorpusError(f"{path}: not readable as HTML.") from None


def load(path: Path, doc_id: str) -> Document:
    data = _read_bytes(path)
    declared = _CHARSET.search(data[:4096])
    raw = _decode(path, data, declared.group(1).decode("ascii") if declared else None)
    soup = _parse(path, raw)

    page_title = _collapse(soup.title.get_text()) if soup.title else ""
    h1 = soup.find("h1")
    headline = _collapse(h1.get_text()) if h1 else ""
    title = _title(page_title, headline)
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

    page = _Page()
    for part in _main_content(soup):
        page.walk(part)
    return Document(
        doc_id=doc_id,
        title=title or _pretty_stem(path),
        text=page.text(),
        paragraphs=tuple(page.paragraphs),
        source=source,
        date=date,
        blocks=tuple(page.blocks),
        sections=tuple(page.outline.sections),
    )


def _title(page_title: str, headline: str) -> str:
    """The page's ``<title>``, or its h1 when the title is that h1 plus the site's name."""
    if not page_title:
        return headline
    if headline and any(
        part.casefold() == headline.casefold() for part in _TITLE_PARTS.split(page_title)
    ):
        return headline
    return page_title


def _main_content(soup: Any) -> list[Any]:
    """The elements of ``soup`` that make the page's content, in document order.

    readability-lxml chooses them (the best-scoring container and the siblings that
    belong with it). Its own output prunes what it judges thin, short tables and
    lists among them, so the chosen elements are read from ``soup`` itself, whole.
    """
    from bs4 import BeautifulSoup
    from bs4.exceptions import ParserRejectedMarkup

    whole = len(_collapse(soup.get_text()))
    if not whole:
        return [soup]
    tags = soup.find_all(True)
    for n, tag in enumerate(tags):
        tag[_MARK] = str(n)
    try:
        from readability import Document as Readable

        summary = Readable(str(soup)).summary(html_partial=True)
    except Exception as exc:  # readability gives up on some pages; the whole page will do
        logger.debug("readability could not read a page (%s); reading all of it", exc)
        return [soup]
    finally:
        for tag in tags:
            del tag[_MARK]
    chosen = []
    marked: dict[str, Any] = {_MARK: True}
    try:
        summary_soup = BeautifulSoup(summary, "html.parser")
    except ParserRejectedMarkup:
        return [soup]
    for tag in summary_soup.find_all(None, marked):
        number = str(tag[_MARK])
        if tag.find_parent(None, marked) is None and number.isdigit() and int(number) < len(tags):
            chosen.append(int(number))
    main = [tags[n] for n in sorted(set(chosen))]
    kept = sum(len(_collapse(tag.get_text())) for tag in main)
    return main if kept >= MIN_MAIN_SHARE * whole else [soup]


@dataclass
class _Open:
    """A block element being read."""

    name: str
    tag: Any


class _Page:
    """Reads a parsed page into text pieces, paragraphs, blocks and sections."""

    def __init__(self) -> None:
        self.pieces: list[str] = []
        self.paragraphs: list[Span] = []
        self.blocks: list[Block] = []
        self.outline = Outline()
        self.length = 0
        self.buffer: list[str] = []
        self.open: list[_Open] = []
        self.lists: list[int] = []  # the group of the outermost open list, once per level
        self.groups = 0
        self.table_group: list[int] = []
        self.row: list[list[str]] | None = None  # the cells of the open table row
        self.row_tag: Any = None
        self.row_header = True
        self.pre = 0  # how many <pre> are open: their text keeps its spacing

    def text(self) -> str:
        return "\n\n".join(self.pieces)

    # ------------------------------------------------------------------ output

    def _piece(self, text: str) -> Span:
        if self.pieces:
            self.length += 2
        self.pieces.append(text)
        span = (self.length, self.length + len(text))
        self.length += len(text)
        return span

    def _paragraph(self, text: str, kind: str, group: int | None = None, depth: int = 0) -> None:
        self.paragraphs.append(self._piece(text))
        self.blocks.append(Block(kind, self.outline.current, group, depth))

    def _new_group(self) -> int:
        self.groups += 1
        return self.groups - 1

    def flush(self) -> None:
        """The text gathered since the last block boundary, as what the open blocks make it."""
        if self.pre:
            text = "".join(self.buffer).strip("\n").rstrip()
            text = text.strip()
        else:
            text = _collapse("".join(self.buffer))
        self.buffer.clear()
        if not text:
            return
        for block in reversed(self.open):
            if block.name == "pre":
                self._paragraph(text, CODE)
                return
            if block.name in _HEADINGS:
                self._piece(text)
                self.outline.heading(text, int(block.name[1]), _anchor(block.tag))
                return
            if block.name in ("dt", "summary"):
                self._piece(text)
                anchor = _anchor(block.tag)
                if not anchor and block.name == "summary" and block.tag.parent is not None:
                    anchor = str(block.tag.parent.get("id") or "")
                self.outline.question(text, anchor)
                return
            if block.name == "li":
                self._paragraph(text, ITEM, self.lists[0] if self.lists else None, _depth(self))
                return
        self._paragraph(text, PROSE)

    def _end_row(self) -> None:
        assert self.row is not None
        cells = [_collapse("".join(cell)) for cell in self.row]
        self.row, self.row_tag = None, None
        if not any(cells):
            return
        group = self.table_group[-1] if self.table_group else None
        # An empty last cell would leave the separator's space at the paragraph's end.
        row = CELL_SEPARATOR.join(cells).strip()
        self._paragraph(row, HEADER if self.row_header else ROW, group)

    # ------------------------------------------------------------------ walking

    def walk(self, root: Any) -> None:
        """Read ``root`` in document order, without recursion (deep pages cannot overflow)."""
        from bs4 import NavigableString, Tag
        from bs4.element import PreformattedString

        stack: list[Any] = [root]
        while stack:
            node = stack.pop()
            if isinstance(node, _Open):
                self._close(node)
                continue
            if isinstance(node, NavigableString):
                if isinstance(node, PreformattedString):
                    continue  # comments, CDATA, doctype
                if self.row is not None and not self.pre:
                    if not self.row:
                        self.row.append([])
                    self.row[-1].append(str(node))
                else:
                    self.buffer.append(str(node))
                continue
            if not isinstance(node, Tag):
                continue
            if node.name == "br":
                target = self.row[-1] if self.row else self.buffer
                target.append("\n" if self.pre else " ")
                continue
            if node.name in _BLOCK_TAGS:
                self._start(node)
                opened = _Open(node.name, node)
                self.open.append(opened)
                stack.append(opened)
            stack.extend(reversed(node.contents))
        self.flush()

    def _start(self, tag: Any) -> None:
        name = tag.name
        if self.row is not None:  # inside a table row everything is the row's text
            if name in ("td", "th"):
                self.row.append([])
                if name == "td" and not tag.find_parent("thead"):
                    self.row_header = False
            return
        self.flush()
        if name in ("ul", "ol"):
            self.lists.append(self.lists[0] if self.lists else self._new_group())
        elif name == "table":
            self.table_group.append(self._new_group())
        elif name == "tr":
            self.row, self.row_tag, self.row_header = [], tag, True
        elif name == "pre":
            self.pre += 1

    def _close(self, block: _Open) -> None:
        name = block.name
        if self.row is not None:
            if block.tag is self.row_tag:
                self._end_row()
                self.open.pop()
            else:
                self.open.pop()
            return
        self.flush()
        self.open.pop()
        if name in ("ul", "ol") and self.lists:
            self.lists.pop()
        elif name == "table" and self.table_group:
            self.table_group.pop()
        elif name == "pre":
            self.pre -= 1
        elif name in ("dl", "details"):
            self.outline.end_questions()


def _depth(page: _Page) -> int:
    return max(0, len(page.lists) - 1)


def _anchor(tag: Any) -> str:
    """The fragment that links to ``tag``: its id, or an id or ``<a name>`` inside it."""
    if tag.get("id"):
        return str(tag["id"])
    inner = tag.find(lambda t: t.get("id") or (t.name == "a" and t.get("name")))
    if inner is None:
        return ""
    return str(inner.get("id") or inner.get("name"))


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
