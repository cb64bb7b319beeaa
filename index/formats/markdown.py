"""Markdown (``.md``, ``.markdown``) with optional ``key: value`` front matter."""

from __future__ import annotations

import re
from pathlib import Path

from index.documents import Document, Span, _decode, _lines, _pretty_stem, _read_bytes, _trim

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_ATX_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+|$)(.*)$")
_SETEXT_UNDERLINE = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_THEMATIC_BREAK = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")


def load(path: Path, doc_id: str) -> Document:
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
