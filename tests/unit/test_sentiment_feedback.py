"""The product-feedback layer of lambdas.common.sentiment: what a team reading the dashboard
needs labelled right, the data it is built from, and the figures it must keep."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lambdas.common import sentiment, sentiment_complaints, sentiment_feedback
from lambdas.common.sentiment import analyse, classify, score

REPO = Path(__file__).resolve().parents[2]
DEV = REPO / "benchmarks" / "data" / "product_feedback_dev.tsv"
TEST = REPO / "benchmarks" / "data" / "product_feedback_test.tsv"
BLIND = REPO / "benchmarks" / "data" / "product_feedback_test2.tsv"
BLIND3 = REPO / "benchmarks" / "data" / "product_feedback_test3.tsv"
FACTS = REPO / "benchmarks" / "data" / "product_feedback_test4.tsv"
FORM = REPO / "benchmarks" / "data" / "product_feedback_test5.tsv"
PHONE = REPO / "benchmarks" / "data" / "product_feedback_test6.tsv"
WORK = REPO / "benchmarks" / "data" / "product_feedback_test7.tsv"
OFFICE = REPO / "benchmarks" / "data" / "product_feedback_test8.tsv"
STORIES = REPO / "benchmarks" / "data" / "product_feedback_test9.tsv"
SHORT = REPO / "benchmarks" / "data" / "product_feedback_test10.tsv"
SHORT2 = REPO / "benchmarks" / "data" / "product_feedback_test11.tsv"
SHORT3 = REPO / "benchmarks" / "data" / "product_feedback_test12.tsv"
SHORT4 = REPO / "benchmarks" / "data" / "product_feedback_test13.tsv"
SHORT5 = REPO / "benchmarks" / "data" / "product_feedback_test14.tsv"
MIXED = REPO / "benchmarks" / "data" / "product_feedback_test15.tsv"
SHORT6 = REPO / "benchmarks" / "data" / "product_feedback_test16.tsv"
MIXED2 = REPO / "benchmarks" / "data" / "product_feedback_test17.tsv"
LONG = REPO / "benchmarks" / "data" / "product_feedback_test18.tsv"
LONG2 = REPO / "benchmarks" / "data" / "product_feedback_test19.tsv"
LONG3 = REPO / "benchmarks" / "data" / "product_feedback_test20.tsv"
MIXED3 = REPO / "benchmarks" / "data" / "product_feedback_test21.tsv"
MIXED4 = REPO / "benchmarks" / "data" / "product_feedback_test22.tsv"
LONG4 = REPO / "benchmarks" / "data" / "product_feedback_test23.tsv"
LONG5 = REPO / "benchmarks" / "data" / "product_feedback_test24.tsv"
MIXED5 = REPO / "benchmarks" / "data" / "product_feedback_test25.tsv"
# every product-feedback set, the development set first
ALL_SETS = (DEV, TEST, BLIND, BLIND3, FACTS, FORM, PHONE, WORK, OFFICE, STORIES, SHORT, SHORT2)
ALL_SETS = (*ALL_SETS, SHORT3, SHORT4, SHORT5, MIXED, SHORT6, MIXED2, LONG, LONG2, LONG3, MIXED3)
ALL_SETS = (*ALL_SETS, MIXED4, LONG4, LONG5, MIXED5)
NEWS = [REPO / "benchmarks" / "data" / f"news_{part}.tsv" for part in ("dev", "test")]
SHARED = REPO.parent / "shared" / "data" / "amazon_review_snippets.tsv"
RULES = {
    "N-fault",
    "N-perf",
    "N-data",
    "N-account",
    "N-support",
    "N-billing",
    "N-ux",
    "N-verdict",
    "N-critique",
    "N-contrast",
    "P-praise",
    "P-support",
    "P-fixed",
    "P-thanks",
    "P-contrast",
    "U-question",
    "U-request",
    "U-fact",
}


def _rows(path: Path) -> list[tuple[int, str, str, str]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            row_id, label, rule, text = line.split("\t")
            rows.append((int(row_id), label, rule, text))
    return rows


def _figures(rows: list[tuple[int, str, str, str]]) -> tuple[float, float]:
    """(three-class accuracy, recall on negative messages)."""
    labels = [classify(text) for _, _, _, text in rows]
    correct = sum(p == r[1] for p, r in zip(labels, rows, strict=True))
    negatives = [p for p, r in zip(labels, rows, strict=True) if r[1] == "negative"]
    return correct / len(rows), negatives.count("negative") / len(negatives)


# --- what issue 16 asked for ------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "The app crashes constantly.",
        "Support never answered my ticket.",
        "Search is slow and the filters reset after every query.",
        "It freezes every time I open the settings page.",
    ],
)
def test_the_issues_complaints_are_negative(text):
    assert classify(text) == "negative"


def test_a_feature_request_stays_neutral():
    assert classify("Please add an export to PDF") == "neutral"
    assert analyse("Please add an export to PDF").words == ()


def test_the_general_scorer_is_unchanged_by_the_feedback_layer():
    # score() is VADER plus the negation prior; only classify/analyse read product feedback.
    assert score("The app crashes constantly.") == 0.0
    assert score("Support never answered my ticket.") > 0
    assert analyse("The app crashes constantly.").score < 0


# --- negated and intensified forms ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("It never crashes.", "positive"),
        ("No lag at all.", "positive"),
        ("Zero bugs so far.", "positive"),
        ("The app is not slow.", "positive"),
        ("It's not fast.", "negative"),
        ("The page doesn't load.", "negative"),
        ("Sync stopped working yesterday.", "negative"),
        ("I'm unable to log in.", "negative"),
        ("I have not been able to log in since Monday.", "negative"),
        ("Support hasn’t replied in a week.", "negative"),  # typographic apostrophe
        ("They didn't refund me.", "negative"),
        ("The widget no longer updates.", "negative"),
        ("It just works.", "positive"),
        ("Can't wait for the next update!", "positive"),
        ("Couldn't be happier with it.", "positive"),
    ],
)
def test_negated_forms(text, expected):
    assert classify(text) == expected


def test_intensifiers_strengthen_complaints_and_praise():
    plain = analyse("The app crashes.").score
    assert analyse("The app crashes constantly.").score < plain
    assert analyse("The app keeps crashing.").score < analyse("The app is crashing.").score
    assert analyse("It freezes every time.").score < analyse("It freezes.").score
    assert analyse("Really slow.").score < analyse("Slow.").score
    assert analyse("Super fast.").score > analyse("Fast.").score


def test_degree_words_boost_instead_of_praising():
    # VADER rates "pretty" and "super" as praise; before a sentiment word they are degree.
    assert classify("The app is pretty slow.") == "negative"
    assert score("The app is pretty slow.") > 0  # the general scorer's reading
    assert "degree: 'pretty' strengthens 'slow'" in analyse("The app is pretty slow.").rules
    # VADER rates "wicked", "crazy", "scary" as complaints; before a sentiment word they are
    # degree too, and alone they keep their own valence
    assert classify("Wicked fast file transfers over the new router.") == "positive"
    assert classify("Scary good noise cancelling on these.") == "positive"
    assert classify("It's ridiculously slow since the update.") == "negative"
    assert classify("That was crazy.") == "negative"


def test_a_fast_drain_is_a_worse_drain():
    assert classify("It drains the battery fast.") == "negative"
    assert classify("Loads fast.") == "positive"


# --- shapes of neutral messages ---------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "How do I change my password?",
        "Does the free plan include calendar sync?",
        "Is there a way to share a board with my team?",
        "Can I cancel anytime?",
        "Could you add a dark mode?",
        "It would be great to have a Linux version.",
        "I wish there was a way to export to Excel.",
        "Feature request: recurring reminders.",
        "Please add Polish to the language list. Thanks in advance!",
        "Hi, is there an API? Thanks!",
        "I use it to share shopping lists with my partner.",
        "We use the free version at work.",
        "I haven't tried the desktop app yet.",
        "The meeting is at 3pm in room 204.",
    ],
)
def test_questions_requests_and_descriptions_of_use_stay_neutral(text):
    assert classify(text) == "neutral", analyse(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Why does it crash when I upload a photo?", "negative"),  # a fault asked about
        ("Please fix the sync, it's broken.", "negative"),
        ("Love the app, but please add a dark mode.", "positive"),  # praise beside a request
        ("Can I export to PDF? The app is great.", "positive"),
    ],
)
def test_a_shape_does_not_hide_a_fault_or_praise_beside_it(text, expected):
    assert classify(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Can the budgeting app track my debt repayments?",
        "Does the smoke alarm app alert my neighbour if nobody is home?",
        "Can I block unknown callers after 10pm?",
    ],
)
def test_a_question_whose_general_words_read_a_complaint_is_read_by_the_model(text):
    # VADER's "debt", "alarm", "block" name the topic asked about; the words say negative
    # (no word of the feedback knowledge decided), so the complaint model reads the message,
    # and its complaint reading is below the clearing threshold. Before, a message that was all
    # questions and requests was never read by the model, and these were complaints.
    assert analyse(text, complaints=sentiment_complaints.OFF).label == "negative"
    result = analyse(text)
    assert result.label == "neutral"
    [note] = [r for r in result.rules if r.startswith("complaint model:")]
    assert "negative by its words, neutral by its shape (complaint log-odds -" in note


def test_a_question_about_a_general_fault_word_is_a_known_misread():
    # Read as neutral since questions whose words read a complaint are read by the model:
    # "error" is VADER's word, not the feedback knowledge's, and "is there", "fix for" weigh
    # against a complaint (-2.93, below the clearing threshold). In the development set's
    # 5-fold reads that reading relabelled 43 questions and requests, each now as labelled and
    # none a complaint that was one. A fault word of the feedback knowledge keeps the complaint
    # (below).
    assert classify("Is there a fix for the login error?") == "neutral"
    assert classify("Is there a fix for the login bug?") == "negative"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # what a how-to question or a request asks for is named by general words of any weight
        ("How do I kill all running timers at once?", "neutral"),
        ("How do I report a lost card from the app?", "neutral"),
        ("how do i block someone in messages", "neutral"),
        ("Please add a panic button that locks the app instantly.", "neutral"),
        ("A kill switch for all automations would be handy.", "neutral"),
        # a fault word of the feedback knowledge still reports a fault there
        ("Is there a way to stop the constant crashes?", "negative"),
        ("How do I stop the app from freezing?", "negative"),
        # a yes/no question keeps a strong general word: it asks about a fault
        ("Is the sync broken again?", "negative"),
        ("Does anyone else hate the new design?", "negative"),
    ],
)
def test_how_to_questions_and_requests_ask_for_what_general_words_name(text, expected):
    assert classify(text) == expected, analyse(text)


# --- other rules ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The crash on startup is fixed, thank you!", "positive"),
        ("The battery drain issue is gone after the update.", "positive"),
        ("The sync bug is still not fixed.", "negative"),
        # a fix that did not come: "gone" repairs nothing in its clause (it once repaired "bug",
        # "not" and "fixed", and this was praise)
        ("The bug where my notes were gone is still not fixed.", "negative"),
        # "gone" ends the problem before it, not one after it: a loss of data stays a complaint
        ("All my photos are gone after the crash.", "negative"),
        ("The lag is gone since the update.", "positive"),
        ("They fixed the login bug but now sync is broken.", "negative"),
        ("The search could be faster.", "negative"),
        ("Sync should be more reliable.", "negative"),
        ("This app used to be great.", "negative"),
        ("The features are great, however the app freezes way too often.", "negative"),
        ("Smooth, fast, no ads. Perfect.", "positive"),  # negation stops at the sentence
        # and at the clause: a comma, a semicolon, a colon or a dash ends its reach
        ("Group video calls never drop, very reliable", "positive"),
        ("Parcel came early, nothing squashed, eggs intact", "positive"),
        ("Not bad, really good.", "positive"),
        ("It's not fast, it's not reliable, and support never answers.", "negative"),
    ],
)
def test_repairs_critiques_contrast_and_sentences(text, expected):
    assert classify(text) == expected


@pytest.mark.parametrize(
    ("text", "words", "note", "unread"),
    [
        # "fixed" before what it qualifies names a kind of thing: no praise and no repair (it
        # once repaired the critique's "better")
        (
            "Our accountants close the fixed asset register on the last day of each month.",
            "neutral",
            "phrase 'fixed asset' carries no sentiment here",
            "fixed",
        ),
        (
            "The reminders go out at a fixed time every morning.",
            "neutral",
            "phrase 'a fixed' carries no sentiment here",
            "fixed",
        ),
        (
            "Our mobile clinic has no fixed internet connection.",
            "neutral",
            "phrase 'no fixed' carries no sentiment here",
            "fixed",
        ),
        (
            "The fixed asset module could be better documented.",
            "negative",
            "critique: 'could be … better' counts against",
            "fixed",
        ),
        # work done by hand is manual work, not VADER's helping "hand" (+2.2)
        (
            "Our planners still adjust every rota by hand.",
            "neutral",
            "phrase 'by hand' carries no sentiment here",
            "hand",
        ),
        # a credit note corrects an invoice; a crash course is short; the worst case is a plan
        (
            "Please send us a credit note for the two licences we cancelled.",
            "positive",  # "please"
            "phrase 'credit note' carries no sentiment here",
            "credit",
        ),
        (
            "The onboarding team ran a crash course on the new tills for our staff.",
            "neutral",
            "phrase 'crash course' carries no sentiment here",
            "crash",
        ),
        (
            "Worst case, I can always print the tickets at the station.",
            "neutral",
            "phrase 'worst case' carries no sentiment here",
            "Worst",
        ),
    ],
)
def test_words_that_name_a_kind_of_thing_or_a_critique_read_as_they_do_in_feedback(
    text, words, note, unread
):
    result = analyse(text, complaints=sentiment_complaints.OFF)
    assert result.label == words, result
    assert [r for r in result.rules if r.startswith(note)], result.rules
    assert not [w for w in result.words if w.text == unread]
    if words == "negative":
        assert classify(text) == "negative"


@pytest.mark.parametrize(
    ("text", "note"),
    [
        # "could do better", "could really be more", "would be better if" are critiques, as
        # "could be better" is (the last was once a request, and neutral)
        (
            "The search could do better at finding older invoices.",
            "critique: 'could do … better' counts against",
        ),
        (
            "The reports could really be more flexible.",
            "critique: 'could really be … flexible' counts against",
        ),
        (
            "It would be better if the export kept my column widths.",
            "critique: 'would be … better' counts against",
        ),
    ],
)
def test_critiques_the_frames_missed_are_complaints(text, note):
    result = analyse(text, complaints=sentiment_complaints.OFF)
    assert result.label == "negative", result
    assert note in result.rules
    assert classify(text) == "negative"


def test_even_better_says_it_is_good_already():
    text = "The app is great, it would be even better with a widget."
    result = analyse(text)
    assert result.label == "positive"
    assert not [r for r in result.rules if r.startswith("critique")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a problem that stopped is a repair, whatever else its clause names
        ("The app has stopped crashing since the update.", "positive"),
        ("After the firmware update the router stopped freezing.", "positive"),
        ("My husband has stopped panicking about the exchange rates.", "positive"),
        # a function that stopped is still a fault, and a stop before a pause names no problem
        ("Notifications stopped working after the update.", "negative"),
        ("The watch stopped syncing and keeps crashing.", "negative"),
        ("It stopped, crashed and lost my draft.", "negative"),
        ("It stopped crashing but now it freezes on every launch.", "negative"),
        ("It won't stop crashing.", "negative"),
        # a refund or a rebooking done is a problem solved; one not done is a complaint
        ("I was charged twice, but support refunded me the same day.", "positive"),
        ("Flight cancelled, but the app rebooked me on the next one automatically.", "positive"),
        ("Three weeks on, they still haven't refunded me.", "negative"),
        ("They never refunded my deposit.", "negative"),
        # a fix delivered or working is a problem solved; one that did not work is a complaint
        ("The fix worked.", "positive"),
        ("They rolled out a fix within hours.", "positive"),
        ("The fix didn't work.", "negative"),
        ("They pushed a fix but now the app won't open.", "negative"),
        ("Is there a fix for the sync bug yet?", "negative"),
        # a product that falls short of what was hoped for
        ("It's not the solution we were hoping for.", "negative"),
        ("The new dashboard is not what we hoped for.", "negative"),
        # a charge that is not made is no fault; a phone that will not charge is
        ("Delivery was free, no extra charge.", "positive"),
        ("They replaced the screen at no charge.", "positive"),
        ("My phone won't charge anymore.", "negative"),
    ],
)
def test_a_problem_that_stopped_and_a_charge_not_made_are_no_complaint(text, expected):
    assert classify(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the greetings and sign-offs of a ticket or an email judge nothing: what it reports does
        ("Hope you had a good weekend. The export has been failing since Friday.", "negative"),
        ("Good morning, hope all is well. Our invoices show the wrong VAT rate.", "negative"),
        ("Hi team, hope you're well! Since version 3.1 every webhook fails.", "negative"),
        ("Dear support, the timesheets are not saving. Thanks in advance.", "negative"),
        ("Hope you are doing great. Quick question: can we add a second admin?", "neutral"),
        ("Good afternoon, can we add a second admin to our account? Kind regards", "neutral"),
        (
            "Good day, our calibration records are overwritten by another analyser's values.",
            "negative",
        ),
        ("Any help appreciated! How do I export last year's invoices?", "neutral"),
        ("No worries if not, but is a Welsh translation planned?", "neutral"),
        ("Hope that makes sense. We would like the report to include overtime.", "neutral"),
        ("Good afternoon. Our clinic has 5 staff and uses the team plan. Regards, Ana", "neutral"),
        # praise is still praise beside them
        ("Hope you're well. The new rota screen is brilliant, thank you!", "positive"),
    ],
)
def test_greetings_and_sign_offs_judge_nothing(text, expected):
    assert classify(text) == expected


def test_a_greeting_that_tips_the_praise_overturn_is_a_known_misread():
    # The words read a complaint ("wrong"; the greetings carry nothing), but the complaint model
    # reads every word: "kind" and "happy" put its praise reading 8.65 over its complaint
    # reading, past the praise overturn (8). It was negative before the praise overturn; with
    # the sign-off last it reads the same (a bag of words).
    text = "Kind regards and happy new year. Payroll ran with the wrong tax codes."
    assert analyse(text, complaints=sentiment_complaints.OFF).label == "negative"
    assert classify(text) == "positive"
    assert classify("Happy new year. Payroll ran with the wrong tax codes.") == "negative"


def test_a_sign_off_the_complaint_model_reads_as_praise_is_a_known_misread():
    # The words read nothing in it, but the complaint model counts "best" and "good" as praise
    # (+5.67 log-odds): it reads every word of the message. Hiding the words of phrases that
    # carry no sentiment from the model cost the development set's 5-fold reads 0.004.
    text = "Good afternoon. Our clinic has 5 staff and uses the team plan. Best regards, Ana"
    assert classify(text) == "positive"
    assert analyse(text).words == ()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a time that went down is a gain, whatever words of waiting name it
        ("The weekly report takes 5 minutes instead of an hour.", "positive"),
        ("Month-end close took two days instead of five this quarter.", "positive"),
        ("Build times dropped from 11 minutes to 3 after the move.", "positive"),
        ("Moving laptops took five minutes instead of the usual evening.", "positive"),
        # one that went up is a loss
        ("Startup went from 2 seconds to 10 seconds after the update.", "negative"),
        ("It took three weeks instead of three days to get my refund.", "negative"),
        ("Loading the dashboard now takes 30 seconds instead of 2.", "negative"),
        # where the clause measures what should last, the longer time is the gain
        ("Earbuds went from six hours a charge to ninety minutes within a year.", "negative"),
        ("The battery now lasts two days instead of one.", "positive"),
        # dates are not times
        ("I'll be travelling from March to May.", "neutral"),
    ],
)
def test_two_times_compared_are_a_gain_or_a_loss(text, expected):
    assert classify(text) == expected


def test_analyse_names_the_times_compared():
    analysis = analyse("The weekly report takes 5 minutes instead of an hour.")
    assert "times: 'instead …' a gain" in analysis.rules
    assert [(w.text, w.valence, w.source) for w in analysis.words] == [
        ("instead", 1.8, "rule: two times compared")
    ]


def test_a_function_the_knowledge_does_not_list_stopping_is_a_known_misread():
    # "Firing" is VADER's word for dismissal, not a verb of function of the feedback knowledge,
    # so "stopped firing" reads as a problem that ended. Read against the knowledge's problem
    # words only, the development set's 5-fold reads lose two messages ("stopped panicking").
    assert classify("The webhooks stopped firing after the migration.") == "positive"
    assert classify("The webhooks stopped working after the migration.") == "negative"


# --- the second round (dev ids 461-615): a rule each, with a neutral counter-example ------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # "used to" negates a verb of function: the function is gone
        ("The widget used to update every hour.", "negative"),
        ("I used to use the web version, now I use the app.", "neutral"),
        # more verbs of function and service, negated
        ("I can't cancel my subscription.", "negative"),
        ("Podcasts won't play over Bluetooth.", "negative"),
        ("Nobody answers the support line.", "negative"),
        ("Can I cancel my subscription anytime?", "neutral"),
        ("How do I unsubscribe from the newsletter?", "neutral"),
        # "now" weighs the sentence after it as "but" does: the present state decides
        ("The sidebar was handy, now it's a cluttered mess.", "negative"),
        ("It was slow last year, now it's really fast.", "positive"),
        # the old version praised is the new one criticised
        ("The previous version was far more stable.", "negative"),
        ("Does the old version still work on iOS 15?", "neutral"),
        # time taken is slowness (with "only"/"just" it is quick: see the complaint model's
        # known misreads in test_sentiment_complaints.py)
        ("Opening the inbox takes almost thirty seconds.", "negative"),
        ("Syncing my library took over two hours.", "negative"),
        ("How long does the export take for large files?", "neutral"),
        # crashes and failures phrased without a complaint word
        ("The app closes itself when I switch accounts.", "negative"),
        ("Reminders arrive hours late.", "negative"),
        ("The export button does nothing.", "negative"),
        ("It worked fine yesterday.", "negative"),
        ("Support keeps closing my tickets.", "negative"),
        ("You took my money twice this month.", "negative"),
        ("Clicking save does nothing.", "negative"),
        # praise phrased without a praise word
        ("Search results appear instantly.", "positive"),
        ("The agent walked me through the setup.", "positive"),
        ("Haven't had a single crash this year.", "positive"),
    ],
)
def test_second_round_rules(text, expected):
    assert classify(text) == expected


# --- the third round: complaint shapes of software and service feedback, with counter-examples


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # interruptions that keep happening
        ("The video keeps pausing.", "negative"),
        ("The screen keeps going black.", "negative"),
        ("Calls keep dropping.", "negative"),
        ("The app keeps telling me I'm offline when I'm not.", "negative"),
        ("The sync conflicts keep creating duplicate files.", "negative"),
        # "impossible", and the idiom that praises
        ("Impossible to find the settings.", "negative"),
        ("Impossible to reach a human.", "negative"),
        ("Impossible to put down.", "positive"),
        # the same fault again
        ("Still happening on version 5.", "negative"),
        ("Same problem as last month.", "negative"),
        ("This is the second time this week it happened.", "negative"),
        # waiting, lateness, pending
        ("I waited 40 minutes on the phone.", "negative"),
        ("The reminder went off an hour late.", "negative"),
        ("My transfer has been pending for five days.", "negative"),
        # having to repeat a step
        ("I have to log in again every single time.", "negative"),
        ("I have to re-enter my address every time I order.", "negative"),
        # paying and still not getting it
        ("Ads play even though I pay for premium.", "negative"),
        ("The card was declined but the money left my account.", "negative"),
        # forgetting, stalling, wrong readings
        ("It forgets my login every day.", "negative"),
        ("It forgot all my preferences.", "negative"),
        ("The step count is way off.", "negative"),
        ("The fridge shows up as offline in the app.", "negative"),
        ("Videos play without sound.", "negative"),
        ("My delivery never showed up.", "negative"),
        # more verbs of function, negated (-ing forms and service verbs)
        ("Messages are not showing up.", "negative"),
        ("I can't access my account.", "negative"),
        ("Can't reach anyone at support.", "negative"),
        ("My refund still hasn't been processed.", "negative"),
        ("Couldn't figure out how to export my data.", "negative"),
        ("I keep getting an error when I save.", "negative"),
        # the issue's list, read before this round: kept negative
        ("The export button doesn't work.", "negative"),
        ("The installer is stuck on 45%.", "negative"),
        ("Nothing happens when I press send.", "negative"),
        ("Three days and no response from support.", "negative"),
        ("It's worse since the update.", "negative"),
        ("The sync bug is still not fixed.", "negative"),
        # negated forms: a fault that is gone is not a complaint
        ("No longer crashes on startup.", "positive"),
        ("The app no longer logs me out, thanks for the fix.", "positive"),
        ("No more lag since the update.", "positive"),
        ("It doesn't crash anymore.", "positive"),
        ("I've never had a problem with billing.", "positive"),
        ("Nobody got back to me.", "negative"),
        # neutral shapes stay neutral
        ("Please add an export to PDF.", "neutral"),
        ("Is it possible to save drafts?", "neutral"),
        ("I use it to save recipes.", "neutral"),
        ("How do I access the archive?", "neutral"),
        ("I haven't opened the web version yet.", "neutral"),
        ("I haven't uploaded my photos yet.", "neutral"),
        ("We wait for the weekly report every Monday.", "neutral"),
        ("Can I log in again from another device?", "neutral"),
        ("Do I need to log in again after the update?", "neutral"),
    ],
)
def test_third_round_patterns(text, expected):
    assert classify(text) == expected


# --- the fourth round (dev ids 680-919, written blind): a shape each, with counter-examples ----


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # idioms of praise built from negators and "without"
        ("Switched from a spreadsheet and never looked back.", "positive"),
        ("Can't imagine running the shop without it.", "positive"),
        ("Renewed without thinking twice.", "positive"),
        ("Not a single sync issue since we moved over.", "positive"),
        ("Didn't expect a free app to be this polished.", "positive"),
        ("Didn't expect it to be this slow.", "negative"),
        ("I can't open a file without it freezing.", "negative"),
        # "support" names the help desk: what is said of it decides
        ("Features are good but support is nonexistent.", "negative"),
        ("Support was quick and helpful.", "positive"),
        ("They moved support to a chat window.", "neutral"),
        # faults stated as facts
        ("The progress bar stops at 99%.", "negative"),
        ("Google login loops back to the sign-in screen.", "negative"),
        ("Search returns zero results for files I can see.", "negative"),
        ("The calendar shows my meetings an hour off.", "negative"),
        ("Alerts arrive hours after the event.", "negative"),
        ("Notifications still come even though I turned them off.", "negative"),
        ("My team can't see the boards I shared.", "negative"),
        ("Dark mode switches back to light after a restart.", "negative"),
        ("We are moving to a competitor next month.", "negative"),
        # questions that are complaints, and sarcasm at the start of a sentence
        ("What happened to offline mode?", "negative"),
        ("Why does a notes app need my location?", "negative"),
        ("Who thought hiding the save button was a good idea?", "negative"),
        ("Who thought a budgeting app could be this fun?", "neutral"),
        ("Where did my files go?", "negative"),
        ("Where do I find my invoices?", "neutral"),
        # requests and descriptions of use stay neutral
        ("pls add an export to pdf", "neutral"),
        ("Option to change the font size please.", "neutral"),
        ("Hoping for an iPad version.", "neutral"),
        ("It'd be good to have a weekly summary.", "neutral"),
        ("I only use the notes part, not the tasks.", "neutral"),
        ("I use it every day but it doesn't sync.", "negative"),
    ],
)
def test_fourth_round_shapes(text, expected):
    assert classify(text) == expected


def test_a_description_of_use_carries_no_negation_prior():
    result = analyse("I only use the notes part, not the tasks.")

    assert result.label == "neutral"
    assert "description of use 'i only use': no negation prior" in result.rules


# --- the fifth and sixth rounds (dev ids 920-1309, written blind) ------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # faults and billing stated as facts
        ("Tapping track my order closes the app.", "negative"),
        ("The pickup pin won't move.", "negative"),
        ("My playlist got scrambled after the update.", "negative"),
        ("Every birthday shows up twice in my calendar.", "negative"),
        ("Nobody from your team has replied in two weeks.", "negative"),
        ("Why was offline mode removed?", "negative"),
        ("Moving the menu was a step backwards.", "negative"),
        ("The recommendations should be far more relevant.", "negative"),
        ("Nice app, but it only works on iPhone.", "negative"),
        ("Saved recipes disappeared when I switched phones.", "negative"),
        ("Screen sharing crashes the app.", "negative"),
        ("Every video autoplays with sound. Please stop.", "negative"),
        ("Import mangled all our phone numbers.", "negative"),
        # praise told as a fact or an idiom
        ("The rep went out of his way to help.", "positive"),
        ("They replaced my parcel without any fuss.", "positive"),
        ("The integration saves our team hours every week.", "positive"),
        ("Took a while to learn, but now I can't work anywhere else.", "positive"),
        ("Most accurate forecasts I've found.", "positive"),
        # a request marker that ends its sentence requests all of it
        ("A night mode with warmer colors would be great.", "neutral"),
        ("Love the app, please add a widget.", "positive"),
        ("What happens to my files if I downgrade?", "neutral"),
    ],
)
def test_fifth_and_sixth_round_shapes(text, expected):
    assert classify(text) == expected


# --- news: what reporting was not told judges nothing (origin `news`) -------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The ministry did not respond to several requests for comment.", "neutral"),
        ("Officials would not say how many inspectors were hired.", "neutral"),
        ("The company would not comment on the merger.", "neutral"),
        ("The council has not decided whether to renew the contract.", "neutral"),
        ("The defendant pleaded not guilty.", "neutral"),
        ("Sales show no sign of slowing.", "neutral"),
        ("It has been nothing short of brilliant.", "positive"),
        # in feedback the same verbs negated are still complaints
        ("Support did not respond to my emails.", "negative"),
        ("The app does not respond when I tap save.", "negative"),
        ("Voice search never understands what I say.", "negative"),
    ],
)
def test_news_reporting_shapes(text, expected):
    assert classify(text) == expected


def test_every_phrase_with_a_gap_is_read_whatever_the_gap_stands_for():
    # "*" may stand for no word ("it took hours": the phrase then ends the message) or for
    # several, which the phrase covers too ("not a single really annoying problem")
    phrases = [t for t in sentiment_feedback.load().phrases.entries if sentiment_feedback.ANY in t]
    assert phrases
    for phrase in phrases:
        shown = phrase.lstrip("^")
        for gap in ("", "quite really"):
            words = [gap if w == sentiment_feedback.ANY else w for w in shown.split(" ")]
            text = " ".join(w for w in words if w)
            result = analyse(text)
            assert any(f"phrase '{shown}'" in rule for rule in result.rules), (phrase, gap)
            assert [w.text for w in result.words] in ([], [shown]), (phrase, gap, result.words)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a request that ends its sentence silences its own clause, not praise before "but",
        # a dash or a bracket
        ("Great app but a widget would be nice.", "positive"),
        ("Love it - a widget would be nice.", "positive"),
        ("Works great (a widget would be nice).", "positive"),
        # a description of use judges nothing; what follows "but" does again
        ("I use it for work but it doesn't do what it says.", "negative"),
        # news rules stay out of feedback
        ("Support did not respond to my requests.", "negative"),
        ("They never return calls.", "negative"),
        ("They did not disclose the cancellation fee.", "negative"),
        ("I can't post a comment anymore.", "negative"),
        # idioms kept narrow
        ("It shaved hours off my weekly reporting.", "neutral"),
        ("The refund never went back to my card.", "negative"),
        ("Oh great, it works now.", "positive"),
    ],
)
def test_counter_examples_of_the_fourth_to_sixth_rounds(text, expected):
    assert classify(text) == expected


def test_analyse_names_the_words_and_rules_that_decided():
    result = analyse("Support never answered my ticket.")

    assert result.label == "negative"
    assert [(w.text, w.valence) for w in result.words] == [("never", -0.2), ("answered", -1.3)]
    assert result.words[1].source == "negated verb 'answered' (form, =ignored)"
    assert result.rules == (
        "phrase 'support' carries no sentiment here (form)",
        "negated verb 'never … answered' -1.3 (form)",
    )
    assert classify("Support never answered my ticket.") == result.label
    assert analyse("", explain=True) == sentiment.Analysis("neutral", 0.0)


# --- the data ---------------------------------------------------------------------------------


def _entries() -> list[tuple[str, str, sentiment_feedback.Entry]]:
    lexicon, rules = sentiment_feedback._read_both()
    return [
        (section, text, entry)
        for sections in (lexicon, rules)
        for section, rows in sections.items()
        for text, entry in rows
    ]


def test_every_entry_says_where_it_comes_from():
    dev_ids = {row[0] for row in _rows(DEV)}
    for section, text, entry in _entries():
        origin = entry.origin.split(":")[0]
        assert origin in {"issue16", "form", "domain", "idiom", "broad", "shared", "dev", "news"}, (
            text
        )
        assert entry.family != "form", f"{section}/{text}: a form must follow its entry"
        assert entry.dev_ids <= dev_ids, f"{section}/{text} names unknown messages"
        words = text.replace(sentiment_feedback.NEG, "")
        assert words == words.lower(), text
        assert "  " not in text, text


def test_the_files_are_read_as_sections_of_rows_whose_forms_follow_their_entry(tmp_path):
    entry = sentiment_feedback.Entry
    lexicon = tmp_path / "lexicon.txt"
    lexicon.write_bytes(
        b"# a header\r\n#@words\r\ncrashes\t-1.7\tissue16\t=crash\r\n"
        b"crashed\t-1.7\tform\t=crash\r\n\r\n# a comment\r\n"
        b"#@negated\r\nrefund\t-1.8\t0.5\tdev:7,9\tscale:clear\r\n"
        b"refunded\t-1.8\t0.5\tform\tscale:clear\r\n"
    )
    rules = tmp_path / "rules.txt"
    rules.write_text("#@repair\nfixed\tdomain\nfixes\tform\n#@ended\ngone\tdev:3\n")
    assert sentiment_feedback._parse(lexicon, valued=True) == {
        "words": [
            ("crashes", entry(-1.7, "issue16", "=crash", 0.0, "issue16")),
            ("crashed", entry(-1.7, "form", "=crash", 0.0, "issue16")),
        ],
        "negated": [
            ("refund", entry(-1.8, "dev:7,9", "scale:clear", 0.5, "dev:7,9")),
            ("refunded", entry(-1.8, "form", "scale:clear", 0.5, "dev:7,9")),
        ],
    }
    parsed = sentiment_feedback._parse(rules, valued=False)
    assert parsed == {
        "repair": [
            ("fixed", entry(0.0, "domain", "", 0.0, "domain")),
            ("fixes", entry(0.0, "form", "", 0.0, "domain")),
        ],
        "ended": [("gone", entry(0.0, "dev:3", "", 0.0, "dev:3"))],
    }
    assert parsed["ended"][0][1].dev_ids == frozenset({3})
    assert all(type(e) is entry for rows in parsed.values() for _, e in rows)


def test_valences_copy_the_vader_rating_or_the_scale_they_name():
    vader = sentiment._vader()
    scale = {"mild": 1.0, "clear": 1.8, "strong": 2.5}
    lexicon, _ = sentiment_feedback._read_both()
    for section in ("words", "phrases", "negated"):
        for text, entry in lexicon[section]:
            if entry.source.startswith("="):
                assert entry.valence == vader.get(entry.source[1:]), text
            elif entry.source.startswith("scale:"):
                assert abs(entry.valence) == scale[entry.source[6:]], text
            else:
                assert (entry.source, entry.valence) == ("sense", 0.0), text


def test_no_entry_is_listed_twice():
    seen: set[tuple[str, str]] = set()
    for section, text, _ in _entries():
        assert (section, text) not in seen, f"{section}/{text}"
        seen.add((section, text))


def test_leaving_a_fold_out_drops_exactly_the_entries_derived_from_it_and_their_forms():
    data = sentiment_feedback.load()
    fold = frozenset({124})  # "Deleted it after a day." gave "deleted it" and its forms
    reduced = data.without(fold)

    assert "deleted it" in data.phrases.entries
    assert "deleted it" not in reduced.phrases.entries
    assert "deleting the app" not in reduced.phrases.entries  # a form of it
    assert "uninstalled" in reduced.words  # not derived from the development set
    assert classify("Deleted it after a day.") == "negative"
    assert analyse("Deleted it after a day.", data=reduced).label == "neutral"


def test_an_entry_read_from_messages_in_several_folds_is_left_out_of_each():
    # "refunded me" was read from development messages 593 and 5836, in two folds. Left out only
    # of a fold that held both, it scored each of them with knowledge read from it.
    data = sentiment_feedback.load()
    assert data.phrases.entries["refunded me"].dev_ids == frozenset({593, 5836})
    for fold in (frozenset({593}), frozenset({5836, 9000})):
        reduced = data.without(fold)
        assert "refunded me" not in reduced.phrases.entries
    assert "refunded me" in data.without(frozenset({1, 2})).phrases.entries
    text = "I was charged twice, but support refunded me the same day."
    assert analyse(text, data=data, complaints=sentiment_complaints.OFF).label == "positive"
    reduced = data.without(frozenset({5836}))
    assert analyse(text, data=reduced, complaints=sentiment_complaints.OFF).label == "negative"


def test_the_data_sets_are_labelled_by_known_rules():
    # The fifth test set's writer gave no rule codes ("-"); every other set has them.
    labelled = [path for path in ALL_SETS if path != FORM]
    sets = [_rows(path) for path in labelled]
    assert len(sets[0]) >= 300
    for rows in sets:
        assert len({r[0] for r in rows}) == len(rows)
        for _, label, rule, text in rows:
            assert rule in RULES
            assert label == {"N": "negative", "P": "positive", "U": "neutral"}[rule[0]], text
    texts = [{r[3] for r in rows} for rows in sets]
    for k, these in enumerate(texts):
        for other in texts[k + 1 :]:
            assert not these & other


# --- the figures ------------------------------------------------------------------------------


def test_development_set_meets_the_targets():
    accuracy, negative_recall = _figures(_rows(DEV))
    assert accuracy >= 0.85
    assert negative_recall >= 0.85


# Floors, not targets: each set's figures (accuracy, recall on negative messages) as last
# measured with the analyser as shipped, rounded down; docs/sentiment.md ("The data sets",
# "Measured figures") gives each set's history. A change that lowers one updates it there.
@pytest.mark.parametrize(
    ("path", "accuracy_floor", "recall_floor"),
    [
        pytest.param(TEST, 0.96, 0.95, id="test"),  # 0.963, 0.956
        pytest.param(BLIND, 0.93, 1.00, id="second"),  # 0.938, 1.000 (86d6fc2: 0.926, 1.000)
        pytest.param(BLIND3, 0.91, 0.86, id="third"),  # 0.915, 0.863 (86d6fc2: 0.920, 0.887)
        pytest.param(FACTS, 0.90, 0.91, id="fourth"),  # 0.908, 0.915 (86d6fc2: 0.895, 0.908)
        pytest.param(FORM, 0.90, 0.92, id="fifth"),  # 0.909, 0.925
        pytest.param(PHONE, 0.90, 0.95, id="sixth"),  # 0.908, 0.950 (86d6fc2: 0.891, 0.940)
        pytest.param(WORK, 0.85, 0.89, id="seventh"),  # 0.854, 0.890 (86d6fc2: 0.850, 0.910)
        pytest.param(OFFICE, 0.85, 0.92, id="eighth"),  # 0.850, 0.920 (86d6fc2: 0.846, 0.920)
        pytest.param(STORIES, 0.86, 0.94, id="ninth"),  # 0.863, 0.940 (86d6fc2: 0.787, 0.940)
        pytest.param(SHORT, 0.90, 0.88, id="tenth"),  # 0.903, 0.889 (86d6fc2: 0.903, 0.909)
        pytest.param(SHORT2, 0.88, 0.96, id="eleventh"),  # 0.890, 0.970 (86d6fc2: 0.898, 0.970)
        # the twelfth to fourteenth were scored once each, as written: 0.892/0.898, 0.908/0.907
        # and 0.904/0.918
        pytest.param(SHORT3, 0.91, 0.92, id="twelfth"),  # 0.918, 0.929 (86d6fc2: 0.913, 0.929)
        pytest.param(SHORT4, 0.93, 0.92, id="thirteenth"),  # 0.934, 0.928 (86d6fc2: 0.926, 0.918)
        pytest.param(SHORT5, 0.93, 0.93, id="fourteenth"),  # 0.939, 0.938 (86d6fc2: 0.926, 0.938)
        pytest.param(MIXED, 0.94, 0.93, id="fifteenth"),  # 0.948, 0.938 (86d6fc2: 0.917, 0.938)
        # scored once, as written, with the analyser before the sure margin (0ead04b) and after
        # it (c46afa5): 0.915/0.907 and 0.915/0.918; 0.793/0.825 and 0.834/0.913
        pytest.param(SHORT6, 0.91, 0.90, id="sixteenth"),  # 0.910, 0.907 (86d6fc2: 0.915, 0.918)
        pytest.param(MIXED2, 0.91, 0.92, id="seventeenth"),  # 0.917, 0.922 (86d6fc2: 0.876, 0.922)
        # scored once with 0ead04b and 1eadc76 (the sure margin): 0.740/0.843 and 0.776/0.915
        pytest.param(LONG, 0.86, 0.91, id="eighteenth"),  # 0.863, 0.917 (86d6fc2: 0.808, 0.913)
        # scored once with b0b0707 and ff07dc6 (the praise clearing): 0.823/0.933, 0.857/0.936
        pytest.param(LONG2, 0.91, 0.94, id="nineteenth"),  # 0.913, 0.945 (86d6fc2: 0.864, 0.945)
        # scored once with b0b0707 and 1e5e969 (the analyser of ec41ac1, questions read):
        # 0.768/0.927 and 0.800/0.918; 0.865/0.944 and 0.895/0.944
        pytest.param(LONG3, 0.87, 0.92, id="twentieth"),  # 0.872, 0.927 (86d6fc2: 0.804, 0.927)
        pytest.param(MIXED3, 0.91, 0.93, id="twenty-first"),  # 0.920, 0.935 (86d6fc2: 0.903, 0.944)
        # scored once with 634567b and 15237e0 (the greetings, refunds and fixes): 0.891/0.960
        # and 0.895/0.960
        pytest.param(MIXED4, 0.93, 0.97, id="twenty-second"),  # 0.940, 0.970 (was 0.895, 0.960)
        # scored once with 634567b and ad9a69a (stopped problems to times compared): 0.768/0.950
        # and 0.788/0.950
        pytest.param(LONG4, 0.87, 0.93, id="twenty-third"),  # 0.876, 0.930 (86d6fc2: 0.788, 0.950)
        # scored once with 86d6fc2, a402d9c (the praise overturn) and 105dc57 (the overturn's
        # complaint threshold): 0.788/0.940, 0.800/0.940 and 0.816/0.950; then with sure praise
        # cleared past the margin, built after it was scored
        pytest.param(LONG5, 0.86, 0.95, id="twenty-fourth"),  # 0.864, 0.950
        # scored once with fbbea57 and 68c7f87 (the second pass): 0.922/0.899 both times
        pytest.param(MIXED5, 0.92, 0.89, id="twenty-fifth"),  # 0.922, 0.899
    ],
)
def test_a_test_set_keeps_its_measured_figures(path, accuracy_floor, recall_floor):
    accuracy, negative_recall = _figures(_rows(path))
    assert accuracy >= accuracy_floor
    assert negative_recall >= recall_floor


def test_no_message_is_in_two_sets():
    # A test set's figure means nothing for a message the development set (or another test set)
    # also holds: messages repeated word for word (case aside) were left out when each set was
    # merged or written.
    seen: dict[str, str] = {}
    for path in ALL_SETS:
        for _id, _label, _rule, text in _rows(path):
            key = " ".join(text.lower().split())
            assert seen.setdefault(key, path.name) == path.name, (text, seen[key], path.name)


@pytest.mark.parametrize("path", NEWS, ids=lambda p: p.stem)
def test_news_sets_stay_at_or_above_vader(path):
    # General text of the genre the registries lack (docs/sentiment.md): at least VADER, whose
    # compound `score(text, negation_prior=0.0)` reproduces exactly.
    rows = [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines()]
    rows = [(label, text) for _, label, text in (r for r in rows if not r[0].startswith("#"))]
    vader_labels = [sentiment._label(sentiment.score(text, negation_prior=0.0)) for _, text in rows]
    ours = sum(classify(text) == label for label, text in rows)
    theirs = sum(v == label for v, (label, _) in zip(vader_labels, rows, strict=True))
    assert len(rows) == 300
    assert ours >= theirs


def test_shared_review_set_stays_above_its_goal():
    if not SHARED.is_file():
        pytest.skip(f"shared data set not found at {SHARED}")
    rows = [line.split("\t", 2) for line in SHARED.read_text(encoding="utf-8").splitlines() if line]

    def gold(rating: float) -> str:
        return "positive" if rating >= 0.5 else "negative" if rating <= -0.5 else "neutral"

    correct = sum(classify(text) == gold(float(rating)) for _, rating, text in rows)
    assert correct / len(rows) >= 0.62


# --- weight -----------------------------------------------------------------------------------


def test_the_handler_stays_lean():
    # The scorer needs a few light standard modules, and its first classifications (which
    # read all four data files: the second one the complaint model's) import nothing more.
    code = (
        "import json, sys\n"
        "start = set(sys.modules)\n"
        "import lambdas.common.sentiment as s\n"
        "scorer = set(sys.modules) - start\n"
        "import lambdas.create_feedback.handler\n"
        "loaded = set(sys.modules)\n"
        "s.classify('The app crashes constantly.')\n"
        "assert s.classify('My invoices still show last month after the update.') == 'negative'\n"
        "print(json.dumps([sorted(scorer), sorted(set(sys.modules) - loaded)]))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    scorer, first_call = json.loads(run.stdout)

    light = {"lambdas", "bisect", "collections", "functools", "math", "pathlib", "string", "typing"}
    assert {m.split(".")[0] for m in scorer if not m.startswith("_")} <= light | {"unicodedata"}
    assert first_call == []
