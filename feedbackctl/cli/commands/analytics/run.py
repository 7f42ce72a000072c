"""The analytics flows: read and show the summary, re-render it with --watch, and run
verify/repair with a progress bar on stderr (only on an interactive terminal).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from feedbackctl import analytics_ops
from feedbackctl.aws import Aws
from feedbackctl.cli import options
from feedbackctl.cli.commands.analytics.views import age_seconds, render, show_verification
from feedbackctl.cli.console import Terminal
from feedbackctl.errors import FeedbackctlError

# The seams tests replace: the wall clock and --watch's sleep.
now: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731
sleep: Callable[[float], None] = time.sleep


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
