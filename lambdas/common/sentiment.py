"""Sentiment of a feedback message: `classify(text)` -> "positive" | "neutral" | "negative".

Owns the scorer: a stdlib-only reimplementation of VADER's rules over its vendored lexicon
(`sentiment_lexicon.txt`) with one calibrated constant on top (`score`, general text), and the
product-feedback layer read from data beside it (`sentiment_feedback.py`: complaint and praise
vocabulary, verbs of function, neutral shapes) that `classify` and `analyse` add; `analyse`
also says which words and rules decided. See docs/sentiment.md for the method and the figures.
"""

from __future__ import annotations

import functools
import math
import string
import unicodedata
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Final, Literal, NamedTuple

from lambdas.common import sentiment_complaints as cm
from lambdas.common import sentiment_feedback as fb

Label = Literal["positive", "neutral", "negative"]
LABELS: Final[tuple[Label, ...]] = ("positive", "neutral", "negative")

LEXICON_PATH: Final = Path(__file__).with_name("sentiment_lexicon.txt")

# --- VADER's empirically derived constants (Hutto & Gilbert 2014) ---------------------------
B_INCR: Final = 0.293  # booster ("very") adds this much intensity
B_DECR: Final = -0.293  # dampener ("slightly")
C_INCR: Final = 0.733  # ALL-CAPS word among non-caps words
N_SCALAR: Final = -0.74  # negation flips and damps
TIME_VALENCE: Final = 1.8  # a time gained or lost ("5 minutes instead of an hour"), scale:clear
# the words sentiment_times starts a comparison of two times at ("instead of", "from"): a
# sentence with one and a unit of time imports it
_TIME_MARKERS: Final = frozenset({"instead", "from"})
_DASHES: Final = ("-", "–", "—")  # a dash on its own ends a clause
BUT_BEFORE: Final = 0.5  # weight of sentiment before a contrastive "but"
BUT_AFTER: Final = 1.5  # ... and after it
EP_INCR: Final = 0.292  # per "!" (at most 4)
QM_INCR: Final = 0.18  # per "?" when there are 2 or 3
QM_MAX: Final = 0.96  # for 4+ "?"
ALPHA: Final = 15.0  # compound = s / sqrt(s^2 + ALPHA)
THRESHOLD: Final = 0.05  # |compound| below this is neutral (VADER's convention)
# The one calibrated constant (not in VADER): the valence of a negator ("not", "never", "don't",
# ...) itself. Negation is far more frequent in negative text than in positive (Potts 2010, "On
# the negativity of negation"), and VADER's own raters scored "no" at -1.2; VADER scores the
# negator as 0 and misses "the door would not close". Chosen by 10-fold cross-validation over
# -1.5..0 in steps of 0.1; see docs/sentiment.md and benchmarks/bench_sentiment.py.
NEGATION_PRIOR: Final = -0.2

NEGATE: Final = frozenset(
    {
        "aint",
        "arent",
        "cannot",
        "cant",
        "couldnt",
        "darent",
        "didnt",
        "doesnt",
        "ain't",
        "aren't",
        "can't",
        "couldn't",
        "daren't",
        "didn't",
        "doesn't",
        "dont",
        "hadnt",
        "hasnt",
        "havent",
        "isnt",
        "mightnt",
        "mustnt",
        "neither",
        "don't",
        "hadn't",
        "hasn't",
        "haven't",
        "isn't",
        "mightn't",
        "mustn't",
        "neednt",
        "needn't",
        "never",
        "none",
        "nope",
        "nor",
        "not",
        "nothing",
        "nowhere",
        "oughtnt",
        "shant",
        "shouldnt",
        "uhuh",
        "wasnt",
        "werent",
        "oughtn't",
        "shan't",
        "shouldn't",
        "uh-uh",
        "wasn't",
        "weren't",
        "without",
        "wont",
        "wouldnt",
        "won't",
        "wouldn't",
        "rarely",
        "seldom",
        "despite",
    }
)

