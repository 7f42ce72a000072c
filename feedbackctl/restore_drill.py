"""The restore drill: prove and time a whole restore on a stage (the local platform above all).

It brings the feedback table to `items` active items (synthetic feedback written straight to
the table, counted by the stream aggregator like any write), waits until the analytics hold
them, takes an on-demand backup, then damages the table the way a bad script would: deletes a
share of the items and overwrites the messages of as many others, directly, past the API. It
restores the backup (feedbackctl.restore: a new table, verified, copied back, the analytics
followed and repaired), then checks that the table holds exactly the backed-up items, that the
analytics equal a recount, and that the stage serves them (`GET /analytics` through the live
alias of get-analytics). The restore's wall time is the recovery time (RTO) it measured.
No CLI code here.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from feedbackctl import analytics_ops
from feedbackctl import restore as restoring
from feedbackctl.aws import backups, tables
from feedbackctl.aws import functions as functions_api
from feedbackctl.aws.stacks import Waiter
from feedbackctl.engine.model import ALIAS_NAME
from feedbackctl.errors import FeedbackctlError
from feedbackctl.naming import StackNames
from lambdas.common.feedback_filter import RATING_SENTIMENT, rating_sentiment
from lambdas.common.sentiment import classify

MESSAGES = (
    (5, "Restore drill: the new dashboard is excellent."),
    (4, "Restore drill: setup was easy."),
    (3, "Restore drill: it works as expected."),
    (2, "Restore drill: search is slow."),
    (1, "Restore drill: the app crashes on upload."),
)
BATCH = 25  # BatchWriteItem's limit
RETENTION_S = 30 * 86400
SETTLE_S = 60.0  # the longest wait for writes in flight before the drill starts
SEED_PATIENCE_S = 0.2  # more seconds to wait for the aggregator per seeded item


@dataclass
class RestoreDrillReport:
    """What the restore drill did and measured."""

    items: int = 0
    seeded: int = 0
    deleted: int = 0  # damage: deleted past the API
    altered: int = 0  # damage: messages overwritten past the API
    backup_arn: str = ""
    restore: restoring.RestoreReport | None = None
    table_matches: bool = False
    analytics_exact: bool = False
    served_total: int | None = None
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def rto_seconds(self) -> float:
        return self.restore.total_seconds if self.restore else 0.0

    @property
    def healed(self) -> bool:
        return self.table_matches and self.analytics_exact and self.served_total == self.items

    def as_dict(self) -> dict[str, Any]:
        return {
            "items": self.items,
            "seeded": self.seeded,
            "deleted": self.deleted,
            "altered": self.altered,
            "backupArn": self.backup_arn,
            "tableMatches": self.table_matches,
            "analyticsExact": self.analytics_exact,
            "servedTotal": self.served_total,
            "healed": self.healed,
            "rtoSeconds": self.rto_seconds,
            "seconds": self.seconds,
            "restore": self.restore.as_dict() if self.restore else None,
        }


def synthetic_item(number: int, now: float) -> dict[str, Any]:
    """A feedback item as create-feedback stores it, naming no one (no email, no hash)."""
    rating, message = MESSAGES[number % len(MESSAGES)]
    sentiment = classify(message)
    created = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return {
        "feedbackId": {"S": str(uuid.uuid4())},
        "name": {"S": f"Restore drill {number}"},
        "rating": {"N": str(rating)},
        "message": {"S": message},
        "sentiment": {"S": sentiment},
        RATING_SENTIMENT: {"S": rating_sentiment(rating, sentiment)},
        "createdAt": {"S": created},
        "status": {"S": "active"},
        "expiresAt": {"N": str(int(now) + RETENTION_S)},
    }


def _write_batches(ddb: Any, table: str, requests: list[dict[str, Any]]) -> None:
    """BatchWriteItem in 25s, in parallel, resending what DynamoDB left unprocessed."""

    chunks = [requests[i : i + BATCH] for i in range(0, len(requests), BATCH)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda batch: tables.write_batch(ddb, table, batch), chunks))


def served_total(lam: Any, names: StackNames) -> int:
    """`totalFeedback` as the stage serves it: GET /analytics through get-analytics' live alias."""
    from feedbackctl.drill import traffic_event

    target = f"{names.function('get-analytics')}:{ALIAS_NAME}"
    answer = functions_api.invoke(lam, target, json.dumps(traffic_event("get-analytics")).encode())
    if answer.function_error:
        raise FeedbackctlError(f"GET /analytics failed: {answer.function_error}")
    response = json.loads(answer.payload)
    return int(json.loads(response["body"])["totalFeedback"])


