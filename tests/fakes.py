"""In-memory fakes of the engine's ports, for pure tests of execution paths."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from feedbackctl.engine.model import (
    AliasMovedError,
    AliasState,
    HealthResult,
    LedgerEvent,
    LedgerState,
)


class FakeLambda:
    def __init__(self, alias: AliasState, published: list[str], unhealthy: set[str] | None = None):
        self._alias = alias
        self.published = published
        self.unhealthy = unhealthy or set()
        self.moves: list[tuple[str, str]] = []
        self.health_checks: list[str] = []
        self.fail_update: Exception | None = None
        self.calls: list[tuple[str, tuple[Any, ...]]] = []  # every port call, in order

    def alias(self, function: str) -> AliasState:
        self.calls.append(("alias", (function,)))
        return self._alias

    def moved_by_someone_else(self, version: str) -> None:
        """Another actor (console, another engine run) moves the alias: a new RevisionId."""
        self._alias = AliasState(version=version, revision_id=self._alias.revision_id + "*")

    def published_versions(self, function: str) -> list[str]:
        return list(self.published)

    def invoke_health(self, function: str, version: str) -> HealthResult:
        self.calls.append(("invoke_health", (function, version)))
        self.health_checks.append(version)
        if version in self.unhealthy:
            return HealthResult(False, "health endpoint answered 503")
        return HealthResult(True, "ok")

    def set_alias(
        self, function: str, version: str, weights: dict[str, float], revision_id: str
    ) -> AliasState:
        """Lambda's UpdateAlias: conditional on the RevisionId, a new RevisionId after."""
        self.calls.append(("set_alias", (function, version, dict(weights), revision_id)))
        if self.fail_update:
            raise self.fail_update
        if revision_id and revision_id != self._alias.revision_id:
            raise AliasMovedError(function, revision_id)
        self.moves.append((function, version))
        self._alias = AliasState(
            version=version, routing=dict(weights), revision_id=self._alias.revision_id + "+"
        )
        return self._alias

    def update_alias(self, function: str, version: str, revision_id: str) -> None:
        self.set_alias(function, version, {}, revision_id)


class FakeLedger:
    def __init__(self, state: LedgerState):
        self._state = state
        self.events: dict[str, LedgerEvent] = {}
        self.incidents: set[str] = set()
        self.claims = 0
        self.before_claim: Callable[[], None] | None = None  # a race, injected by a test

    def state(self, function: str) -> LedgerState:
        return self._state

    def record(self, event: LedgerEvent) -> None:
        self.events[event.event_id] = event

    finish = record

    def claim(
        self, expected_revision: int, new_state: LedgerState, event: LedgerEvent, incident: str
    ) -> bool:
        if self.before_claim is not None:
            self.before_claim()
        if expected_revision != self._state.revision or (incident and incident in self.incidents):
            return False
        self.claims += 1
        self._state = replace(new_state, revision=expected_revision + 1)
        self.events[event.event_id] = event
        if incident:
            self.incidents.add(incident)
        return True

    def release_claim(
        self, claimed: LedgerState, restore: LedgerState, event: LedgerEvent, incident: str = ""
    ) -> None:
        """As DynamoLedger: the state back, the event's final outcome, the marker removed."""
        self._state = replace(restore, revision=self._state.revision + 1)
        self.events[event.event_id] = event
        self.incidents.discard(incident or str(event.details.get("incident", "")))


class FakeNotifier:
    def __init__(self) -> None:
        self.messages: list[tuple[str, dict[str, Any]]] = []

    def publish(self, subject: str, message: dict[str, Any]) -> None:
        self.messages.append((subject, message))