_BOOST_UP: Final = (
    "absolutely",
    "amazingly",
    "awfully",
    "completely",
    "considerable",
    "considerably",
    "decidedly",
    "deeply",
    "effing",
    "enormous",
    "enormously",
    "entirely",
    "especially",
    "exceptional",
    "exceptionally",
    "extreme",
    "extremely",
    "fabulously",
    "flipping",
    "flippin",
    "frackin",
    "fracking",
    "fricking",
    "frickin",
    "frigging",
    "friggin",
    "fully",
    "fuckin",
    "fucking",
    "fuggin",
    "fugging",
    "greatly",
    "hella",
    "highly",
    "hugely",
    "incredible",
    "incredibly",
    "intensely",
    "major",
    "majorly",
    "more",
    "most",
    "particularly",
    "purely",
    "quite",
    "really",
    "remarkably",
    "so",
    "substantially",
    "thoroughly",
    "total",
    "totally",
    "tremendous",
    "tremendously",
    "uber",
    "unbelievably",
    "unusually",
    "utter",
    "utterly",
    "very",
)
_BOOST_DOWN: Final = (
    "almost",
    "barely",
    "hardly",
    "kinda",
    "kindof",
    "kind-of",
    "less",
    "little",
    "marginal",
    "marginally",
    "occasional",
    "occasionally",
    "partly",
    "scarce",
    "scarcely",
    "slight",
    "slightly",
    "somewhat",
    "sorta",
    "sortof",
    "sort-of",
)
BOOSTERS: Final[dict[str, float]] = {
    **dict.fromkeys(_BOOST_UP, B_INCR),
    **dict.fromkeys(_BOOST_DOWN, B_DECR),
}
# Multi-word dampeners, matched on the words just before a sentiment word.
BOOSTER_NGRAMS: Final[dict[str, float]] = {
    "just enough": B_DECR,
    "kind of": B_DECR,
    "sort of": B_DECR,
}
# Phrases whose valence replaces that of the lexicon word inside them.
SPECIAL_CASES: Final[dict[str, float]] = {
    "the shit": 3,
    "the bomb": 3,
    "bad ass": 1.5,
    "badass": 1.5,
    "bus stop": 0.0,
    "yeah right": -2,
    "kiss of death": -1.5,
    "to die for": 3,
    "beating heart": 3.5,
}
_SO_THIS: Final = ("so", "this")
_PUNCT: Final = string.punctuation
_CLAUSE_BREAKS: Final = frozenset({"but", "though", "although"})
_BUT: Final = frozenset({"but"})
# Feedback layer: how far back a negator reaches a verb of function ("have not been able to
# log in"), and the VADER valences a question ignores ("cancel", "pay"). A how-to question or
# a request ignores every VADER word: what it asks for is named ("how do I kill all timers",
# "add a panic button"), and only the feedback knowledge's fault words report a fault there.
VERB_WINDOW: Final = 4
QUIET: Final = 1.0
REQUEST_TAIL: Final = 2  # a request marker this close to its sentence's end requests all of it
# The words are sure of a polar label with a compound beyond SURE (VADER's compound reaches
# 0.5 with one strong word, "great"), or when a word of that sign got its valence from the
# feedback knowledge (a phrase or negated verb, "no more lag", "doesn't load"; for a complaint,
# a word of its lexicon too, "bug") or from a rule that turned its sign (a negation, "not
# slow", "not good"; a repair; a critique). Fixed a priori. The complaint model overturns or
# clears such a label only by its sure margin (sentiment_complaints.MARGIN) more.
SURE: Final = 0.5


class Word(NamedTuple):
    """One word (or phrase) that counted, with what it added to the sum and why."""

    text: str
    valence: float
    source: str


class Analysis(NamedTuple):
    """A label, the compound score behind it, and the words and rules that decided it."""

    label: Label
    score: float
    words: tuple[Word, ...] = ()
    rules: tuple[str, ...] = ()


# Words' valences: VADER's rows (`word<TAB>valence`, sorted by their bytes), each found by
# bisection the first time a word is asked about and remembered, so a cold start splits and
# converts none of the 7,500 rows; `known` valences answer first (the feedback knowledge's words;
# None for a VADER word that judges nothing in feedback, "honestly").
Lexicon = cm.SortedRows[float]


def _lexicon(known: dict[str, float | None] | None = None) -> Lexicon:
    """VADER's rows, with `known` valences answering first."""
    return Lexicon(_sections()[0], lambda line: float(line.split(b"\t")[1]), known=known)


@functools.cache
def _sections() -> tuple[bytes, bytes]:
    """The vendored lexicon's '#@words' rows and '#@emoji' rows, as bytes (read once per
    process); ValueError when a row of its words is not two cells."""
    data = b"\n" + LEXICON_PATH.read_bytes().replace(b"\r\n", b"\n")
    words = data.find(b"\n#@words\n") + len(b"\n#@words\n")
    if words < len(b"\n#@words\n"):
        raise ValueError(f"{LEXICON_PATH.name}: no section words")
    emoji = data.find(b"\n#@emoji\n", words)
    table = data[words : emoji + 1] if emoji >= 0 else data[words:]
    if table and not table.endswith(b"\n"):
        table += b"\n"  # the file's last row, without its line end: every row ends with one
    if table.count(b"\t") != table.count(b"\n"):  # in C: one tab per row, cheaper than a split
        raise ValueError(f"{LEXICON_PATH.name}: a row of section words is not two cells")
    return table, b"" if emoji < 0 else data[emoji + len(b"\n#@emoji\n") :]


@functools.cache
def _vader() -> Lexicon:
    """VADER's lexicon, as the general scorer reads it."""
    return _lexicon()


@functools.cache
def _emoji() -> dict[str, str]:
    """Each emoji's description, read the first time a message is not ASCII."""
    cells = _sections()[1].decode("utf-8").strip("\n").replace("\n", "\t").split("\t")
    if len(cells) % 2:
        raise ValueError(f"{LEXICON_PATH.name}: a row of section emoji is not two cells")
    return dict(zip(cells[0::2], cells[1::2], strict=True)) if cells != [""] else {}


