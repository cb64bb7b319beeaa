"""Word tokens for keyword search: lower-cased, stop words dropped, stemmed."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)


@lru_cache(maxsize=1)
def _stemmer():  # type: ignore[no-untyped-def]
    import Stemmer

    return Stemmer.Stemmer("english")


# Function words and question words: they say how something is asked, not what about.
# (bm25s ships a 33-word list without "what", "did" or "who".)
STOPWORDS = frozenset(
    """
    a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for
    from further had has have having he her here hers herself him himself his how i if in
    into is it its itself just me more most my myself no nor not of off on once only or
    other our ours ourselves out over own same she should so some such than that the their
    theirs them themselves then there these they this those through to too under until up
    very was we were what when where which while who whom whose why will with would you
    your yours yourself yourselves also may might must shall us s t d ll m o re ve y
    """.split()
)


def stopwords() -> frozenset[str]:
    return STOPWORDS


def words(text: str) -> list[str]:
    """Lower-cased words, with accents folded so "café" matches "cafe"."""
    folded = unicodedata.normalize("NFKD", text)
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    return [w.replace("’", "'") for w in _WORD.findall(folded.lower())]


def stems(text: str) -> list[str]:
    """Stemmed content words of ``text``, in order, repeats kept."""
    stop = stopwords()
    content = [w for w in words(text) if w not in stop]
    return list(_stemmer().stemWords(content)) if content else []
