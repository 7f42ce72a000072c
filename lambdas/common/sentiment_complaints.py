"""The complaint model: the product-feedback layer's second reading of a message it left neutral,
or read as praise or as a complaint without being sure.

Words and rules read a complaint that names its fault ("crashes", "never answered"); many
complaints name none and state a fact ("Backup has been preparing for three days.", "Startup
time has doubled since the redesign."). Such a fact reads as a complaint by its shape more than
by any one word: "since the", "still", "again", "every time", "for three days", "instead of".

Praise told as a fact is the mirror case ("Set up the printer for the whole office before lunch.").

Three naive Bayes readings over the same binary features (the message's lower-case words and its
adjacent word pairs), counted on the development sets:

- **product or news**: the product-feedback development set (benchmarks/data/
  product_feedback_dev.tsv) against the news development set (benchmarks/data/news_dev.tsv),
  smoothed at one prior rate on both sides (`_even_ratio`). Only a message whose
  product-over-news log-odds is at least GATE is read further (lower lets held-out news
  development sentences through), so that news keeps the label its words give.
- **complaint or not**: the product-feedback development set's negative messages against its
  others, add-one smoothed. Above THRESHOLD log-odds a neutral message is labelled negative.
- **praise or not**: its positive messages against its others, add-one smoothed. A neutral
  message that is not a complaint is labelled positive above PRAISE_THRESHOLD log-odds.

Praise told with a complaint's shape is the third case: sarcasm ("Great, another update that
logs me out every morning."), a mild word beside a fault. A message the layer labelled positive
but was not sure of (sentiment.SURE) is labelled negative when its complaint log-odds exceed
its praise log-odds by more than OVERTURN and THRESHOLD, as a neutral message's must: a shape
that reads as praise as well as a complaint ("The food was good.", where food is a topic of
complaints) leaves the words' praise, and so does one that reads as no praise but no complaint
either (a request: "I'd like paper tickets posted to me.").

A complaint the words read into praise or a description is the fourth ("No more paper
receipts, everything is scanned in seconds.", "I mostly listen to true crime podcasts"). A
message the layer labelled negative but was not sure of (no fault word, phrase, negated verb or
sign-turning rule of the feedback knowledge decided it) is no complaint below CLEAR complaint
log-odds: positive above PRAISE_THRESHOLD, else neutral.

Praise words in a shape that praises nothing are the fifth ("My grandmother will use the
telehealth app with my help. Can two people join the video call?", "I'm a landlord with three
smart meters."): VADER's "help", "smart", "share", "like" name things and wishes there. A
message the layer labelled positive but was not sure of, and that is no complaint by the
overturn, is neutral below PRAISE_CLEAR praise log-odds.

Praise told as a story with a problem in its background is the sixth, the fourth's mirror
("The pharmacy app reminds me when my tablets are running low. I haven't run out once this
year.", "I called the bank at midnight about a payment I didn't recognise. The man on the phone
blocked the card and reversed it."): the words read the problem, the shape reads the praise. A
message the layer labelled negative, and that is a complaint by the clearing, is praise when
its praise log-odds exceed its complaint log-odds by more than PRAISE_OVERTURN; so is a neutral
one above THRESHOLD whose praise reading stands that far above its complaint reading ("It took
a few tries to pair the watch with my phone, but now it tracks every run."), unless it is
praise and then a complaint after a contrast ("The onboarding call was helpful, but the product
doesn't fit how our clinic books appointments."): the order decides there, and the counts do
not read order.

A polar label the words are sure of (sentiment.SURE) takes MARGIN more: sure praise is a
complaint above OVERTURN + MARGIN ("Oh fantastic, the app logged me out again. Love that."), a
sure complaint is cleared below CLEAR - MARGIN and is praise above PRAISE_OVERTURN + MARGIN, and
sure praise is cleared below PRAISE_CLEAR - MARGIN. The rules read negations and critiques a bag
of words cannot ("The sync bug is still not fixed."), and a complaint read as praise is the
costlier error.

Every message is asked but one that is all questions, requests and descriptions of use and
that its words do not read as a complaint ("Can I block unknown callers?" is asked: "block"
names what it asks about more often than a fault). The counts are in sentiment_complaints.txt
beside this module; `write` regenerates them (benchmarks/regenerate_complaints.py). Standard
library only; the file is read on the first message of a process the model is asked about.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Final, Generic, Literal, NamedTuple, TypeVar

PATH: Final = Path(__file__).with_name("sentiment_complaints.txt")
THRESHOLD: Final = 3.0  # complaint log-odds above which a neutral message is negative
PRAISE_THRESHOLD: Final = 3.0  # praise log-odds above which a neutral one is positive
GATE: Final = 12.0  # product-over-news log-odds from which the model reads a message
OVERTURN: Final = 2.0  # complaint over praise log-odds above which words' praise is a complaint
CLEAR: Final = -2.0  # complaint log-odds below which words' unsure complaint is not one
PRAISE_CLEAR: Final = 0.0  # praise log-odds below which words' unsure praise is neutral
PRAISE_OVERTURN: Final = 8.0  # praise over complaint log-odds: words' complaint is praise
MARGIN: Final = 12.0  # how much further a label the words are sure of must be overturned or cleared
SMOOTHING: Final = 1.0  # add-one (Laplace)
KEPT: Final = 100_000  # features whose ratios (or absence) a process remembers
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


def _even_ratio(a: int, a_total: int, b: int, b_total: int) -> float:
    """As `_ratio`, smoothed at the same prior rate on both sides: the larger side's pseudo-count
    is SMOOTHING and the smaller side's in proportion. Feedback outnumbers news almost thirty to
    one; with add-one on both sides a feature seen in one feedback message and no news sentence
    weighed e^2 toward news, so the more feedback was counted, the more of a message's rarer
    words pushed it below the gate. A feature seen on neither side now weighs nothing, one seen
    once in feedback a little toward it, one seen once in news much more toward news."""
    rate = SMOOTHING / max(a_total, b_total, 1)
    a_seen, b_seen = rate * a_total, rate * b_total
    return math.log(
        ((a + a_seen) / (a_total + 2 * a_seen)) / ((b + b_seen) / (b_total + 2 * b_seen))
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


class Settings(NamedTuple):
    """The thresholds and the gate a model labels by."""

    threshold: float
    praise_threshold: float
    gate: float
    overturn: float
    clear: float = CLEAR
    margin: float = MARGIN  # added to the overturn, taken from the clearing, for sure words
    praise_clear: float = PRAISE_CLEAR  # praise log-odds below which unsure praise is neutral
    praise_overturn: float = PRAISE_OVERTURN  # praise over complaint: words' complaint is praise

    def for_words(self, sure: bool, contrast: bool = False) -> Settings:
        """The settings a message is read by: `for_sure_words` if the words are sure of their
        label; never praise by the praise overturn if it is a complaint told after praise and a
        contrast ("The call was helpful, but the product doesn't fit our clinic."): which part
        decides lies in the order of the words, which a bag of words does not read."""
        cell = self.for_sure_words() if sure else self
        return cell._replace(praise_overturn=math.inf) if contrast else cell

    def for_sure_words(self) -> Settings:
        """The settings a label the words are sure of is read by: overturned and cleared
        further out, by the sure margin ("Can I export to PDF? The app is great." stays praise:
        the question's shape outweighs the praise reading, but not by the margin)."""
        return self._replace(
            overturn=self.overturn + self.margin,
            praise_overturn=self.praise_overturn + self.margin,
            clear=self.clear - self.margin,
            praise_clear=self.praise_clear - self.margin,
        )


Given = Literal["negative", "neutral", "positive"]  # the labels the model gives


class Verdict(NamedTuple):
    """The model's label for a message that reads as product feedback, from the reading that
    decided it (the complaint reading when neither did)."""

    label: Given | None  # None: the words' label stands
    log_odds: float  # that reading's
    threshold: float  # that reading's: above it, its label (below it, for a cleared complaint)
    weights: tuple[tuple[str, float], ...]  # the (up to five) features heaviest toward it
    reading: str = "log-odds"  # what log_odds is, as an explanation names it


def _parse(line: str) -> tuple[str, tuple[int, int, int, int]]:
    """A feature line as `_feature_lines` writes it: the feature and its four counts."""
    name, n, u, p, s = line.split("\t")
    return name, (int(n), int(u), int(p), int(s))


def _feature_lines(counts: Counts) -> list[str]:
    """The counts' feature lines as the file holds them: `feature<TAB>neg<TAB>neu<TAB>pos<TAB>
    news`, sorted ("\t" sorts before every character of a feature, so the lines' order is their
    features')."""
    return sorted("\t".join((f, *map(str, seen))) for f, seen in counts.features.items())


T = TypeVar("T")


class SortedRows(Generic[T]):
    """The rows of a table of sorted lines (`find_line`), read by their first cell: a row is
    found and parsed the first time its key is asked for, then remembered, and so is a key no row
    has (most of a long message's word pairs were never counted). What is remembered is
    forgotten all at once past KEPT keys, so a long-lived process stays small; `known` values
    answer first and are never forgotten (None: as if no row had the key)."""

    __slots__ = ("_known", "_parse", "_seen", "_start", "_table")

    def __init__(
        self,
        table: bytes,
        parse: Callable[[bytes], T],
        start: int = 0,
        known: dict[str, T | None] | None = None,
    ) -> None:
        self._table, self._parse, self._start = table, parse, start
        self._known: dict[str, T | None] = dict(known or {})
        self._seen = dict(self._known)

    def get(self, key: str) -> T | None:
        """The parsed row of `key`; None if no row has it."""
        try:
            return self._seen[key]
        except KeyError:
            pass
        # a lone surrogate ("\ud800") is no row's key, and never raises
        line = find_line(self._table, f"{key}\t".encode("utf-8", "surrogatepass"), self._start)
        value = None if line is None else self._parse(line)
        if len(self._seen) >= KEPT:
            self._seen = dict(self._known)
        self._seen[key] = value
        return value

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def __len__(self) -> int:
        """How many keys are remembered."""
        return len(self._seen)


class Model:
    """Counts read as per-feature log-likelihood ratios, each worked out when a message first
    has the feature (a cold start parses the table and nothing more)."""

    def __init__(
        self,
        counts: Counts,
        *,
        threshold: float = THRESHOLD,
        gate: float = GATE,
        table: bytes | None = None,
        table_start: int = 0,
        praise_threshold: float = PRAISE_THRESHOLD,
        overturn: float = OVERTURN,
        clear: float = CLEAR,
        margin: float = MARGIN,
        praise_clear: float = PRAISE_CLEAR,
        praise_overturn: float = PRAISE_OVERTURN,
    ) -> None:
        self.settings = Settings(
            threshold,
            praise_threshold,
            gate,
            overturn,
            clear,
            margin,
            praise_clear,
            praise_overturn,
        )
        # Feature lines, sorted, in one table of bytes from `table_start` on (each line ends
        # with a newline): a feature's line is found by bisection and decoded and parsed on
        # first use, so a cold start decodes, splits and copies nothing. The file's bytes as
        # read, or those of `counts.features`.
        if table is None:
            table, table_start = "".join(f"{x}\n" for x in _feature_lines(counts)).encode(), 0
        self._ratios = SortedRows(table, self._ratios_of, table_start)
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
        return self._ratios.get(feature)

    def _ratios_of(self, line: bytes) -> Ratios:
        """The ratios of a feature line of the table."""
        n, u, p, s = _parse(line.decode("utf-8"))[1]
        negative, neutral, positive, news = self.totals
        return Ratios(
            _ratio(n, negative, u + p, neutral + positive),
            _ratio(p, positive, n + u, negative + neutral),
            _even_ratio(n + u + p, self.feedback, s, news),
        )

    def read(self, text: str) -> Reading:
        """The three readings of `text`."""
        found = [(f, r) for f in features(text) if (r := self.ratios(f)) is not None]
        complaint = praise = product = 0.0
        for _, (c, p, s) in found:
            complaint += c
            praise += p
            product += s
        priors = self.priors
        return Reading(priors[0] + complaint, priors[1] + praise, priors[2] + product, found)

    def judge(
        self, text: str, words: str = "neutral", *, sure: bool = False, contrast: bool = False
    ) -> Verdict | None:
        """The verdict on `text`, which its words labelled `words` (`sure`: and are sure of;
        `contrast`: a complaint after praise and a "but"); None when its product-over-news
        log-odds are below the gate (or the model is empty)."""
        if self.empty:
            return None
        return verdict(self.read(text), words, self.settings.for_words(sure, contrast))


def label_of(reading: Reading, words: str, cell: Settings) -> tuple[Given | None, int]:
    """The label a reading gives a message its words labelled `words` (None: the words' label
    stands) and the reading that decided (0 complaint, 1 praise; 0 when none did).

    Neutral by its words: a complaint above the complaint threshold, else praise above the
    praise threshold. Positive by its words: a complaint when the complaint reading exceeds the
    praise reading by more than the overturn threshold and is above the complaint threshold (a
    shape that reads as praise too, "The food was good.", leaves the words' praise standing, and
    so does a request, which reads as no praise and no complaint), else neutral when the praise
    reading is below the praise clearing threshold (praise words in a shape that praises
    nothing: "I'm a landlord with three smart meters."). Negative by its words: not a complaint
    when the complaint reading is below the clearing threshold, then praise above the praise
    threshold, else neutral; else praise when the praise reading exceeds the complaint reading
    by more than the praise overturn (a problem in a story of praise: "I haven't run out once
    this year"). The praise overturn turns a neutral message's complaint reading too: praise
    that far above it is praise ("It took a few tries to pair the watch, but now it tracks
    every run.").
    Below the gate: no label. (A label is read with `Settings.for_words`.)
    """
    complaint, praise = reading.complaint, reading.praise
    if reading.product < cell.gate:
        return None, 0
    if words == "positive":
        return _praise_read(complaint, praise, cell)
    if words == "negative" and complaint >= cell.clear:
        return ("positive", 1) if praise - complaint > cell.praise_overturn else (None, 0)
    if words == "neutral" and complaint > cell.threshold:
        # a complaint by its shape is praise past the praise overturn, as one by its words is
        return ("positive", 1) if praise - complaint > cell.praise_overturn else ("negative", 0)
    if praise > cell.praise_threshold:
        return "positive", 1
    return ("neutral" if words == "negative" else None), 0


def _praise_read(complaint: float, praise: float, cell: Settings) -> tuple[Given | None, int]:
    """`label_of` for a message its words labelled positive: overturned (a complaint past the
    overturn and the complaint threshold), cleared or standing."""
    if complaint - praise > cell.overturn and complaint > cell.threshold:
        return "negative", 0
    return ("neutral", 1) if praise < cell.praise_clear else (None, 0)


def verdict(reading: Reading, words: str, cell: Settings) -> Verdict | None:
    """A reading's verdict on a message its words labelled `words`, with these settings: None
    below the gate, else as `label_of`, with the log-odds and threshold of the reading that
    decided (the complaint reading's when none did, for neutral words; for positive words the
    complaint reading over the praise reading, or the praise reading when it cleared the praise)
    and, when it labels, the five features heaviest toward its label (against the reading that
    decided, for a complaint or praise cleared to neutral)."""
    if reading.product < cell.gate:
        return None
    label, k = label_of(reading, words, cell)
    complaint, praise = reading.complaint, reading.praise
    if words == "positive" and k:
        log_odds, above, name = praise, cell.praise_clear, "praise log-odds"
    elif words == "positive":  # the overturn weighs the complaint reading over the praise
        log_odds, above, name = complaint - praise, cell.overturn, "complaint over praise log-odds"
    elif words == "negative" and not k:
        log_odds, above, name = complaint, cell.clear, "complaint log-odds"
    elif (words == "negative" and complaint >= cell.clear) or (
        words == "neutral" and k and complaint > cell.threshold
    ):  # praise weighed over a complaint, the words' or the shape's
        log_odds, above, name = (
            praise - complaint,
            cell.praise_overturn,
            "praise over complaint log-odds",
        )
    elif k:
        log_odds, above, name = praise, cell.praise_threshold, "log-odds"
    else:
        log_odds, above, name = complaint, cell.threshold, "log-odds"
    if label is None:
        return Verdict(None, log_odds, above, (), name)
    sign = -1.0 if label == "neutral" else 1.0
    toward = [(f, sign * r[k]) for f, r in reading.found if sign * r[k] > 0]
    heaviest = sorted(toward, key=lambda fw: (-fw[1], fw[0]))[:5]
    return Verdict(label, log_odds, above, tuple((f, sign * w) for f, w in heaviest), name)


OFF: Final = Model(Counts(0, 0, 0, 0, {}))  # no model: labels as the words and rules give them


def find_line(table: bytes, key: bytes, start: int = 0) -> bytes | None:
    """The line of `table` from `start` on (sorted lines, each ending with a newline) that
    starts with `key`, found by bisection over the table's bytes: a probe moves to the start of
    its line."""
    lo, hi = start, len(table)
    while lo < hi:
        mid = (lo + hi) // 2
        start = table.rfind(b"\n", lo, mid) + 1 or lo  # the line that holds `mid`
        end = table.find(b"\n", start)
        if table[start:end] < key:
            lo = end + 1
        else:
            hi = start
    end = table.find(b"\n", lo)
    return table[lo:end] if end > lo and table.startswith(key, lo) else None


def _parts(path: Path) -> tuple[list[str], list[str], bytes, int]:
    """The file's header (its leading `#` and blank lines, less totals lines), its totals
    lines, and its bytes with the offset where its feature lines start (sorted by feature,
    each ending with a newline), as written: the feature lines are neither decoded, split nor
    copied (features are ASCII by `words`)."""
    data = path.read_bytes().removeprefix(b"\xef\xbb\xbf")
    head: list[str] = []
    at = 0
    while at < len(data):
        end = data.find(b"\n", at)
        end = len(data) if end < 0 else end
        line = data[at:end].decode("utf-8").rstrip("\r")
        if line.strip() and not line.startswith("#"):
            break
        head.append(line)
        at = end + 1
    if not data.endswith(b"\n"):
        data += b"\n"
    if b"\r" in data:
        data = data[:at] + data[at:].replace(b"\r\n", b"\n")
    totals = [line for line in head if line.startswith(_TOTALS + "\t")]
    header = [line for line in head if not line.startswith(_TOTALS + "\t")]
    return header, totals, data, min(at, len(data))


def _read(path: Path) -> tuple[Counts, bytes, int]:
    """The file's totals (in `Counts`, without features), its bytes and the offset where its
    feature lines start; ValueError when it has no single totals line."""
    _header, totals, data, start = _parts(path)
    if len(totals) != 1:
        raise ValueError(f"{path.name}: expected one {_TOTALS} line before the features")
    _name, *seen = totals[0].split("\t")
    if len(seen) != 4:
        raise ValueError(f"{path.name}: expected four counts on the {_TOTALS} line")
    negative, neutral, positive, news = map(int, seen)
    return Counts(negative, neutral, positive, news, {}), data, start


@functools.cache
def load() -> Model:
    """The shipped model (read once per process)."""
    totals, data, start = _read(PATH)
    return Model(totals, table=data, table_start=start)


def read_counts(path: Path = PATH) -> Counts:
    """The file's counts, every feature parsed (tests compare them with `count`)."""
    totals, data, start = _read(path)
    return totals._replace(features=dict(map(_parse, data[start:].decode("utf-8").splitlines())))


def write(feedback: Iterable[tuple[str, str]], news: Iterable[str], path: Path = PATH) -> Counts:
    """Regenerate the file's counts from labelled (label, text) feedback and news sentences,
    keeping its header; returns the counts."""
    header = _parts(path)[0] if path.is_file() else []
    counts = count(feedback, news)
    lines = [*header, "\t".join((_TOTALS, *map(str, counts[:4])))]
    lines += _feature_lines(counts)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return counts