@functools.lru_cache(maxsize=8)
def _merged(data: fb.FeedbackData) -> Lexicon:
    """VADER's lexicon with the feedback words added (and, where listed, replacing VADER's; one
    of valence 0 is no word of sentiment here, "honestly")."""
    return _lexicon({w: e.valence or None for w, e in data.words.items()})


def _replace_emoji(text: str, emoji: dict[str, str]) -> str:
    """Replace each emoji by its description, so "great 😍" scores like words."""
    parts: list[str] = []
    for ch in text:
        desc = emoji.get(ch)
        if desc is not None:
            parts.append(f" {desc} ")
        elif unicodedata.category(ch) == "So":
            parts.append(" ")  # other pictographs: a separator, never glued to a word
        else:
            parts.append(ch)
    return "".join(parts)


def _tokens(text: str) -> list[str]:
    """Whitespace tokens with surrounding punctuation removed (emoticons like ":)" are kept)."""
    out: list[str] = []
    for tok in text.split():
        stripped = tok.strip(_PUNCT)
        out.append(stripped if len(stripped) > 2 else tok)
    return out


def _is_negation(word: str) -> bool:
    return word in NEGATE or "n't" in word


class _Text:
    """One text, tokenised, with per-token facts VADER's rules read and the valences they give.

    `base` is a token's lexicon valence (None: not a sentiment word), `neg` whether it negates,
    `boost` its booster scalar, `prior` the valence a bare negator adds, `fixed` whether a
    feedback rule settled its valence, `floor` the first token the rules may look back to
    (0 for VADER; the sentence's start for feedback). The feedback layer edits these before
    `valences()`.
    """

    __slots__ = (
        "base",
        "boost",
        "cap_diff",
        "fixed",
        "floor",
        "lower",
        "n",
        "neg",
        "prior",
        "tokens",
    )

    def __init__(self, tokens: list[str], lex: Lexicon, negation_prior: float) -> None:
        self.tokens = tokens
        self.lower = lower = [t.lower() for t in tokens]
        self.n = len(tokens)
        self.base: list[float | None] = [lex.get(w) for w in lower]
        self.neg = [_is_negation(w) for w in lower]
        self.boost = [BOOSTERS.get(w, 0.0) for w in lower]
        self.prior = [
            negation_prior if neg and base is None else 0.0
            for neg, base in zip(self.neg, self.base, strict=True)
        ]
        self.fixed = [False] * self.n
        self.floor = [0] * self.n
        caps = sum(1 for t in tokens if t.isupper())
        self.cap_diff = 0 < caps < self.n  # some, not all, words in CAPS

    def inert(self, i: int) -> None:
        """Token i counts for nothing and modifies nothing (it is part of a phrase)."""
        self.base[i] = None
        self.neg[i] = False
        self.boost[i] = 0.0
        self.prior[i] = 0.0
        self.lower[i] = ""

    def valences(self) -> list[float]:
        lower, base_of = self.lower, self.base
        out: list[float] = []
        for i in range(self.n):
            base = base_of[i]
            if base is None:
                out.append(self.prior[i])
            elif self.fixed[i]:
                out.append(base)
            elif self.boost[i] or (lower[i] == "kind" and i + 1 < self.n and lower[i + 1] == "of"):
                out.append(0.0)
            else:
                out.append(self._valence(i, base))
        return out

    def _valence(self, i: int, base: float) -> float:
        lower, base_of, f = self.lower, self.base, self.floor[i]
        valence = base
        # "no" before a sentiment word negates it rather than counting as a negative word
        if lower[i] == "no" and i + 1 < self.n and base_of[i + 1] is not None:
            valence = 0.0
        if (
            (i - 1 >= f and lower[i - 1] == "no")
            or (i - 2 >= f and lower[i - 2] == "no")
            or (i - 3 >= f and lower[i - 3] == "no" and lower[i - 1] in ("or", "nor"))
        ):
            valence = base * N_SCALAR
        if self.cap_diff and self.tokens[i].isupper():
            valence += C_INCR if valence > 0 else -C_INCR
        # up to three preceding non-lexicon words: boosters (decaying with distance) and negation
        for dist in range(3):
            j = i - dist - 1
            if j < f or base_of[j] is not None:
                continue
            valence += self._boost(j, valence) * (1.0, 0.95, 0.9)[dist]
            valence = self._negation(valence, i, dist)
            if dist == 2:
                valence = self._idioms(valence, i)
        return self._least(valence, i)

    def _boost(self, j: int, valence: float) -> float:
        scalar = self.boost[j]
        if scalar == 0.0:
            return 0.0
        if valence < 0:
            scalar = -scalar
        if self.cap_diff and self.tokens[j].isupper():
            scalar += C_INCR if valence > 0 else -C_INCR
        return scalar

    def _negation(self, valence: float, i: int, dist: int) -> float:
        lower = self.lower
        if dist == 1:
            if lower[i - 2] == "never" and lower[i - 1] in _SO_THIS:
                return valence * 1.25  # "never so good"
            if lower[i - 2] == "without" and lower[i - 1] == "doubt":
                return valence
        elif dist == 2:
            # (sic) VADER's precedence: "never so/this _ X" or "so/this X" boosts
            if (lower[i - 3] == "never" and lower[i - 2] in _SO_THIS) or lower[i - 1] in _SO_THIS:
                return valence * 1.25
            if lower[i - 3] == "without" and "doubt" in (lower[i - 2], lower[i - 1]):
                return valence
        return valence * N_SCALAR if self.neg[i - dist - 1] else valence

    def _idioms(self, valence: float, i: int) -> float:
        w = self.lower
        for seq in (
            f"{w[i - 1]} {w[i]}",
            f"{w[i - 2]} {w[i - 1]} {w[i]}",
            f"{w[i - 2]} {w[i - 1]}",
            f"{w[i - 3]} {w[i - 2]} {w[i - 1]}",
            f"{w[i - 3]} {w[i - 2]}",
        ):
            if seq in SPECIAL_CASES:
                valence = SPECIAL_CASES[seq]
                break
        if i + 1 < self.n:
            valence = SPECIAL_CASES.get(f"{w[i]} {w[i + 1]}", valence)
        if i + 2 < self.n:
            valence = SPECIAL_CASES.get(f"{w[i]} {w[i + 1]} {w[i + 2]}", valence)
        for gram in (
            f"{w[i - 3]} {w[i - 2]} {w[i - 1]}",
            f"{w[i - 3]} {w[i - 2]}",
            f"{w[i - 2]} {w[i - 1]}",
        ):
            valence += BOOSTER_NGRAMS.get(gram, 0.0)
        return valence

    def _least(self, valence: float, i: int) -> float:
        lower = self.lower
        if (
            i - 1 >= self.floor[i]
            and lower[i - 1] == "least"
            and not (i > 1 and lower[i - 2] in ("at", "very"))
        ):
            return valence * N_SCALAR  # "the least useful", but not "at least useful"
        return valence


