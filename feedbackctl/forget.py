"""Deletion on request: every feedback item of one person, found without a scan, removed so the
figures follow, and the request recorded without the address.

The person's items are found through the feedback table's `emailHash-index` (the keyed hash of
the normalised address, lambdas/common/identity.py): one Query, reading their items' keys and
nothing else. Each item is then tombstoned — `status` set to "forgotten" and the name, email
and message removed, conditional on `status = active` so it happens once — and deleted. The
stream aggregator takes the tombstone's contribution out of the counters exactly once
(docs/aggregation.md), so the analytics stay equal to the table. The request is recorded in
the analytics table as `forget#<when>#<id>`: when, who asked for it, how many items, and a
salted SHA-256 of the address with its salt (never the address). No CLI code here.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from feedbackctl.aws import secrets as secrets_api
from feedbackctl.aws import tables
from feedbackctl.naming import StackNames
from lambdas.common.analytics import iso_millis
from lambdas.common.identity import hash_with, normalise

EMAIL_INDEX = "emailHash-index"
FORGOTTEN = "forgotten"
PII = ("name", "email", "message")  # removed by the tombstone, before the item goes
RECORD_PREFIX = "forget#"


@dataclass(frozen=True)
class Removed:
    """One removed item, as the operator may see it: no name, email or message."""

    feedback_id: str
    created_at: str
    rating: int

    def as_dict(self) -> dict[str, Any]:
        return {"feedbackId": self.feedback_id, "createdAt": self.created_at, "rating": self.rating}


@dataclass
class ForgetReport:
    """What a deletion on request found, removed, and how it was recorded."""

    found: list[str] = field(default_factory=list)
    removed: list[Removed] = field(default_factory=list)
    already_gone: int = 0  # tombstoned by an earlier or concurrent request
    items_read: int = 0  # what the Query read: the person's index entries
    request_id: str = ""
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "dryRun": self.dry_run,
            "found": len(self.found),
            "removed": [r.as_dict() for r in self.removed],
            "alreadyGone": self.already_gone,
            "itemsRead": self.items_read,
            "requestId": self.request_id or None,
        }


def find(ddb: Any, names: StackNames, email_hash: str) -> tuple[list[str], int]:
    """The ids of the items whose emailHash is `email_hash`, and the index entries read."""
    request: dict[str, Any] = {
        "TableName": names.feedback_table,
        "IndexName": EMAIL_INDEX,
        "KeyConditionExpression": "emailHash = :h",
        "ExpressionAttributeValues": {":h": {"S": email_hash}},
    }
    ids: list[str] = []
    read = 0
    while True:
        page = tables.query_page(ddb, request)
        read += int(page.get("ScannedCount", len(page.get("Items", []))))
        ids += [item["feedbackId"]["S"] for item in page.get("Items", [])]
        if "LastEvaluatedKey" not in page:
            return ids, read
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def tombstone(ddb: Any, names: StackNames, feedback_id: str) -> dict[str, Any] | None:
    """Mark the item forgotten and strip what identifies the person; its remaining attributes,
    or None when it was not active (already forgotten, or gone)."""
    stripped = {f"#p{i}": attribute for i, attribute in enumerate(PII)}
    return tables.update_returning(
        ddb,
        {
            "TableName": names.feedback_table,
            "Key": {"feedbackId": {"S": feedback_id}},
            "UpdateExpression": "SET #s = :f REMOVE " + ", ".join(stripped),
            "ConditionExpression": "#s = :a",
            "ExpressionAttributeNames": {"#s": "status", **stripped},
            "ExpressionAttributeValues": {":f": {"S": FORGOTTEN}, ":a": {"S": "active"}},
            "ReturnValues": "ALL_NEW",
        },
    )


def subject_record(address: str, salt: bytes) -> str:
    """The salted SHA-256 of the normalised address kept with the request (hex)."""
    return hashlib.sha256(salt + normalise(address).encode("utf-8")).hexdigest()


def forget(
    clients: dict[str, Any],
    names: StackNames,
    address: str,
    *,
    actor: str,
    now: datetime,
    dry_run: bool = False,
    confirm: Callable[[list[str]], bool] = lambda ids: True,
) -> ForgetReport:
    """Find, then (unless `dry_run`, and once `confirm(ids)` agrees) remove one person's items
    and record the request."""
    ddb = clients["dynamodb"]
    key = secrets_api.secret_string(clients["secretsmanager"], names.email_hash_key)
    report = ForgetReport(dry_run=dry_run)
    report.found, report.items_read = find(ddb, names, hash_with(key.encode("utf-8"), address))
    if dry_run or not report.found or not confirm(report.found):
        return report
    for feedback_id in report.found:
        kept = tombstone(ddb, names, feedback_id)
        tables.delete_item(ddb, names.feedback_table, {"feedbackId": {"S": feedback_id}})
        if kept is None:
            report.already_gone += 1
            continue
        report.removed.append(
            Removed(feedback_id, kept["createdAt"]["S"], int(kept["rating"]["N"]))
        )
    salt = secrets.token_bytes(16)
    report.request_id = uuid.uuid4().hex
    stamp = iso_millis(now)
    tables.put_item(
        ddb,
        names.analytics_table,
        {
            "aggregateId": {"S": f"{RECORD_PREFIX}{stamp}#{report.request_id}"},
            "requestedAt": {"S": stamp},
            "requestedBy": {"S": actor},
            "subjectSha256": {"S": subject_record(address, salt)},
            "salt": {"S": salt.hex()},
            "itemsRemoved": {"N": str(len(report.removed))},
            # The ids (random, naming no one) keep a restore from bringing the items back.
            **(
                {"removedIds": {"SS": [r.feedback_id for r in report.removed]}}
                if report.removed
                else {}
            ),
        },
    )
    return report
