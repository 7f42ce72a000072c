"""Score one product-feedback set with the analyser of any commit: the figures a set "scored
once" reports (docs/sentiment.md), by length and by id range.

    git worktree add /tmp/634567b 634567b
    .venv/bin/python benchmarks/score_set.py benchmarks/data/product_feedback_test22.tsv \
        --analyser /tmp/634567b --parts 1-123,124-248

prints, for the whole set, its short messages (at most 25 words), its long ones and each id
range, the count, the three-class accuracy and the recall on negative messages. The set is read
from this tree; the analyser (lambdas.common.sentiment) from `--analyser` (default: this tree).
`--vader` scores with vaderSentiment instead (compound ±0.05, as the benchmark does).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHORT_WORDS = 25  # a message of more words is long, as the docs and the tests count them

Row = tuple[int, str, str]  # id, label, text


def rows(path: Path) -> list[Row]:
    """The set's (id, label, text) rows; ValueError on a malformed one."""
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line or line.startswith("#"):
            continue
        cols = line.split("\t")
        if len(cols) != 4 or not cols[0].isdigit():
            raise ValueError(f"{path}:{n}: not 'id<TAB>label<TAB>rule<TAB>text'")
        out.append((int(cols[0]), cols[1], cols[3]))
    return out


def parts(spec: str) -> list[tuple[int, int]]:
    """ "1-123,124-248" as [(1, 123), (124, 248)]; ValueError on anything else."""
    out = []
    for part in filter(None, spec.split(",")):
        first, _, last = part.partition("-")
        if not (first.isdigit() and last.isdigit()):
            raise ValueError(f"not an id range: {part!r} (write first-last)")
        out.append((int(first), int(last)))
    return out


def figures(labels: Sequence[str], gold: Sequence[Row]) -> tuple[float, float | None]:
    """(accuracy, recall on negative messages, None without any)."""
    right = sum(label == row[1] for label, row in zip(labels, gold, strict=True))
    negatives = [label for label, row in zip(labels, gold, strict=True) if row[1] == "negative"]
    recall = negatives.count("negative") / len(negatives) if negatives else None
    return right / len(gold), recall


def classifier(analyser: Path, vader: bool) -> Callable[[str], str]:
    """The labeller: the analyser of the tree at `analyser`, or vaderSentiment."""
    if vader:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        polarity = SentimentIntensityAnalyzer().polarity_scores

        def label(text: str) -> str:
            c = polarity(text)["compound"]
            return "positive" if c >= 0.05 else "negative" if c <= -0.05 else "neutral"

        return label
    sys.path.insert(0, str(analyser))
    from lambdas.common import sentiment

    if not Path(sentiment.__file__).resolve().is_relative_to(analyser.resolve()):
        raise SystemExit(f"error: the analyser was not imported from {analyser}")
    return sentiment.classify


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("set", type=Path, help="a product-feedback set (id, label, rule, text)")
    parser.add_argument("--analyser", type=Path, default=REPO, help="a tree (worktree) to score")
    parser.add_argument("--parts", default="", help="id ranges to score apart: 1-123,124-248")
    parser.add_argument("--vader", action="store_true", help="score with vaderSentiment")
    args = parser.parse_args(argv)
    try:
        gold, ranges = rows(args.set), parts(args.parts)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    label = classifier(args.analyser, args.vader)
    labels = {row[0]: label(row[2]) for row in gold}
    groups = [
        ("all", gold),
        ("short", [r for r in gold if len(r[2].split()) <= SHORT_WORDS]),
        ("long", [r for r in gold if len(r[2].split()) > SHORT_WORDS]),
        *((f"ids {a}-{b}", [r for r in gold if a <= r[0] <= b]) for a, b in ranges),
    ]
    for name, group in groups:
        if not group:
            continue
        accuracy, recall = figures([labels[r[0]] for r in group], group)
        shown = "-" if recall is None else f"{recall:.3f}"
        print(f"{name:16s} {len(group):5d}  accuracy {accuracy:.3f}  negative recall {shown}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
