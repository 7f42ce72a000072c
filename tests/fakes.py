"""In-memory fakes of the engine's ports, for pure tests of execution paths."""

from __future__ import annotations

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

    def alias(self, function: str) -> AliasState:
        return self._alias

    def published_versions(self, function: str) -> list[str]:
        return list(self.published)

    def invoke_health(self, function: str, version: str) -> HealthResult:
        self.health_checks.append(version)
        if version in self.unhealthy:
            return HealthResult(False, "health endpoint answered 503")
        return HealthResult(True, "ok")

    def set_alias(
        self, function: str, version: str, weights: dict[str, float], revision_id: str
    ) -> AliasState:
        """Lambda's UpdateAlias: conditional on the RevisionId, a new RevisionId after."""
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

    def state(self, function: str) -> LedgerState:
        return self._state

    def record(self, event: LedgerEvent) -> None:
        self.events[event.event_id] = event

    finish = record

    def claim(
        self, expected_revision: int, new_state: LedgerState, event: LedgerEvent, incident: str
    ) -> bool:
        if expected_revision != self._state.revision or (incident and incident in self.incidents):
            return False
        self.claims += 1
        self._state = replace(new_state, revision=expected_revision + 1)
        self.events[event.event_id] = event
        if incident:
            self.incidents.add(incident)
        return True

    def release_claim(self, claimed: LedgerState, restore: LedgerState, event: LedgerEvent) -> None:
        self._state = replace(restore, revision=self._state.revision + 1)
        self.events[event.event_id] = event


class FakeNotifier:
    def __init__(self) -> None:
        self.messages: list[tuple[str, dict[str, Any]]] = []

    def publish(self, subject: str, message: dict[str, Any]) -> None:
        self.messages.append((subject, message))
