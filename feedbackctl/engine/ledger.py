"""The release ledger in DynamoDB: per function, a state item and an event history.

Keys (pk/sk): `fn#<function>` / `state` holds the LedgerState, written whole under an
optimistic `revision` condition; `fn#<function>` / `event#<at>#<id>` is one LedgerEvent;
`fn#<function>` / `incident#<key>` marks an alarm incident as handled. A rollback's claim is
one transaction of all three, so one incident can move an alias only once; undoing a claim
(the alias could not be moved) is one transaction too and removes the incident marker, so a
retry of the same incident is judged afresh instead of being skipped as already handled.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from feedbackctl.engine.model import LedgerEvent, LedgerState, iso, parse_iso

STATE_SK = "state"
EVENT_PREFIX = "event#"
INCIDENT_PREFIX = "incident#"


def _pk(function: str) -> str:
    return f"fn#{function}"


def _event_sk(event: LedgerEvent) -> str:
    return f"{EVENT_PREFIX}{event.at}#{event.event_id}"


def state_to_item(state: LedgerState) -> dict[str, Any]:
    item: dict[str, Any] = {
        "pk": {"S": _pk(state.function)},
        "sk": {"S": STATE_SK},
        "previousOf": {"M": {k: {"S": v} for k, v in sorted(state.previous_of.items())}},
        "badVersions": {"L": [{"S": v} for v in sorted(state.bad_versions, key=int)]},
        "latched": {"BOOL": state.latched},
        "latchReason": {"S": state.latch_reason},
        "lastIncident": {"S": state.last_incident},
        "revision": {"N": str(state.revision)},
    }
    if state.live_version:
        item["liveVersion"] = {"S": state.live_version}
    if state.last_rollback_at:
        item["lastRollbackAt"] = {"S": iso(state.last_rollback_at)}
    if state.last_auto_rollback_at:
        item["lastAutoRollbackAt"] = {"S": iso(state.last_auto_rollback_at)}
    if state.last_rollback_by:
        item["lastRollbackBy"] = {"S": state.last_rollback_by}
    if state.last_rollback_to:
        item["lastRollbackTo"] = {"S": state.last_rollback_to}
    return item


def state_from_item(function: str, item: dict[str, Any] | None) -> LedgerState:
    if not item:
        return LedgerState(function=function)

    def text(name: str) -> str:
        return str(item.get(name, {}).get("S", ""))

    return LedgerState(
        function=function,
        live_version=text("liveVersion") or None,
        previous_of={k: v["S"] for k, v in item.get("previousOf", {}).get("M", {}).items()},
        bad_versions=frozenset(v["S"] for v in item.get("badVersions", {}).get("L", [])),
        latched=bool(item.get("latched", {}).get("BOOL", False)),
        latch_reason=text("latchReason"),
        last_rollback_at=parse_iso(text("lastRollbackAt")) if text("lastRollbackAt") else None,
        last_auto_rollback_at=parse_iso(text("lastAutoRollbackAt"))
        if text("lastAutoRollbackAt")
        else None,
        last_rollback_by=text("lastRollbackBy"),
        last_rollback_to=text("lastRollbackTo") or None,
        last_incident=text("lastIncident"),
        revision=int(item.get("revision", {}).get("N", "0")),
    )


def event_to_item(event: LedgerEvent) -> dict[str, Any]:
    return {
        "pk": {"S": _pk(event.function)},
        "sk": {"S": _event_sk(event)},
        "event": {"S": json.dumps(event.as_dict(), sort_keys=True, separators=(",", ":"))},
        "kind": {"S": event.kind},
        "outcome": {"S": event.outcome},
        "at": {"S": event.at},
    }


def event_from_item(item: dict[str, Any]) -> LedgerEvent:
    data = json.loads(item["event"]["S"])
    return LedgerEvent(
        function=data["function"],
        kind=data["kind"],
        outcome=data["outcome"],
        at=data["at"],
        actor=data["actor"],
        reason=data["reason"],
        version=data.get("version"),
        previous_version=data.get("previousVersion"),
        code_sha256=data.get("codeSha256", ""),
        git_commit=data.get("gitCommit", ""),
        automatic=bool(data.get("automatic")),
        rule=data.get("rule", ""),
        details=data.get("details") or {},
        event_id=data["eventId"],
    )


class ConcurrentUpdateError(Exception):
    """The ledger's state moved between read and write (another release or rollback)."""


