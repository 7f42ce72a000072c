"""Feedback stream → analytics aggregate: one read and one atomic write per batch.

INSERT records are summed in memory and applied with a single TransactWriteItems (the global
counters plus a dedupe marker). A batch never counts a record twice, even when Lambda
re-delivers it: stream records carry no shard id, so the marker is keyed by the eventID of the
batch's first record and stores the highest sequence number applied. A retry (of the whole
batch, or from a reported failure) starts at a record that has such a marker; records at or
below its sequence number are skipped. Malformed records are reported in batchItemFailures
(so Lambda retries them, then sends them to the on-failure queue) while every good record is
applied, so a bad record never blocks the rest. See docs/aggregation.md.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from lambdas.common import analytics, dynamo
from lambdas.common.config import settings
from lambdas.common.runtime import Runtime

runtime = Runtime("stream-aggregator")
log = runtime.logger

MARKER_PREFIX = "applied#"
MARKER_TTL_SECONDS = 2 * 86400  # stream records live 24 h, so no retry arrives later
SEQUENCE_WIDTH = 40  # sequence numbers are 21-40 digits; zero-padding keeps them comparable


@dataclass
class BatchPlan:
    """The outcome of reading one batch: what to add, what failed, where the batch stands."""

    tally: analytics.Tally = field(default_factory=analytics.Tally)
    failures: list[str] = field(default_factory=list)
    skipped: int = 0
    ignored: int = 0
    highest: int = 0


def _sequence(record: dict[str, Any]) -> int:
    return int(record["dynamodb"]["SequenceNumber"])


def _padded(sequence: int) -> str:
    return str(sequence).zfill(SEQUENCE_WIDTH)


def plan_batch(records: list[dict[str, Any]], applied_up_to: int) -> BatchPlan:
    """Sort a batch into additions, already-applied records, non-INSERTs and failures (pure)."""
    plan = BatchPlan(highest=applied_up_to)
    for record in records:
        try:
            sequence = _sequence(record)
        except (KeyError, TypeError, ValueError):
            # Without a sequence number Lambda cannot checkpoint it either; report the event id.
            plan.failures.append(str(record.get("eventID", "")))
            continue
        if record.get("eventName") != "INSERT":
            plan.ignored += 1
            continue
        try:
            contribution = analytics.contribution_from_image(
                record["dynamodb"].get("NewImage") or {}
            )
        except analytics.MalformedRecordError as exc:
            log.warning("malformed stream record", sequenceNumber=str(sequence), reason=str(exc))
            plan.failures.append(record["dynamodb"]["SequenceNumber"])
            continue
        if sequence <= applied_up_to:
            plan.skipped += 1
            continue
        plan.tally.add(contribution)
        plan.highest = max(plan.highest, sequence)
    return plan


def _marker_key(record: dict[str, Any]) -> dict[str, Any]:
    return {"aggregateId": {"S": MARKER_PREFIX + str(record.get("eventID", ""))}}


def read_marker(table: str, first: dict[str, Any]) -> tuple[int, str | None]:
    """The highest sequence applied by earlier deliveries starting at `first`, and its raw value."""
    result = dynamo.client().get_item(TableName=table, Key=_marker_key(first), ConsistentRead=True)
    raw = result.get("Item", {}).get("appliedUpTo", {}).get("S")
    return (int(raw) if raw else 0), raw


def _marker_update(
    table: str, record: dict[str, Any], highest: int, expected: str | None
) -> dict[str, Any]:
    update: dict[str, Any] = {
        "TableName": table,
        "Key": _marker_key(record),
        "UpdateExpression": "SET appliedUpTo = :up, expiresAt = :exp",
        "ExpressionAttributeValues": {
            ":up": {"S": _padded(highest)},
            ":exp": {"N": str(int(time.time()) + MARKER_TTL_SECONDS)},
        },
    }
    if expected is not None:
        update["ConditionExpression"] = "appliedUpTo = :seen"
        update["ExpressionAttributeValues"][":seen"] = {"S": expected}
    else:
        update["ConditionExpression"] = "attribute_not_exists(appliedUpTo)"
    return update


def apply(table: str, records: list[dict[str, Any]], plan: BatchPlan, seen: str | None) -> None:
    """Write the batch's counters and markers in one transaction (all or nothing)."""
    global_update = {
        "TableName": table,
        "Key": {"aggregateId": {"S": analytics.GLOBAL_ID}},
        **analytics.update_expression(plan.tally, analytics.utc_now()),
    }
    items: list[dict[str, Any]] = [
        {"Update": global_update},
        {"Update": _marker_update(table, records[0], plan.highest, seen)},
    ]
    # A reported failure is where Lambda's retry will start: mark it too, unconditionally
    # (a shard is processed in order, so the value only grows).
    failed = {f for f in plan.failures}
    for record in records[1:]:
        if record.get("dynamodb", {}).get("SequenceNumber") in failed:
            marker = _marker_update(table, record, plan.highest, None)
            marker.pop("ConditionExpression")
            items.append({"Update": marker})
            break
    dynamo.client().transact_write_items(TransactItems=items)


@runtime.events
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    records = [r for r in (event.get("Records") or []) if isinstance(r, dict)]
    if not records:
        return {"batchItemFailures": []}
    table = settings().require_analytics_table()
    applied_up_to, seen = read_marker(table, records[0])
    plan = plan_batch(records, applied_up_to)
    if plan.tally.count:
        apply(table, records, plan, seen)
    log.info(
        "batch aggregated",
        records=len(records),
        applied=plan.tally.count,
        skipped=plan.skipped,
        ignored=plan.ignored,
        failed=len(plan.failures),
    )
    return {"batchItemFailures": [{"itemIdentifier": f} for f in plan.failures]}
