"""The complaint model: the product-feedback layer's second reading of a message it left neutral.

Words and rules read a complaint that names its fault ("crashes", "never answered"); many
complaints name none and state a fact ("Backup has been preparing for three days.", "Startup
time has doubled since the redesign."). Such a fact reads as a complaint by its shape more than
by any one word: "since the", "still", "again", "every time", "for three days", "instead of".

Two naive Bayes readings over the same binary features (the message's lower-case words and its
adjacent word pairs), with add-one smoothing, counted on the development sets:

- **product or news**: the product-feedback development set (benchmarks/data/
  product_feedback_dev.tsv) against the news development set (benchmarks/data/news_dev.tsv).
  Only a message whose product-over-news log-odds is at least GATE is read further (-6: up
  to e^6, about 400, times likelier as news than as feedback; lower lets held-out news
  development sentences through), so that news keeps the label its words give.
- **complaint or not**: the product-feedback development set's negative messages against its
  others. Above THRESHOLD log-odds the message is labelled negative.

Only a message the layer labelled neutral is asked. The counts are in sentiment_complaints.txt
beside this module; `write` regenerates them (benchmarks/regenerate_complaints.py). Standard
library only; the file is read on the first neutral message of a process.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Final, NamedTuple

PATH: Final = Path(__file__).with_name("sentiment_complaints.txt")
THRESHOLD: Final = 2.0  # complaint log-odds above which a neutral message is negative
GATE: Final = -6.0  # product-over-news log-odds from which the model reads a message
SMOOTHING: Final = 1.0  # add-one (Laplace)
_WORD = re.compile(r"[a-z0-9']+")
_TOTALS = "#messages"


def words(text: str) -> list[str]:
    """The message's lower-case words, as the model reads them (typographic apostrophes too)."""
    return _WORD.findall(text.lower().replace("\u2019", "'"))


def features(text: str) -> set[str]:
    """The message's words and adjacent word pairs ("since_the"): what the model counts."""
    found = words(text)
    return {*found, *(f"{a}_{b}" for a, b in itertools.pairwise(found))}


class Counts(NamedTuple):
    """Messages of each kind (negative feedback, other feedback, news), and per feature in how
    many of each it occurs."""

    negative: int
    other: int
    news: int
    features: dict[str, tuple[int, int, int]]


def count(feedback: Iterable[tuple[str, str]], news: Iterable[str]) -> Counts:
    """Counts of labelled (label, text) feedback messages and of news sentences."""
    kinds: tuple[Counter[str], Counter[str], Counter[str]] = (Counter(), Counter(), Counter())
    totals = [0, 0, 0]
    for label, text in feedback:
        kind = 0 if label == "negative" else 1
        totals[kind] += 1
        kinds[kind].update(features(text))
    for text in news:
        totals[2] += 1
        kinds[2].update(features(text))
    names = sorted(set().union(*kinds))
    table = {f: (kinds[0][f], kinds[1][f], kinds[2][f]) for f in names}
    return Counts(totals[0], totals[1], totals[2], table)


def _ratio(a: int, a_total: int, b: int, b_total: int) -> float:
    """Smoothed log-likelihood ratio of a feature seen in `a` of `a_total` and `b` of `b_total`."""
    return math.log(
        ((a + SMOOTHING) / (a_total + 2 * SMOOTHING))
        / ((b + SMOOTHING) / (b_total + 2 * SMOOTHING))
    )


class Verdict(NamedTuple):
    """The model's reading of a message that reads as product feedback."""

    log_odds: float  # negative over the rest
    threshold: float  # the model's: above it, a complaint
    weights: tuple[tuple[str, float], ...]  # the (up to five) heaviest toward a complaint

    @property
    def complaint(self) -> bool:
        return self.log_odds > self.threshold


def _feature_lines(counts: Counts) -> list[str]:
    """The counts' feature lines as the file holds them: `feature<TAB>n<TAB>o<TAB>s`, sorted
    ("\t" sorts before every character of a feature, so the lines' order is their features')."""
    return sorted(f"{f}\t{n}\t{o}\t{s}" for f, (n, o, s) in counts.features.items())