class _Feedback:
    """The product-feedback layer on one text: edits `_Text` before VADER's rules run, then the
    valences after. `notes` (when explaining) collects a line per rule that applied."""

    def __init__(
        self, t: _Text, lines: Sequence[Sequence[str]], data: fb.FeedbackData, explain: bool
    ) -> None:
        self.t = t
        self.data = data
        self.words = [w.strip(_PUNCT) for w in t.lower]
        self.sentences = fb.sentences(lines)
        self.raw = [tok for line in lines for tok in line]  # with punctuation, as `sentences`
        self.notes: list[str] | None = [] if explain else None
        self.heads: dict[int, tuple[str, fb.Entry]] = {}  # phrase or negated verb at a token
        self.timed: set[int] = set()  # markers of times compared ("instead of"), given a valence
        # spans whose positive words count for nothing, each with the magnitude up to which its
        # VADER words do too (QUIET; every one, inf, in a how-to question or a request)
        self.silenced: dict[tuple[int, int], float] = {}
        # sentences read as a question, a request, a description of use or a courtesy beside
        # them, or with no word at all ("...")
        self.shaped = 0

    def wordless(self) -> int:
        """How many sentences have no word at all ("...")."""
        return sum(not any(self.words[a:b]) for a, b, _ in self.sentences)

    def note(self, line: str) -> None:
        if self.notes is not None:
            self.notes.append(line)

    # --- before VADER's rules ---------------------------------------------------------------

    def before(self) -> None:
        t = self.t
        for a, b, _ in self.sentences:
            # VADER's look-back (negation, "no", boosters) stops at the clause: "Calls never
            # drop, very reliable" does not negate "reliable"
            start = a
            for k in range(a, b):
                if k > a and self._pause(k):
                    start = k
                t.floor[k] = start
            self._phrases(a, b)
            self._negated_verbs(a, b)
        key = [fb.NEG if t.neg[k] else w for k, w in enumerate(self.words)] if any(t.prior) else []
        for a, b, question in self.sentences:
            self._modifiers(a, b, key)
            self._shapes(a, b, question)
        if self.silenced:
            self._courtesy()

    def _phrases(self, a: int, b: int) -> None:
        t, words, end = self.t, self.words, a
        for i, text, stop in self.data.phrases.scan(words, a, b, first=a):
            if i < end:
                continue  # inside the phrase just matched
            entry = self.data.phrases.entries[text]
            for k in range(i, stop):  # every word it matched, those "*" stood for too
                t.inert(k)
            if entry.valence:
                t.base[i] = entry.valence
                t.lower[i] = text
                self.heads[i] = (text, entry)
            shown = text.lstrip("^")
            if entry.valence:
                self.note(f"phrase '{shown}' {entry.valence:+.1f} ({entry.origin})")
            else:
                self.note(f"phrase '{shown}' carries no sentiment here ({entry.origin})")
            end = stop

    def _negator(self, j: int, end: int) -> bool:
        if self.t.neg[j]:
            return self.words[j] != "without"  # "without charging" needs no charging
        return self.data.negators.match(self.words, j, end, start=False) is not None

    def _negated_verbs(self, a: int, b: int) -> None:
        t, words = self.t, self.words
        if self.data.negated.keys().isdisjoint(words[a:b]):
            return
        for i in range(a, b):
            entry = self.data.negated.get(words[i])
            if entry is None or t.lower[i] == "":
                continue
            window = range(i - 1, max(a, i - VERB_WINDOW) - 1, -1)
            negator = next((j for j in window if self._negator(j, i)), -1)
            if negator >= 0:
                t.base[i] = entry.valence
                t.fixed[i] = True
                self.heads[i] = (words[i], entry)
                self.note(
                    f"negated verb '{words[negator]} … {words[i]}' {entry.valence:+.1f} "
                    f"({entry.origin})"
                )
            elif entry.otherwise:
                t.base[i] = entry.otherwise

    def _modifiers(self, a: int, b: int, key: list[str]) -> None:
        t, words, data = self.t, self.words, self.data
        for i in range(a, b):
            word = words[i]
            if word in data.degree and i + 1 < b and t.base[i + 1] is not None:
                t.base[i] = None
                t.boost[i] = B_INCR
                self.note(f"degree: '{word}' strengthens '{words[i + 1]}'")
            elif word in data.boosters and t.base[i] is None and not t.neg[i]:
                t.boost[i] = B_INCR
            if word in data.flip and t.base[i] is None:
                t.neg[i] = True
            if t.neg[i] and t.prior[i]:
                pattern = next(
                    (
                        p
                        for _, p, stop in data.plain.scan(key, max(a, i - 2), i + 1, end=b)
                        if stop > i  # the pattern holds this negator
                    ),
                    None,
                )
                if pattern is not None:
                    t.prior[i] = 0.0
                    self.note(f"plain negation '{pattern}': no negation prior")

    def _shapes(self, a: int, b: int, question: bool) -> None:
        t, words, data = self.t, self.words, self.data
        first = a
        while first < b - 1 and words[first] in data.courtesy:
            first += 1  # "Hi, is there ...", "Hello! Does ..."
        opener = data.question_start.match(words, first, b, start=True)
        if opener is not None or (question and words[first] in data.question):
            self._silence(a, b, f"question '{opener or words[first]} …?'", whole=opener is not None)
            self.shaped += 1
            return
        found = data.request.find(words, a, b, first=first)
        if found is not None:
            # "Please add ..." from its start; a marker that ends its sentence ("A dark mode
            # would be great.") requests its whole clause
            start = a if found.at == first else found.at
            if found.stop >= b - REQUEST_TAIL:
                start = next((k for k in range(found.at, a, -1) if self._clause_starts(k)), a)
            self._silence(start, b, f"request '{found.text.lstrip('^')}'", whole=True)
            self.shaped += 1
            return
        use = data.use.match(words, first, b, start=True)
        if use is not None:
            self.shaped += 1
            hidden = [k for k in range(a, b) if words[k] in data.functional and t.base[k]]
            for k in hidden:
                t.base[k] = None
            if hidden:
                names = ", ".join(words[k] for k in hidden)
                self.note(f"description of use '{use}': {names} name functions here, not praise")
            # "I only use the notes, not the tasks" says what, not how well; what follows "but"
            # ("I use it for work but it doesn't save") is a judgement again
            end = next((k for k in range(first, b) if self._breaks(k)), b)
            negators = [k for k in range(a, end) if t.prior[k]]
            for k in negators:
                t.prior[k] = 0.0
            if negators:
                self.note(f"description of use '{use}': no negation prior")

    def _breaks(self, k: int) -> bool:
        """Token k ends a clause: "but", "though", "although" or a contrast word ("however")."""
        return self.words[k] in _CLAUSE_BREAKS or self.words[k] in self.data.contrast

    def _pause(self, k: int) -> bool:
        """Token k follows punctuation that ends a clause: ",", ";", ":" or a dash."""
        before = self.raw[k - 1]
        return before[-1:] in ",;:" or before in _DASHES

    def _clause_starts(self, k: int) -> bool:
        """A clause starts at token k: after punctuation that ends one (`_pause`), at an opening
        bracket, or after a word that ends a clause ("but")."""
        return self._pause(k) or self.raw[k][:1] in "([" or self._breaks(k - 1)

    def _clauses(self, a: int, b: int) -> Iterator[tuple[int, int]]:
        """The sentence a..b's clauses (start, end), split at the words that end one ("but",
        "however"; `_breaks`), as repairs and times read them."""
        start = a
        for k in range(a, b + 1):
            if k == b or self._breaks(k):
                yield start, k
                start = k + 1

    def _silence(self, a: int, b: int, what: str, *, whole: bool) -> None:
        """Quiet tokens a..b: positive words, the negation prior and mild VADER words; every
        VADER word when `whole` (a how-to question or a request)."""
        for k in range(a, b):
            self.t.prior[k] = 0.0
        self.silenced[a, b] = math.inf if whole else QUIET
        quiet = "VADER's words" if whole else "positive words"
        self.note(f"{what}: {quiet} and the negation prior count for nothing")

    def _courtesy(self) -> None:
        for a, b, _ in self.sentences:
            if (
                all(w in self.data.courtesy for w in self.words[a:b])
                and (a, b) not in self.silenced
            ):
                self.silenced[a, b] = QUIET
                self.shaped += 1
                self.note(f"courtesy '{' '.join(self.words[a:b])}' beside a question or request")

    # --- after VADER's rules ----------------------------------------------------------------

    def after(self, out: list[float]) -> None:
        for a, b, _ in self.sentences:
            self._intensifiers(out, a, b)
            self._frames(out, a, b, self.data.critique, comparative=True)
            self._frames(out, a, b, self.data.past, comparative=False)
            self._repair(out, a, b)
            span = self.words[a:b]
            if not _TIME_MARKERS.isdisjoint(span) and not self.data.units.keys().isdisjoint(span):
                self._times(out, a, b)
        for (a, b), quiet in self.silenced.items():
            for k in range(a, b):
                if out[k] > 0 or (-quiet <= out[k] < 0 and not self._feedback_word(k)):
                    out[k] = 0.0

    def decided(self, out: Sequence[float], sign: float) -> bool:
        """Whether the feedback knowledge or a rule gave a word of this sign (+1 praise, -1 a
        complaint) its valence in `out`: a phrase or negated verb ("no more lag", "logged out",
        "doesn't load"), for a complaint a word of its lexicon too ("bug"), a rule that
        turned its word's sign (a negation, "not slow", "not good"; a repair; a critique,
        "could be faster"; the past, "used to be great"), or two times compared ("5 minutes
        instead of an hour")."""
        heads, base_of, lower = self.heads, self.t.base, self.t.lower
        lexicon = self.data.words if sign < 0 else frozenset()
        return any(
            v * sign > 0
            and (
                k in heads
                or k in self.timed
                or lower[k] in lexicon
                or ((base := base_of[k]) is not None and base * sign < 0)
            )
            for k, v in enumerate(out)
        )

    def _shown(self, k: int) -> str:
        """Token k as the explanation names it: its phrase, if it heads one."""
        return self.heads[k][0].lstrip("^") if k in self.heads else self.words[k]

    def _feedback_word(self, k: int) -> bool:
        return k in self.heads or self.t.lower[k] in self.data.words

    def _intensifiers(self, out: list[float], a: int, b: int) -> None:
        for i, text, _ in self.data.after.scan(self.words, a, b):
            k = next((k for k in range(i - 1, max(a, i - 3) - 1, -1) if out[k]), -1)
            if k >= 0:
                out[k] += B_INCR if out[k] > 0 else -B_INCR
                out[i] = 0.0
                self.note(f"intensifier: '{text}' strengthens '{self._shown(k)}'")

    def _frames(
        self, out: list[float], a: int, b: int, frames: fb.Patterns, *, comparative: bool
    ) -> None:
        """Turn the first positive word after a frame into a complaint: "could be faster"
        (`comparative`: only "-er", "more X", "as X as"), "used to be great" (any)."""
        words = self.words
        for _, frame, after in frames.scan(words, a, b):
            for k in range(after, min(b, after + 4)):
                if self._breaks(k):
                    break
                if out[k] > 0 and (
                    not comparative
                    or (words[k].endswith("er") and words[k - 1] != "even")
                    or words[k - 1] in ("more", "as")
                ):
                    out[k] *= N_SCALAR
                    kind = "critique" if comparative else "past"
                    self.note(f"{kind}: '{frame} … {self._shown(k)}' counts against")
                    break

    def _repair(self, out: list[float], a: int, b: int) -> None:
        span = self.words[a:b]
        if self.data.repair.isdisjoint(span) and self.data.cease.isdisjoint(span):
            return
        for start, end in self._clauses(a, b):
            self._repair_clause(out, start, end)

    def _repair_clause(self, out: list[float], a: int, b: int) -> None:
        """A problem in the same clause as "fixed" (not negated), before "gone", or a problem
        that stopped ("stopped crashing"), is a problem solved; none is in a clause that says a
        fix did not come ("The bug where my notes were gone is still not fixed."). A repair word
        a phrase holds is that phrase's ("the fixed asset module" repairs nothing)."""
        t, words, ended = self.t, self.words, self.data.ended
        fixes, unfixed = [], False
        for r in range(a, b):
            repair = words[r] in self.data.repair and t.lower[r] != ""  # not inert: no phrase's
            if repair or self._ceases(out, r, b):
                if any(t.neg[j] for j in range(max(a, r - 3), r)):
                    unfixed = unfixed or repair
                else:
                    fixes.append(r)
        if unfixed:
            return
        problems = [
            p
            for p in range(a, b)
            if out[p] < 0 and p not in fixes and any(p < r or words[r] not in ended for r in fixes)
        ]
        if not fixes or not problems:
            return
        for p in problems:
            out[p] = 0.0
        for r in fixes:
            out[r] = abs(out[r])
        names = ", ".join(self._shown(p) or t.tokens[p] for p in problems)
        self.note(f"repair: '{words[fixes[0]]}': {names} no longer counts")

    def _times(self, out: list[float], a: int, b: int) -> None:
        """Two times compared in a clause ("5 minutes instead of an hour", "from 11 minutes to
        3": `sentiment_times`). A gain clears the clause's complaints ("takes * minutes" names
        the time, not a fault) and weighs as praise on its marker; a loss clears its praise and
        weighs as a complaint."""
        from lambdas.common import sentiment_times  # compiled only when a message compares

        for start, end in self._clauses(a, b):
            found = sentiment_times.compared(self.words, self.raw, self.data, start, end)
            if found is None:
                continue
            m, gain = found
            sign = 1.0 if gain else -1.0
            for j in range(start, end):
                if out[j] * sign < 0:
                    out[j] = 0.0
            out[m] = sign * TIME_VALENCE
            self.timed.add(m)
            self.note(f"times: '{self.words[m]} …' {'a gain' if gain else 'a loss'}")

    def _ceases(self, out: Sequence[float], r: int, b: int) -> bool:
        """Token r is a word of ending ("stopped") right before a problem word of its clause, with
        no pause between them ("stopped, crashed" is two events); a verb of function there is a
        function gone, not a problem ended ("stopped syncing" is a negated verb, `t.fixed`)."""
        return (
            self.words[r] in self.data.cease
            and r + 1 < b
            and out[r + 1] < 0
            and not self.t.fixed[r + 1]
            and self.raw[r][-1:] not in _PUNCT
        )

    def source(self, i: int, lex: Lexicon) -> str:
        """Where token i's valence comes from, for `analyse`."""
        t = self.t
        if i in self.heads:
            text, entry = self.heads[i]
            kind = "negated verb" if t.fixed[i] else "phrase"
            return f"{kind} '{text.lstrip('^')}' ({entry.origin}, {entry.source})"
        if i in self.timed:
            return "rule: two times compared"
        if t.base[i] is None:
            return "negation prior"
        word = self.data.words.get(t.lower[i])
        if word is not None:
            return f"feedback lexicon ({word.origin}, {word.source})"
        if self.words[i] in self.data.negated:
            return f"feedback lexicon ({self.data.negated[self.words[i]].origin})"
        return "VADER lexicon" if t.lower[i] in lex else "rule"


