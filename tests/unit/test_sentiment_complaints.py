"""The complaint model of lambdas.common.sentiment_complaints: complaints told as facts are
negative and praise told as facts positive, the shapes of neutral messages and general text keep
their label, the shipped counts are the development sets', and the label's explanation names the
model."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path
from typing import Any

import pytest

from lambdas.common import sentiment_complaints as complaints
from lambdas.common.sentiment import SURE, Analysis, analyse, classify

REPO = Path(__file__).resolve().parents[2]


def _regenerate() -> Any:
    """benchmarks/regenerate_complaints.py as a module (benchmarks/ is not a package)."""
    spec = importlib.util.spec_from_file_location(
        "regenerate_complaints", REPO / "benchmarks" / "regenerate_complaints.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _shipped(model: type[complaints.Model] = complaints.Model, **settings: float) -> Any:
    """The shipped counts read as `load` reads them (the table's bytes; no feature parsed), with
    some settings replaced."""
    totals, data, start = complaints._read(complaints.PATH)
    return model(totals, table=data, table_start=start, **settings)


def _model_note(result: Analysis) -> str:
    """The complaint model's line of an explanation (there is exactly one)."""
    [note] = [r for r in result.rules if r.startswith("complaint model:")]
    return note


class Spy(complaints.Model):
    """A model that answers nothing and records the messages `analyse` asked it about, the
    label their words gave each and whether the words were sure of it."""

    def __init__(self) -> None:
        super().__init__(complaints.Counts(0, 0, 0, 0, {}))
        self.asked: list[str] = []
        self.words: list[str] = []
        self.sure: list[bool] = []

    def judge(
        self, text: str, words: str = "neutral", *, sure: bool = False, contrast: bool = False
    ) -> complaints.Verdict | None:
        self.asked.append(text)
        self.words.append(words)
        self.sure.append(sure)
        return None


def test_the_shipped_counts_are_the_development_sets():
    # Regenerating from benchmarks/data/{product_feedback,news}_dev.tsv changes nothing: the
    # model holds nothing but what those two sets say (no test set, no hand edits).
    regenerate = _regenerate()
    shipped = complaints.read_counts()
    counted = complaints.count(regenerate.feedback_rows(), regenerate.news_texts())
    assert shipped == counted
    rows = regenerate.feedback_rows()
    assert (shipped.negative, shipped.neutral, shipped.positive) == tuple(
        sum(label == kind for label, _ in rows) for kind in ("negative", "neutral", "positive")
    )
    assert shipped.negative + shipped.neutral + shipped.positive == len(rows) >= 1700
    assert shipped.news == len(regenerate.news_texts()) == 300


def test_the_feature_lines_are_sorted_for_bisection():
    # The model finds a feature's line by bisection on the lines as written: they must be in
    # the order of their features, which holds because a tab sorts before every character a
    # feature can hold.
    _totals, data, start = complaints._read(complaints.PATH)
    lines = data[start:].decode().splitlines()
    assert lines == sorted(lines)
    assert [line.split("\t")[0] for line in lines] == sorted(line.split("\t")[0] for line in lines)
    assert all(char > "\t" for char in "abcdefghijklmnopqrstuvwxyz0123456789'_")


def test_bisection_finds_exactly_the_feature_among_its_neighbours(tmp_path):
    path = tmp_path / "counts.txt"
    names = ["a1", "a_1", "don", "don't", "don_t", "dont", "don_t_x"]
    complaints.write([("negative", " ".join(names[:1]))], [], path)  # a header and totals
    totals, _, _ = complaints._read(path)
    counts = {name: (i + 1, i + 2, i + 3, i + 4) for i, name in enumerate(names)}
    lines = sorted("\t".join((n, *map(str, seen))) for n, seen in counts.items())
    sized = totals._replace(neutral=5, positive=5, news=5)
    model = complaints.Model(sized, table="".join(f"{line}\n" for line in lines).encode())
    parsed = complaints.Model(sized._replace(features=counts))
    for name in names:
        assert model.ratios(name) == parsed.ratios(name) is not None
    for absent in ("do", "don'", "don_", "a", "a_", "zzz", ""):
        assert model.ratios(absent) is None


def test_bisection_over_the_shipped_table_finds_every_line_and_nothing_else():
    # The shipped table is never decoded or split into lines: each probe moves to the start of
    # the line it lands in. Every feature is found, at its own line; a key between two lines,
    # before the first or after the last is not.
    _totals, table, start = complaints._read(complaints.PATH)
    assert table[:start].startswith(b"#")  # the header, before the first feature line
    lines = table[start:].splitlines()
    assert len(lines) > 10_000
    for line in lines:
        assert complaints.find_line(table, line.split(b"\t")[0] + b"\t", start) == line
    for line in lines[::97]:
        feature = line.split(b"\t")[0]
        assert complaints.find_line(table, feature + b"\x01\t", start) is None
        assert complaints.find_line(table, feature[:-1] + b"\t", start) in (None, *lines)
    assert complaints.find_line(table, b"\t", start) is None
    assert complaints.find_line(table, b"#messages\t", start) is None  # a header line is not found
    assert complaints.find_line(table, b"\xff\t", start) is None
    assert complaints.find_line(b"", b"still\t") is None
    # a feature is ASCII (the model's words are [a-z0-9']), so its bytes sort as its text
    assert all(line.isascii() for line in lines)


def test_features_are_words_and_adjacent_pairs():
    assert complaints.features("Still LOADING… since the update’s release") == {
        "still",
        "loading",
        "since",
        "the",
        "update's",
        "release",
        "still_loading",
        "loading_since",
        "since_the",
        "the_update's",
        "update's_release",
    }


@pytest.mark.parametrize(
    ("text", "label", "shape", "threshold"),
    [
        # Complaints that name no fault and praise that names no praise word (written for this
        # test, in no data set): the words alone leave them neutral.
        *(
            (text, "negative", "a complaint", complaints.THRESHOLD)
            for text in (
                "My invoices still show last month after the update.",
                "The calendar widget shows yesterday until I restart the app.",
                "It takes six taps to reach the export screen now.",
            )
        ),
        *(
            (text, "positive", "praise", complaints.PRAISE_THRESHOLD)
            for text in ("Set up the printer for the whole office before lunch.",)
        ),
    ],
)
def test_a_complaint_or_praise_told_as_a_fact_gets_its_label(text, label, shape, threshold):
    words_only = analyse(text, complaints=complaints.OFF)
    assert words_only.label == "neutral"
    result = analyse(text)

    assert result.label == classify(text) == label
    assert result.score == words_only.score  # the words' score
    note = _model_note(result)
    assert f"neutral by its words, {shape} by its shape (log-odds +" in note
    assert f"> {threshold:.1f}" in note


@pytest.mark.parametrize(
    "text",
    [
        "Please add an export to PDF",
        "Please add an export to PDF. Thanks!",
        "Hi! Can I change the currency in the invoices?",
        "I use the app every morning to plan my day.",
        "Please add dark mode... ...",
    ],
)
def test_questions_requests_and_descriptions_are_not_asked(text):
    spy = Spy()
    assert analyse(text, complaints=spy).label == "neutral"
    assert spy.asked == []
    assert analyse(text).label == "neutral"


@pytest.mark.parametrize(
    "text",
    [
        "The governor has not said whether she will sign the measure.",
        "The trial is expected to last about six weeks, and more than 40 witnesses may be called.",
        "The central bank left interest rates unchanged for a third consecutive meeting.",
    ],
)
def test_news_is_not_read_by_the_model(text):
    # Each reads as a complaint or as praise by its shape, but its product-over-news log-odds
    # are far below the gate: the model gives no verdict, so news keeps the label its
    # words give.
    model = complaints.load()
    reading = model.read(text)
    assert max(reading.complaint, reading.praise) > complaints.THRESHOLD
    assert reading.product < complaints.GATE - 9
    assert model.judge(text) is None
    assert classify(text) == analyse(text, complaints=complaints.OFF).label


def test_the_model_hears_the_words_label_and_whether_they_are_sure():
    # The model hears every message but questions and requests, with the words' label and
    # whether they are sure of it: a compound beyond SURE, a rule that turned a word's sign
    # ("not slow"), a fault word of the feedback knowledge ("crashes").
    spy = Spy()
    texts = {
        "The new sync is fast and reliable.": "positive",  # compound 0.64: sure
        "The app is not slow.": "positive",  # negation turned "slow"
        "The app crashes constantly.": "negative",
        "The new version is okay.": "positive",  # compound 0.23: unsure
        "The meeting is at 3pm. I use the app for it.": "neutral",
        "Can I export to PDF?": "neutral",
    }
    assert {text: analyse(text, complaints=spy).label for text in texts} == texts
    assert spy.asked == list(texts)[:5]
    assert spy.words == ["positive", "positive", "negative", "positive", "neutral"]
    assert spy.sure == [True, True, True, False, False]
    assert analyse("The new sync is fast and reliable.").score > SURE
    # the shipped model keeps every label here
    assert {text: classify(text) for text in texts} == texts


def test_the_counts_are_read_on_the_first_message_the_model_reads():
    # A cold start that only meets questions and requests does not read the counts.
    complaints.load.cache_clear()
    classify("Can I export to PDF?")
    classify("Please add dark mode.")
    assert complaints.load.cache_info().currsize == 0
    classify("My invoices still show last month after the update.")
    assert complaints.load.cache_info().currsize == 1


@pytest.mark.parametrize(
    ("words", "complaint", "praise", "product", "label"),
    [
        ("neutral", 3.5, 0.0, 0.0, "negative"),  # above THRESHOLD 3
        ("neutral", 2.5, 3.5, 0.0, "positive"),  # above PRAISE_THRESHOLD 3
        ("neutral", 3.5, 9.0, 0.0, "negative"),  # the complaint reading decides first
        # ... unless the praise reading stands past PRAISE_OVERTURN 8 above it
        ("neutral", 3.5, 12.0, 0.0, "positive"),
        ("neutral", 2.5, 12.0, 0.0, "positive"),  # no complaint: praise above PRAISE_THRESHOLD
        ("neutral", 2.5, 2.5, 0.0, None),
        ("positive", 5.5, 0.0, 0.0, None),  # a complaint, but not above OVERTURN 6
        ("positive", 6.5, 0.0, 0.0, "negative"),
        # 6.5 over the praise reading, but not a complaint by the threshold (3): a request reads
        # as no praise, not as a complaint
        ("positive", 2.5, -4.0, 0.0, "neutral"),
        # a complaint above OVERTURN, but a praise reading that keeps it under: the shape reads
        # as praise too ("The food was good."), and the words' praise stands
        ("positive", 6.5, 1.0, 0.0, None),
        ("positive", 0.0, 99.0, 0.0, None),  # praise confirms what the words said
        ("positive", 0.0, 0.5, 0.0, None),  # not below PRAISE_CLEAR 0
        ("positive", 0.0, -0.5, 0.0, "neutral"),  # praise words in a shape that praises nothing
        ("positive", 6.0, -0.5, 0.0, "negative"),  # a complaint (6.5 over praise) first
        ("negative", 0.0, 7.5, 0.0, None),  # praise, but not above PRAISE_OVERTURN 8 over it
        ("negative", 0.0, 8.5, 0.0, "positive"),  # praise by its shape, past the overturn
        ("negative", 4.0, 11.5, 0.0, None),  # 7.5 over the complaint reading: not past it
        ("negative", 99.0, 0.0, 0.0, None),
        ("neutral", 99.0, 0.0, -6.5, None),  # below the gate: news keeps its words' label
        ("positive", 99.0, 0.0, -6.5, None),
        ("negative", 0.0, 99.0, -6.5, None),
    ],
)
def test_a_reading_labels_by_the_words_label_and_the_settings(
    words, complaint, praise, product, label
):
    cell = complaints.Settings(3.0, 3.0, -6.0, 6.0, praise_clear=0.0, praise_overturn=8.0)
    reading = complaints.Reading(complaint, praise, product, [])
    assert complaints.label_of(reading, words, cell)[0] == label
    verdict = complaints.verdict(reading, words, cell)
    assert (verdict is None) == (product < -6.0)
    if verdict is not None:
        assert verdict.label == label


def test_the_shipped_settings_are_the_modules_constants():
    assert complaints.load().settings == (
        complaints.THRESHOLD,
        complaints.PRAISE_THRESHOLD,
        complaints.GATE,
        complaints.OVERTURN,
        complaints.CLEAR,
        complaints.MARGIN,
        complaints.PRAISE_CLEAR,
        complaints.PRAISE_OVERTURN,
    )


@pytest.mark.parametrize(
    "text",
    [
        "I'd like to send a gift card to my niece by text message.",
        "I'd like paper tickets posted to me for the concert in May.",
    ],
)
def test_praise_words_in_a_request_are_not_overturned_to_a_complaint(text):
    # VADER's "like" makes the words praise; the model reads the request as far from praise
    # (its praise reading is far below its complaint reading) but not as a complaint: below the
    # complaint threshold, it is neutral. Before, the overturn weighed only the difference, and
    # these were complaints.
    before = _shipped(threshold=-math.inf)
    assert analyse(text, complaints=before).label == "negative"
    assert analyse(text, complaints=complaints.OFF).label == "positive"
    result = analyse(text)
    assert result.label == classify(text) == "neutral"
    note = _model_note(result)
    assert "positive by its words, neutral by its shape (praise log-odds -" in note


def test_praise_the_model_reads_as_a_complaint_is_negative_and_says_why():
    # Sarcasm: "great" is praise by the words; the shape ("logs me out every") is a complaint
    # far above the overturn threshold, and the explanation says the words said positive.
    text = "Great, another update that logs me out every morning."
    assert analyse(text, complaints=complaints.OFF).label == "positive"
    result = analyse(text)
    assert result.label == "negative"
    note = _model_note(result)
    assert (
        "positive by its words, a complaint by its shape (complaint over praise log-odds +" in note
    )
    assert f"> {complaints.OVERTURN:.1f}" in note
    assert "'me out'" in note


@pytest.mark.parametrize(
    "text",
    [
        "Oh fantastic, the banking app logged me out again in the middle of a transfer. Love that.",
        "Love how the unsubscribe link takes me to a login page every single time. "
        "Really great design.",
    ],
)
def test_sarcasm_the_words_are_sure_of_is_a_complaint_past_the_sure_margin(text):
    # Sure praise by its words (compound beyond SURE), a complaint by its shape. Before the sure
    # margin the model was never asked about sure words, and these were praise.
    never = _shipped(margin=math.inf)
    assert analyse(text, complaints=never).label == "positive"
    assert analyse(text, complaints=complaints.OFF).score > SURE
    result = analyse(text)
    assert result.label == "negative"
    note = _model_note(result)
    margin = f"{complaints.MARGIN:g}"
    assert f"positive by its words (sure: past the sure margin {margin}), a complaint" in note
    assert f"> {complaints.OVERTURN + complaints.MARGIN:.1f}" in note


@pytest.mark.parametrize(
    ("words", "complaint", "sure", "label"),
    [
        ("positive", 6.5, False, "negative"),  # above OVERTURN 6
        ("positive", 6.5, True, None),  # but not above OVERTURN 6 + MARGIN 12
        ("positive", 18.5, True, "negative"),
        ("negative", -2.5, False, "neutral"),  # below CLEAR -2
        ("negative", -2.5, True, None),  # but not below CLEAR -2 - MARGIN 12
        ("negative", -14.5, True, "neutral"),
    ],
)
def test_sure_words_are_overturned_and_cleared_past_the_margin(words, complaint, sure, label):
    cell = complaints.Settings(3.0, 3.0, -6.0, 6.0, -2.0, 12.0)
    cell = cell.for_sure_words() if sure else cell
    reading = complaints.Reading(complaint, 0.0, 0.0, [])
    assert complaints.label_of(reading, words, cell)[0] == label
    verdict = complaints.verdict(reading, words, cell)
    assert verdict is not None
    assert verdict.label == label
    shifted = 12.0 if sure else 0.0
    assert verdict.threshold == (6.0 + shifted if words == "positive" else -2.0 - shifted)


@pytest.mark.parametrize(
    ("praise", "sure", "label"),
    [
        (9.5, False, "positive"),  # 8.5 over the complaint reading: past PRAISE_OVERTURN 8
        (8.5, False, None),
        (9.5, True, None),  # but not past PRAISE_OVERTURN 8 + MARGIN 12
        (21.5, True, "positive"),
    ],
)
def test_a_complaint_by_the_words_is_praise_past_the_praise_overturn(praise, sure, label):
    cell = complaints.Settings(3.0, 3.0, -6.0, 6.0, -2.0, 12.0, praise_overturn=8.0)
    cell = cell.for_sure_words() if sure else cell
    reading = complaints.Reading(1.0, praise, 0.0, [("reversed", complaints.Ratios(0.0, 3.0, 0.0))])
    assert complaints.label_of(reading, "negative", cell)[0] == label
    verdict = complaints.verdict(reading, "negative", cell)
    assert verdict is not None
    assert verdict.label == label
    if label:
        assert verdict == complaints.Verdict(
            "positive",
            praise - 1.0,
            8.0 + (12.0 if sure else 0.0),
            (("reversed", 3.0),),
            "praise over complaint log-odds",
        )


@pytest.mark.parametrize(
    "text",
    [
        "The courier left my parcel at the wrong house. I messaged them in the app and the "
        "driver came back within an hour to move it to my porch.",
        "Our old scheduling tool double-booked rooms every week. Since we switched in March, not "
        "a single clash, and the front desk has stopped apologising to patients.",
        "After my laptop died the night before a deadline, the sync service had every file on my "
        "partner's laptop in ten minutes. I handed the report in on time.",
    ],
)
def test_praise_told_as_a_story_with_a_problem_in_it_is_positive_and_says_why(text):
    # The words read the problem ("wrong", "double-booked", "died"), the shape reads praise far
    # above the complaint. Before the praise overturn these were negative.
    never = _shipped(praise_overturn=math.inf)
    assert analyse(text, complaints=never).label == "negative"
    assert analyse(text, complaints=complaints.OFF).label == "negative"
    result = analyse(text)
    assert result.label == classify(text) == "positive"
    note = _model_note(result)
    assert ", praise by its shape (praise over complaint log-odds +" in note
    assert "; heaviest: '" in note


def test_a_complaint_by_its_shape_is_praise_past_the_praise_overturn():
    # The words read nothing; the shape reads a complaint ("took a", "a few" tries) above the
    # threshold and praise ("but now", "tracks every") far above it. Before the praise overturn
    # read a neutral message's complaint reading too, the complaint reading decided first.
    text = (
        "It took a few tries to pair the watch with my phone, but now it tracks every run, every "
        "swim and every night."
    )
    assert analyse(text, complaints=complaints.OFF).label == "neutral"
    reading = complaints.load().read(text)
    assert reading.complaint > complaints.THRESHOLD
    assert reading.praise - reading.complaint > complaints.PRAISE_OVERTURN
    never = _shipped(praise_overturn=math.inf)
    assert analyse(text, complaints=never).label == "negative"
    result = analyse(text)
    assert result.label == classify(text) == "positive"
    note = _model_note(result)
    assert note.startswith(
        "complaint model: neutral by its words, praise by its shape (praise over complaint "
        "log-odds +"
    )
    assert f"> {complaints.PRAISE_OVERTURN:.1f}; heaviest: '" in note


def test_a_neutral_messages_praise_past_the_overturn_names_the_overturn():
    cell = complaints.Settings(3.0, 3.0, -6.0, 6.0, praise_overturn=8.0)
    over = complaints.Reading(3.5, 12.0, 0.0, [("but_now", complaints.Ratios(0.0, 3.0, 0.0))])
    assert complaints.verdict(over, "neutral", cell) == complaints.Verdict(
        "positive", 8.5, 8.0, (("but_now", 3.0),), "praise over complaint log-odds"
    )
    plain = complaints.Reading(2.5, 12.0, 0.0, [("but_now", complaints.Ratios(0.0, 3.0, 0.0))])
    assert complaints.verdict(plain, "neutral", cell) == complaints.Verdict(
        "positive", 12.0, 3.0, (("but_now", 3.0),)
    )
    guarded = cell.for_words(sure=False, contrast=True)
    assert complaints.label_of(over, "neutral", guarded)[0] == "negative"


@pytest.mark.parametrize(
    "text",
    [
        "The app crashes every time I open the camera, and I have lost three drafts this week.",
        "Love the new design, but I was logged out twice today and support never answered my "
        "email.",
        "Since the update, the export has been failing every night and our accountant has no "
        "figures for March.",
        "The bank blocked my card for a payment I made myself and nobody on the phone could "
        "unblock it until Monday.",
    ],
)
def test_a_complaint_told_as_a_story_stays_negative(text):
    assert classify(text) == "negative"


class _Unguarded(complaints.Model):
    """The shipped counts and settings, read as if no message were a complaint after praise and a
    contrast."""

    def judge(
        self, text: str, words: str = "neutral", *, sure: bool = False, contrast: bool = False
    ) -> complaints.Verdict | None:
        return super().judge(text, words, sure=sure)


def test_a_complaint_after_praise_and_a_contrast_is_not_overturned_to_praise():
    # What follows "but" decides (the labelling rules' N-contrast); the counts read no order,
    # and the praise before it reads as praise past the praise overturn.
    text = (
        "The onboarding call was helpful and the team was patient with us, but the product just "
        "doesn't fit how our clinic books appointments."
    )
    assert analyse(text, complaints=_shipped(_Unguarded)).label == "positive"
    assert classify(text) == "negative"
    cell = complaints.load().settings
    assert cell.for_words(sure=False, contrast=True).praise_overturn == math.inf
    assert cell.for_words(sure=True, contrast=True) == cell.for_sure_words()._replace(
        praise_overturn=math.inf
    )
    assert cell.for_words(sure=False) == cell


@pytest.mark.parametrize(
    ("praise", "sure", "label"),
    [
        (-4.0, False, "neutral"),  # below PRAISE_CLEAR 0
        (-4.0, True, None),  # but not below PRAISE_CLEAR 0 - MARGIN 12
        (-12.5, True, "neutral"),
    ],
)
def test_praise_the_words_are_sure_of_is_cleared_only_past_the_sure_margin(praise, sure, label):
    cell = complaints.Settings(3.0, 3.0, -6.0, 6.0, -2.0, 12.0, praise_clear=0.0)
    reading = complaints.Reading(-99.0, praise, 0.0, [("can_i", complaints.Ratios(0.0, -4.0, 1.0))])
    cell = cell.for_sure_words() if sure else cell
    assert complaints.label_of(reading, "positive", cell)[0] == label
    verdict = complaints.verdict(reading, "positive", cell)
    assert verdict is not None
    assert verdict.label == label
    if label:
        assert (verdict.threshold, verdict.reading) == (-12.0 if sure else 0.0, "praise log-odds")


@pytest.mark.parametrize(
    "text",
    [
        "Would it be possible to add a dark mode to the reading app? I'd really love that for "
        "reading in bed.",
        "Hello, hope you are well! I'd like to move my delivery day to Thursdays from next week, "
        "please.",
    ],
)
def test_a_request_in_strong_praise_words_is_neutral_past_the_sure_margin(text):
    # "love" and "well!" make the words sure of praise; the shape reads as far from praise, past
    # the praise clearing by more than the sure margin. Sure praise was never cleared before.
    never = _shipped(praise_clear=-math.inf)
    assert analyse(text, complaints=never).label == "positive"
    assert analyse(text, complaints=complaints.OFF).score > SURE
    result = analyse(text)
    assert result.label == classify(text) == "neutral"
    note = _model_note(result)
    margin = f"{complaints.MARGIN:g}"
    assert f"positive by its words (sure: past the sure margin {margin}), neutral by its" in note
    assert f"< {complaints.PRAISE_CLEAR - complaints.MARGIN:.1f}; heaviest: " in note
    assert classify("Can I export to PDF? The app is great.") == "positive"


@pytest.mark.parametrize(
    "text",
    [
        "I'm a landlord with three flats, each with its own smart meter. "
        "Can I see all three in one account?",
        "My dad will use the video app with my help. Can two people join a call from different "
        "houses?",
        "I'd like to move my savings pot to my daughter's name when she turns eighteen next "
        "spring.",
    ],
)
def test_praise_words_in_a_shape_that_praises_nothing_are_neutral_and_say_why(text):
    # VADER reads "smart", "help" and "like" as praise; the words are unsure (compound below
    # SURE), the model is asked, and the praise reading is below the praise clearing. Before
    # the praise clearing these were positive.
    words_only = analyse(text, complaints=complaints.OFF)
    assert words_only.label == "positive"
    assert words_only.score < SURE
    result = analyse(text)
    assert result.label == classify(text) == "neutral"
    assert result.score == words_only.score
    note = _model_note(result)
    assert "positive by its words, neutral by its shape (praise log-odds -" in note
    assert f"< {complaints.PRAISE_CLEAR:.1f}; heaviest: " in note


def test_unseen_features_are_remembered_within_a_bound(monkeypatch):
    monkeypatch.setattr(complaints, "KEPT", 3)
    model = complaints.Model(complaints.Counts(1, 1, 1, 1, {"stuck": (1, 0, 0, 0)}))
    stuck = model.ratios("stuck")
    for word in ("alpha", "beta", "gamma", "delta", "epsilon"):
        assert model.ratios(word) is None
        assert len(model._ratios) <= 3
    assert model.ratios("stuck") == stuck
    # a reading after the forgetting still finds what the counts hold, and only that
    assert model.read("alpha stuck").found == [("stuck", stuck)]


@pytest.mark.parametrize(
    ("text", "label", "kind", "threshold"),
    [
        ("My invoices still show last month after the update.", "negative", 0, "THRESHOLD"),
        (
            "Set up the printer for the whole office before lunch.",
            "positive",
            2,
            "PRAISE_THRESHOLD",
        ),
    ],
)
def test_a_verdict_adds_up_its_readings_ratios(text, label, kind, threshold):
    # Worked out again from the parsed file, by the naive Bayes formula, not through the
    # model's bisection and cache: the label's messages (kind: its column) against the rest.
    verdict = complaints.load().judge(text)
    assert verdict is not None
    counts = complaints.read_counts()
    totals = counts[:3]
    of, rest = totals[kind], sum(totals) - totals[kind]
    ratios = {
        f: complaints._ratio(seen[kind], of, sum(seen[:3]) - seen[kind], rest)
        for f in complaints.features(text)
        if f in counts.features
        for seen in [counts.features[f]]
    }
    assert verdict.label == label
    assert math.isclose(verdict.log_odds, math.log(of / rest) + sum(ratios.values()))
    assert verdict.threshold == getattr(complaints, threshold) < verdict.log_odds
    # the (up to) five features weighing most toward the label, heaviest first
    toward = sorted(((f, w) for f, w in ratios.items() if w > 0), key=lambda fw: (-fw[1], fw[0]))
    assert [(f, round(w, 9)) for f, w in verdict.weights] == [
        (f, round(w, 9)) for f, w in toward[:5]
    ]
    assert len(verdict.weights) == 5


def test_a_complaint_comes_before_praise_and_neither_leaves_no_label():
    # "stuck" is seen only in negative messages and "fast" only in positive ones: "stuck fast"
    # is above both thresholds, and the complaint reading decides first.
    features = {"stuck": (9, 0, 0, 0), "fast": (0, 0, 9, 0), "tuesday": (1, 1, 1, 1)}
    model = complaints.Model(
        complaints.Counts(10, 10, 10, 5, features), threshold=0.2, praise_threshold=0.1, gate=-99
    )
    reading = model.read("stuck fast")
    assert reading.complaint > 0.2
    assert reading.praise > 0.1
    stuck = model.ratios("stuck")
    assert stuck is not None
    both = model.judge("stuck fast")
    assert both == complaints.Verdict("negative", reading.complaint, 0.2, (("stuck", stuck[0]),))
    praised = model.judge("fast")
    assert praised is not None
    assert (praised.label, praised.threshold) == ("positive", 0.1)
    neither = model.judge("tuesday")
    assert neither is not None
    assert (neither.label, neither.threshold) == (None, 0.2)


@pytest.mark.parametrize(
    "text",
    [
        # a complaint by its shape until the seventh and eighth development rounds' counts
        "The package arrived on Tuesday.",
        # compatibility told as a fact; praise by its shape until the ninth round's counts
        "It works on Android",
    ],
)
def test_a_fact_the_model_reads_as_neither_stays_neutral(text):
    # Formerly known misreads: the model now gives them no label, below both thresholds or
    # (short, with words as common in news) below the gate.
    verdict = complaints.load().judge(text)
    assert verdict is None or verdict.label is None
    assert classify(text) == "neutral"


def test_a_smoothed_ratio_is_the_naive_bayes_one():
    # Seen in 3 of 10 negative and 1 of 20 other messages, add-one smoothed on both sides.
    assert math.isclose(complaints._ratio(3, 10, 1, 20), math.log((4 / 12) / (2 / 22)))
    counts = complaints.Counts(10, 12, 8, 5, {"stuck": (3, 1, 0, 0)})
    model = complaints.Model(counts)
    assert model.ratios("stuck") == (
        complaints._ratio(3, 10, 1, 20),  # complaint: negative against neutral and positive
        complaints._ratio(0, 8, 4, 22),  # praise: positive against negative and neutral
        complaints._even_ratio(4, 30, 0, 5),  # product: feedback against news, see below
    )
    assert model.ratios("never-seen") is None


def test_the_product_reading_smooths_both_sides_at_the_same_rate():
    # Feedback outnumbers news about twenty to one. Add-one smoothing on both sides weighed a
    # feature seen in one feedback message and no news sentence e^2 toward news, so every rare
    # word of a message pushed it below the gate, the more so the more feedback was counted.
    feedback, news = 5600, 300
    assert complaints._ratio(1, feedback, 0, news) < -2.0  # the former smoothing
    # The same prior rate on both sides (the larger side's pseudo-count is one): a feature
    # seen on neither side weighs nothing, once in feedback a little toward feedback, once in
    # news clearly toward news.
    rate = 1 / feedback
    assert math.isclose(
        complaints._even_ratio(1, feedback, 0, news),
        math.log(((1 + 1) / (feedback + 2)) / ((rate * news) / (news + 2 * rate * news))),
    )
    assert math.isclose(complaints._even_ratio(0, feedback, 0, news), 0.0, abs_tol=1e-12)
    assert 0 < complaints._even_ratio(1, feedback, 0, news) < 1
    assert complaints._even_ratio(0, feedback, 1, news) < -2.0
    # a feature as frequent on both sides weighs nothing either way
    assert abs(complaints._even_ratio(56, feedback, 3, news)) < 0.01


def test_no_model_labels_as_the_words_do():
    assert complaints.OFF.judge("My invoices still show last month after the update.") is None
    assert complaints.OFF.read("anything")[:3] == (-math.inf, -math.inf, -math.inf)


def test_a_reading_whose_class_was_never_counted_never_fires():
    # Counts without positive messages: the praise reading is off, the complaint reading works.
    model = complaints.Model(
        complaints.Counts(5, 5, 0, 5, {"stuck": (5, 0, 0, 0), "vote": (0, 0, 0, 5)}),
        threshold=1.0,
        gate=-99,
    )
    assert model.read("fast stuck").praise == -math.inf
    verdict = model.judge("stuck")
    assert verdict is not None
    assert verdict.label == "negative"


def test_numbers_are_not_features():
    # A number says how much, not which way: "#3" after "it arrived" weighs nothing.
    assert complaints.features("Waited 40 minutes, order #3") == {
        "waited",
        "minutes",
        "order",
        "waited_minutes",
        "minutes_order",
    }
    model = complaints.load()
    assert (
        model.judge("it arrived #3") == model.judge("it arrived #38") == model.judge("it arrived")
    )
    assert classify("it arrived #3") == "neutral"


def test_a_bare_report_that_it_works_is_left_to_its_words():
    # "works" alone is no praise word ("It works on Android" describes use). The praise reading
    # took "It works." for praise until the tenth to twenty-first rounds' counts and the gate
    # they chose: two words as common in news as in feedback no longer pass the gate.
    assert analyse("It works.", complaints=complaints.OFF).label == "neutral"
    assert complaints.load().read("It works.").product < complaints.GATE
    assert complaints.load().judge("It works.") is None
    assert classify("It works.") == "neutral"


def test_a_file_without_its_totals_line_is_refused(tmp_path):
    path = tmp_path / "counts.txt"
    path.write_text("# header\nstill\t1\t0\t0\t0\n", encoding="utf-8")
    with pytest.raises(ValueError, match="#messages"):
        complaints.read_counts(path)
    # The counts of before the praise reading (negative, other, news) are refused too.
    path.write_text("#messages\t1\t1\t1\nstill\t1\t0\t0\n", encoding="utf-8")
    with pytest.raises(ValueError, match="four counts"):
        complaints.read_counts(path)
    # A byte-order mark and blank lines in the header are read past.
    path.write_text(
        "\ufeff# header\n\n#messages\t1\t1\t1\t1\nstill\t1\t0\t0\t0\n", encoding="utf-8"
    )
    assert complaints.read_counts(path) == complaints.Counts(1, 1, 1, 1, {"still": (1, 0, 0, 0)})


def test_a_label_outside_the_three_is_refused():
    with pytest.raises(ValueError, match="'mixed'"):
        complaints.count([("negative", "Still stuck."), ("mixed", "Fast but crashes.")], [])


def test_write_keeps_the_header_and_reads_back(tmp_path):
    path = tmp_path / "counts.txt"
    path.write_text("# a header line\n", encoding="utf-8")
    written = complaints.write(
        [("negative", "Still stuck."), ("neutral", "Please add dark mode."), ("positive", "Fast.")],
        ["The vote is on Monday."],
        path,
    )
    assert path.read_text(encoding="utf-8").startswith("# a header line\n#messages\t1\t1\t1\t1\n")
    assert complaints.read_counts(path) == written
    assert written.features["still_stuck"] == (1, 0, 0, 0)
    assert written.features["fast"] == (0, 0, 1, 0)


@pytest.mark.parametrize(
    "text",
    [
        # The words and rules read each as neutral; the model reads its shape as a complaint's.
        # docs/sentiment.md lists them as the model's known misreads; an entry written to undo
        # one would be fitted to these sentences. A better model fails this test: move the
        # sentence to the neutral cases above.
        "It takes only a few seconds to sync.",
        "I don't need the premium features.",
        # praise by its shape with some rounds' counts and settings, a complaint with others
        "Compared to the competition, this app is miles ahead.",
        "Two days after signing up I was already hooked.",
        # neutral until the tenth to twenty-fifth rounds' counts: "my email" and "i changed"
        # are in many of their complaints ("I changed my email address and now ...")
        "I changed my email address last week.",
    ],
)
def test_the_models_known_misreads(text):
    assert analyse(text, complaints=complaints.OFF).label == "neutral"
    assert classify(text) == "negative"


@pytest.mark.parametrize(
    ("text", "label", "shape"),
    [
        # VADER's words read a complaint into praise told through a negation ("No" -1.2) and
        # into a description of use ("crime" -2.5); the words are unsure (compound above -SURE)
        # and no word of the feedback knowledge decided, so the model is asked, and its
        # complaint reading is below the clearing threshold.
        ("No more paper receipts, everything is scanned in seconds.", "positive", "praise"),
        ("I mostly listen to true crime podcasts on the way to work.", "neutral", "neutral"),
    ],
)
def test_an_unsure_complaint_the_model_clears_says_what_the_words_said(text, label, shape):
    words_only = analyse(text, complaints=complaints.OFF)
    assert words_only.label == "negative"
    assert words_only.score > -SURE
    result = analyse(text)
    assert result.label == classify(text) == label
    assert result.score == words_only.score
    note = _model_note(result)
    assert f"negative by its words, {shape} by its shape (" in note
    if label == "neutral":
        assert "(complaint log-odds -" in note
        assert f"< {complaints.CLEAR:.1f}; heaviest: " in note


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("The sync bug is still not fixed.", "negative"),  # a fault word of the feedback lexicon
        ("The app keeps logging me out.", "negative"),  # a phrase of the feedback knowledge
        ("The app is not good.", "negative"),  # a negation turned a positive word
        ("Support was no help.", "negative"),
        ("The search could be faster.", "negative"),  # a critique turned a positive word
        ("I hate this update.", "negative"),  # compound below -SURE
        ("I love this app.", "positive"),  # compound above SURE
        ("The banking app is great, I use it every day.", "positive"),
        ("The app crashed once but support fixed it the same day. Very happy.", "positive"),
        ("The new search is fast and accurate.", "positive"),
    ],
)
def test_a_label_the_words_are_sure_of_stands(text, label):
    spy = Spy()
    assert analyse(text, complaints=spy).label == label
    assert spy.sure == [True]
    assert classify(text) == label


