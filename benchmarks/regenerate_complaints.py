"""Regenerate the complaint model's counts (lambdas/common/sentiment_complaints.txt) from the
product-feedback and news development sets, every row; the file's header is kept.

    .venv/bin/python benchmarks/regenerate_complaints.py

tests/unit/test_sentiment_complaints.py checks that the shipped counts are what this writes.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lambdas.common import sentiment_complaints  # noqa: E402

DATA = ROOT / "benchmarks" / "data"
FEEDBACK_DEV = DATA / "product_feedback_dev.tsv"
NEWS_DEV = DATA / "news_dev.tsv"


def rows(path: Path) -> list[list[str]]:
    """The tab-separated rows of a data set, without its `#` comment lines."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.split("\t") for line in lines if line.strip() and not line.startswith("#")]


def feedback_rows() -> list[tuple[str, str]]:
    """(label, text) of the product-feedback development set (columns id, label, rule, text)."""
    return [(r[1], r[3]) for r in rows(FEEDBACK_DEV)]


def news_texts() -> list[str]:
    """The news development set's sentences (columns id, label, text)."""
    return [r[2] for r in rows(NEWS_DEV)]


def main() -> None:
    counts = sentiment_complaints.write(feedback_rows(), news_texts())
    print(
        f"{sentiment_complaints.PATH.name}: {counts.negative} negative, {counts.neutral} neutral "
        f"and {counts.positive} positive feedback messages, {counts.news} news sentences, "
        f"{len(counts.features)} features"
    )


if __name__ == "__main__":
    main()