def _turn(lower: list[str], markers: frozenset[str] = _BUT) -> int:
    """Where the first "but" (or other contrast marker) stands; -1 without one."""
    return next((k for k, word in enumerate(lower) if word in markers), -1)


def _but(valences: list[float], b: int) -> list[float]:
    """Contrast: sentiment after the marker at `b` (`_turn`) outweighs sentiment before it."""
    if b < 0:
        return valences
    return [
        v * BUT_BEFORE if k < b else v * BUT_AFTER if k > b else v for k, v in enumerate(valences)
    ]


def _praise_then_complaint(valences: list[float], b: int) -> bool:
    """Praise before the contrast marker at `b` (`_turn`) and a complaint after it: "The
    onboarding call was helpful, but the product doesn't fit how our clinic books
    appointments." (the labelling rules' N-contrast)."""
    return b > 0 and sum(valences[:b]) > 0 > sum(valences[b + 1 :])


def _punctuation(text: str) -> float:
    """Emphasis from "!" (up to 4) and from "??"/"???" (capped at 4+)."""
    qm = text.count("?")
    qm_amp = 0.0 if qm < 2 else qm * QM_INCR if qm <= 3 else QM_MAX
    return min(text.count("!"), 4) * EP_INCR + qm_amp


def _compound(text: str, valences: list[float]) -> float:
    total = sum(valences)
    if total > 0:
        total += _punctuation(text)
    elif total < 0:
        total -= _punctuation(text)
    compound = total / math.sqrt(total * total + ALPHA)
    return round(max(-1.0, min(1.0, compound)), 4)


