"""Misspelled question words matched to the corpus's own words.

"Who had mathmatical insite?" shares no keyword with "With his mathematical
insight, …" until "mathmatical" is read as "mathematical". A question word the
corpus does not contain is compared with the corpus vocabulary through a
symmetric-delete table (every word with one letter removed, as SymSpell does):
a lookup is a handful of dictionary probes, whatever the corpus size, and finds
the words one edit away, a swap of two letters included. Corrections are added
to the question's keywords, never substituted, so a wrong guess costs little.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

MIN_LENGTH = 5  # shorter words have too many neighbours one edit away
MAX_VOCABULARY = 400_000  # beyond this the table costs more memory than it is worth


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def _one_edit(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` differ by one insertion, deletion, substitution or swap."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        return (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]]
            and a[diff[1]] == b[diff[0]]
        )
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


class Speller:
    """Suggests corpus words for a word the corpus lacks."""

    def __init__(self, counts: dict[str, int]) -> None:
        self.counts = counts
        self._table: dict[str, list[str]] = defaultdict(list)
        if len(counts) <= MAX_VOCABULARY:
            for word in counts:
                if len(word) >= MIN_LENGTH - 1 and word.isalpha():
                    for d in _deletes(word):
                        self._table[d].append(word)

    @classmethod
    def from_words(cls, words: Iterable[str]) -> Speller:
        counts: dict[str, int] = {}
        for w in words:
            counts[w] = counts.get(w, 0) + 1
        return cls(counts)

    def suggest(self, word: str) -> str | None:
        """The most frequent corpus word one edit from ``word``; None if it is known or has none."""
        if word in self.counts or len(word) < MIN_LENGTH or not word.isalpha():
            return None
        found: set[str] = set()
        for probe in (word, *_deletes(word)):
            for candidate in self._table.get(probe, ()):
                if _one_edit(word, candidate):
                    found.add(candidate)
        if not found:
            return None
        return max(sorted(found), key=lambda w: self.counts[w])
