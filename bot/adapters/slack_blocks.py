"""Block Kit rendering of answers for Slack.

Quotes and the question asked are ``rich_text`` blocks: Slack shows their
text as written, where ``mrkdwn`` would read a document's (or a user's) ``*``,
``_``, ``~`` and backticks as formatting and has no way to escape them.
Everything else that reaches Slack as ``mrkdwn`` (titles, notices) passes
through :func:`escape`, so text from the corpus or from a user can neither
ping ``@channel`` nor forge a link. Slack's limits are enforced here: a
section's text is at most 3,000 characters (quotes and the question are held
to the same) and a message has at most 50 blocks.
"""

from __future__ import annotations

import re
from typing import Any

from bot import messages, render
from bot.answers import Answer, Quote

SECTION_LIMIT = 3000  # characters of text in a section or a context element
MAX_BLOCKS = 50  # blocks in one message
FALLBACK_LIMIT = 3000  # the notification text sent alongside the blocks
TITLE_LIMIT = 200

ACTION_VOTE_UP = "quotebot_vote_up"
ACTION_VOTE_DOWN = "quotebot_vote_down"
ACTION_SHARE = "quotebot_share"
ACTIONS_BLOCK = "quotebot_actions"

Block = dict[str, Any]

_SAFE_URL = re.compile(r"https?://[^\s<>|]+")
_USER_ID = re.compile(r"[UW][A-Z0-9]+")


def escape(text: str) -> str:
    """Escape the three characters Slack's ``mrkdwn`` treats as markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    """Undo Slack's escaping of user-typed text (slash commands and messages)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def fit(text: str, limit: int) -> str:
    """The escaped form of the longest word-boundary cut of ``text`` that stays within ``limit``.

    Escaping can make text longer, so the cut is found by shrinking the
    budget until the escaped form fits; the loop ends because the budget
    strictly decreases and an empty cut always fits.
    """
    budget = len(text)
    while True:
        out = escape(render.truncate(text, budget))
        excess = len(out) - limit
        if excess <= 0 or budget <= 0:
            return out
        # One source character escapes to at most five ("&amp;").
        budget -= max(1, excess // 5)


def quote_block(quote: Quote, limit: int = SECTION_LIMIT) -> Block:
    """``quote`` as a ``rich_text`` block quote, its marked phrase in bold when the cut holds it.

    Rich text is shown as written, so the quote needs no escaping: its text,
    or a word-boundary cut of at most ``limit`` characters, is sent verbatim.
    """
    if render.is_code(quote):
        return code_block(quote, limit)
    cut = render.truncate(quote.text, limit)
    parts = render.marked(quote, cut)
    if parts is None:
        elements: list[Block] = [{"type": "text", "text": cut}]
    else:
        before, phrase, after = parts
        elements = [{"type": "text", "text": before}] if before else []
        elements.append({"type": "text", "text": phrase, "style": {"bold": True}})
        if after:
            elements.append({"type": "text", "text": after})
    return {"type": "rich_text", "elements": [{"type": "rich_text_quote", "elements": elements}]}


def code_block(quote: Quote, limit: int = SECTION_LIMIT) -> Block:
    """A code quote as preformatted rich text: monospace, shown as written."""
    text = quote.text
    if len(text) > limit:
        cut = text[: limit - len(render.ELLIPSIS) - 1]
        newline = cut.rfind("\n")
        text = (cut[:newline] if newline > 0 else cut) + "\n" + render.ELLIPSIS
    preformatted = {"type": "rich_text_preformatted", "elements": [{"type": "text", "text": text}]}
    return {"type": "rich_text", "elements": [preformatted]}


def question_block(question: str, limit: int = SECTION_LIMIT) -> Block:
    """The question as typed, in bold rich text (its own ``*`` or backticks format nothing)."""
    bold = {"type": "text", "text": render.truncate(question, limit), "style": {"bold": True}}
    return {"type": "rich_text", "elements": [{"type": "rich_text_section", "elements": [bold]}]}


def citation(quote: Quote, number: int) -> str:
    """``*[1]* Title › Section, ¶ 2``, linked to the document (at the section's anchor when it
    has one) when it has a web address."""
    title = escape(render.truncate(render.trail(quote), TITLE_LIMIT))
    url = render.link(quote)
    if _SAFE_URL.fullmatch(url):
        title = f"<{escape(url)}|{title}>"
    return f"*[{number}]* {title}, ¶ {quote.paragraph}"


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def _button(text: str, action_id: str, value: str, style: str | None = None) -> Block:
    button: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": text, "emoji": True},
        "action_id": action_id,
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def answer_blocks(answer: Answer, *, shareable: bool, shared_by: str = "") -> list[Block]:
    """The Block Kit message for ``answer``.

    ``shareable`` adds the "Share in channel" button (ephemeral answers);
    ``shared_by`` is the Slack user id of whoever shared it publicly.
    """
    head: list[Block] = [question_block(answer.question)]
    if shared_by and _USER_ID.fullmatch(shared_by):
        head.append(_context(messages.SLACK_SHARED_BY.format(user=f"<@{shared_by}>")))
    if answer.truncated:
        head.append(_context(messages.QUESTION_TRUNCATED.format(limit=len(answer.question))))
    if answer.abstained:
        why, header = render.declined(answer)
        head.append(_section("*" + escape(why) + "*"))
        if answer.closest:
            head.append(_context(escape(header)))

    buttons = [
        _button(messages.SLACK_VOTE_UP, ACTION_VOTE_UP, answer.id),
        _button(messages.SLACK_VOTE_DOWN, ACTION_VOTE_DOWN, answer.id),
    ]
    if shareable:
        buttons.append(_button(messages.SLACK_SHARE, ACTION_SHARE, answer.id, style="primary"))
    tail: list[Block] = [
        _context(escape(render.confidence_line(answer))),
        {"type": "actions", "block_id": ACTIONS_BLOCK, "elements": buttons},
    ]

    body: list[Block] = []
    room = MAX_BLOCKS - len(head) - len(tail)
    for number, quote in enumerate(render.shown_quotes(answer)[: room // 2], start=1):
        body.append(quote_block(quote))
        body.append(_context(citation(quote, number)))
    return head + body + tail


def fallback_text(answer: Answer) -> str:
    """The plain notification text Slack shows where blocks cannot be rendered."""
    return fit(render.plain_text(answer), FALLBACK_LIMIT)


def notice(text: str) -> str:
    """A short user-facing message (help, errors, thanks) made safe for mrkdwn."""
    return fit(text, SECTION_LIMIT)
