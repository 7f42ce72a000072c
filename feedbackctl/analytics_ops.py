"""The analytics aggregate as operators see and mend it: reading the global item (one GetItem)
into the API's summary, recomputing every counter from the feedback table with a parallel
segmented scan, comparing the two, and repairing the counters with one conditional UpdateItem
that refuses to overwrite counters which moved since they were read (re-scan, then retry).
No CLI code; the aggregator's own items (`rec#...` markers) are never touched.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from feedbackctl.aws import tables
from feedbackctl.errors import FeedbackctlError
from feedbackctl.naming import StackNames
from lambdas.common import analytics
from lambdas.common.dynamo import unmarshal_item

GLOBAL_KEY = {"aggregateId": {"S": analytics.GLOBAL_ID}}
TOTAL_COUNTERS: tuple[str, ...] = (
    "totalFeedback",
    "ratingSum",
    *(f"rating_{r}" for r in analytics.RATINGS),
    *(f"sentiment_{label}" for label in analytics.SENTIMENTS),
)
DAY_FIELDS = ("count", "ratingSum", *analytics.SENTIMENTS)
MAX_EXAMPLES = 5
_DAY_RE = re.compile(r"^day#(\d{4}-\d{2}-\d{2})#(\w+)$")

Progress = Callable[[int], None]  # called with how many more items were scanned


def read_global(ddb: Any, table: str, *, consistent: bool = False) -> dict[str, Any] | None:
    """The unmarshalled global item, or None before the first aggregation."""
    item = tables.get_item(ddb, table, GLOBAL_KEY, consistent=consistent)
    return unmarshal_item(item) if item else None


def read_summary(ddb: Any, names: StackNames, today: date) -> dict[str, Any]:
    """What GET /analytics returns, from one GetItem of the global item."""
    return analytics.summary(read_global(ddb, names.analytics_table), today)


def window(today: date) -> list[str]:
    """The days the daily counters cover, oldest first (the aggregator's and the API's window)."""
    return [
        (today - timedelta(days=offset)).isoformat()
        for offset in range(analytics.DAILY_WINDOW_DAYS - 1, -1, -1)
    ]


def _as_int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def stored_counters(item: dict[str, Any] | None, today: date) -> dict[str, int]:
    """Every compared counter as stored: the totals, and the daily ones inside the window."""
    item = item or {}
    days = set(window(today))
    counters = {name: _as_int(item.get(name)) for name in TOTAL_COUNTERS}
    for name, value in item.items():
        match = _DAY_RE.match(name)
        if match and match.group(1) in days and match.group(2) in DAY_FIELDS:
            counters[name] = _as_int(value)
    return counters


def recomputed_counters(tally: analytics.Tally, today: date) -> dict[str, int]:
    """The same counters as the aggregator would hold them after seeing every item once."""
    counters = {
        "totalFeedback": tally.count,
        "ratingSum": tally.rating_sum,
        **{f"rating_{r}": tally.ratings[r] for r in analytics.RATINGS},
        **{f"sentiment_{label}": tally.sentiments[label] for label in analytics.SENTIMENTS},
    }
    for day in window(today):
        seen = tally.days.get(day)
        for name in DAY_FIELDS:
            value = seen[name] if seen else 0
            if value:
                counters[analytics.day_attribute(day, name)] = value
    return counters


@dataclass(frozen=True)
class Difference:
    """One counter whose stored value is not what the table adds up to."""

    counter: str
    stored: int
    recomputed: int

    @property
    def delta(self) -> int:
        return self.recomputed - self.stored

    def as_dict(self) -> dict[str, Any]:
        return {
            "counter": self.counter,
            "stored": self.stored,
            "recomputed": self.recomputed,
            "delta": self.delta,
        }


def _counter_order(name: str) -> tuple[int, str]:
    return (
        (TOTAL_COUNTERS.index(name), "") if name in TOTAL_COUNTERS else (len(TOTAL_COUNTERS), name)
    )


def compare(stored: dict[str, int], recomputed: dict[str, int]) -> list[Difference]:
    """The counters that differ (a missing one counts as 0), totals first, then by day."""
    names = sorted(set(stored) | set(recomputed), key=_counter_order)
    return [
        Difference(name, stored.get(name, 0), recomputed.get(name, 0))
        for name in names
        if stored.get(name, 0) != recomputed.get(name, 0)
    ]


@dataclass
class ScanResult:
    """What a scan of the feedback table adds up to, and what it could not read."""

    tally: analytics.Tally = field(default_factory=analytics.Tally)
    scanned: int = 0
    malformed: int = 0
    examples: list[tuple[str, str]] = field(default_factory=list)  # (feedbackId, why)
    newer: int = 0  # items created after the aggregate's lastUpdated

    def absorb(self, other: ScanResult) -> None:
        self.scanned += other.scanned
        self.malformed += other.malformed
        self.newer += other.newer
        self.examples = (self.examples + other.examples)[:MAX_EXAMPLES]
        merge_tally(self.tally, other.tally)


def merge_tally(into: analytics.Tally, other: analytics.Tally) -> None:
    into.count += other.count
    into.rating_sum += other.rating_sum
    into.ratings.update(other.ratings)
    into.sentiments.update(other.sentiments)
    for day, counters in other.days.items():
        into.days.setdefault(day, Counter()).update(counters)


FORGOTTEN = "forgotten"  # the tombstone status `forget` writes before deleting (aggregation.md)
_PROJECTION = {
    "ProjectionExpression": "#id, #r, #s, #c, #st",
    "ExpressionAttributeNames": {
        "#st": "status",
        "#id": "feedbackId",
        "#r": "rating",
        "#s": "sentiment",
        "#c": "createdAt",
    },
}


def _scan_segment(
    ddb: Any,
    table: str,
    segment: int,
    *,
    segments: int,
    newer_than: str | None,
    progress: Progress,
) -> ScanResult:
    result = ScanResult()
    kwargs: dict[str, Any] = {
        "TableName": table,
        "Segment": segment,
        "TotalSegments": segments,
        "ConsistentRead": True,
        **_PROJECTION,
    }
    while True:
        page = tables.scan_page(ddb, kwargs)
        for item in page.get("Items", []):
            result.scanned += 1
            if item.get("status", {}).get("S") == FORGOTTEN:
                continue  # a deletion on request under way: already taken out of the counters
            try:
                contribution = analytics.contribution_from_image(item)
            except analytics.MalformedRecordError as exc:
                result.malformed += 1
                if len(result.examples) < MAX_EXAMPLES:
                    ident = item.get("feedbackId", {}).get("S", "?")
                    result.examples.append((str(ident), str(exc)))
                continue
            result.tally.add(contribution)
            created = item["createdAt"]["S"]
            if newer_than is not None and created > newer_than:
                result.newer += 1
        progress(len(page.get("Items", [])))
        if "LastEvaluatedKey" not in page:
            return result
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def scan_feedback(
    ddb: Any,
    table: str,
    *,
    segments: int = 4,
    newer_than: str | None = None,
    progress: Progress = lambda _: None,
) -> ScanResult:
    """Add up every feedback item with `segments` parallel Scan segments (consistent reads)."""
    with ThreadPoolExecutor(max_workers=segments) as pool:
        futures = [
            pool.submit(
                _scan_segment,
                ddb,
                table,
                s,
                segments=segments,
                newer_than=newer_than,
                progress=progress,
            )
            for s in range(segments)
        ]
        total = ScanResult()
        for future in futures:
            total.absorb(future.result())
    return total


def approximate_items(ddb: Any, table: str) -> int:
    """DynamoDB's item count (refreshed about every six hours): a progress bar's total."""
    return tables.approximate_items(ddb, table)


@dataclass
class Verification:
    """The stored counters next to what the table adds up to, read at one moment."""

    today: date
    item: dict[str, Any] | None  # the global item as read (consistent), None when absent
    scan: ScanResult
    differences: list[Difference]

    @property
    def last_updated(self) -> str | None:
        value = (self.item or {}).get("lastUpdated")
        return str(value) if value is not None else None

    @property
    def only_totals_exceed(self) -> bool:
        """Every difference is an all-time counter above its recount, the window agreeing:
        what retention (TTL) leaves behind, since the aggregator ignores deletions."""
        return bool(self.differences) and all(
            d.counter in TOTAL_COUNTERS and d.stored > d.recomputed for d in self.differences
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "consistent": not self.differences,
            "scanned": self.scan.scanned,
            "counted": self.scan.tally.count,
            "malformed": self.scan.malformed,
            "malformedExamples": [
                {"feedbackId": ident, "reason": why} for ident, why in self.scan.examples
            ],
            "newerThanLastUpdate": self.scan.newer,
            "lastUpdated": self.last_updated,
            "differences": [d.as_dict() for d in self.differences],
        }


def verify(
    ddb: Any,
    names: StackNames,
    today: date,
    *,
    segments: int = 4,
    progress: Progress = lambda _: None,
) -> Verification:
    """Read the counters first, then scan: whatever moves in between is caught by repair's
    condition, which compares against exactly what was read here."""
    item = read_global(ddb, names.analytics_table, consistent=True)
    newer_than = str(item["lastUpdated"]) if item and item.get("lastUpdated") else None
    scan = scan_feedback(
        ddb, names.feedback_table, segments=segments, newer_than=newer_than, progress=progress
    )
    differences = compare(stored_counters(item, today), recomputed_counters(scan.tally, today))
    return Verification(today=today, item=item, scan=scan, differences=differences)


def repair_update(table: str, verification: Verification, now: datetime) -> dict[str, Any]:
    """One UpdateItem that sets the differing counters, conditional on the counters read.

    The condition compares `lastUpdated` and `totalFeedback` rather than every counter: each
    aggregator write sets lastUpdated and adds at least 1 to totalFeedback (it writes only when
    the batch counted something), and each repair sets lastUpdated, so any writer changes the
    pair; comparing all ~160 counters would overrun DynamoDB's 4 KB expression limit.
    """
    names: dict[str, str] = {"#lu": "lastUpdated", "#lr": "lastRepaired"}
    stamp = analytics.iso_millis(now)
    values: dict[str, Any] = {":now": {"S": stamp}}
    sets, removes = ["#lu = :now", "#lr = :now"], []
    for number, difference in enumerate(verification.differences):
        names[f"#c{number}"] = difference.counter
        if difference.recomputed == 0 and difference.counter not in TOTAL_COUNTERS:
            removes.append(f"#c{number}")  # a day with nothing in it is stored as no attribute
        else:
            values[f":c{number}"] = {"N": str(difference.recomputed)}
            sets.append(f"#c{number} = :c{number}")
    expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
    item = verification.item
    if item is None:
        condition = "attribute_not_exists(aggregateId)"
    else:
        names["#tf"] = "totalFeedback"
        parts = []
        if item.get("lastUpdated") is None:
            parts.append("attribute_not_exists(#lu)")
        else:
            parts.append("#lu = :seenlu")
            values[":seenlu"] = {"S": str(item["lastUpdated"])}
        if item.get("totalFeedback") is None:
            parts.append("attribute_not_exists(#tf)")
        else:
            parts.append("#tf = :seentf")
            values[":seentf"] = {"N": str(item["totalFeedback"])}
        condition = " AND ".join(parts)
    return {
        "TableName": table,
        "Key": GLOBAL_KEY,
        "UpdateExpression": expression,
        "ConditionExpression": condition,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }


@dataclass
class RepairResult:
    """What repair wrote, after how many attempts, from which verification."""

    attempts: int
    written: list[Difference]
    verification: Verification

    def as_dict(self) -> dict[str, Any]:
        return {
            "attempts": self.attempts,
            "written": [d.as_dict() for d in self.written],
            "verification": self.verification.as_dict(),
        }


class CountersMovedError(FeedbackctlError):
    """The counters changed under every repair attempt; nothing was written."""


def repair(
    ddb: Any,
    names: StackNames,
    verification: Verification,
    *,
    now: Callable[[], datetime] = analytics.utc_now,
    attempts: int = 3,
    segments: int = 4,
    progress: Progress = lambda _: None,
    retrying: Callable[[int], None] = lambda _: None,
) -> RepairResult:
    """Write the recount over the counters, unless they moved since they were read.

    When they moved, new feedback was aggregated in the meantime, so the recount may be stale
    as well: read and scan again before the next attempt. Gives up after `attempts`.
    """
    current = verification
    for attempt in range(1, attempts + 1):
        if not current.differences:
            return RepairResult(attempt, [], current)
        if not tables.update_item(ddb, repair_update(names.analytics_table, current, now())):
            if attempt == attempts:
                break
            retrying(attempt)
            current = verify(ddb, names, current.today, segments=segments, progress=progress)
            continue
        return RepairResult(attempt, current.differences, current)
    raise CountersMovedError(
        f"the counters changed during each of {attempts} repair attempts; nothing was written",
        doing="repairing the analytics counters",
        hint="feedback is being aggregated right now; run the repair again when traffic is low",
    )
