"""The complaint model: the product-feedback layer's second reading of a message it left neutral.

Words and rules read a complaint that names its fault ("crashes", "never answered"); many
complaints name none and state a fact ("Backup has been preparing for three days.", "Startup
time has doubled since the redesign."). Such a fact reads as a complaint by its shape more than
by any one word: "since the", "still", "again", "every time", "for three days", "instead of".

Praise told as a fact is the mirror case ("Set up the printer for the whole office before lunch.").

Three naive Bayes readings over the same binary features (the message's lower-case words and its
adjacent word pairs), with add-one smoothing, counted on the development sets:

- **product or news**: the product-feedback development set (benchmarks/data/
  product_feedback_dev.tsv) against the news development set (benchmarks/data/news_dev.tsv).
  Only a message whose product-over-news log-odds is at least GATE is read further (-6: up
  to e^6, about 400, times likelier as news than as feedback; lower lets held-out news
  development sentences through), so that news keeps the label its words give.
- **complaint or not**: the product-feedback development set's negative messages against its
  others. Above THRESHOLD log-odds the message is labelled negative.
- **praise or not**: its positive messages against its others. A message that is not a
  complaint is labelled positive above PRAISE_THRESHOLD log-odds.

Only a message the layer labelled neutral is asked. The counts are in sentiment_complaints.txt
beside this module; `write` regenerates them (benchmarks/regenerate_complaints.py). Standard
library only; the file is read on the first message of a process the model is asked about.
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
from typing import Final, Literal, NamedTuple

PATH: Final = Path(__file__).with_name("sentiment_complaints.txt")
THRESHOLD: Final = 3.0  # complaint log-odds above which a neutral message is negative
PRAISE_THRESHOLD: Final = 3.0  # praise log-odds above which a neutral one is positive
GATE: Final = -6.0  # product-over-news log-odds from which the model reads a message
SMOOTHING: Final = 1.0  # add-one (Laplace)
_WORD = re.compile(r"[a-z0-9']+")
_TOTALS = "#messages"


def words(text: str) -> list[str]:
    """The message's lower-case words, as the model reads them (typographic apostrophes too).
    Numbers are left out: they say how much, not which way, and one seen in a single message
    would weigh as if it did ("#3" after "it arrived" read as praise)."""
    return [w for w in _WORD.findall(text.lower().replace("\u2019", "'")) if not w.isdigit()]


def features(text: str) -> set[str]:
    """The message's words and adjacent word pairs ("since_the"): what the model counts."""
    found = words(text)
    return {*found, *(f"{a}_{b}" for a, b in itertools.pairwise(found))}


class Counts(NamedTuple):
    """Messages of each kind (negative, neutral and positive feedback, news), and per feature in
    how many of each it occurs."""

    negative: int
    neutral: int
    positive: int
    news: int
    features: dict[str, tuple[int, int, int, int]]


_KINDS: Final = {"negative": 0, "neutral": 1, "positive": 2}


def count(feedback: Iterable[tuple[str, str]], news: Iterable[str]) -> Counts:
    """Counts of labelled (label, text) feedback messages and of news sentences; ValueError on
    a label other than negative, neutral and positive."""
    kinds: list[Counter[str]] = [Counter(), Counter(), Counter(), Counter()]
    totals = [0, 0, 0, 0]
    for label, text in feedback:
        kind = _KINDS.get(label)
        if kind is None:
            raise ValueError(f"not a feedback label: {label!r}")
        totals[kind] += 1
        kinds[kind].update(features(text))
    for text in news:
        totals[3] += 1
        kinds[3].update(features(text))
    names = sorted(set().union(*kinds))
    table = {f: (kinds[0][f], kinds[1][f], kinds[2][f], kinds[3][f]) for f in names}
    return Counts(totals[0], totals[1], totals[2], totals[3], table)


def _ratio(a: int, a_total: int, b: int, b_total: int) -> float:
    """Smoothed log-likelihood ratio of a feature seen in `a` of `a_total` and `b` of `b_total`."""
    return math.log(
        ((a + SMOOTHING) / (a_total + 2 * SMOOTHING))
        / ((b + SMOOTHING) / (b_total + 2 * SMOOTHING))
    )


class Ratios(NamedTuple):
    """A feature's log-likelihood ratios in the three readings."""

    complaint: float  # negative feedback over the other feedback
    praise: float  # positive feedback over the other feedback
    product: float  # feedback over news


class Reading(NamedTuple):
    """A message's log-odds in the three readings, whatever the gate and thresholds, and each
    known feature's ratios."""

    complaint: float
    praise: float
    product: float
    found: list[tuple[str, Ratios]]


def _prior(of: int, rest: int) -> float:
    """Log prior odds of `of` messages against `rest`; -inf when `of` is 0, +inf when `rest` is."""
    if not of:
        return -math.inf
    return math.log(of / rest) if rest else math.inf


class Verdict(NamedTuple):
    """The model's label for a message that reads as product feedback, from the reading that
    decided it (the complaint reading when neither did)."""

    label: Literal["negative", "positive"] | None  # None: neither reading is above its threshold
    log_odds: float  # that reading's
    threshold: float  # that reading's: above it, its label
    weights: tuple[tuple[str, float], ...]  # the (up to five) features heaviest toward it


