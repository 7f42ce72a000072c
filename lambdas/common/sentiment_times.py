"""Two times compared in a clause of product feedback: "the report takes 5 minutes instead of an
hour", "build times dropped from 11 minutes to 3", "startup went from 2 seconds to 10".

Feedback tells a gain or a loss of time with words a lexicon reads as waiting ("takes * minutes",
"cut", "dropped"); which it is lies in the two times. "X instead of Y": X is the time it took,
shorter is a gain; "from X to Y": Y is, shorter is a gain. Where the clause measures what should
last ("battery", "lasts", "a charge"), the longer time is the gain. The units, number words and
measures that last are data (sentiment_feedback_rules.txt, `#@units`, `#@numbers`, `#@lasting`).

Kept out of sentiment.py so that a cold start compiles it only when a message compares times:
`sentiment._Feedback` imports it for a sentence with a unit of time and a marker ("instead of",
"from"). Standard library only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from lambdas.common import sentiment_feedback as fb

Time = tuple[float, float]  # a count and its unit's length in seconds


def compared(
    words: Sequence[str], raw: Sequence[str], data: fb.FeedbackData, a: int, b: int
) -> tuple[int, bool] | None:
    """The first comparison of two times in the clause words[a:b] (`raw`: the same tokens with
    their punctuation): its marker's index and whether it is a gain; None when the clause
    compares none (or two equal times)."""
    read = _Reader(words, raw, data)
    for m in range(a, b - 1):
        if words[m] == "instead" and words[m + 1] == "of":
            first = read.before(m, a)
            second = read.after(m + 2, b, first[1] if first else None)
        elif words[m] == "from":
            first = read.after(m + 1, min(b, m + 4), None)
            to = next((k for k in range(m + 2, min(b, m + 6)) if words[k] == "to"), -1)
            second = read.after(to + 1, b, first[1]) if first is not None and to > 0 else None
        else:
            continue
        if first is None or second is None or first[0] * first[1] == second[0] * second[1]:
            continue
        # "X instead of Y": X is the time it took; "from X to Y": Y is
        shorter = first[0] * first[1] < second[0] * second[1]
        gain = shorter if words[m] == "instead" else not shorter
        if not data.lasting.isdisjoint(words[a:b]):
            gain = not gain
        return m, gain
    return None


class _Reader(NamedTuple):
    """A clause's tokens, lower-case without punctuation and as written, and the units and
    numbers it is read with."""

    words: Sequence[str]
    raw: Sequence[str]
    data: fb.FeedbackData

    def number(self, k: int) -> float | None:
        """Token k's value as a count ("40", "forty", "an"); None for a price ("$300")."""
        word = self.words[k]
        if not self.raw[k][:1].isalnum():
            return None
        if word.replace(".", "", 1).isdigit():
            return float(word)
        return self.data.numbers.get(word)

    def after(self, k: int, b: int, unit: float | None) -> Time | None:
        """The first time in the four words from token k: a unit with the number right before
        it ("40 minutes"), or, when the time before it named a unit (`unit`), a unit alone
        ("instead of the usual evening": one) or a number alone ("two days instead of five": in
        that unit)."""
        words, units = self.words, self.data.units
        for j in range(k, min(b, k + 4)):
            if words[j] in units:
                count = self.number(j - 1) if j > k else None
                if count is None and unit is None:
                    return None
                return (count or 1.0), units[words[j]]
            count = self.number(j)
            if count is not None:
                if j + 1 < b and words[j + 1] in units:
                    return count, units[words[j + 1]]
                return (count, unit) if unit is not None else None
        return None

    def before(self, m: int, a: int) -> Time | None:
        """The time that ends within the three words before token m, its number right before
        its unit ("takes 5 minutes instead")."""
        for u in range(m - 1, max(a, m - 4) - 1, -1):
            if self.words[u] in self.data.units:
                count = self.number(u - 1) if u > a else None
                return (count, self.data.units[self.words[u]]) if count else None
        return None
