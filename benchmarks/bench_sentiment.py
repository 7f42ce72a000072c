"""Benchmark lambdas/common/sentiment.py: accuracy, speed, cross-validation, agreement with VADER.

Run from the repository root:  .venv/bin/python benchmarks/bench_sentiment.py
or import and call `run()`, which prints the report and returns the figures as a dict.

Gold labels: the mean human rating (-4..+4) of each snippet in
../shared/data/amazon_review_snippets.tsv; >= 0.5 positive, <= -0.5 negative, else neutral.
"""

from __future__ import annotations

import math
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "amazon_review_snippets.tsv"
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from lambdas.common import sentiment  # noqa: E402

try:  # a dev dependency: the reference we compare with, never used by the Lambda
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
except ImportError:
    SentimentIntensityAnalyzer = None

GOAL_ACCURACY = 0.62
GOAL_US_PER_ITEM = 100.0
# The grid the one calibrated constant (sentiment.NEGATION_PRIOR) is chosen from.
PRIOR_GRID = tuple(round(-0.1 * k, 1) + 0.0 for k in range(16))  # 0.0, -0.1, ..., -1.5
# Widths of the neutral band reported (not tuned: VADER's 0.05 is kept).
THRESHOLDS = (0.01, 0.05, 0.1, 0.2, 0.3, 0.5)
CV_FOLDS = 10
CV_REPEATS = 5

# A tiny keyword baseline: the floor any real method must clear.
KEYWORDS_POS = frozenset(
    {
        "good",
        "great",
        "love",
        "loved",
        "excellent",
        "amazing",
        "awesome",
        "best",
        "perfect",
        "nice",
        "happy",
        "recommend",
    }
)
KEYWORDS_NEG = frozenset(
    {
        "bad",
        "terrible",
        "hate",
        "hated",
        "awful",
        "worst",
        "poor",
        "horrible",
        "broken",
        "disappointed",
        "useless",
        "waste",
    }
)