def _parse(line: str) -> tuple[str, tuple[int, int, int, int]]:
    """A feature line as `_feature_lines` writes it: the feature and its four counts."""
    name, n, u, p, s = line.split("\t")
    return name, (int(n), int(u), int(p), int(s))


def _feature_lines(counts: Counts) -> list[str]:
    """The counts' feature lines as the file holds them: `feature<TAB>neg<TAB>neu<TAB>pos<TAB>
    news`, sorted ("\t" sorts before every character of a feature, so the lines' order is their
    features')."""
    return sorted("\t".join((f, *map(str, seen))) for f, seen in counts.features.items())


class Model:
    """Counts read as per-feature log-likelihood ratios, each worked out when a message first
    has the feature (a cold start parses the table and nothing more)."""

    def __init__(
        self,
        counts: Counts,
        threshold: float = THRESHOLD,
        gate: float = GATE,
        lines: Sequence[str] | None = None,
        praise_threshold: float = PRAISE_THRESHOLD,
    ) -> None:
        self.threshold, self.gate, self.praise_threshold = threshold, gate, praise_threshold
        # Feature lines, sorted: each found by bisection and parsed on first use. The file's
        # as read, or those of `counts.features`.
        self._lines: Sequence[str] = _feature_lines(counts) if lines is None else lines
        self._ratios: dict[str, Ratios] = {}
        self.totals = counts[:4]
        negative, neutral, positive, news = self.totals
        self.feedback = negative + neutral + positive
        self.empty = not (self.feedback and news)
        # a reading whose class was never counted never fires (its prior is -inf), one whose
        # rest was never counted always does (+inf); the other readings work as counted
        self.priors = Ratios(
            _prior(negative, neutral + positive),
            _prior(positive, negative + neutral),
            _prior(self.feedback, news),
        )

    def ratios(self, feature: str) -> Ratios | None:
        """A feature's log-likelihood ratios; None if never counted."""
        known = self._ratios.get(feature)
        if known is not None:
            return known
        key = feature + "\t"
        at = bisect.bisect_left(self._lines, key)
        if at == len(self._lines) or not self._lines[at].startswith(key):
            return None
        n, u, p, s = _parse(self._lines[at])[1]
        negative, neutral, positive, news = self.totals
        known = Ratios(
            _ratio(n, negative, u + p, neutral + positive),
            _ratio(p, positive, n + u, negative + neutral),
            _ratio(n + u + p, self.feedback, s, news),
        )
        self._ratios[feature] = known
        return known

    def read(self, text: str) -> Reading:
        """The three readings of `text`."""
        found = [(f, r) for f in features(text) if (r := self.ratios(f)) is not None]
        complaint, praise, product = (
            prior + sum(r[k] for _, r in found) for k, prior in enumerate(self.priors)
        )
        return Reading(complaint, praise, product, found)

    def judge(self, text: str) -> Verdict | None:
        """The verdict on `text`; None when its product-over-news log-odds are below the gate
        (or the model is empty)."""
        if self.empty:
            return None
        return verdict(self.read(text), self.threshold, self.praise_threshold, self.gate)


def verdict(
    reading: Reading, threshold: float, praise_threshold: float, gate: float
) -> Verdict | None:
    """A reading's verdict with these thresholds and gate: None below the gate, else a
    complaint above `threshold`, else praise above `praise_threshold`, else no label."""
    if reading.product < gate:
        return None
    label: Literal["negative", "positive"] | None = None
    k, log_odds, above = 0, reading.complaint, threshold
    if log_odds > threshold:
        label = "negative"
    elif reading.praise > praise_threshold:
        label, k, log_odds, above = "positive", 1, reading.praise, praise_threshold
    toward = [(f, r[k]) for f, r in reading.found if r[k] > 0]
    heaviest = sorted(toward, key=lambda fw: (-fw[1], fw[0]))[:5]
    return Verdict(label, log_odds, above, tuple(heaviest))


OFF: Final = Model(Counts(0, 0, 0, 0, {}))  # no model: labels as the words and rules give them


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
    _name, *seen = totals[0].split("\t")
    if len(seen) != 4:
        raise ValueError(f"{path.name}: expected four counts on the {_TOTALS} line")
    negative, neutral, positive, news = map(int, seen)
    return Counts(negative, neutral, positive, news, {}), features


@functools.cache
def load() -> Model:
    """The shipped model (read once per process)."""
    totals, lines = _read(PATH)
    return Model(totals, lines=lines)


def read_counts(path: Path = PATH) -> Counts:
    """The file's counts, every feature parsed (tests compare them with `count`)."""
    totals, lines = _read(path)
    return totals._replace(features=dict(map(_parse, lines)))


def write(feedback: Iterable[tuple[str, str]], news: Iterable[str], path: Path = PATH) -> Counts:
    """Regenerate the file's counts from labelled (label, text) feedback and news sentences,
    keeping its header; returns the counts."""
    header = _parts(path)[0] if path.is_file() else []
    counts = count(feedback, news)
    lines = [*header, "\t".join((_TOTALS, *map(str, counts[:4])))]
    lines += _feature_lines(counts)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return counts
