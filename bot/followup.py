"""Follow-up questions: whether a question leans on the one before it, and what to add.

In a thread people ask "Who is the mayor?", then "What did he say about the
ordinance?". The second question alone does not say who "he" is; searched on
its own it finds whatever anyone said about the ordinance. A question that
refers back (a pronoun, "what about …", "and …", or no subject of its own) is
searched with the previous question as extra evidence: its keywords join the
keyword query, and its embedding is mixed into the question's.

A question that names its own subject is searched as it is, and so is one whose
subject words the documents never use ("what about the weather there?"): that
is a new topic, answered or declined exactly as it would be outside a thread.

Measured with the bundled model on ``tests/data/followups.json`` (see
``tests/test_followups.py``): mixing in the previous answer's first quote, or
favouring the sentences next to it, found fewer answers than the previous
question alone, so neither is done.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from bot.answers import Answer
from index.search import Searcher
from index.text import STOPWORDS, stems, words

# Words that point back to something named earlier in the conversation.
_POINTERS = frozenset(
    """
    he him his she her hers it its they them their theirs that this those these there then
    such former latter
    """.split()
)
# Openings that continue the previous question rather than start a new one.
_CONTINUES = re.compile(
    r"^\W*(?:and|also|so|but|then|what about|how about|what else|who else|anything else|"
    r"same for|why so|how come)\b",
    re.I,
)
# Words that ask but say nothing about what is asked.
_ASKING = frozenset(
    """
    say said says tell told mean meant happen happened happens think thought do did does done
    make made get got go went come came give gave take took call called want wanted else
    really exactly anything something thing things stuff one ones like
    """.split()
)
# With fewer subject words than this, a question needs the previous one to make sense.
MIN_OWN_WORDS = 2
# How much of the previous question's embedding goes into the follow-up's, relative to
# the follow-up's own (on tests/data/followups.json 0.5 to 1.0 found the same answers,
# 0.25 one fewer; the smaller weight keeps the follow-up's own words first).
PREVIOUS_QUESTION_WEIGHT = 0.5


@dataclass(frozen=True)
class Turn:
    """The previous question in a conversation, as it was asked."""

    question: str

    @classmethod
    def of(cls, answer: Answer) -> Turn:
        """The turn an earlier :class:`Answer` stands for."""
        return cls(answer.question)


@dataclass(frozen=True)
class Context:
    """What a follow-up is searched with besides its own words."""

    vector: np.ndarray  # its embedding, mixed with the previous question's
    stems: list[str]  # the previous question's keywords


def own_words(question: str) -> list[str]:
    """The words of ``question`` that name what it is about (not how it asks)."""
    return [
        w
        for w in words(question)
        if w not in STOPWORDS and w not in _POINTERS and w not in _ASKING and not w.isdigit()
    ]


def leans_on_earlier(question: str) -> bool:
    """True when ``question`` leans on an earlier one: a pronoun, "what about …", "and …",
    or fewer than two words of its own subject."""
    if _CONTINUES.match(question):
        return True
    if any(w in _POINTERS for w in words(question)):
        return True
    return len(own_words(question)) < MIN_OWN_WORDS


def context(searcher: Searcher, question: str, previous: Turn) -> Context | None:
    """What to search ``question`` with after ``previous``; None to search it alone.

    None when it does not refer back, or when it names a subject of its own that
    no document mentions (a change of topic, which must be declined as usual).
    """
    if not leans_on_earlier(question):
        return None
    subject = stems(" ".join(own_words(question)))
    if subject and not any(searcher.knows(s) for s in subject):
        return None
    texts = [searcher.prepare(question).text, searcher.prepare(previous.question).text]
    vectors = searcher.embedder.encode(texts)
    mixed = vectors[0] + PREVIOUS_QUESTION_WEIGHT * vectors[1]
    mixed = mixed / max(float(np.linalg.norm(mixed)), 1e-12)
    keywords = stems(" ".join(own_words(previous.question)))
    return Context(mixed.astype(np.float32), keywords)