# Text the classifier was never tuned on, to compare with vaderSentiment's own labels.
# First VADER's demo sentences (vaderSentiment.py, __main__), verbatim; then sentences written for
# this benchmark (tweets, product reviews, movie reviews, news), one per rule or genre, before
# any of them was scored.
VADER_EXAMPLES = (
    "VADER is smart, handsome, and funny.",
    "VADER is smart, handsome, and funny!",
    "VADER is very smart, handsome, and funny.",
    "VADER is VERY SMART, handsome, and FUNNY.",
    "VADER is VERY SMART, handsome, and FUNNY!!!",
    "VADER is VERY SMART, uber handsome, and FRIGGIN FUNNY!!!",
    "VADER is not smart, handsome, nor funny.",
    "The book was good.",
    "At least it isn't a horrible book.",
    "The book was only kind of good.",
    "The plot was good, but the characters are uncompelling and the dialog is not great.",
    "Today SUX!",
    "Today only kinda sux! But I'll get by, lol",
    "Make sure you :) or :D today!",
    "Catch utf-8 emoji such as 💘 and 💋 and 😁",
    "Not bad at all",
    "Sentiment analysis has never been good.",
    "Sentiment analysis has never been this good!",
    "Most automated sentiment analysis tools are shit.",
    "With VADER, sentiment analysis is the shit!",
    "Other sentiment analysis tools can be quite bad.",
    "On the other hand, VADER is quite bad ass",
    "VADER is such a badass!",
    "Without a doubt, excellent idea.",
    "Roger Dodger is one of the most compelling variations on this theme.",
    "Roger Dodger is at least compelling as a variation on the theme.",
    "Roger Dodger is one of the least compelling variations on this theme.",
    "Not such a badass after all.",
    "Without a doubt, an excellent idea.",
    "It was one of the worst movies I've seen, despite good reviews.",
    "Unbelievably bad acting!!",
    "Poor direction.",
    "VERY poor production.",
    "The movie was bad.",
    "Very bad movie.",
    "VERY BAD movie!",
)
OTHER_SENTENCES = (
    # tweets
    "omg I LOVE this new album!!! 😍",
    "ugh, monday again. so tired of this",
    "can't wait for the weekend!",
    "just landed in Paris ✈️",
    "worst customer service ever, never flying with them again",
    "lol this is hilarious 😂",
    "not gonna lie, that game was pretty fun",
    "Thanks so much for the birthday wishes everyone :)",
    "my phone died again :(",
    "I don't hate it.",
    "nothing beats a cold beer on a hot day",
    "why is everything so expensive??",
    "@airline lost my bag AGAIN. thanks for nothing.",
    "Feeling blessed and grateful today 🙏",
    "this traffic is killing me",
    "who's watching the game tonight?",
    "honestly not impressed with the update",
    "new blog post is up, link in bio",
    "I'm not sure how I feel about this",
    "best day ever!!!",
    # product reviews
    "The battery lasts all day and the screen is gorgeous.",
    "Stopped working after two weeks.",
    "It does what it says, nothing more, nothing less.",
    "Shipping was fast but the box was damaged.",
    "I would not recommend this to anyone.",
    "Not the best sound quality, but for the price it's fine.",
    "Excellent value for money, highly recommended.",
    "The instructions were confusing and parts were missing.",
    "Works as expected.",
    "The color is slightly different from the picture.",
    "Don't waste your money on this junk.",
    "I returned it the next day.",
    "Comfortable, lightweight, and very sturdy.",
    "It's okay, nothing special.",
    "The app crashes constantly and support never answers.",
    "Five stars, would buy again!",
    "I was skeptical at first, but it turned out to be great.",
    "It's not bad, just not what I expected.",
    "The zipper broke on the first use.",
    "Perfect fit and the fabric feels premium.",
    # movie reviews
    "A beautifully shot film with a weak, predictable script.",
    "The performances are superb and the ending is unforgettable.",
    "Two hours of my life I will never get back.",
    "It's a mess, but a fascinating mess.",
    "The jokes mostly fall flat.",
    "Not since the original has a sequel been this thrilling.",
    "An utterly charming, funny and moving story.",
    "The plot makes no sense whatsoever.",
    "Dull, overlong and painfully slow.",
    "I didn't expect to enjoy it this much.",
    "A solid if unremarkable thriller.",
    "The dialogue is clunky and the villain is forgettable.",
    "This is the kind of movie that stays with you.",
    "Neither funny nor scary.",
    "It's hardly a masterpiece, but it's entertaining enough.",
    "The director never lets the tension drop.",
    "A waste of a talented cast.",
    "Visually stunning and emotionally powerful.",
    "The film runs 142 minutes.",
    "Sadly, the second half doesn't live up to the first.",
    # news
    "The central bank left interest rates unchanged on Thursday.",
    "Floods killed at least 40 people and displaced thousands.",
    "The company reported record profits for the third quarter.",
    "Officials said the investigation is ongoing.",
    "The new bridge will open to traffic next month.",
    "Critics warned that the policy could worsen inequality.",
    "Rescue teams saved dozens of people trapped in the rubble.",
    "The minister did not comment on the allegations.",
    "Unemployment fell to its lowest level in a decade.",
    "Protesters clashed with police outside the parliament.",
    "The museum will be closed on public holidays.",
    "The agreement was welcomed by both sides as a major breakthrough.",
    "Scientists have not yet found a cure for the disease.",
    "Stocks tumbled amid fears of a global recession.",
    "The report found no evidence of wrongdoing.",
    "Voters will go to the polls in November.",
    "The hospital praised the staff for their courage.",
    "Prices rose sharply in the last year.",
    "The mayor announced a plan to build more affordable housing.",
    "No injuries were reported.",
    # one rule at a time
    "The food was good.",
    "The food was not good.",
    "The food was GOOD!!!",
    "The food was good, but the service was terrible.",
    "The food was terrible, but the service was good.",
    "The food was kind of good.",
    "The food was extremely good.",
    "The food isn't bad.",
    "Nothing about the food was good.",
    "Is the food good??",
)

Label = str


def load_dataset(path: Path = DATA) -> list[tuple[str, float, str]]:
    """Rows of (id, mean rating, text) from the tab-separated file."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row_id, rating, text = line.split("\t", 2)
            rows.append((row_id, float(rating), text))
    return rows


def gold_label(rating: float) -> Label:
    if rating >= 0.5:
        return "positive"
    if rating <= -0.5:
        return "negative"
    return "neutral"


def label_of(compound: float, threshold: float = sentiment.THRESHOLD) -> Label:
    if compound >= threshold:
        return "positive"
    if compound <= -threshold:
        return "negative"
    return "neutral"


def keyword_classify(text: str) -> Label:
    words = [w.strip(".,!?;:()\"'") for w in text.lower().split()]
    pos = sum(w in KEYWORDS_POS for w in words)
    neg = sum(w in KEYWORDS_NEG for w in words)
    return "positive" if pos > neg else "negative" if neg > pos else "neutral"


def vader_compound() -> Callable[[str], float] | None:
    """vaderSentiment's compound score, or None if it is not installed."""
    if SentimentIntensityAnalyzer is None:
        return None
    analyzer = SentimentIntensityAnalyzer()
    return lambda text: analyzer.polarity_scores(text)["compound"]


