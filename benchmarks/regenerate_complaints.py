"""Regenerate the complaint model's counts (lambdas/common/sentiment_complaints.txt) from the
product-feedback and news development sets, every row; the file's header is kept.

    .venv/bin/python benchmarks/regenerate_complaints.py

tests/unit/test_sentiment_complaints.py checks that the shipped counts are what this writes.
The sets are read by the benchmark's loaders (bench_sentiment.py), as its cross-validation
reads them.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_sentiment as bench

from lambdas.common import sentiment_complaints

NEWS_DEV = bench.NEWS["news sentences, development (3 classes)"]


def feedback_rows() -> list[tuple[str, str]]:
    """(label, text) of the product-feedback development set."""
    return [(label, text) for _id, label, _rule, text in bench.load_feedback(bench.FEEDBACK_DEV)]


def news_texts() -> list[str]:
    """The news development set's sentences."""
    return [text for _label, text in bench.load_news(NEWS_DEV)]


def main() -> None:
    counts = sentiment_complaints.write(feedback_rows(), news_texts())
    print(
        f"{sentiment_complaints.PATH.name}: {counts.negative} negative, {counts.neutral} neutral "
        f"and {counts.positive} positive feedback messages, {counts.news} news sentences, "
        f"{len(counts.features)} features"
    )


if __name__ == "__main__":
    main()
