"""Behaviour of lambdas.common.sentiment as a user of POST /feedback would see it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lambdas.common import sentiment
from lambdas.common.sentiment import LABELS, classify, score

REPO = Path(__file__).resolve().parents[2]
DATA = REPO.parent / "shared" / "data" / "amazon_review_snippets.tsv"


def _dataset() -> list[tuple[float, str]]:
    if not DATA.is_file():
        pytest.skip(f"labelled data set not found at {DATA} (it lives in shared/, beside the repo)")
    rows = []
    for line in DATA.read_text(encoding="utf-8").splitlines():
        if line.strip():
            _, rating, text = line.split("\t", 2)
            rows.append((float(rating), text))
    return rows


def _gold(rating: float) -> str:
    return "positive" if rating >= 0.5 else "negative" if rating <= -0.5 else "neutral"


# --- what a user sees -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The food was good.", "positive"),
        ("I love it", "positive"),
        ("Great product, would buy again!", "positive"),
        ("Terrible. Broke after one day.", "negative"),
        ("The food was not good.", "negative"),
        ("I do not love it", "negative"),
        ("The food was not bad.", "positive"),
        ("The food was good, but the service was terrible.", "negative"),
        ("The food was terrible, but the service was good.", "positive"),
        ("Today SUX!", "negative"),
        (":)", "positive"),
        (":(", "negative"),
        ("Love it 😍", "positive"),
        ("The meeting is at 3pm in room 204.", "neutral"),
    ],
)
def test_classify_reads_plain_sentences(text: str, expected: str) -> None:
    assert classify(text) == expected


def test_negation_flips_polarity() -> None:
    assert classify("good") == "positive"
    assert classify("not good") == "negative"
    assert score("not good") < 0 < score("good")
    assert classify("isn't great") == "negative"
    assert classify("This is never good.") == "negative"


def test_but_makes_the_second_clause_dominant() -> None:
    assert score("The food was good, but the service was terrible.") < 0
    assert score("The food was terrible, but the service was good.") > 0
    # the clause before "but" counts for less than on its own
    assert abs(score("It was good, but")) < abs(score("It was good"))


def test_emphasis_strengthens_and_hedges_weaken() -> None:
    plain = score("The food was good.")
    assert score("The food was good!!!") > plain
    assert score("The food was GOOD.") > plain
    assert score("The food was extremely good.") > plain
    assert score("The food was kind of good.") < plain
    assert score("The food was bad!!!") < score("The food was bad.")


def test_least_negates_but_at_least_does_not() -> None:
    assert score("It is one of the least compelling stories.") < 0
    assert score("It is at least compelling as a story.") > 0


def test_a_bare_negation_leans_negative() -> None:
    # The one rule beyond VADER: a negator carries a small negative valence of its own.
    assert classify("The door would not close.") == "negative"
    assert classify("It never works.") == "negative"
    assert score("The door would not close.", negation_prior=0.0) == 0.0


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "\n\t  \r\n",
        "😀😀😀",
        "💩",
        "🙂🙃😐",
        "!!!???",
        "....",
        ":-) :-( ;-)",
        "\x00\x01\x7f",
        "ｇｏｏｄ Ça marche très bien 日本語のテキスト",
        "a" * 100_000,
        "good " * 5_000,
        "not " * 2_000 + "bad",
        "BUT but But " * 100,
        "least least at least very least",
        "no no no no",
        "kind of",
        "\ud800 lone surrogate",
    ],
)
def test_any_text_gives_one_of_three_labels(text: str) -> None:
    assert classify(text) in LABELS
    assert -1.0 <= score(text) <= 1.0


def test_empty_and_whitespace_are_neutral() -> None:
    for text in ("", "   ", "\n\t"):
        assert classify(text) == "neutral"
        assert score(text) == 0.0


def test_labels_are_exactly_the_three() -> None:
    assert set(LABELS) == {"positive", "neutral", "negative"}
    texts = ["great", "awful", "table", "not great", "😍", ""]
    assert {classify(t) for t in texts} == set(LABELS)


# --- packaging and weight ---------------------------------------------------------------------


def test_lexicon_file_sits_beside_the_module_with_its_licence() -> None:
    path = sentiment.LEXICON_PATH
    assert path.parent == Path(sentiment.__file__).parent
    assert path.suffix == ".txt"  # matched by the "lambdas.common" package-data pattern
    head = path.read_text(encoding="utf-8")[:3000]
    assert "MIT License" in head
    assert "C.J. Hutto" in head


def test_lexicon_loads_words_and_emoji() -> None:
    words, emoji = sentiment._vader(), sentiment._emoji()
    assert words.get("good") == pytest.approx(1.9)
    assert words.get("no") == pytest.approx(-1.2)
    assert "good" in words
    assert "tuesday" not in words
    assert words.get("tuesday") is None
    assert emoji["😍"] == "smiling face with heart-eyes"


def _rows() -> dict[str, dict[str, str]]:
    """The lexicon file's rows by section, read line by line."""
    rows: dict[str, dict[str, str]] = {}
    section = ""
    for line in sentiment.LEXICON_PATH.read_text(encoding="utf-8").splitlines():
        if line.startswith("#@"):
            section = line[2:]
        elif line and not line.startswith("#"):
            key, value = line.split("\t")
            rows.setdefault(section, {})[key] = value
    return rows