def vader_classifier() -> Callable[[str], Label] | None:
    """vaderSentiment's own labels (compound >= 0.05 / <= -0.05), or None if not installed."""
    compound = vader_compound()
    if compound is None:
        return None
    return lambda text: label_of(compound(text), 0.05)


def accuracy(predicted: Sequence[Label], gold: Sequence[Label]) -> float:
    return sum(p == g for p, g in zip(predicted, gold, strict=True)) / len(gold)


def us_per_item(fn: Callable[[str], object], texts: Sequence[str], runs: int = 3) -> float:
    """Best of `runs` passes over all texts, in microseconds per text."""
    fn(texts[0])  # warm-up: lexicon load, caches
    best = math.inf
    for _ in range(runs):
        start = time.perf_counter()
        for text in texts:
            fn(text)
        best = min(best, time.perf_counter() - start)
    return best / len(texts) * 1e6


def lexicon_load_ms() -> float:
    """Cold load of the vendored lexicon (what a Lambda cold start pays once)."""
    sentiment._load.cache_clear()  # the private cache, on purpose
    start = time.perf_counter()
    sentiment._load()
    return (time.perf_counter() - start) * 1e3


def threshold_sweep(texts: Sequence[str], gold: Sequence[Label]) -> dict[float, float]:
    """Accuracy of our compound score with a wider or narrower neutral band."""
    scores = [sentiment.score(t) for t in texts]
    return {th: accuracy([label_of(c, th) for c in scores], gold) for th in THRESHOLDS}


def select_prior(correct: dict[float, list[bool]], idx: Sequence[int]) -> float:
    """The grid value with the best accuracy on rows `idx`; ties go to the smaller |prior|."""
    return max(PRIOR_GRID, key=lambda p: (sum(correct[p][i] for i in idx), -abs(p)))


def cross_validate(texts: Sequence[str], gold: Sequence[Label]) -> dict[str, Any]:
    """Repeated k-fold CV of choosing NEGATION_PRIOR from PRIOR_GRID by training accuracy."""
    correct = {
        p: [
            label_of(sentiment.score(t, negation_prior=p)) == g
            for t, g in zip(texts, gold, strict=True)
        ]
        for p in PRIOR_GRID
    }
    n = len(texts)
    fold_acc: list[float] = []
    chosen: list[float] = []
    pooled_correct = 0
    for repeat in range(CV_REPEATS):
        order = list(range(n))
        random.Random(repeat).shuffle(order)
        for k in range(CV_FOLDS):
            test = order[k::CV_FOLDS]
            test_set = set(test)
            train = [i for i in order if i not in test_set]
            prior = select_prior(correct, train)
            hits = sum(correct[prior][i] for i in test)
            chosen.append(prior)
            fold_acc.append(hits / len(test))
            pooled_correct += hits
    return {
        "selected_on_all_rows": select_prior(correct, range(n)),
        "grid_accuracy": {p: sum(c) / n for p, c in correct.items()},
        "heldout_accuracy_mean": statistics.mean(fold_acc),
        "heldout_accuracy_std": statistics.stdev(fold_acc),
        "heldout_accuracy_pooled": pooled_correct / (n * CV_REPEATS),
        "chosen_per_fold": sorted(set(chosen)),
        "folds": CV_FOLDS,
        "repeats": CV_REPEATS,
    }


def agreement_with_vader() -> dict[str, Any] | None:
    """Our labels vs vaderSentiment's labels on text we never tuned on."""
    vader_label, vader_score = vader_classifier(), vader_compound()
    if vader_label is None or vader_score is None:
        return None
    texts = VADER_EXAMPLES + OTHER_SENTENCES
    ours = [sentiment.classify(t) for t in texts]
    theirs = [vader_label(t) for t in texts]
    exact = sum(abs(sentiment.score(t, negation_prior=0.0) - vader_score(t)) < 1e-9 for t in texts)
    vader_part = len(VADER_EXAMPLES)
    return {
        "sentences": len(texts),
        "label_agreement": accuracy(ours, theirs),
        "label_agreement_vader_examples": accuracy(ours[:vader_part], theirs[:vader_part]),
        "label_agreement_written": accuracy(ours[vader_part:], theirs[vader_part:]),
        "core_exact_compound_match": exact / len(texts),
        "disagreements": [(t, o, v) for t, o, v in zip(texts, ours, theirs, strict=True) if o != v],
    }


