"""Restoring the feedback table: a backup or a point in time restored into a new table, verified,
then copied back into the stage's own table so the counters follow exactly.

Why copy back rather than switch the stack to the new table (docs/backup.md): a restored table
has no stream, TTL, point-in-time recovery, alarms or tags (DynamoDB restores none of them), and
the stack owns the table by name; switching would rebuild the stream mapping, alarms and roles
around a table the stack does not own. Copying back keeps the table, its stream and everything
wired to it, and every change goes through the stream like any other write:

- an item the restore point does not have is tombstoned (status "forgotten", name, email and
  message removed), then deleted: the aggregator subtracts it exactly once, as for `forget`;
- an item the live table lacks is put back (conditional on its absence): the aggregator adds it;
- an item that differs is both; an identical item is left alone (no write, no stream record);
- never restored: items deleted on request (`forget` records their ids) and items whose TTL has
  passed (their contribution never left the counters, docs/aggregation.md).

The live table is backed up first (on-demand), and the confirmation names what will change.
The restore then waits until the analytics differ from a recount of the table exactly as they
did before the copy (the aggregator has applied every copied write), and records itself in the
analytics table. No CLI code here.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from feedbackctl import analytics_ops
from feedbackctl.aws import backups, tables
from feedbackctl.aws.stacks import Waiter
from feedbackctl.errors import FeedbackctlError, RefusedError
from feedbackctl.forget import RECORD_PREFIX as FORGET_PREFIX
from feedbackctl.forget import tombstone
from feedbackctl.naming import StackNames
from lambdas.common import analytics
from lambdas.common.feedback_filter import RATING_SENTIMENT, rating_sentiment

ACTIVE = "active"
RECORD_PREFIX = "restore#"
WRITERS = 8  # parallel writers of the copy-back
_TIME_FORMAT = "%Y%m%d%H%M%S"

Step = Callable[[str, str], None]  # (step name, detail) as each step starts or ends


@dataclass(frozen=True)
class Source:
    """What to restore from: a backup's ARN, or a point in time (None: the latest)."""

    backup_arn: str | None = None
    to_time: datetime | None = None

    def describe(self) -> str:
        if self.backup_arn:
            return f"backup {self.backup_arn}"
        if self.to_time is None:
            return "the latest restorable time"
        return f"the table as it was at {self.to_time.astimezone(UTC).isoformat()}"


@dataclass
class CopyPlan:
    """What the copy-back will change in the live table."""

    remove: list[str] = field(default_factory=list)  # ids the restore point does not have
    add: list[dict[str, Any]] = field(default_factory=list)  # restored items the table lacks
    replace: list[dict[str, Any]] = field(default_factory=list)  # restored items that differ
    unchanged: int = 0
    skipped_forgotten: int = 0  # deleted on request after the restore point: stay deleted
    skipped_expired: int = 0  # TTL passed: stays expired

    @property
    def changes(self) -> int:
        return len(self.remove) + len(self.add) + len(self.replace)

    def as_dict(self) -> dict[str, Any]:
        return {
            "remove": len(self.remove),
            "add": len(self.add),
            "replace": len(self.replace),
            "unchanged": self.unchanged,
            "skippedForgotten": self.skipped_forgotten,
            "skippedExpired": self.skipped_expired,
        }


@dataclass
class RestoreReport:
    """What a restore did, step by step, with the figures an operator checks."""

    source: Source
    restored_table: str
    dry_run: bool = False
    restored_items: int = 0
    restored_summary: dict[str, Any] = field(default_factory=dict)
    malformed: int = 0
    live_items: int = 0
    plan: CopyPlan = field(default_factory=CopyPlan)
    safety_backup: str | None = None
    written: int = 0
    conflicts: int = 0  # puts refused because the item reappeared meanwhile
    analytics_differences: list[dict[str, Any]] = field(default_factory=list)
    repaired: bool = False
    kept_restored_table: bool = False
    record_id: str = ""
    seconds: dict[str, float] = field(default_factory=dict)  # per step

    @property
    def total_seconds(self) -> float:
        return round(sum(self.seconds.values()), 3)

    def as_dict(self) -> dict[str, Any]:
        return {
            "dryRun": self.dry_run,
            "source": self.source.describe(),
            "restoredTable": self.restored_table,
            "restoredTableKept": self.kept_restored_table,
            "restoredItems": self.restored_items,
            "restoredSummary": self.restored_summary,
            "malformed": self.malformed,
            "liveItems": self.live_items,
            "plan": self.plan.as_dict(),
            "safetyBackup": self.safety_backup,
            "written": self.written,
            "conflicts": self.conflicts,
            "analyticsDifferences": self.analytics_differences,
            "analyticsRepaired": self.repaired,
            "recordId": self.record_id or None,
            "seconds": self.seconds,
            "totalSeconds": self.total_seconds,
        }