class DynamoLedger:
    """The ledger over an injected low-level DynamoDB client (CLI session or Lambda's boto3)."""

    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def state(self, function: str) -> LedgerState:
        result = self._client.get_item(
            TableName=self._table,
            Key={"pk": {"S": _pk(function)}, "sk": {"S": STATE_SK}},
            ConsistentRead=True,
        )
        return state_from_item(function, result.get("Item"))

    def record(self, event: LedgerEvent) -> None:
        """Write one event (a decision, or a release that failed or was interrupted)."""
        self._client.put_item(TableName=self._table, Item=event_to_item(event))

    # The name callers outside the rollback engine read best (the deploy's failed and
    # interrupted releases): an outcome is recorded without touching the state item.
    record_outcome = record

    def finish(self, event: LedgerEvent) -> None:
        """Overwrite an event (same sort key) with its final outcome."""
        self.record(event)

    def _state_put(self, new_state: LedgerState, expected_revision: int) -> dict[str, Any]:
        put: dict[str, Any] = {
            "TableName": self._table,
            "Item": state_to_item(new_state),
        }
        if expected_revision == 0:
            put["ConditionExpression"] = "attribute_not_exists(pk) OR revision = :r"
        else:
            put["ConditionExpression"] = "revision = :r"
        put["ExpressionAttributeValues"] = {":r": {"N": str(expected_revision)}}
        return put

    def claim(
        self, expected_revision: int, new_state: LedgerState, event: LedgerEvent, incident: str
    ) -> bool:
        """Write state (revision + 1), the event, and the incident marker, all or nothing.

        False when another writer got there first or the incident was already handled.
        """
        new_state = _bump(new_state, expected_revision)
        items: list[dict[str, Any]] = [
            {"Put": self._state_put(new_state, expected_revision)},
            {"Put": {"TableName": self._table, "Item": event_to_item(event)}},
        ]
        if incident:
            items.append(
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": {
                            "pk": {"S": _pk(event.function)},
                            "sk": {"S": INCIDENT_PREFIX + incident},
                            "eventId": {"S": event.event_id},
                        },
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
            )
        try:
            self._client.transact_write_items(TransactItems=items)
        except self._client.exceptions.TransactionCanceledException:
            return False
        return True

    def release_claim(
        self, claimed: LedgerState, restore: LedgerState, event: LedgerEvent, incident: str = ""
    ) -> None:
        """Undo a claim whose alias move did not happen: the old state back, the event with its
        final outcome, and the claim's incident marker removed (else a retry of that incident
        would be skipped as "already handled" although nothing was rolled back).

        `claimed` is the state as passed to claim(); `incident` defaults to the one the event
        carries. Only the marker this event wrote is removed.
        """
        incident = incident or str(event.details.get("incident", ""))
        current_revision = claimed.revision + 1  # claim() bumped it
        back = _bump(restore, current_revision)
        items: list[dict[str, Any]] = [
            {"Put": self._state_put(back, current_revision)},
            {"Put": {"TableName": self._table, "Item": event_to_item(event)}},
        ]
        if incident:
            items.append(
                {
                    "Delete": {
                        "TableName": self._table,
                        "Key": {
                            "pk": {"S": _pk(event.function)},
                            "sk": {"S": INCIDENT_PREFIX + incident},
                        },
                        "ConditionExpression": "attribute_not_exists(pk) OR eventId = :e",
                        "ExpressionAttributeValues": {":e": {"S": event.event_id}},
                    }
                }
            )
        self._client.transact_write_items(TransactItems=items)

    def incident_handled(self, function: str, incident: str) -> bool:
        """Whether an incident marker exists (what a retry of that incident would run into)."""
        result = self._client.get_item(
            TableName=self._table,
            Key={"pk": {"S": _pk(function)}, "sk": {"S": INCIDENT_PREFIX + incident}},
            ConsistentRead=True,
        )
        return "Item" in result

    def commit_release(
        self, expected_revision: int, new_state: LedgerState, event: LedgerEvent
    ) -> None:
        """Record a release: state and event together; ConcurrentUpdateError if the state moved.

        Conditional on `expected_revision`, so a latch an automatic rollback set meanwhile is
        never cleared by a release that read the state before it."""
        if not self.claim(expected_revision, new_state, event, ""):
            raise ConcurrentUpdateError(
                f"the ledger entry for {event.function} changed while releasing; re-run the deploy"
            )

    def events(self, function: str, limit: int = 20) -> list[LedgerEvent]:
        """The newest `limit` events of one function, newest first."""
        result = self._client.query(
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={":pk": {"S": _pk(function)}, ":prefix": {"S": EVENT_PREFIX}},
            ScanIndexForward=False,
            Limit=limit,
        )
        return [event_from_item(item) for item in result.get("Items", [])]


def _bump(state: LedgerState, expected_revision: int) -> LedgerState:
    return replace(state, revision=expected_revision + 1)
