"""The product-feedback knowledge of the sentiment scorer, read from data, and where it occurs.

Owns reading the two data files beside this module (sentiment_feedback_lexicon.txt: words,
phrases and verbs of function with their valences; sentiment_feedback_rules.txt: the word lists
of the rules) and finding their entries in a message: phrases, word patterns, sentences and the
shapes that make a sentence neutral (questions, requests, descriptions of use).
lambdas/common/sentiment.py applies what is found to VADER's valences. Standard library only;
the files are read once per process, on first use.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Final, NamedTuple

LEXICON_PATH: Final = Path(__file__).with_name("sentiment_feedback_lexicon.txt")
RULES_PATH: Final = Path(__file__).with_name("sentiment_feedback_rules.txt")

ORIGINS: Final = ("issue16", "form", "domain", "idiom", "dev")
NEG: Final = "NEG"  # in a rule pattern: any negator
ANY: Final = "*"  # in a rule pattern: up to ANY_SPAN other words
ANY_SPAN: Final = 4
# Closing characters that may follow a sentence's final punctuation ('done."', "(really?)").
_CLOSERS: Final = "\"')]}*"


class Entry(NamedTuple):
    """One lexicon entry: its valence, where it comes from, where its number comes from."""

    valence: float
    origin: str  # issue16 | form | domain | idiom | broad | shared | news | dev:IDS
    source: str  # =WORD (VADER's rating of WORD) | scale:mild|clear|strong | sense
    otherwise: float = 0.0  # a negated verb's valence when it is not negated
    family: str = ""  # the origin of the entry a "form" follows (its own origin otherwise)

    @property
    def dev_ids(self) -> frozenset[int]:
        """The development-set messages the entry (or the entry it is a form of) came from."""
        family = self.family or self.origin
        if not family.startswith("dev:"):
            return frozenset()
        return frozenset(int(i) for i in family[4:].split(","))


class Match(NamedTuple):
    """A pattern found at words[at:stop] (`stop` past the words "*" stood for)."""

    at: int
    text: str
    stop: int


class Patterns:
    """Word sequences indexed by first word; `match` finds the longest one at a position."""

    __slots__ = ("_by_first", "entries", "first")

    def __init__(self, rows: Iterable[tuple[str, Entry]]) -> None:
        self.entries: dict[str, Entry] = {}
        by_first: dict[str, list[tuple[list[str], bool, str]]] = {}
        for text, entry in rows:
            self.entries[text] = entry
            words = text.lstrip("^").split(" ")
            by_first.setdefault(words[0], []).append((words, text.startswith("^"), text))
        for candidates in by_first.values():
            candidates.sort(key=lambda c: -len(c[0]))
        self._by_first = by_first
        self.first = frozenset(by_first)  # a cheap test before `match`

    def match(self, words: Sequence[str], i: int, end: int, *, start: bool) -> str | None:
        """The longest pattern at words[i:] ending by `end` (anchored ones only if `start`)."""
        found = self._match(words, i, end, start=start)
        return None if found is None else found[0]

    def _match(
        self, words: Sequence[str], i: int, end: int, *, start: bool
    ) -> tuple[str, int] | None:
        """`match`'s pattern and where its match ends (past the words "*" stood for)."""
        for seq, anchored, text in self._by_first.get(words[i], ()):
            if anchored and not start:
                continue
            if ANY in seq:
                stop = match_end(words, i, end, seq)
                if stop is not None:
                    return text, stop
            elif i + len(seq) <= end and words[i : i + len(seq)] == seq:
                return text, i + len(seq)
        return None

    def find(self, words: Sequence[str], a: int, b: int, *, first: int) -> Match | None:
        """The first pattern in words[a:b] (`first` is the sentence start)."""
        return next(self.scan(words, a, b, first=first), None)

    def scan(
        self, words: Sequence[str], a: int, b: int, *, first: int = -1, end: int = -1
    ) -> Iterator[Match]:
        """Each position in words[a:b] where a pattern starts (ending by `end`, default b), with
        the longest one there; anchored patterns only at `first`."""
        starts, end = self.first, b if end < 0 else end
        if starts.isdisjoint(words[a:b]):
            return  # the common case, decided in C
        for i in range(a, b):
            if words[i] in starts:
                found = self._match(words, i, end, start=i == first)
                if found is not None:
                    yield Match(i, *found)


