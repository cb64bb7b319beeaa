"""Markdown (``.md``, ``.markdown``) with optional ``key: value`` front matter.

Headings (ATX and setext) become the document's sections, with GitHub-style anchors;
list items, table rows and code blocks become paragraphs of their own kind, so a
list or a table is never read as one run-on sentence. A bold line that is a question
(``**How do I ...?**`` alone on a line) heads a section too: FAQ pages are often
written that way.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from index.documents import (
    CODE,
    HEADER,
    ITEM,
    PROSE,
    ROW,
    Block,
    Document,
    Section,
    Span,
    _decode,
    _lines,
    _pretty_stem,
    _read_bytes,
    _trim,
)
from index.formats.outline import Outline

_FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})")
_ATX_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+|$)(.*)$")
_SETEXT_UNDERLINE = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_THEMATIC_BREAK = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
# A list item's marker; group 1 is its indentation, group 2 the marker.
_LIST_ITEM = re.compile(r"^([ \t]*)([-*+]|\d{1,9}[.)])(?:[ \t]+|$)")
_TABLE_SEPARATOR = re.compile(r"^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$")
_BOLD_QUESTION = re.compile(r"^\s*(\*\*|__)(?P<q>[^*_\n].*?\?)[ \t]*\1[ \t]*:?[ \t]*$")
_INDENTED_CODE = re.compile(r"^(?: {4}|\t)")


def load(path: Path, doc_id: str) -> Document:
    raw = _decode(path, _read_bytes(path))
    meta, text = _split_front_matter(raw)
    parsed = parse(text)
    title = meta.get("title") or parsed.heading or _pretty_stem(path)
    return Document(
        doc_id=doc_id,
        title=title,
        text=text,
        paragraphs=tuple(parsed.paragraphs),
        source=meta.get("source") or meta.get("url") or "",
        date=meta.get("date", ""),
        # Flat prose has no blocks, as Document documents; it stores and hashes as before.
        blocks=tuple(parsed.blocks) if parsed.sections or parsed.kinds() != {PROSE} else (),
        sections=tuple(parsed.sections),
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


# --------------------------------------------------------------------------- headings


_INLINE_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)|!?\[([^\]]*)\]\[[^\]]*\]")
_EMPHASIS = re.compile(r"(\*\*|__|\*|_|~~|`+)(?=\S)(.+?)(?<=\S)\1")
_HTML_TAG = re.compile(r"<[^>\n]+>")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1")


def plain_heading(markup: str) -> str:
    """A heading's text as a reader sees it: links, emphasis, code marks and tags removed.

    Code spans keep their text as written: ``brew install <formula>`` is no tag.
    """
    spans: list[str] = []

    def hold(match: re.Match[str]) -> str:
        spans.append(match.group(2).strip())
        return f"\0{len(spans) - 1}\0"

    text = _CODE_SPAN.sub(hold, markup)
    text = _INLINE_LINK.sub(lambda m: m.group(1) if m.group(1) is not None else m.group(2), text)
    text = _HTML_TAG.sub("", text)
    for _ in range(3):  # nested emphasis: **_word_**
        text = _EMPHASIS.sub(r"\2", text)
    text = re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", text)  # backslash escapes
    text = re.sub(
        "\0(\\d+)\0",
        lambda m: spans[int(m[1])] if int(m[1]) < len(spans) else m[0],
        text,
    )
    return " ".join(text.split())


def slug(title: str) -> str:
    """GitHub's anchor for a heading: lowercase, punctuation removed, spaces to ``-``."""
    kept = []
    for ch in title.lower():
        category = unicodedata.category(ch)
        if ch in " -_" or category[0] in "LNM":
            kept.append(ch)
    return "".join(kept).replace(" ", "-")


class Slugger:
    """Anchors made unique the way GitHub does it: repeats get ``-1``, ``-2``..."""

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}

    def __call__(self, title: str) -> str:
        base = slug(title)
        anchor = base
        while anchor in self.seen:
            self.seen[base] += 1
            anchor = f"{base}-{self.seen[base]}"
        self.seen[anchor] = 0
        return anchor


# --------------------------------------------------------------------------- parsing


@dataclass
class Parsed:
    """What :func:`parse` found: paragraphs with their blocks, the sections, the H1."""

    paragraphs: list[Span] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    heading: str = ""  # the first level-1 heading, the title when front matter has none

    def kinds(self) -> set[str]:
        return {block.kind for block in self.blocks}


def _is_table_separator(line: str, header: str) -> bool:
    """Whether ``line`` is the |---|:--:| line below a table's ``header`` row.

    A table may follow its lead-in sentence directly, as GitHub renders it; a bare
    ``---`` under a line is a heading unless that line starts with a pipe.
    """
    return bool(
        _TABLE_SEPARATOR.match(line)
        and "-" in line
        and ("|" in line or header.lstrip().startswith("|"))
    )