class Model:
    """Counts read as per-feature log-likelihood ratios (complaint, product), each worked out
    when a message first has the feature (a cold start parses the table and nothing more)."""

    def __init__(
        self,
        counts: Counts,
        threshold: float = THRESHOLD,
        gate: float = GATE,
        lines: Sequence[str] | None = None,
    ) -> None:
        self.threshold, self.gate = threshold, gate
        # Feature lines, sorted: each found by bisection and parsed on first use. The file's
        # as read, or those of `counts.features`.
        self._lines: Sequence[str] = _feature_lines(counts) if lines is None else lines
        self._ratios: dict[str, tuple[float, float]] = {}
        self.negative, self.other, self.news = counts.negative, counts.other, counts.news
        self.empty = not (self.negative and self.other and self.news)
        self.complaint_prior = self.product_prior = 0.0
        if not self.empty:
            self.complaint_prior = math.log(self.negative / self.other)
            self.product_prior = math.log((self.negative + self.other) / self.news)

    def ratios(self, feature: str) -> tuple[float, float] | None:
        """(complaint, product) log-likelihood ratios of a feature; None if never counted."""
        known = self._ratios.get(feature)
        if known is not None:
            return known
        key = feature + "\t"
        at = bisect.bisect_left(self._lines, key)
        if at == len(self._lines) or not self._lines[at].startswith(key):
            return None
        _name, *seen = self._lines[at].split("\t")
        n, o, s = map(int, seen)
        feedback = self.negative + self.other
        known = (
            _ratio(n, self.negative, o, self.other),
            _ratio(n + o, feedback, s, self.news),
        )
        self._ratios[feature] = known
        return known

    def read(self, text: str) -> tuple[float, float, list[tuple[str, float]]]:
        """(product-over-news log-odds, complaint log-odds, each known feature's complaint
        ratio) of `text`, whatever the gate and threshold."""
        found = [(f, r) for f in features(text) if (r := self.ratios(f)) is not None]
        product = self.product_prior + sum(r[1] for _, r in found)
        complaint = self.complaint_prior + sum(r[0] for _, r in found)
        return product, complaint, [(f, r[0]) for f, r in found]

    def judge(self, text: str) -> Verdict | None:
        """The verdict on `text`; None when its product-over-news log-odds are below the gate
        (or the model is empty)."""
        if self.empty:
            return None
        product, log_odds, weighed = self.read(text)
        if product < self.gate:
            return None
        toward = [fw for fw in weighed if fw[1] > 0]
        heaviest = sorted(toward, key=lambda fw: (-fw[1], fw[0]))[:5]
        return Verdict(log_odds, self.threshold, tuple(heaviest))


OFF: Final = Model(Counts(0, 0, 0, {}))  # no model: labels as the words and rules give them


def _parts(path: Path) -> tuple[list[str], list[str], list[str]]:
    """The file's header (its leading `#` and blank lines, less totals lines), its totals
    lines, and its feature lines, as written: sorted by feature."""
    lines = path.read_text(encoding="utf-8").removeprefix("\ufeff").splitlines()
    first = next(
        (k for k, line in enumerate(lines) if line.strip() and not line.startswith("#")),
        len(lines),
    )
    totals = [line for line in lines[:first] if line.startswith(_TOTALS + "\t")]
    header = [line for line in lines[:first] if not line.startswith(_TOTALS + "\t")]
    return header, totals, lines[first:]


def _read(path: Path) -> tuple[Counts, list[str]]:
    """The file's totals (in `Counts`, without features) and its feature lines; ValueError
    when it has no single totals line."""
    _header, totals, features = _parts(path)
    if len(totals) != 1:
        raise ValueError(f"{path.name}: expected one {_TOTALS} line before the features")
    _name, a, b, c = totals[0].split("\t")
    return Counts(int(a), int(b), int(c), {}), features


@functools.cache
def load() -> Model:
    """The shipped model (read once per process)."""
    totals, lines = _read(PATH)
    return Model(totals, lines=lines)


def read_counts(path: Path = PATH) -> Counts:
    """The file's counts, every feature parsed (tests compare them with `count`)."""
    totals, lines = _read(path)
    table = {}
    for line in lines:
        name, a, b, c = line.split("\t")
        table[name] = (int(a), int(b), int(c))
    return totals._replace(features=table)


def write(feedback: Iterable[tuple[str, str]], news: Iterable[str], path: Path = PATH) -> Counts:
    """Regenerate the file's counts from labelled (label, text) feedback and news sentences,
    keeping its header; returns the counts."""
    header = _parts(path)[0] if path.is_file() else []
    counts = count(feedback, news)
    lines = [*header, f"{_TOTALS}\t{counts.negative}\t{counts.other}\t{counts.news}"]
    lines += _feature_lines(counts)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return counts