class FeedbackData:
    """Everything both files say, parsed; see the files' headers for what each part means."""

    __slots__ = (
        "after",
        "boosters",
        "cease",
        "contrast",
        "courtesy",
        "critique",
        "degree",
        "ended",
        "flip",
        "functional",
        "lasting",
        "negated",
        "negators",
        "numbers",
        "past",
        "phrases",
        "plain",
        "question",
        "question_start",
        "repair",
        "request",
        "units",
        "use",
        "words",
    )

    def __init__(
        self,
        lexicon: dict[str, list[tuple[str, Entry]]],
        rules: dict[str, list[tuple[str, Entry]]],
    ) -> None:
        self.words: dict[str, Entry] = dict(lexicon.get("words", []))
        self.phrases = Patterns(lexicon.get("phrases", []))
        self.negated: dict[str, Entry] = dict(lexicon.get("negated", []))
        single = {name: frozenset(text for text, _ in rules.get(name, [])) for name in rules}
        self.boosters = single.get("boosters", frozenset())
        self.degree = single.get("degree", frozenset())
        self.contrast = single.get("contrast", frozenset())
        self.flip = single.get("flip", frozenset())
        self.question = single.get("question", frozenset())
        self.functional = single.get("functional", frozenset())
        self.courtesy = single.get("courtesy", frozenset())
        # a word that ends the problem before it ("gone") is a repair word too
        self.ended = single.get("ended", frozenset())
        self.repair = single.get("repair", frozenset()) | self.ended
        self.cease = single.get("cease", frozenset())
        self.lasting = single.get("lasting", frozenset())
        self.units = _valued(rules.get("units", []))
        self.numbers = _valued(rules.get("numbers", []))
        self.after = Patterns(rules.get("after", []))
        self.plain = Patterns(rules.get("plain", []))
        self.question_start = Patterns(rules.get("question_start", []))
        self.request = Patterns(rules.get("request", []))
        self.use = Patterns(rules.get("use", []))
        self.critique = Patterns(rules.get("critique", []))
        self.past = Patterns(rules.get("past", []))
        self.negators = Patterns(rules.get("negators", []))

    def without(self, dev_ids: frozenset[int]) -> FeedbackData:
        """A copy without the entries derived from any of the given development-set messages.

        What cross-validation scores a held-out fold with: knowledge none of that fold's
        messages supplied (an entry read from messages in two folds is left out of both, so it
        never scores a message it came from).
        """
        lexicon, rules = _read_both()

        def keep(rows: list[tuple[str, Entry]]) -> list[tuple[str, Entry]]:
            return [(t, e) for t, e in rows if e.dev_ids.isdisjoint(dev_ids)]

        return FeedbackData(
            {k: keep(v) for k, v in lexicon.items()}, {k: keep(v) for k, v in rules.items()}
        )


def _valued(rows: list[tuple[str, Entry]]) -> dict[str, float]:
    """Entries written "word=value" ("minutes=60"), as a word's value."""
    return {word: float(value) for word, value in (text.split("=") for text, _ in rows)}


def match_end(words: Sequence[str], i: int, end: int, seq: Sequence[str]) -> int | None:
    """Where the first match of `seq` at words[i:end] ends (ANY skipping the fewest words that
    let the rest match, none at the least), or None when it does not occur there."""
    for k, want in enumerate(seq):
        if want == ANY:
            rest = seq[k + 1 :]
            for j in range(i, min(end, i + ANY_SPAN) + 1):
                found = match_end(words, j, end, rest)
                if found is not None:
                    return found
            return None
        if i >= end or words[i] != want:
            return None
        i += 1
    return i


def _parse(path: Path, valued: bool) -> dict[str, list[tuple[str, Entry]]]:
    """Sections ('#@name') of tab-separated rows; '#' lines are comments.

    A cold start builds some two thousand entries: each section's text is split off whole, and
    an entry is made as the tuple it is (`tuple.__new__`, without the NamedTuple's `__new__`
    in Python)."""
    sections: dict[str, list[tuple[str, Entry]]] = {}
    new = tuple.__new__
    for block in ("\n" + path.read_text(encoding="utf-8")).split("\n#@")[1:]:
        name, _, body = block.partition("\n")
        rows = sections.setdefault(name.split()[0], [])
        family = ""
        for line in body.splitlines():
            if not line or line[0] == "#":
                continue
            cols = line.split("\t")
            negated = valued and len(cols) == 5  # a negated verb: valence when negated, otherwise
            origin = cols[3] if negated else cols[2] if valued else cols[1]
            if origin != "form":
                family = origin
            if not valued:
                rows.append((cols[0], new(Entry, (0.0, origin, "", 0.0, family))))
            elif negated:
                entry = new(Entry, (float(cols[1]), origin, cols[4], float(cols[2]), family))
                rows.append((cols[0], entry))
            else:
                rows.append((cols[0], new(Entry, (float(cols[1]), origin, cols[3], 0.0, family))))
    return sections


@functools.cache
def _read_both() -> tuple[dict[str, list[tuple[str, Entry]]], dict[str, list[tuple[str, Entry]]]]:
    return _parse(LEXICON_PATH, valued=True), _parse(RULES_PATH, valued=False)


@functools.cache
def load() -> FeedbackData:
    """The shipped knowledge, read once per process."""
    lexicon, rules = _read_both()
    return FeedbackData(lexicon, rules)


def sentences(lines: Sequence[Sequence[str]]) -> list[tuple[int, int, bool]]:
    """(start, end, is a question mark at the end) for each sentence, over the tokens of all lines.

    A sentence ends at a line's end or after a token ending in ".", "!" or "?" (closing quotes
    and brackets aside).
    """
    out: list[tuple[int, int, bool]] = []
    start = pos = 0
    for line in lines:
        for tok in line:
            pos += 1
            tail = tok.rstrip(_CLOSERS)
            if tail and tail[-1] in ".!?":
                out.append((start, pos, "?" in tail[-3:]))
                start = pos
        if pos > start:
            out.append((start, pos, False))
            start = pos
    return out
