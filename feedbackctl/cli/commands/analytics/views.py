"""The analytics renderers: the summary (bars, histogram, daily sparkline, age of the last
update) and the verification report of every counter that differs.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.text import Text

from feedbackctl import analytics_ops
from feedbackctl.cli.console import Terminal

BAR_WIDTH = 30


SPARKS = "▁▂▃▄▅▆▇█"


SENTIMENT_STYLES = {"positive": "green", "neutral": "yellow", "negative": "red"}


def age(last_updated: str | None, at: datetime) -> str:
    """How long ago `last_updated` (ISO-8601) was, in the largest unit that fits."""
    if not last_updated:
        return "never"
    try:
        then = datetime.fromisoformat(last_updated.replace("Z", "+00:00"))
    except ValueError:
        return "unknown"
    seconds = int((at - then).total_seconds())
    if seconds < 1:
        return "just now"
    for unit, size in (("day", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            amount = seconds // size
            plural = "s" if unit == "day" and amount > 1 else ""
            return f"{amount} {unit}{plural} ago"
    return f"{seconds} s ago"


def age_seconds(last_updated: str | None, at: datetime) -> float | None:
    if not last_updated:
        return None
    try:
        then = datetime.fromisoformat(last_updated.replace("Z", "+00:00"))
    except ValueError:
        return None
    return round((at - then).total_seconds(), 3)


def bar(value: int, largest: int, width: int = BAR_WIDTH) -> str:
    """A bar scaled to the largest value in its group; any non-zero value shows at least 1."""
    cells = round(value / largest * width) if largest else 0
    cells = max(cells, 1) if value else 0
    return ("█" * cells).ljust(width)


def sparkline(values: list[int]) -> str:
    """One character a day: `·` for none, then eight heights relative to the busiest day."""
    largest = max(values, default=0)
    if not largest:
        return "·" * len(values)
    steps = len(SPARKS)
    return "".join(
        SPARKS[min(steps - 1, max(0, -(-v * steps // largest) - 1))] if v else "·" for v in values
    )


def _plural(count: int, one: str, many: str) -> str:
    return f"{count:,} {one if count == 1 else many}"


def _share(value: int, total: int) -> str:
    return f"{value / total:6.1%}" if total else "     -"


def _bars(text: Text, title: str, rows: list[tuple[str, int, str]], total: int) -> None:
    text.append(f"\n{title}\n", style="bold")
    largest = max((value for _, value, _ in rows), default=0)
    digits = max((len(f"{value:,}") for _, value, _ in rows), default=1)
    label_width = max(len(label) for label, _, _ in rows)
    for label, value, style in rows:
        text.append(f"  {label:<{label_width}}  ")
        text.append(bar(value, largest), style=style)
        text.append(f"  {value:>{digits},}  {_share(value, total)}\n")


def render(summary: dict[str, Any], stage: str, at: datetime) -> Text:
    """The analytics view as text; styles only show on a colour terminal."""
    total = int(summary["totalFeedback"])
    average = summary["averageRating"]
    text = Text()
    text.append(f"Analytics for stage {stage}\n", style="bold")
    text.append(f"  total feedback  {total:,}\n")
    text.append(f"  average rating  {'-' if average is None else f'{average:.2f} / 5'}\n")
    last = summary.get("lastUpdated")
    text.append(f"  last update     {f'{last} ({age(last, at)})' if last else 'never'}\n")
    sentiment = summary["sentiment"]
    _bars(
        text,
        "Sentiment",
        [(label, int(sentiment[label]), SENTIMENT_STYLES[label]) for label in SENTIMENT_STYLES],
        total,
    )
    ratings = summary["ratings"]
    _bars(text, "Ratings", [(f"{r} ★", int(ratings[r]), "cyan") for r in "54321"], total)
    daily = summary["daily"]
    counts = [int(d["count"]) for d in daily]
    text.append(f"\nDaily, {daily[0]['date']} to {daily[-1]['date']}\n", style="bold")
    text.append(f"  {sparkline(counts)}\n", style="cyan")
    busiest = max(daily, key=lambda d: int(d["count"]))
    if busiest["count"]:
        text.append(
            f"  busiest {busiest['date']} ({busiest['count']:,}), today {counts[-1]:,}, "
            f"30 days {sum(counts):,}\n"
        )
    else:
        text.append("  no feedback in the last 30 days\n")
    return text


def show_verification(term: Terminal, result: analytics_ops.Verification, segments: int) -> None:
    scan = result.scan
    term.data(
        f"scanned {_plural(scan.scanned, 'item', 'items')} in {segments} segments: "
        f"{scan.tally.count:,} counted, {scan.malformed:,} malformed"
    )
    if scan.malformed:
        bad = _plural(scan.malformed, "item does", "items do")
        term.warn(f"{bad} not match the feedback schema and are not counted:")
        for ident, why in scan.examples:
            term.status(f"  {ident}: {why}")
    if not result.differences:
        term.data("the counters match the table")
        return
    term.data("counters that differ (stored → recomputed):")
    diffs = result.differences
    width = max(len(d.counter) for d in diffs)
    left = max(len(f"{d.stored:,}") for d in diffs)
    right = max(len(f"{d.recomputed:,}") for d in diffs)
    for d in diffs:
        change = f"{d.stored:>{left},} → {d.recomputed:<{right},}"
        term.data(f"  {d.counter:<{width}}  {change}  ({d.delta:+,})")
    if result.only_totals_exceed:
        term.warn(
            "only all-time counters exceed the recount and the daily ones agree: feedback "
            "removed by its retention TTL is still counted; repairing would drop it"
        )
    if scan.newer:
        term.warn(
            f"{_plural(scan.newer, 'item is', 'items are')} newer than the last aggregation "
            f"({result.last_updated}); "
            "if the stream still delivers them, a repair now would count them twice"
        )
