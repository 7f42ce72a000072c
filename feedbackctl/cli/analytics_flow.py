"""The analytics flows: render the summary (bars, histogram, daily sparkline, age of the last
update), re-render it with --watch, and run verify/repair with a progress bar on stderr
(only on an interactive terminal) and a report of every counter that differs.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from rich.text import Text

from feedbackctl import analytics_ops
from feedbackctl.aws import Aws
from feedbackctl.cli import options
from feedbackctl.cli.console import Terminal
from feedbackctl.errors import FeedbackctlError

# The seams tests replace: the wall clock and --watch's sleep.
now: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731
sleep: Callable[[float], None] = time.sleep

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


def _show_once(aws: Aws, term: Terminal, *, as_json: bool, compact: bool) -> None:
    at = now()
    with aws.errors("reading the analytics"):
        summary = analytics_ops.read_summary(aws.client("dynamodb"), aws.target.names, at.date())
    if as_json:
        body = {**summary, "lastUpdatedAgeSeconds": age_seconds(summary["lastUpdated"], at)}
        if compact:
            term.data(json.dumps(body, sort_keys=True, separators=(",", ":")))
        else:
            term.json(body)
        return
    term.out.print(render(summary, aws.target.stage, at), end="")


def run_show(aws: Aws, *, as_json: bool, watch: float | None) -> None:
    term = Terminal()
    if watch is None:
        _show_once(aws, term, as_json=as_json, compact=False)
        return
    try:
        if term.interactive and term.out.is_terminal and not as_json:
            _watch_live(aws, term, watch)
        else:
            _watch_plain(aws, term, watch, as_json=as_json)
    except KeyboardInterrupt:
        term.status("stopped watching")


def _watch_plain(aws: Aws, term: Terminal, interval: float, *, as_json: bool) -> None:
    """Not a terminal: one render after another (JSON: one object per line)."""
    while True:
        _show_once(aws, term, as_json=as_json, compact=True)
        sleep(interval)
        if not as_json:
            term.data("")


def _watch_live(aws: Aws, term: Terminal, interval: float) -> None:
    from rich.live import Live

    with Live(console=term.out, auto_refresh=False, transient=False) as live:
        while True:
            at = now()
            with aws.errors("reading the analytics"):
                summary = analytics_ops.read_summary(
                    aws.client("dynamodb"), aws.target.names, at.date()
                )
            live.update(render(summary, aws.target.stage, at), refresh=True)
            sleep(interval)


@contextmanager
def _progress(term: Terminal, total: int, segments: int) -> Iterator[Callable[[int], None]]:
    """A scan progress bar on stderr, or nothing when live widgets are off."""
    if not term.interactive:
        yield lambda _: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    with Progress(
        f"scanning the feedback table ({segments} segments)",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=term.err,
        transient=True,
    ) as progress:
        task = progress.add_task("scan", total=total or None)
        yield lambda n: progress.advance(task, n)


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


def run_verify(aws: Aws, *, repair: bool, segments: int, yes: bool, as_json: bool) -> None:
    term = Terminal()
    ddb, names = aws.client("dynamodb"), aws.target.names
    with aws.errors("verifying the analytics counters"):
        total = analytics_ops.approximate_items(ddb, names.feedback_table)
        with _progress(term, total, segments) as advance:
            result = analytics_ops.verify(
                ddb, names, now().date(), segments=segments, progress=advance
            )
    if not as_json:
        show_verification(term, result, segments)
    if not result.differences or not repair:
        if as_json:
            term.json(result.as_dict())
        if result.differences:
            raise FeedbackctlError(
                f"{len(result.differences)} counters differ from the feedback table",
                hint="repair them with `feedbackctl analytics verify --repair`",
            )
        return
    _repair(aws, term, result, segments=segments, yes=yes, as_json=as_json)


def _repair(
    aws: Aws,
    term: Terminal,
    result: analytics_ops.Verification,
    *,
    segments: int,
    yes: bool,
    as_json: bool,
) -> None:
    target = aws.target
    options.confirm(
        f"Overwrite {len(result.differences)} analytics counters of stage {target.stage}?",
        yes=yes,
        production=target.production,
    )

    def retrying(attempt: int) -> None:
        term.status(f"the counters moved while repairing (attempt {attempt}); scanning again")

    with aws.errors("repairing the analytics counters"):
        done = analytics_ops.repair(
            aws.client("dynamodb"),
            target.names,
            result,
            now=now,
            segments=segments,
            retrying=retrying,
        )
    if as_json:
        term.json(done.as_dict())
    elif done.written:
        term.success(f"repaired {len(done.written)} counters (attempt {done.attempts})")
    else:
        term.success("nothing left to repair: the counters already match the table")