@dataclass
class Options:
    """How a restore runs; the defaults are the command's."""

    dry_run: bool = False
    keep_restored: bool = False
    repair_analytics: bool = False
    local: bool = False  # the local platform: its point-in-time restore copies the table as is
    converge_timeout: float = 300.0
    segments: int = 4


def restored_name(names: StackNames, now: datetime) -> str:
    return f"{names.feedback_table}-restore-{now.astimezone(UTC).strftime(_TIME_FORMAT)}"


def check_source(ddb: Any, names: StackNames, source: Source, *, local: bool) -> None:
    """Refuse, before anything is created, a source DynamoDB would refuse or cannot honour."""
    table = names.feedback_table
    if source.backup_arn is not None:
        if source.backup_arn.startswith("arn:") and ":backup:" in source.backup_arn.split("/")[0]:
            raise RefusedError(
                f"{source.backup_arn} is an AWS Backup recovery point, not a DynamoDB backup",
                hint="restore it with `aws backup start-restore-job` into a new table, then "
                "`feedbackctl restore --backup` a DynamoDB backup of that table",
            )
        info = backups.describe_backup(ddb, source.backup_arn)
        if info is None:
            raise RefusedError(
                f"no backup {source.backup_arn}", hint="`feedbackctl backup list` shows them"
            )
        if info.table != table:
            raise RefusedError(
                f"backup {info.name} is of table {info.table}, not {table} (this stage's)"
            )
        if info.status != "AVAILABLE":
            raise RefusedError(f"backup {info.name} is {info.status}, not AVAILABLE")
        return
    window = backups.recovery_window(ddb, table)
    if not window.enabled:
        raise RefusedError(f"point-in-time recovery is off for {table}; restore a backup")
    if source.to_time is None:
        return
    if local:
        raise RefusedError(
            "the local platform keeps no point-in-time history: its restore copies the table "
            "as it is now",
            hint="restore a backup (`feedbackctl backup create` before the change), or "
            "--to-time latest",
        )
    earliest, latest = window.earliest, window.latest
    if (earliest and source.to_time < earliest) or (latest and source.to_time > latest):
        shown = " to ".join(t.astimezone(UTC).isoformat() for t in (earliest, latest) if t)
        raise RefusedError(f"{source.to_time.isoformat()} is outside the restorable window {shown}")


def read_items(
    ddb: Any, table: str, *, segments: int = 4, progress: Callable[[int], None] = lambda _: None
) -> dict[str, dict[str, Any]]:
    """Every item of a feedback table by id (a parallel, consistent Scan)."""

    def segment(number: int) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        request: dict[str, Any] = {
            "TableName": table,
            "Segment": number,
            "TotalSegments": segments,
            "ConsistentRead": True,
        }
        while True:
            page = tables.scan_page(ddb, request)
            for item in page.get("Items", []):
                ident = item.get("feedbackId", {}).get("S")
                if ident:
                    found[ident] = item
            progress(len(page.get("Items", [])))
            if "LastEvaluatedKey" not in page:
                return found
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    merged: dict[str, dict[str, Any]] = {}
    with ThreadPoolExecutor(max_workers=segments) as pool:
        for part in pool.map(segment, range(segments)):
            merged.update(part)
    return merged


def forgotten_ids(ddb: Any, names: StackNames) -> set[str]:
    """The ids every recorded deletion on request removed (`forget#` items' removedIds)."""
    ids: set[str] = set()
    request: dict[str, Any] = {
        "TableName": names.analytics_table,
        "FilterExpression": "begins_with(aggregateId, :p)",
        "ExpressionAttributeValues": {":p": {"S": FORGET_PREFIX}},
        "ProjectionExpression": "removedIds",
    }
    while True:
        page = tables.scan_page(ddb, request)
        for item in page.get("Items", []):
            ids.update(item.get("removedIds", {}).get("SS", []))
        if "LastEvaluatedKey" not in page:
            return ids
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _active(item: dict[str, Any]) -> bool:
    return bool(item.get("status", {}).get("S") == ACTIVE)


def _expired(item: dict[str, Any], now: datetime) -> bool:
    expires = item.get("expiresAt", {}).get("N")
    return bool(expires is not None and float(expires) <= now.timestamp())


def with_composite_key(item: dict[str, Any]) -> dict[str, Any]:
    """The item with `ratingSentiment` as create-feedback writes it now: a backup taken before
    the ratingSentiment-index existed comes back findable by the combined filter."""
    rating, sentiment = item.get("rating", {}).get("N"), item.get("sentiment", {}).get("S")
    if RATING_SENTIMENT in item or rating is None or sentiment is None:
        return item
    try:
        value = rating_sentiment(int(rating), sentiment)
    except ValueError:
        return item  # malformed: restored as it was, and counted so by the verification
    return {**item, RATING_SENTIMENT: {"S": value}}