def parse(text: str) -> Parsed:
    """The paragraphs, blocks and sections of a Markdown body.

    Every paragraph is an exact, trimmed span of ``text``: a prose paragraph, one list
    item (its marker left out), one table row (header row included, separator line
    not) or one code block (its lines, not the fences). Headings and thematic breaks
    stay in the text but are not paragraphs.
    """
    parsed = Parsed()
    outline = Outline()
    slugger = Slugger()
    lines = list(_lines(text))
    groups = 0

    def emit(a: int, b: int, kind: str, group: int | None = None, depth: int = 0) -> None:
        span = _trim(text, a, b)
        if span:
            parsed.paragraphs.append(span)
            parsed.blocks.append(Block(kind, outline.current, group, depth))

    def new_group() -> int:
        nonlocal groups
        groups += 1
        return groups - 1

    prose: Span | None = None  # the open prose paragraph
    item: tuple[int, int, int] | None = None  # the open list item: (start, end, depth)
    list_group: int | None = None  # the list being read, until something else starts
    item_indents: list[int] = []  # the marker indentation of each open list level
    list_ordered = False  # whether the outermost level of the list is numbered
    blank_before = True

    def close_prose() -> None:
        nonlocal prose
        if prose:
            emit(prose[0], prose[1], PROSE)
        prose = None

    def close_item() -> None:
        nonlocal item
        if item:
            emit(item[0], item[1], ITEM, list_group, item[2])
        item = None

    def close_list() -> None:
        nonlocal list_group
        close_item()
        list_group = None
        item_indents.clear()

    def close_all() -> None:
        close_prose()
        close_list()

    i = 0
    while i < len(lines):
        a, b = lines[i]
        line = text[a:b]
        blank = not line.strip()
        indent = len(line) - len(line.lstrip(" \t"))

        # Fenced code: any indentation inside a list, up to three spaces elsewhere.
        fence = _FENCE.match(line)
        if fence and (len(fence.group(1)) <= 3 or list_group is not None):
            close_prose()
            close_item()
            if list_group is not None and blank_before and indent <= item_indents[0]:
                close_list()
            marker = fence.group(2)
            j = i + 1
            while j < len(lines):
                inner = text[lines[j][0] : lines[j][1]].strip()
                if inner.startswith(marker) and not inner.strip(marker[0]):
                    break
                j += 1
            if j > i + 1:
                emit(lines[i + 1][0], lines[j - 1][1], CODE)
            i = j + 1
            blank_before = False
            continue

        if blank:
            close_prose()
            close_item()
            blank_before = True
            i += 1
            continue

        if atx := _ATX_HEADING.match(line):
            close_all()
            level = len(atx.group(1))
            title = plain_heading(re.sub(r"[ \t]+#+[ \t]*$|^#+[ \t]*$", "", atx.group(2)))
            if not parsed.heading and level == 1:
                parsed.heading = title
            outline.heading(title, level, slugger(title))
            blank_before = False
            i += 1
            continue

        underline = _SETEXT_UNDERLINE.match(line)
        if prose and underline and not item:
            # The paragraph above was a heading written with an underline.
            level = 1 if line.strip()[0] == "=" else 2
            title = plain_heading(text[prose[0] : prose[1]])
            if not parsed.heading and level == 1:
                parsed.heading = " ".join(text[prose[0] : prose[1]].split())
            prose = None
            outline.heading(title, level, slugger(title))
            blank_before = False
            i += 1
            continue

        if not prose and not item and (question := _BOLD_QUESTION.match(line)):
            close_list()
            outline.question(plain_heading(question.group("q")))
            blank_before = False
            i += 1
            continue

        if _THEMATIC_BREAK.match(line):
            close_all()
            blank_before = True
            i += 1
            continue

        # A pipe table: a row of cells, then a separator line of dashes.
        if (
            "|" in line
            and not item
            and i + 1 < len(lines)
            and _is_table_separator(text[lines[i + 1][0] : lines[i + 1][1]], line)
        ):
            close_all()
            group = new_group()
            emit(a, b, HEADER, group)
            j = i + 2
            while j < len(lines):
                row = text[lines[j][0] : lines[j][1]]
                if not row.strip() or "|" not in row or _ATX_HEADING.match(row):
                    break
                emit(lines[j][0], lines[j][1], ROW, group)
                j += 1
            i = j
            blank_before = False
            continue

        marker = _LIST_ITEM.match(line)
        # A bullet may interrupt a paragraph; a numbered item only when it starts at 1.
        if (
            marker
            and line[marker.end() :].strip()
            and (not prose or marker.group(2) in "-*+" or marker.group(2)[:-1] == "1")
        ):
            close_prose()
            close_item()
            ordered = marker.group(2)[-1] in ".)"
            if list_group is not None and indent <= item_indents[0] and ordered != list_ordered:
                close_list()  # a bulleted list right after a numbered one is another list
            if list_group is None:
                list_group = new_group()
                list_ordered = ordered
            while item_indents and item_indents[-1] > indent:
                item_indents.pop()
            if not item_indents or item_indents[-1] < indent:
                item_indents.append(indent)
            item = (a + marker.end(), b, len(item_indents) - 1)
            blank_before = False
            i += 1
            continue

        if item and not blank_before:
            item = (item[0], b, item[2])  # a wrapped item line
            i += 1
            continue

        if list_group is not None and blank_before and indent > item_indents[0]:
            # An indented paragraph after a blank line: more of the item above it.
            close_prose()
            item = (a, b, len(item_indents) - 1)
            blank_before = False
            i += 1
            continue

        if not prose and blank_before and _INDENTED_CODE.match(line) and list_group is None:
            close_all()
            j = i + 1
            last = i
            while j < len(lines):
                nxt = text[lines[j][0] : lines[j][1]]
                if nxt.strip():
                    if not _INDENTED_CODE.match(nxt):
                        break
                    last = j
                j += 1
            emit(a, lines[last][1], CODE)
            i = last + 1
            blank_before = False
            continue

        if list_group is not None:
            close_list()  # an unindented paragraph after a blank line ends the list
        prose = (prose[0], b) if prose else (a, b)
        blank_before = False
        i += 1
    close_all()
    parsed.sections = outline.sections
    return parsed