def run(data_path: Path = DATA, *, verbose: bool = True) -> dict[str, Any]:
    """Measure everything, print a report (if verbose) and return the figures."""
    rows = load_dataset(data_path)
    texts = [r[2] for r in rows]
    gold = [gold_label(r[1]) for r in rows]
    vader_label = vader_classifier()

    result: dict[str, Any] = {
        "rows": len(rows),
        "negation_prior": sentiment.NEGATION_PRIOR,
        "threshold": sentiment.THRESHOLD,
        "accuracy_ours": accuracy([sentiment.classify(t) for t in texts], gold),
        "accuracy_ours_without_prior": accuracy(
            [label_of(sentiment.score(t, negation_prior=0.0)) for t in texts], gold
        ),
        "accuracy_keywords": accuracy([keyword_classify(t) for t in texts], gold),
        "accuracy_vader": None,
        "us_per_item_ours": us_per_item(sentiment.classify, texts),
        "us_per_item_vader": None,
        "lexicon_load_ms": lexicon_load_ms(),
        "accuracy_by_threshold": threshold_sweep(texts, gold),
        "cv": cross_validate(texts, gold),
        "agreement": agreement_with_vader(),
    }
    if vader_label is not None:
        result["accuracy_vader"] = accuracy([vader_label(t) for t in texts], gold)
        result["us_per_item_vader"] = us_per_item(vader_label, texts)
    result["checks"] = {
        f"accuracy >= {GOAL_ACCURACY}": result["accuracy_ours"] >= GOAL_ACCURACY,
        f"<= {GOAL_US_PER_ITEM:.0f} us/item": result["us_per_item_ours"] <= GOAL_US_PER_ITEM,
        ">= plain VADER": result["accuracy_vader"] is None
        or result["accuracy_ours"] >= result["accuracy_vader"],
        "shipped prior == CV selection on all rows": result["cv"]["selected_on_all_rows"]
        == sentiment.NEGATION_PRIOR,
    }
    result["passed"] = all(result["checks"].values())
    if verbose:
        print_report(result)
    return result


def print_report(r: dict[str, Any]) -> None:
    def fmt(x: float | None, spec: str = ".4f") -> str:
        return "n/a (vaderSentiment not installed)" if x is None else format(x, spec)

    cv = r["cv"]
    print(f"sentiment benchmark on {r['rows']} rows of {DATA.name}")
    print(f"  accuracy  ours:             {r['accuracy_ours']:.4f}")
    print(f"  accuracy  ours, prior 0:    {r['accuracy_ours_without_prior']:.4f}  (= VADER core)")
    print(f"  accuracy  vaderSentiment:   {fmt(r['accuracy_vader'])}")
    print(f"  accuracy  keyword baseline: {r['accuracy_keywords']:.4f}")
    print(f"  us/item   ours:             {r['us_per_item_ours']:.1f}  (best of 3)")
    print(f"  us/item   vaderSentiment:   {fmt(r['us_per_item_vader'], '.1f')}")
    print(f"  lexicon cold load:          {r['lexicon_load_ms']:.1f} ms")
    print(
        f"  tuned: NEGATION_PRIOR={r['negation_prior']} (threshold {r['threshold']} untuned); "
        f"{cv['repeats']}x{cv['folds']}-fold CV held-out accuracy "
        f"{cv['heldout_accuracy_mean']:.4f} +/- {cv['heldout_accuracy_std']:.4f} "
        f"(pooled {cv['heldout_accuracy_pooled']:.4f}); values chosen in folds: "
        f"{cv['chosen_per_fold']}; on all rows: {cv['selected_on_all_rows']}"
    )
    grid = "  ".join(f"{p}:{a:.4f}" for p, a in cv["grid_accuracy"].items())
    print(f"  accuracy by prior: {grid}")
    band = "  ".join(f"{th}:{a:.4f}" for th, a in r["accuracy_by_threshold"].items())
    print(f"  accuracy by neutral threshold (ours): {band}")
    agree = r["agreement"]
    if agree is not None:
        print(
            f"  other text ({agree['sentences']} sentences): label agreement with vaderSentiment "
            f"{agree['label_agreement']:.3f} (VADER's demo sentences "
            f"{agree['label_agreement_vader_examples']:.3f}, written ones "
            f"{agree['label_agreement_written']:.3f}); core compound identical on "
            f"{agree['core_exact_compound_match']:.3f}"
        )
        for text, ours, theirs in agree["disagreements"]:
            print(f"    ours={ours:<8} vader={theirs:<8} {text}")
    for name, ok in r["checks"].items():
        print(f"  {'PASS' if ok else 'FAIL'}  {name}")
    print("PASS" if r["passed"] else "FAIL")


def main() -> int:
    if not DATA.is_file():
        print(f"data file not found: {DATA}", file=sys.stderr)
        return 2
    return 0 if run()["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