def test_lexicon_holds_every_row_of_the_file_read_line_by_line() -> None:
    """Words are found by bisection over the rows: every row, and nothing between them."""
    rows = _rows()
    assert set(rows) == {"words", "emoji"}
    assert len(rows["words"]) > 7000
    words = sentiment._lexicon()  # nothing remembered yet
    for key, value in rows["words"].items():
        assert words.get(key) == float(value), key
    for key in rows["words"]:
        for other in (key[:-1], key + "a", key + "\x01", key.upper()):
            assert words.get(other) == (
                float(rows["words"][other]) if other in rows["words"] else None
            ), other
    assert sentiment._emoji() == rows["emoji"]


def test_the_lexicons_words_are_sorted_by_their_bytes_for_bisection() -> None:
    keys = [key.encode() + b"\t" for key in _rows()["words"]]
    assert keys == sorted(keys)
    assert len(keys) == len(set(keys))


def test_the_feedback_words_answer_before_vaders() -> None:
    merged = sentiment._lexicon({"crashes": -1.7, "honestly": None})
    assert merged.get("crashes") == -1.7
    assert merged.get("honestly") is None  # VADER's +2.0 judges nothing in feedback
    assert "honestly" not in merged
    assert sentiment._vader().get("honestly") == pytest.approx(2.0)
    assert merged.get("good") == pytest.approx(1.9)


def test_words_seen_are_remembered_within_a_bound(monkeypatch) -> None:
    monkeypatch.setattr(sentiment.cm, "KEPT", 3)
    words = sentiment._lexicon({"crashes": -1.7})
    for word in ("good", "bad", "tuesday", "wednesday"):
        words.get(word)
    assert len(words) <= 3
    assert words.get("crashes") == -1.7  # the known words outlive the forgetting
    assert words.get("good") == pytest.approx(1.9)


def test_a_lexicon_row_that_is_not_two_cells_is_refused(tmp_path, monkeypatch) -> None:
    broken = tmp_path / "lexicon.txt"
    broken.write_text("# comment\n#@words\nbad\ngood\t1.9\n#@emoji\n", encoding="utf-8")
    monkeypatch.setattr(sentiment, "LEXICON_PATH", broken)
    sentiment._sections.cache_clear()
    try:
        with pytest.raises(ValueError, match="a row of section words is not two cells"):
            sentiment._sections()
    finally:
        sentiment._sections.cache_clear()


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("#@words\ngood\t1.9\n", None),  # the section's header on the first line
        ("# comment\n#@words\nbad\t-2.5\ngood\t1.9", None),  # no line end after the last row
        ("# comment\ngood\t1.9\n", "no section words"),
    ],
)
def test_the_words_section_is_found_wherever_it_starts(tmp_path, monkeypatch, text, error):
    lexicon = tmp_path / "lexicon.txt"
    lexicon.write_text(text, encoding="utf-8")
    monkeypatch.setattr(sentiment, "LEXICON_PATH", lexicon)
    sentiment._sections.cache_clear()
    try:
        if error is None:
            assert sentiment._lexicon().get("good") == 1.9
        else:
            with pytest.raises(ValueError, match=error):
                sentiment._sections()
    finally:
        sentiment._sections.cache_clear()


