"""What a question asks, with the chat around it taken off.

People type to a bot the way they type to a colleague: "hey quotebot, who is
the mayor? thanks!", "@quotebot pls whats the vote count 🙏". The greeting,
the mention, the thanks and the emoji say nothing about what is asked, yet
they pull the question's embedding and its keywords away from the passage
that answers it. :func:`search_text` keeps the question itself; the answer
still shows the question as it was typed.
"""

from __future__ import annotations

import re
import unicodedata

# Platform mentions (<@U123>, <@!123>, <#C1|name>) and a leading @name.
_MENTION = re.compile(r"<[@#!][^>\s]*>|^\s*@[\w.-]+[:,]?")
_GREETING = re.compile(
    r"^\s*(?:(?:hey|hi|hello|hiya|yo|ok|okay|so|um+|uh+|hmm+|well|quick question|question|"
    r"good (?:morning|afternoon|evening)|dear|excuse me|sorry)\b[\s,:;.!-]*)+",
    re.I,
)
_BOT_NAME = re.compile(r"^\s*(?:quote ?bot|bot|there|all|team|everyone|folks)\b[\s,:;.!-]*", re.I)
_ASKING = re.compile(
    r"^\s*(?:(?:please|pls|plz|kindly)\s+)?(?:(?:can|could|would) you (?:please |pls )?"
    r"(?:tell me|let me know|say|explain|find out|check)|(?:do|does) (?:you|anyone) know|"
    r"i(?:'d| would) like to know|i (?:want|need|wanted) to know|i was wondering|"
    r"tell me|help me understand|(?:please|pls|plz))\b[\s,:]*",
    re.I,
)
# A polite tail: after the question's punctuation, from thanks/please/cite to the end …
_POLITE = (
    r"(?:thanks|thank you|thank u|thx|ty|tia|cheers|please|pls|plz|appreciate(?:d| it)|"
    r"much appreciated|cite (?:the|your)|answer (?:carefully|briefly|quickly|please))"
)
_TAIL = re.compile(r"(?<=[?.!,;:])\s*(?:[-–—]\s*)?(?:and\s+)?" + _POLITE + r"\b.*$", re.I | re.S)
_DASH_TAIL = re.compile(r"\s+[-–—]+\s*(?:and\s+)?" + _POLITE + r"\b.*$", re.I | re.S)
# … or a run of nothing but polite words at the very end ("… the vote count please").
_POLITE_WORDS = re.compile(
    r"[\s,]+(?:(?:thanks|thank you|thank u|thx|ty|tia|cheers|please|pls|plz|in advance|"
    r"a lot|so much|again)\b[\s!.,]*)+$",
    re.I,
)
_SYMBOLS = re.compile(r"[!?.]{2,}")
# Chat spellings of question words, so "whats the vote" still asks "what".
_CHAT_WORDS = {
    "whats": "what is",
    "wats": "what is",
    "wat": "what",
    "whos": "who is",
    "wheres": "where is",
    "whens": "when is",
    "hows": "how is",
    "whys": "why is",
    "u": "you",
    "ur": "your",
    "r": "are",
    "abt": "about",
    "bc": "because",
    "ppl": "people",
}
_CHAT_WORD = re.compile(r"\b(" + "|".join(_CHAT_WORDS) + r")\b", re.I)


def _without_symbols(text: str) -> str:
    """Emoji and other pictographs dropped; letters, digits and punctuation kept."""
    return "".join(
        " " if unicodedata.category(c) in ("So", "Sk", "Cs", "Co") or c == "\ufe0f" else c
        for c in text
    )


def search_text(question: str) -> str:
    """The part of ``question`` that asks something: mentions, greetings and thanks removed.

    Returns ``question`` unchanged when removing the chat would leave too little
    (a question that *is* "thanks?" stays what it is).
    """
    text = _without_symbols(_MENTION.sub(" ", question))
    text = _CHAT_WORD.sub(lambda m: _CHAT_WORDS[m.group(1).lower()], text)
    text = _SYMBOLS.sub(lambda m: m.group(0)[0], text)
    for _ in range(2):  # "hey quotebot, hi, can you tell me …"
        text = _GREETING.sub("", text)
        text = _BOT_NAME.sub("", text)
        text = _ASKING.sub("", text)
    head = _POLITE_WORDS.sub("", _DASH_TAIL.sub("", _TAIL.sub("", text)))
    if sum(c.isalnum() for c in head) >= 8:
        text = head
    text = " ".join(text.split()).strip(" ,;:-")
    if sum(c.isalnum() for c in text) < 3:
        return " ".join(question.split())
    return text
