"""Feedback stream → analytics aggregate, each stream record counted exactly once.

The invariant: a record's contribution is in the counters if and only if its marker item
(`aggregateId = "rec#<eventID>"`) exists, because both are written by the same
TransactWriteItems, the marker conditional on not existing yet. Whatever Lambda does with a
batch — retry it whole, retry from a reported failure, bisect it after a function error, deliver
a record twice, or run the function again after it crashed at any instant — a record whose
marker exists is skipped, and a record counted by a concurrent delivery cancels the other
delivery's transaction, which re-reads the markers and tries again. eventID is unique per
stream record; markers expire after 48 hours (stream records live 24). See docs/aggregation.md.

Per batch: one BatchGetItem of the records' markers, then one TransactWriteItems per
RECORDS_PER_TRANSACTION records (the counters' update and one marker each: TransactWriteItems
takes 100 actions), with a ClientRequestToken derived from its content, so botocore's own retry
after a lost answer is idempotent. INSERT records add; a MODIFY to status "forgotten" (the
tombstone `feedbackctl forget` writes before deleting an item) subtracts; REMOVE records (a TTL
expiry or the delete after a tombstone) and other MODIFYs change nothing. Malformed records
are reported in batchItemFailures while every good record is applied.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import Any

from lambdas.common import analytics, dynamo
from lambdas.common.config import settings
from lambdas.common.runtime import Runtime

runtime = Runtime("stream-aggregator")
log = runtime.logger

MARKER_PREFIX = "rec#"
MARKER_TTL_SECONDS = 2 * 86400  # stream records live 24 h, so no delivery arrives later
RECORDS_PER_TRANSACTION = 99  # + the counters' update = TransactWriteItems' 100 actions
CONFLICT_ATTEMPTS = 3  # a concurrent delivery counted some records first: re-read, retry
FORGOTTEN = "forgotten"  # the status a deletion on request leaves before the item goes


@dataclass(frozen=True)
class Change:
    """One record's effect on the counters: its contribution, added (1) or taken back (-1)."""

    event_id: str
    sign: int
    contribution: analytics.Contribution


@dataclass
class BatchPlan:
    """A batch read: the changes to apply, the failures to report, what changes nothing."""

    changes: list[Change] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    ignored: int = 0


def _sign(record: dict[str, Any]) -> int:
    name = record.get("eventName")
    if name == "INSERT":
        return 1
    image = record["dynamodb"].get("NewImage") or {}
    if name == "MODIFY" and image.get("status", {}).get("S") == FORGOTTEN:
        return -1
    return 0


def plan_batch(records: list[dict[str, Any]]) -> BatchPlan:
    """Sort a batch into changes, failures and records that change nothing (pure)."""
    plan = BatchPlan()
    seen: set[str] = set()
    for record in records:
        event_id = str(record.get("eventID", ""))
        try:
            sequence = str(record["dynamodb"]["SequenceNumber"])
            int(sequence)
        except (KeyError, TypeError, ValueError):
            # Without a sequence number Lambda cannot checkpoint it either; report the event id.
            plan.failures.append(event_id)
            continue
        sign = _sign(record)
        if not sign:
            plan.ignored += 1
            continue
        try:
            contribution = analytics.contribution_from_image(
                record["dynamodb"].get("NewImage") or {}
            )
        except analytics.MalformedRecordError as exc:
            log.warning("malformed stream record", sequenceNumber=sequence, reason=str(exc))
            plan.failures.append(sequence)
            continue
        if not event_id or event_id in seen:
            plan.ignored += 1  # the same record twice in one delivery counts once
            continue
        seen.add(event_id)
        plan.changes.append(Change(event_id, sign, contribution))
    return plan


def _marker_key(event_id: str) -> dict[str, Any]:
    return {"aggregateId": {"S": MARKER_PREFIX + event_id}}


def applied_markers(table: str, event_ids: list[str]) -> set[str]:
    """Which of `event_ids` are counted already (one consistent BatchGetItem per 100)."""
    applied: set[str] = set()
    for start in range(0, len(event_ids), 100):
        request: dict[str, Any] = {
            table: {
                "Keys": [_marker_key(e) for e in event_ids[start : start + 100]],
                "ConsistentRead": True,
                "ProjectionExpression": "aggregateId",
            }
        }
        while request:
            answer = dynamo.client().batch_get_item(RequestItems=request)
            for item in answer.get("Responses", {}).get(table, []):
                applied.add(item["aggregateId"]["S"].removeprefix(MARKER_PREFIX))
            request = answer.get("UnprocessedKeys") or {}
    return applied


def transaction(table: str, changes: list[Change], now: Any) -> dict[str, Any]:
    """The TransactWriteItems arguments that count `changes` and write their markers."""
    tally = analytics.Tally()
    for change in changes:
        tally.add(change.contribution, change.sign)
    expires = {"N": str(int(time.time()) + MARKER_TTL_SECONDS)}
    items: list[dict[str, Any]] = [
        {
            "Update": {
                "TableName": table,
                "Key": {"aggregateId": {"S": analytics.GLOBAL_ID}},
                **analytics.update_expression(tally, now),
            }
        }
    ]
    for change in changes:
        marker = {**_marker_key(change.event_id), "expiresAt": expires}
        items.append(
            {
                "Put": {
                    "TableName": table,
                    "Item": marker,
                    "ConditionExpression": "attribute_not_exists(aggregateId)",
                }
            }
        )
    # The same records at the same moment: botocore's retry of this call is recognised as such.
    digest = hashlib.sha256(";".join(c.event_id for c in changes).encode())
    digest.update(analytics.iso_millis(now).encode())
    return {"TransactItems": items, "ClientRequestToken": digest.hexdigest()[:36]}


def _conflict(exc: Exception) -> bool:
    """A transaction cancelled because a marker exists: another delivery counted a record."""
    if dynamo.error_code(exc) != "TransactionCanceledException":
        return False
    reasons = getattr(exc, "response", {}).get("CancellationReasons") or []
    return any(r.get("Code") == "ConditionalCheckFailed" for r in reasons)


def apply(table: str, changes: list[Change]) -> int:
    """Count the changes not counted yet; returns how many were already counted."""
    for attempt in range(CONFLICT_ATTEMPTS):
        applied = applied_markers(table, [c.event_id for c in changes])
        pending = [c for c in changes if c.event_id not in applied]
        try:
            for start in range(0, len(pending), RECORDS_PER_TRANSACTION):
                chunk = pending[start : start + RECORDS_PER_TRANSACTION]
                dynamo.client().transact_write_items(
                    **transaction(table, chunk, analytics.utc_now())
                )
        except Exception as exc:
            if not _conflict(exc) or attempt == CONFLICT_ATTEMPTS - 1:
                raise
            log.info("a concurrent delivery counted some records first; reading again")
            continue
        return len(changes) - len(pending)
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


@runtime.events
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    records = [r for r in (event.get("Records") or []) if isinstance(r, dict)]
    if not records:
        return {"batchItemFailures": []}
    plan = plan_batch(records)
    skipped = apply(settings().require_analytics_table(), plan.changes) if plan.changes else 0
    log.info(
        "batch aggregated",
        records=len(records),
        applied=len(plan.changes) - skipped,
        skipped=skipped,
        ignored=plan.ignored,
        failed=len(plan.failures),
    )
    return {"batchItemFailures": [{"itemIdentifier": f} for f in plan.failures]}
