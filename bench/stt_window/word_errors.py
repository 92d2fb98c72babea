"""Word error counts: the edit distance between what was said and what was heard, in words.

Both sides are lower-cased, stripped of punctuation, and small numbers written out, so
"30 days" against "thirty days" or "Paris." against "paris" is no error; everything else
(a dropped, added or changed word) is one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NUMBERS = dict(
    enumerate("zero one two three four five six seven eight nine ten eleven twelve".split())
)
_NUMBERS.update({20: "twenty", 30: "thirty", 40: "forty", 50: "fifty", 100: "hundred"})


def words(text: str) -> list[str]:
    """`text` as comparable words."""
    found = re.findall(r"[a-z0-9']+", text.lower().replace("-", " "))
    return [_NUMBERS.get(int(w), w) if w.isdigit() else w for w in found]


@dataclass(frozen=True)
class WordErrors:
    """Errors against the number of words that were said."""

    errors: int
    said: int

    @property
    def rate(self) -> float:
        """Errors per word said (0 when nothing was said)."""
        return self.errors / self.said if self.said else 0.0

    def __add__(self, other: WordErrors) -> WordErrors:
        return WordErrors(self.errors + other.errors, self.said + other.said)


def word_errors(said: str, heard: str) -> WordErrors:
    """Substitutions, deletions and insertions turning `said` into `heard`, in words."""
    ref, hyp = words(said), words(heard)
    row = list(range(len(hyp) + 1))
    for i, word in enumerate(ref, 1):
        diagonal, row[0] = row[0], i
        for j, other in enumerate(hyp, 1):
            diagonal, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, diagonal + (word != other))
    return WordErrors(row[-1], len(ref))