def _label(compound: float) -> Label:
    if compound >= THRESHOLD:
        return "positive"
    if compound <= -THRESHOLD:
        return "negative"
    return "neutral"


def _prepared(text: str, *, typographic: bool) -> tuple[str, list[str]]:
    """The text with emoji as words (and, if `typographic`, "’" read as "'"), and its tokens."""
    if not text.isascii():
        if typographic:
            text = text.replace("\u2019", "'")  # phone keyboards write "doesn’t"
        text = _replace_emoji(text, _emoji())
    return text, _tokens(text)


def score(text: str, *, negation_prior: float = NEGATION_PRIOR) -> float:
    """General-text compound score of `text` in [-1, 1] (0.0 for empty or sentiment-free text).

    VADER's rules and lexicon plus the negation prior, without the product-feedback layer
    (`analyse(text).score` has it). `negation_prior=0.0` gives vaderSentiment 3.3.2's compound
    score (identical on every row of the labelled data set), except that "but" weighs by
    position (VADER's list.index() mis-weights repeated values) and an emoji is split from the
    words it touches.
    """
    if not isinstance(text, str) or not text:
        return 0.0
    text, tokens = _prepared(text, typographic=False)
    if not tokens:
        return 0.0
    t = _Text(tokens, _vader(), negation_prior)
    return _compound(text, _but(t.valences(), _turn(t.lower)))


