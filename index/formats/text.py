"""Plain text (``.txt``): paragraphs are separated by blank lines.

Headings are recognised conservatively, so that prose reads exactly as it always
has: an underlined line (``===`` or ``---`` below it), a numbered heading
(``1.2 Scope``) alone between blank lines, and a short Title-Case line alone between
blank lines. Lines starting with a bullet (or numbered lines, two or more in one
block) are list items.
"""

from __future__ import annotations

import re
from pathlib import Path

from index.documents import (
    ITEM,
    MAX_TITLE_CHARS,
    PROSE,
    Block,
    Document,
    Section,
    Span,
    _blocks,
    _decode,
    _lines,
    _pretty_stem,
    _read_bytes,
    _trim,
)
from index.formats.outline import Outline

_UNDERLINE = re.compile(r"^\s*(=+|-+)\s*$")
# "2.3 Scope", "4. Definitions", "1 Introduction": a number, then a capitalised title.
_NUMBERED = re.compile(r"^\s*(?P<n>\d{1,3}(?:\.\d{1,3})*)\.?[ \t]+(?P<title>[A-Z][^\n]*)$")
_BULLET = re.compile(r"^\s*([-*+•◦▪‣]|\d{1,3}[.)])[ \t]+(?=\S)")
# A heading is short and does not end like a sentence or a lead-in.
MAX_HEADING_CHARS = 80
MAX_HEADING_WORDS = 10
_NOT_A_HEADING_END = tuple(".,;:!?")
# Short words that stay lowercase in a Title-Case heading.
_MINOR_WORDS = frozenset(
    "a an and as at but by for from in into nor of on or per the to vs via with".split()
)


def load(path: Path, doc_id: str) -> Document:
    text = _decode(path, _read_bytes(path))
    first_line = next((line.strip() for line in text.split("\n") if line.strip()), "")
    title = first_line if 0 < len(first_line) <= MAX_TITLE_CHARS else _pretty_stem(path)
    paragraphs, blocks, sections = parse(text)
    return Document(
        doc_id=doc_id,
        title=title,
        text=text,
        paragraphs=tuple(paragraphs),
        blocks=tuple(blocks),
        sections=tuple(sections),
    )


def parse(text: str) -> tuple[list[Span], list[Block], list[Section]]:
    """Paragraphs, their blocks and the sections of a plain-text document.

    Without headings or bullets the paragraphs are the blank-line blocks, as always,
    and ``blocks`` is empty.
    """
    outline = Outline()
    paragraphs: list[Span] = []
    blocks: list[Block] = []
    groups = 0
    spans = _blocks(text)

    def emit(span: Span | None, kind: str, group: int | None = None) -> None:
        if span:
            paragraphs.append(span)
            blocks.append(Block(kind, outline.current, group))

    for n, (a, b) in enumerate(spans):
        lines = list(_lines(text, a, b))
        first = text[lines[0][0] : lines[0][1]].strip()
        # An underlined heading, perhaps with its text right below the underline.
        if len(lines) >= 2 and _UNDERLINE.match(text[lines[1][0] : lines[1][1]]):
            if len(first) <= MAX_TITLE_CHARS and _UNDERLINE.match(first) is None:
                underline = text[lines[1][0] : lines[1][1]].strip()
                outline.heading(" ".join(first.split()), 1 if underline[0] == "=" else 2)
                if len(lines) > 2:
                    emit(_trim(text, lines[2][0], b), PROSE)
                continue
        last = n == len(spans) - 1
        if len(lines) == 1 and not last:
            numbered = _NUMBERED.match(first)
            # "1.2 Scope" is a heading; "1. Scope" only in Title Case ("1. Buy milk" is not).
            if (
                numbered
                and _heading_like(numbered.group("title"))
                and ("." in numbered.group("n") or _title_case(numbered.group("title")))
            ):
                level = numbered.group("n").count(".") + 1
                outline.heading(" ".join(first.split()), level)
                continue
            if _heading_like(first) and _title_case(first) and n > 0:
                # One level below the heading above it, closed by the next such line.
                outline.question(first)
                continue
        items = _items(text, lines)
        if items:
            if items[0] > 0:
                emit(_trim(text, a, lines[items[0] - 1][1]), PROSE)  # the lead-in
            group = groups
            groups += 1
            for k, i in enumerate(items):
                marker = _BULLET.match(text[lines[i][0] : lines[i][1]])
                start = lines[i][0] + (marker.end() if marker else 0)
                end = lines[items[k + 1] - 1][1] if k + 1 < len(items) else b
                emit(_trim(text, start, end), ITEM, group)
            continue
        emit((a, b), PROSE)

    if not outline.sections and all(block.kind == PROSE for block in blocks):
        return paragraphs, [], []
    return paragraphs, blocks, outline.sections


def _items(text: str, lines: list[Span]) -> list[int]:
    """Which of a block's lines start list items; none unless it is clearly a list.

    Bullets count when the block starts with one or has two; numbers only when there
    are two or more running 1, 2, 3... (a wrapped line of prose can start with "3) is").
    """
    marks = [(i, _BULLET.match(text[a:b])) for i, (a, b) in enumerate(lines)]
    found = [(i, m.group(1)) for i, m in marks if m]
    if not found:
        return []
    if all(mark[0].isdigit() for _, mark in found):
        numbers = [int(mark[:-1]) for _, mark in found]
        counted = len(numbers) >= 2 and numbers == list(range(1, len(numbers) + 1))
        return [i for i, _ in found] if counted else []
    bullets = [i for i, mark in found if not mark[0].isdigit()]
    if bullets[0] == 0 or len(bullets) >= 2:
        return bullets
    return []


def _heading_like(line: str) -> bool:
    """Short, a few words, not ending like a sentence, with letters in it."""
    line = line.strip()
    return (
        0 < len(line) <= MAX_HEADING_CHARS
        and len(line.split()) <= MAX_HEADING_WORDS
        and not line.endswith(_NOT_A_HEADING_END)
        and any(ch.isalpha() for ch in line)
    )


def _title_case(line: str) -> bool:
    """Every word that is not a short joining word starts with a capital (or a digit)."""
    words = re.findall(r"[^\s]+", line)
    if not words or not words[0][:1].isupper():
        return False
    for word in words[1:]:
        bare = word.strip("()[]\"'“”‘’&/-")
        if not bare or bare.lower() in _MINOR_WORDS:
            continue
        if not (bare[0].isupper() or bare[0].isdigit()):
            return False
    return True
