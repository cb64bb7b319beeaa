"""Discord renderings of answers, sources and context, within Discord's size limits.

Pure functions from the service's values to ``discord.Embed`` objects and
component ids; no network and no client state, so they are tested directly.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence

import discord

from bot import messages, render
from bot.answers import Answer, Context, Quote, SourceInfo

# https://discord.com/developers/docs/resources/message#embed-object-embed-limits
CONTENT_LIMIT = 2000
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_VALUE_LIMIT = 1024
FOOTER_LIMIT = 2048
EMBED_TOTAL_LIMIT = 6000
CUSTOM_ID_LIMIT = 100

# A citation line is never cut; these bound its parts so that it always fits.
CITATION_TITLE_LIMIT = 200
SOURCE_URL_LIMIT = 512

ANSWER_COLOUR = discord.Colour(0x2B8A3E)
NOT_FOUND_COLOUR = discord.Colour(0x868E96)
INFO_COLOUR = discord.Colour(0x1971C2)

VOTE_PREFIX = "qb:vote:"
CONTEXT_PREFIX = "qb:more:"
VOTE_TEMPLATE = r"qb:vote:(?P<vote>up|down):(?P<answer_id>[0-9A-Za-z]{1,64})"
CONTEXT_TEMPLATE = r"qb:more:(?P<ref>.{1,92})"
_HASHED_REF = re.compile(r"#(?P<doc>[0-9a-f]{12}):(?P<start>\d+)-(?P<end>\d+)")


def one_line(text: str) -> str:
    return " ".join(text.split())


def answer_embed(answer: Answer) -> discord.Embed:
    """The embed under an /ask: the question, numbered quotes with citations, confidence."""
    title = render.truncate(one_line(answer.question), TITLE_LIMIT) or "?"
    footer = render.confidence_line(answer)
    head: list[str] = []
    if answer.truncated:
        head.append(messages.QUESTION_TRUNCATED.format(limit=len(answer.question)))
    if answer.abstained:
        why, header = render.declined(answer)
        head.append(f"**{why}**")
        if answer.closest:
            head.append(header)
    budget = min(DESCRIPTION_LIMIT, EMBED_TOTAL_LIMIT - len(title) - len(footer))
    description = quote_blocks(render.shown_quotes(answer), "\n".join(head), budget)
    embed = discord.Embed(
        title=title,
        description=description,
        colour=NOT_FOUND_COLOUR if answer.abstained else ANSWER_COLOUR,
    )
    embed.set_footer(text=footer)
    return embed


def citation_line(number: int, quote: Quote) -> str:
    """``**[1]** Title › Section, ¶ 2 — [source](<url#anchor>)``; bounded so it is never cut."""
    title = render.truncate(one_line(render.trail(quote)), CITATION_TITLE_LIMIT)
    line = f"**[{number}]** {discord.utils.escape_markdown(title)}, ¶ {quote.paragraph}"
    url = render.link(quote)
    if url and len(url) <= SOURCE_URL_LIMIT:
        line += f" — [source](<{url}>)"
    return line


def quote_blocks(quotes: Sequence[Quote], head: str, limit: int) -> str:
    """``head`` then each quote as a block quote over its citation, in at most ``limit`` chars.

    Citations are kept whole; the quote texts share what is left, short quotes
    first so that the room a short quote does not need goes to the long ones.
    """
    separator = "\n\n"
    citations = [citation_line(n, q) for n, q in enumerate(quotes, start=1)]
    fixed = len(head) + sum(len(c) + 1 for c in citations)  # +1: newline after each block
    fixed += len(separator) * (len(quotes) - (0 if head else 1))
    room = max(0, limit - fixed)
    blocks: dict[int, str] = {}
    order = sorted(range(len(quotes)), key=lambda i: len(quotes[i].text))
    for position, i in enumerate(order):
        share = room // (len(order) - position)
        if render.is_code(quotes[i]):
            blocks[i] = code_block(quotes[i].text, share)
        else:
            blocks[i] = block_quote(quotes[i].text, share, quotes[i])
        room -= len(blocks[i])
    parts = [head] if head else []
    parts += [f"{blocks[i]}\n{citations[i]}" for i in range(len(quotes))]
    text = separator.join(parts)
    if len(text) > limit and len(quotes) > 1:
        # Only when the citations alone overflow: show fewer quotes, never half a citation.
        return quote_blocks(quotes[:-1], head, limit)
    return text[:limit]


def block_quote(text: str, limit: int, quote: Quote | None = None) -> str:
    """``text`` as a Markdown block quote of at most ``limit`` chars, cut on a word boundary.

    With ``quote``, its marked phrase is bold when the cut holds all of it.
    """
    keep = limit
    while keep > 0:
        cut = render.truncate(text, keep)
        lines = _escape_marked(cut, quote).splitlines() or [""]
        block = "\n".join(f"> {line}" for line in lines)
        if len(block) <= limit:
            return block
        keep -= max(1, len(block) - limit)
    return ""


def code_block(text: str, limit: int) -> str:
    """``text`` as a fenced code block of at most ``limit`` chars, cut on a line when it can be.

    Code is shown as written (no Markdown escaping); a fence inside it is broken
    with a zero-width space so it cannot close the block early.
    """
    fence = "```"
    body = text.replace(fence, "``\u200b`")
    room = limit - 2 * (len(fence) + 1)
    if room <= 0:
        return ""
    if len(body) > room:
        cut = body[: room - len(render.ELLIPSIS) - 1]
        newline = cut.rfind("\n")
        body = (cut[:newline] if newline > 0 else cut) + "\n" + render.ELLIPSIS
    return f"{fence}\n{body}\n{fence}"


def _escape_marked(cut: str, quote: Quote | None) -> str:
    """``cut`` escaped for Markdown, its marked phrase (if whole and on one line) in bold.

    The parts are escaped one by one, so the ``**`` pair never splits an escape.
    """
    escape = discord.utils.escape_markdown
    parts = render.marked(quote, cut) if quote is not None else None
    if parts is None or "\n" in parts[1]:
        return escape(cut)
    before, phrase, after = parts
    return f"{escape(before)}**{escape(phrase)}**{escape(after)}"


def sources_embed(sources: Iterable[SourceInfo]) -> discord.Embed:
    """The /sources listing; whole lines only, as many as fit."""
    lines: list[str] = []
    used = 0
    for s in sources:
        line = f"• **{discord.utils.escape_markdown(render.truncate(one_line(s.title), 200))}** "
        line += f"({render.paragraphs(s.paragraphs)})"
        if s.source and len(s.source) <= SOURCE_URL_LIMIT:
            line += f" — <{s.source}>"
        if used + len(line) + 1 > DESCRIPTION_LIMIT - 40:
            lines.append(render.ELLIPSIS)
            break
        lines.append(line)
        used += len(line) + 1
    description = "\n".join(lines) if lines else messages.NO_SOURCES
    return discord.Embed(title=messages.SOURCES_TITLE, description=description, colour=INFO_COLOUR)


def context_embed(context: Context) -> discord.Embed:
    """The "More context" reply: the sentences around a quote, the quote itself in bold."""
    quote = context.quote
    title = render.truncate(
        messages.CONTEXT_TITLE.format(citation=render.citation(quote)), TITLE_LIMIT
    )
    before = context.text[: max(0, quote.start - context.start)]
    after = context.text[max(0, quote.end - context.start) :]
    escape = discord.utils.escape_markdown
    room = DESCRIPTION_LIMIT - 4  # the ** pair
    middle = render.truncate(quote.text, room)
    room -= len(escape(middle))
    side = max(0, room // 2 - 2)
    before = _tail(before, side)
    after = render.truncate(after, side)
    description = f"{escape(before)}**{escape(middle)}**{escape(after)}"[:DESCRIPTION_LIMIT]
    embed = discord.Embed(title=title, description=description, colour=INFO_COLOUR)
    url = render.link(quote)
    if url and len(url) <= SOURCE_URL_LIMIT:
        embed.url = url
    return embed


def _tail(text: str, limit: int) -> str:
    """The end of ``text`` in at most ``limit`` chars, cut on a word boundary."""
    if len(text) <= limit:
        return text
    return render.truncate(text[::-1], limit)[::-1]


def content(text: str) -> str:
    """A plain message body within Discord's 2,000-character limit."""
    return render.truncate(text, CONTENT_LIMIT)


def vote_id(vote: str, answer_id: str) -> str:
    return f"{VOTE_PREFIX}{vote}:{answer_id}"


def context_id(quote: Quote) -> str:
    """A button id naming ``quote``: its id when short enough, else a hashed document."""
    custom_id = CONTEXT_PREFIX + quote.id
    if len(custom_id) <= CUSTOM_ID_LIMIT:
        return custom_id
    return f"{CONTEXT_PREFIX}#{document_hash(quote.document)}:{quote.start}-{quote.end}"


def quote_id_from_ref(ref: str, documents: Iterable[str]) -> str | None:
    """The quote id a "More context" button refers to (see :func:`context_id`)."""
    hashed = _HASHED_REF.fullmatch(ref)
    if hashed is None:
        return ref
    for document in documents:
        if document_hash(document) == hashed["doc"]:
            return f"{document}:{hashed['start']}-{hashed['end']}"
    return None


def document_hash(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()[:12]
