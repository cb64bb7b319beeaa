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


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN)


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