def analyse(
    text: str,
    *,
    negation_prior: float = NEGATION_PRIOR,
    data: fb.FeedbackData | None = None,
    explain: bool = True,
    complaints: cm.Model | None = None,
) -> Analysis:
    """Label, score and (with `explain`) the words and rules that decided, for product feedback.

    `data` and `complaints` replace the shipped feedback knowledge and complaint model
    (cross-validation passes a fold's; `sentiment_complaints.OFF` labels without the model).
    The score is the words' compound; a message they leave neutral that the complaint model
    reads as a complaint (or as praise) is labelled negative (or positive) with that score.
    Never raises on any string.
    """
    if not isinstance(text, str) or not text:
        return Analysis("neutral", 0.0)
    original = text
    text, tokens = _prepared(text, typographic=True)
    if not tokens:
        return Analysis("neutral", 0.0)
    data = fb.load() if data is None else data
    lex = _merged(data)
    t = _Text(tokens, lex, negation_prior)
    layer = _Feedback(t, [line.split() for line in text.splitlines()], data, explain)
    layer.before()
    valences = t.valences()
    vader = list(valences) if explain else valences
    layer.after(valences)
    turn = _turn(t.lower, _BUT | data.contrast)
    weighted = _but(valences, turn)
    compound = _compound(text, weighted)
    label = words_label = _label(compound)
    verdict = None
    # a polar label the words are sure of takes more to overturn
    sign = {"positive": 1.0, "negative": -1.0}.get(label, 0.0)
    sure = bool(sign) and (compound * sign > SURE or layer.decided(valences, sign))
    if layer.shaped + layer.wordless() < len(layer.sentences) or label == "negative":
        # not all asks, uses and courtesies, or a complaint by its words: the complaint model
        # reads it (and, the first time in a process, its counts are read). A question or a
        # request whose words read a complaint names a topic more often than a fault ("Does the
        # VPN have a kill switch?", "Is there a way to freeze the top row?")
        model = cm.load() if complaints is None else complaints
        contrast = _praise_then_complaint(valences, turn)
        verdict = model.judge(original, words_label, sure=sure, contrast=contrast)
        if verdict is not None and verdict.label is not None:
            label = verdict.label
    if not explain:
        return Analysis(label, compound)
    words = tuple(
        Word(t.lower[i] if i in layer.heads else tokens[i], round(v, 3), layer.source(i, lex))
        for i, v in enumerate(weighted)
        if v
    )
    rules = list(layer.notes or ())
    rules += _general_notes(t, vader, valences, weighted, text)
    if verdict is not None and verdict.label is not None:
        heaviest = ", ".join(f"'{f.replace('_', ' ')}' {w:+.2f}" for f, w in verdict.weights)
        shape = {"negative": "a complaint", "positive": "praise"}.get(verdict.label, "neutral")
        # a complaint or praise cleared is below its clearing, any other label above its threshold
        than = "<" if verdict.label == "neutral" else ">"
        by_words = f"{words_label} by its words"
        if sure:  # overturned or cleared past the sure margin
            by_words += f" (sure: past the sure margin {model.settings.margin:g})"
        rules.append(
            f"complaint model: {by_words}, {shape} by its shape ({verdict.reading} "
            f"{verdict.log_odds:+.2f} {than} {verdict.threshold:.1f}; heaviest: "
            f"{heaviest})"
        )
    return Analysis(label, compound, words, tuple(rules))


def _general_notes(
    t: _Text, vader: list[float], valences: list[float], weighted: list[float], text: str
) -> list[str]:
    """VADER's rules that applied, in words: negation flips (`vader`: the valences VADER's rules
    gave), contrast (`weighted`: `valences` after it), emphasis."""
    notes = []
    for i, v in enumerate(vader):
        base = t.base[i]
        if base is not None and v * base < 0 and not t.fixed[i]:
            window = range(i - 1, max(t.floor[i], i - 3) - 1, -1)
            negator = next((t.lower[j] for j in window if t.neg[j] or t.lower[j] == "no"), "")
            notes.append(f"negation: '{negator or 'least'}' flips '{t.lower[i]}'")
    if any(w != v for w, v in zip(weighted, valences, strict=True)):
        notes.append("contrast 'but': words before it count ×0.5, after it ×1.5")
    emphasis = _punctuation(text)
    if emphasis and sum(weighted):
        notes.append(f"emphasis '!'/'?': {emphasis:+.3f} toward the sign of the sum")
    return notes


def classify(text: str) -> Label:
    """Label product feedback "positive", "neutral" or "negative" (never raises on any string)."""
    return analyse(text, explain=False).label