def plan_copy(
    restored: dict[str, dict[str, Any]],
    live: dict[str, dict[str, Any]],
    forgotten: Iterable[str],
    now: datetime,
) -> CopyPlan:
    """The changes that make the live table's active items those of the restore point."""
    plan = CopyPlan()
    erased = set(forgotten)
    wanted: dict[str, dict[str, Any]] = {}
    for ident, stored in restored.items():
        if not _active(stored):
            continue
        if ident in erased:
            plan.skipped_forgotten += 1
        elif _expired(stored, now):
            plan.skipped_expired += 1
        else:
            wanted[ident] = with_composite_key(stored)
    for ident, item in live.items():
        if not _active(item):
            continue  # a deletion on request under way: it finishes on its own
        if ident not in wanted:
            plan.remove.append(ident)
        elif wanted[ident] == with_composite_key(item):  # the backfill gives live its key
            plan.unchanged += 1
        else:
            plan.replace.append(wanted[ident])
    plan.add = [item for ident, item in wanted.items() if ident not in live]
    plan.remove.sort()
    return plan


def summary_of(items: Iterable[dict[str, Any]]) -> tuple[dict[str, Any], int]:
    """The analytics the items add up to (as the API shows them), and how many were malformed."""
    tally, malformed = analytics.Tally(), 0
    for item in items:
        if not _active(item):
            continue
        try:
            tally.add(analytics.contribution_from_image(item))
        except analytics.MalformedRecordError:
            malformed += 1
    average = round(tally.rating_sum / tally.count, 2) if tally.count else None
    return (
        {
            "totalFeedback": tally.count,
            "averageRating": average,
            "ratings": {str(r): tally.ratings[r] for r in analytics.RATINGS},
            "sentiments": {s: tally.sentiments[s] for s in analytics.SENTIMENTS},
        },
        malformed,
    )


def copy_back(
    ddb: Any, names: StackNames, plan: CopyPlan, progress: Callable[[int], None]
) -> tuple[int, int]:
    """Apply the plan to the live table; (writes made, puts refused as the item reappeared)."""
    table = names.feedback_table

    def remove(ident: str) -> tuple[int, int]:
        tombstone(ddb, names, ident)
        tables.delete_item(ddb, table, {"feedbackId": {"S": ident}})
        progress(1)
        return 2, 0

    def put(item: dict[str, Any]) -> tuple[int, int]:
        placed = tables.put_absent(ddb, table, item, "feedbackId")
        progress(1)
        return (1, 0) if placed else (0, 1)

    def replace(item: dict[str, Any]) -> tuple[int, int]:
        writes, _ = remove(item["feedbackId"]["S"])
        placed = tables.put_absent(ddb, table, item, "feedbackId")
        return (writes + 1, 0) if placed else (writes, 1)

    jobs: list[Callable[[], tuple[int, int]]] = [
        *(lambda i=i: remove(i) for i in plan.remove),
        *(lambda i=i: replace(i) for i in plan.replace),
        *(lambda i=i: put(i) for i in plan.add),
    ]
    written = conflicts = 0
    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        for writes, refused in pool.map(lambda job: job(), jobs):
            written, conflicts = written + writes, conflicts + refused
    return written, conflicts


def _differences(verification: analytics_ops.Verification) -> dict[str, int]:
    return {d.counter: d.delta for d in verification.differences}


def wait_for_aggregation(
    ddb: Any,
    names: StackNames,
    before: dict[str, int],
    waiter: Waiter,
    *,
    timeout: float,
    segments: int,
) -> analytics_ops.Verification:
    """Verify until the counters differ from a recount exactly as they did before the copy."""
    deadline = waiter.clock() + timeout
    while True:
        today = datetime.now(UTC).date()
        verification = analytics_ops.verify(ddb, names, today, segments=segments)
        if _differences(verification) == before:
            return verification
        if waiter.clock() >= deadline:
            raise FeedbackctlError(
                f"the analytics did not catch up with the restored table within {timeout:.0f} s",
                doing="waiting for the stream aggregator",
                hint="`feedbackctl analytics verify` shows the differences; the table itself "
                "is restored",
            )
        waiter.sleep(min(waiter.interval, 1.0))


