"""Sentiment of a feedback message: `classify(text)` -> "positive" | "neutral" | "negative".

Owns the rule/lexicon scorer (a stdlib-only reimplementation of VADER's rules over its vendored
lexicon, `sentiment_lexicon.txt`) and the one calibrated constant on top of it. See
docs/sentiment.md for the method, the tuning and the measured figures.
"""

from __future__ import annotations

import functools
import math
import string
import unicodedata
from pathlib import Path
from typing import Final, Literal

Label = Literal["positive", "neutral", "negative"]
LABELS: Final[tuple[Label, ...]] = ("positive", "neutral", "negative")

LEXICON_PATH: Final = Path(__file__).with_name("sentiment_lexicon.txt")

# --- VADER's empirically derived constants (Hutto & Gilbert 2014) ---------------------------
B_INCR: Final = 0.293  # booster ("very") adds this much intensity
B_DECR: Final = -0.293  # dampener ("slightly")
C_INCR: Final = 0.733  # ALL-CAPS word among non-caps words
N_SCALAR: Final = -0.74  # negation flips and damps
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
NEGATION_PRIOR: Final = -0.8

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


@functools.cache
def _load() -> tuple[dict[str, float], dict[str, str]]:
    """Read the vendored lexicon once per process (a few ms; later calls are free)."""
    words: dict[str, float] = {}
    emoji: dict[str, str] = {}
    section = ""
    for line in LEXICON_PATH.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            section = line[2:] if line.startswith("#@") else section
            continue
        key, _, value = line.partition("\t")
        if not value:
            continue
        if section == "words":
            words[key] = float(value)
        elif section == "emoji":
            emoji[key] = value
    return words, emoji


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


class _Sentence:
    """One text, tokenised, with the per-token valences VADER's rules assign."""

    __slots__ = ("cap_diff", "lex", "lower", "n", "negation_prior", "tokens")

    def __init__(self, tokens: list[str], lex: dict[str, float], negation_prior: float) -> None:
        self.tokens = tokens
        self.negation_prior = negation_prior
        self.lower = [t.lower() for t in tokens]
        self.n = len(tokens)
        self.lex = lex
        caps = sum(1 for t in tokens if t.isupper())
        self.cap_diff = 0 < caps < self.n  # some, not all, words in CAPS

    def valences(self) -> list[float]:
        lower, lex = self.lower, self.lex
        out: list[float] = []
        for i, word in enumerate(lower):
            base = lex.get(word)
            if base is None:
                out.append(self.negation_prior if _is_negation(word) else 0.0)
            elif word in BOOSTERS or (word == "kind" and i + 1 < self.n and lower[i + 1] == "of"):
                out.append(0.0)
            else:
                out.append(self._valence(i, base))
        return out

    def _valence(self, i: int, base: float) -> float:
        lower, lex = self.lower, self.lex
        valence = base
        # "no" before a sentiment word negates it rather than counting as a negative word
        if lower[i] == "no" and i + 1 < self.n and lower[i + 1] in lex:
            valence = 0.0
        if (
            (i > 0 and lower[i - 1] == "no")
            or (i > 1 and lower[i - 2] == "no")
            or (i > 2 and lower[i - 3] == "no" and lower[i - 1] in ("or", "nor"))
        ):
            valence = base * N_SCALAR
        if self.cap_diff and self.tokens[i].isupper():
            valence += C_INCR if valence > 0 else -C_INCR
        # up to three preceding non-lexicon words: boosters (decaying with distance) and negation
        for dist in range(3):
            j = i - dist - 1
            if j < 0 or lower[j] in lex:
                continue
            valence += self._boost(j, valence) * (1.0, 0.95, 0.9)[dist]
            valence = self._negation(valence, i, dist)
            if dist == 2:
                valence = self._idioms(valence, i)
        return self._least(valence, i)

    def _boost(self, j: int, valence: float) -> float:
        scalar = BOOSTERS.get(self.lower[j], 0.0)
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
        return valence * N_SCALAR if _is_negation(lower[i - dist - 1]) else valence

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
        if i > 0 and lower[i - 1] == "least" and not (i > 1 and lower[i - 2] in ("at", "very")):
            return valence * N_SCALAR  # "the least useful", but not "at least useful"
        return valence


def _but(lower: list[str], valences: list[float]) -> list[float]:
    """Contrast: sentiment after the first "but" outweighs sentiment before it."""
    try:
        b = lower.index("but")
    except ValueError:
        return valences
    return [
        v * BUT_BEFORE if k < b else v * BUT_AFTER if k > b else v for k, v in enumerate(valences)
    ]


def _punctuation(text: str) -> float:
    """Emphasis from "!" (up to 4) and from "??"/"???" (capped at 4+)."""
    qm = text.count("?")
    qm_amp = 0.0 if qm < 2 else qm * QM_INCR if qm <= 3 else QM_MAX
    return min(text.count("!"), 4) * EP_INCR + qm_amp


def score(text: str, *, negation_prior: float = NEGATION_PRIOR) -> float:
    """Compound score of `text` in [-1, 1] (0.0 for empty or sentiment-free text).

    `negation_prior=0.0` gives vaderSentiment 3.3.2's compound score (identical on every row of
    the labelled data set), except that "but" weighs by position (VADER's list.index() mis-weights
    repeated values) and an emoji is split from the words it touches.
    """
    if not isinstance(text, str) or not text:
        return 0.0
    lex, emoji = _load()
    if not text.isascii():
        text = _replace_emoji(text, emoji)
    tokens = _tokens(text)
    if not tokens:
        return 0.0
    sentence = _Sentence(tokens, lex, negation_prior)
    total = sum(_but(sentence.lower, sentence.valences()))
    if total > 0:
        total += _punctuation(text)
    elif total < 0:
        total -= _punctuation(text)
    compound = total / math.sqrt(total * total + ALPHA)
    return round(max(-1.0, min(1.0, compound)), 4)


def classify(text: str) -> Label:
    """Label `text` "positive", "neutral" or "negative" (never raises on any string)."""
    compound = score(text)
    if compound >= THRESHOLD:
        return "positive"
    if compound <= -THRESHOLD:
        return "negative"
    return "neutral"