def test_a_complaint_the_words_are_sure_of_is_cleared_only_past_the_sure_margin():
    # a complaint reading below the clearing threshold, but not past it by the sure margin,
    # leaves a sure complaint standing; past it, the complaint is cleared
    reading = complaints.Reading(complaints.CLEAR - complaints.MARGIN / 2, 0.0, 99.0, [])
    settings = complaints.load().settings
    assert complaints.label_of(reading, "negative", settings.for_sure_words())[0] is None
    assert complaints.label_of(reading, "negative", settings)[0] == "neutral"
    cleared = reading._replace(complaint=complaints.CLEAR - complaints.MARGIN - 0.5)
    assert complaints.label_of(cleared, "negative", settings.for_sure_words())[0] == "neutral"


def test_a_reading_clears_an_unsure_complaint_below_the_clearing_threshold():
    cell = complaints.Settings(3.0, 3.0, -6.0, 6.0, -2.0)
    cases = [
        ((-1.0, 0.0), None),  # not below the clearing threshold: the complaint stands
        ((-2.5, 0.0), "neutral"),
        ((-2.5, 3.5), "positive"),  # cleared, and praise above the praise threshold
    ]
    for (complaint, praise), label in cases:
        reading = complaints.Reading(complaint, praise, 0.0, [])
        assert complaints.label_of(reading, "negative", cell)[0] == label
    # never cleared with a clearing threshold of -inf (nor overturned with a praise overturn of
    # inf: the praise reading, 198 over the complaint reading, would make it praise)
    never = cell._replace(clear=-math.inf, praise_overturn=math.inf)
    assert complaints.label_of(complaints.Reading(-99.0, 99.0, 0.0, []), "negative", never) == (
        None,
        0,
    )


@pytest.mark.parametrize(
    ("text", "label"), [("The update is okay.", "negative"), ("The app is okay.", "neutral")]
)
def test_a_lukewarm_okay_is_not_read_as_praise(text, label):
    # "okay" is mild praise by the words (compound below SURE, so the model is asked). In the
    # development set a lukewarm "okay" is mostly a complaint's ("It's okay I guess, but ..."):
    # "The update is okay." reads as a complaint past the overturn threshold, a known misread
    # since the twenty-sixth to thirtieth rounds' counts. "The app is okay." is not, and its
    # praise reading is below the praise clearing: neutral.
    assert analyse(text, complaints=complaints.OFF).label == "positive"
    assert classify(text) == label