def _settle(ddb: Any, names: StackNames, waiter: Waiter) -> None:
    """Refuse to start on analytics that differ from the table; writes just made may still be
    on their way through the stream, so the aggregator is given a little time first."""
    try:
        restoring.wait_for_aggregation(ddb, names, {}, waiter, timeout=SETTLE_S, segments=4)
    except FeedbackctlError:
        differing = analytics_ops.verify(ddb, names, datetime.now(UTC).date()).differences
        raise FeedbackctlError(
            f"the analytics differ from the table in {len(differing)} counter(s)",
            doing="preparing the restore drill",
            hint="`feedbackctl analytics verify --repair` first, so the drill measures its own",
        ) from None


def run(
    clients: dict[str, Any],
    names: StackNames,
    *,
    items: int,
    damage: float,
    actor: str,
    waiter: Waiter,
    step: Callable[[str], None] = lambda text: None,
    converge_timeout: float = 600.0,
) -> RestoreDrillReport:
    """Seed, back up, damage, restore, check (module docstring)."""
    ddb, lam = clients["dynamodb"], clients["lambda"]
    report = RestoreDrillReport()
    table = names.feedback_table

    def timed(name: str, work: Callable[[], Any]) -> Any:
        begun = time.perf_counter()
        result = work()
        report.seconds[name] = round(time.perf_counter() - begun, 3)
        return result

    def active_ids() -> set[str]:
        found = restoring.read_items(ddb, table)
        return {i for i, item in found.items() if item.get("status", {}).get("S") == "active"}

    _settle(ddb, names, waiter)
    present = active_ids()
    missing = max(items - len(present), 0)
    if missing:
        step(f"seeding {missing} items (the table holds {len(present)})")
        now = time.time()
        seed = [{"PutRequest": {"Item": synthetic_item(n, now)}} for n in range(missing)]
        timed("seed", lambda: _write_batches(ddb, table, seed))
        report.seeded = missing
        step("waiting for the aggregator to count them")
        # The aggregator counts the seed at its own pace (seconds per thousand locally).
        patience = converge_timeout + missing * SEED_PATIENCE_S
        timed("aggregate-seed", lambda: restoring.wait_for_aggregation(
            ddb, names, {}, waiter, timeout=patience, segments=4
        ))  # fmt: skip
    kept = active_ids()
    report.items = len(kept)
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    step(f"backing up {table} ({report.items} items)")
    backup = timed("backup", lambda: backups.create_backup(
        ddb, table, f"{table}-restore-drill-{stamp}", waiter
    ))  # fmt: skip
    report.backup_arn = backup.arn

    chosen = random.Random(stamp).sample(  # noqa: S311 - which items a drill damages
        sorted(kept), min(len(kept), 2 * int(len(kept) * damage))
    )
    half = len(chosen) // 2
    doomed, altered = chosen[:half], chosen[half:]
    step(f"damaging the table: deleting {len(doomed)} items, overwriting {len(altered)} messages")
    report.deleted, report.altered = len(doomed), len(altered)

    def alter(ident: str) -> None:
        tables.update_item(ddb, {
            "TableName": table,
            "Key": {"feedbackId": {"S": ident}},
            "UpdateExpression": "SET message = :m",
            "ExpressionAttributeValues": {":m": {"S": "overwritten by the restore drill"}},
        })  # fmt: skip

    def damage_table() -> None:
        deletes = [{"DeleteRequest": {"Key": {"feedbackId": {"S": i}}}} for i in doomed]
        _write_batches(ddb, table, deletes)
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(alter, altered))

    timed("damage", damage_table)

    step(f"restoring {backup.name}")
    report.restore = restoring.restore(
        clients,
        names,
        restoring.Source(backup_arn=backup.arn),
        actor=actor,
        options=restoring.Options(repair_analytics=True, converge_timeout=converge_timeout),
        confirm=lambda r: True,
        waiter=waiter,
        step=lambda name, detail: step(f"  {name}: {detail}"),
    )
    step("checking the table, the analytics and what the stage serves")
    report.table_matches = active_ids() == kept
    verification = analytics_ops.verify(ddb, names, datetime.now(UTC).date())
    report.analytics_exact = not verification.differences
    report.served_total = served_total(lam, names)
    return report
