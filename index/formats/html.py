"""HTML (``.html``, ``.htm``): the page's text without its furniture."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from index.documents import Document, Span, _collapse, _decode, _pretty_stem, _read_bytes

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


def load(path: Path, doc_id: str) -> Document:
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
