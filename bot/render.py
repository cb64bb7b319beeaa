"""Rendering decisions shared by every front end: citations, truncation, wording.

Platform adapters build their own message formats (embeds, Block Kit, terminal
panels) from these pieces so that a rule is written once.
"""

from __future__ import annotations

import json
import re
from urllib.parse import urldefrag

from bot import messages
from bot.answers import Answer, Quote, SourceInfo, shown_quotes

ELLIPSIS = "…"
# What json.dumps(ensure_ascii=False) leaves raw but a terminal acts on or hides: DEL and
# the C1 controls (U+009B is an escape sequence's start), the bidirectional marks and
# overrides that reorder what is shown, zero-width characters and the line separators.
_JSON_UNSAFE = re.compile(r"[\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")


def json_text(value: object, *, indent: int | None = None) -> str:
    """``value`` as JSON that is safe to print: readable Unicode, every control, bidi or
    invisible character as a ``\\uXXXX`` escape (the same string once parsed).

    Every ``--json`` output goes through here.
    """
    text = json.dumps(value, ensure_ascii=False, indent=indent)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


TRAIL_SEPARATOR = " › "
CODE = "code"  # Quote.kind of a code block, shown as code rather than as a quotation


def truncate(text: str, limit: int) -> str:
    """Cut ``text`` to at most ``limit`` characters on a word boundary, adding an ellipsis."""
    if limit <= 0:
        return ""
    if len(text) <= limit:
        return text
    cut = text[: limit - len(ELLIPSIS)]
    ends_on_word = text[len(cut)].isspace()
    space = cut.rfind(" ")
    if not ends_on_word and space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:") + ELLIPSIS


def marked(quote: Quote, shown: str) -> tuple[str, str, str] | None:
    """``shown`` (the quote's text, or a :func:`truncate` cut of it) split around its marked
    phrase: before, phrase, after. None when there is no mark or the cut does not hold all of it,
    so a front end never shows half a mark.
    """
    if quote.highlight is None:
        return None
    start, end = quote.highlight[0] - quote.start, quote.highlight[1] - quote.start
    body = shown
    if shown != quote.text and shown.endswith(ELLIPSIS):
        body = shown[: -len(ELLIPSIS)]
    if not (0 <= start < end <= len(body) and quote.text.startswith(body)):
        return None
    return shown[:start], shown[start:end], shown[end:]


def trail(quote: Quote) -> str:
    """``Title › Section › Subsection``: the document and the headings above the quote."""
    return TRAIL_SEPARATOR.join((quote.title, *quote.section))


def citation(quote: Quote) -> str:
    """``Title › Section › Subsection, ¶ 3`` — the human-readable reference of a quote."""
    return f"{trail(quote)}, ¶ {quote.paragraph}"


def link(quote: Quote) -> str:
    """Where the quote can be read: ``source#anchor`` when both are known, else the source.

    Empty when the document has no web address (a Markdown file without ``source:``).
    """
    if not quote.source:
        return ""
    if not quote.anchor:
        return quote.source
    return f"{urldefrag(quote.source).url}#{quote.anchor}"


def is_code(quote: Quote) -> bool:
    return quote.kind == CODE


def confidence_line(answer: Answer) -> str:
    return messages.CONFIDENCE.format(label=answer.confidence_label)


def declined(answer: Answer) -> tuple[str, str]:
    """Why an abstained answer shows no answer, and the header over its closest matches."""
    if answer.declined_below is None:
        return messages.NOT_FOUND, messages.CLOSEST_HEADER
    return messages.BELOW_BAR.format(bar=answer.declined_below), messages.BELOW_BAR_HEADER


def plain_text(answer: Answer) -> str:
    """A plain-text rendering, used by the terminal chat and as a notification fallback."""
    lines: list[str] = []
    if answer.truncated:
        lines.append(messages.QUESTION_TRUNCATED.format(limit=len(answer.question)))
    if answer.abstained:
        why, header = declined(answer)
        lines.append(why)
        if answer.closest:
            lines.append(header)
    for n, quote in enumerate(shown_quotes(answer), start=1):
        if is_code(quote):
            lines.append(f"[{n}]")
            lines.extend(f"    {line}" for line in quote.text.split("\n"))
        else:
            lines.append(f'[{n}] "{quote.text}"')
        lines.append(f"    — {citation(quote)}" + (f" <{link(quote)}>" if link(quote) else ""))
    lines.append(confidence_line(answer))
    return "\n".join(lines)


def paragraphs(n: int) -> str:
    """The count with its noun: "1 paragraph", "12 paragraphs"."""
    return f"{n} paragraph" if n == 1 else f"{n} paragraphs"


def sources_text(sources: list[SourceInfo]) -> str:
    lines = []
    for s in sources:
        line = f"• {s.title} ({paragraphs(s.paragraphs)})"
        if s.source:
            line += f" <{s.source}>"
        lines.append(line)
    return "\n".join(lines) if lines else "No documents are indexed."