def restore(
    clients: dict[str, Any],
    names: StackNames,
    source: Source,
    *,
    actor: str,
    options: Options,
    confirm: Callable[[RestoreReport], bool],
    waiter: Waiter,
    step: Step = lambda name, detail: None,
    progress: Callable[[str, int, int], None] = lambda what, done, total: None,
    now: Callable[[], datetime] = analytics.utc_now,
    clock: Callable[[], float] | None = None,
) -> RestoreReport:
    """Restore `source` into a new table, verify it, show the plan; then (unless a dry run, and
    once `confirm(report)` agrees) back up the live table, copy the plan back, and wait until the
    aggregator has applied it."""
    ddb = clients["dynamodb"]
    tick = clock or waiter.clock
    started = now()
    report = RestoreReport(source, restored_name(names, started), dry_run=options.dry_run)

    def timed(name: str, detail: str, work: Callable[[], Any]) -> Any:
        step(name, detail)
        begun = tick()
        result = work()
        report.seconds[name] = round(tick() - begun, 3)
        return result

    check_source(ddb, names, source, local=options.local)
    target = report.restored_table

    def restore_table() -> None:
        if source.backup_arn:
            backups.restore_backup(ddb, source.backup_arn, target)
        else:
            backups.restore_time(ddb, names.feedback_table, target, source.to_time)
        if tables.wait_active(ddb, target, waiter) is None:
            raise FeedbackctlError(f"the restored table {target} disappeared while restoring")

    timed("restore", f"restoring {source.describe()} into {target}", restore_table)
    try:
        restored = timed("verify", f"reading {target}", lambda: read_items(
            ddb, target, segments=options.segments,
            progress=_counter(progress, "restored items"),
        ))  # fmt: skip
        report.restored_items = sum(1 for item in restored.values() if _active(item))
        report.restored_summary, report.malformed = summary_of(restored.values())
        live = timed("compare", f"reading {names.feedback_table}", lambda: read_items(
            ddb, names.feedback_table, segments=options.segments,
            progress=_counter(progress, "live items"),
        ))  # fmt: skip
        report.live_items = sum(1 for item in live.values() if _active(item))
        report.plan = plan_copy(restored, live, forgotten_ids(ddb, names), now())
        if options.dry_run or not confirm(report):
            return report
        before = _differences(analytics_ops.verify(
            ddb, names, datetime.now(UTC).date(), segments=options.segments
        ))  # fmt: skip
        stamp = started.astimezone(UTC).strftime(_TIME_FORMAT)
        safety = timed("backup", "backing up the live table", lambda: backups.create_backup(
            ddb, names.feedback_table, f"{names.feedback_table}-pre-restore-{stamp}", waiter
        ))  # fmt: skip
        report.safety_backup = safety.arn
        total = report.plan.changes
        report.written, report.conflicts = timed("copy", f"{total} changes", lambda: copy_back(
            ddb, names, report.plan, _counter(progress, "changes", total)
        ))  # fmt: skip
        verification = timed("aggregate", "waiting for the analytics", lambda: (
            wait_for_aggregation(ddb, names, before, waiter,
                                 timeout=options.converge_timeout, segments=options.segments)
        ))  # fmt: skip
        report.analytics_differences = [d.as_dict() for d in verification.differences]
        if options.repair_analytics and verification.differences:
            timed("repair", "setting the analytics to the recount", lambda: analytics_ops.repair(
                ddb, names, verification, segments=options.segments
            ))  # fmt: skip
            report.repaired = True
        report.record_id = _record(ddb, names, report, actor, now())
    finally:
        report.kept_restored_table = options.keep_restored
        if not options.keep_restored:
            timed("clean", f"deleting {target}", lambda: tables.delete(ddb, target, waiter))
    return report


def _counter(
    progress: Callable[[str, int, int], None], what: str, total: int = 0
) -> Callable[[int], None]:
    done = [0]

    def advance(count: int) -> None:
        done[0] += count
        progress(what, done[0], total)

    return advance


def _record(ddb: Any, names: StackNames, report: RestoreReport, actor: str, now: datetime) -> str:
    """The restore in the analytics table, as `forget` records its requests."""
    ident = uuid.uuid4().hex
    stamp = analytics.iso_millis(now)
    plan = report.plan
    tables.put_item(
        ddb,
        names.analytics_table,
        {
            "aggregateId": {"S": f"{RECORD_PREFIX}{stamp}#{ident}"},
            "restoredAt": {"S": stamp},
            "restoredBy": {"S": actor},
            "source": {"S": report.source.describe()},
            "safetyBackup": {"S": report.safety_backup or ""},
            "removed": {"N": str(len(plan.remove))},
            "added": {"N": str(len(plan.add))},
            "replaced": {"N": str(len(plan.replace))},
        },
    )
    return ident


def parse_time(text: str, now: datetime) -> datetime | None:
    """`latest` (None), or a time expression as everywhere else in the CLI."""
    if text.strip().lower() == "latest":
        return None
    from feedbackctl.timeexpr import parse_time as parse

    return parse(text, now, option="--to-time")