def test_the_lexicon_is_read_as_written_with_windows_line_ends(tmp_path, monkeypatch) -> None:
    crlf = tmp_path / "lexicon.txt"
    crlf.write_bytes(
        b"# comment\r\n#@words\r\nbad\t-2.5\r\ngood\t1.9\r\n#@emoji\r\n\xf0\x9f\x98\x8d\tlove\r\n"
    )
    monkeypatch.setattr(sentiment, "LEXICON_PATH", crlf)
    for cache in (sentiment._sections, sentiment._emoji):
        cache.cache_clear()
    try:
        words = sentiment._lexicon()
        assert (words.get("bad"), words.get("good"), words.get("goo")) == (-2.5, 1.9, None)
        assert sentiment._emoji() == {"😍": "love"}
    finally:
        for cache in (sentiment._sections, sentiment._emoji):
            cache.cache_clear()


def test_import_uses_the_standard_library_only() -> None:
    code = (
        "import sys\n"
        "before = set(sys.modules)\n"
        "import lambdas.common.sentiment as s\n"
        "s.classify('warm up: loads the lexicon')\n"
        "new = {m.split('.')[0] for m in set(sys.modules) - before}\n"
        "print(sorted(new - set(sys.stdlib_module_names) - {'lambdas'}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


# --- faithful to VADER, better on the labelled reviews ----------------------------------------

VADER_SENTENCES = [
    "VADER is smart, handsome, and funny.",
    "VADER is VERY SMART, uber handsome, and FRIGGIN FUNNY!!!",
    "VADER is not smart, handsome, nor funny.",
    "At least it isn't a horrible book.",
    "The book was only kind of good.",
    "The plot was good, but the characters are uncompelling and the dialog is not great.",
    "Today only kinda sux! But I'll get by, lol",
    "Make sure you :) or :D today!",
    "Catch utf-8 emoji such as 💘 and 💋 and 😁",
    "Not bad at all",
    "Sentiment analysis has never been this good!",
    "With VADER, sentiment analysis is the shit!",
    "On the other hand, VADER is quite bad ass",
    "Without a doubt, an excellent idea.",
    "Roger Dodger is one of the least compelling variations on this theme.",
    "Not such a badass after all.",
    "No problem, no worries, no or nor good.",
    "Why?? Why??? WHY????",
    "I'm SO happy but SOMEWHAT tired",
]


def test_core_matches_vadersentiment_exactly() -> None:
    vader = pytest.importorskip("vaderSentiment.vaderSentiment")
    analyzer = vader.SentimentIntensityAnalyzer()
    texts = VADER_SENTENCES + ([t for _, t in _dataset()] if DATA.is_file() else [])
    mismatched = [
        t
        for t in texts
        if score(t, negation_prior=0.0) != pytest.approx(analyzer.polarity_scores(t)["compound"])
    ]
    assert mismatched == []


def test_accuracy_on_labelled_reviews_meets_goal() -> None:
    rows = _dataset()
    correct = sum(classify(text) == _gold(rating) for rating, text in rows)
    assert correct / len(rows) >= 0.62


def test_accuracy_not_below_plain_vader() -> None:
    vader = pytest.importorskip("vaderSentiment.vaderSentiment")
    analyzer = vader.SentimentIntensityAnalyzer()
    rows = _dataset()

    def vader_label(text: str) -> str:
        c = analyzer.polarity_scores(text)["compound"]
        return "positive" if c >= 0.05 else "negative" if c <= -0.05 else "neutral"

    ours = sum(classify(t) == _gold(r) for r, t in rows)
    theirs = sum(vader_label(t) == _gold(r) for r, t in rows)
    assert ours >= theirs
