"""Values the engine reasons about: alias snapshots, ledger state, events and results.

Plain frozen dataclasses with no AWS or CLI code, shared by planning (pure), the ports that
read and write AWS, and the renderers.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

ALIAS_NAME = "live"
Kind = Literal["release", "rollback", "drill"]
Outcome = Literal["done", "refused", "skipped", "failed", "interrupted", "in-progress"]


def iso(moment: datetime) -> str:
    """ISO-8601 UTC with milliseconds (sortable as text)."""
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


def parse_iso(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def human_duration(seconds: float) -> str:
    """A duration as people read it: `850 ms`, `10.8 s`, `4 min 05 s`, `2 h 03 min`."""
    seconds = max(float(seconds), 0.0)
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


def is_published(version: str) -> bool:
    """True for a published version number ("7"); false for $LATEST, aliases, garbage."""
    return version.isdigit() and version != "0"


class AliasMovedError(Exception):
    """The `live` alias changed between reading it and moving it (its RevisionId differs)."""

    def __init__(self, function: str, revision_id: str, detail: str = "") -> None:
        super().__init__(
            f"the live alias of {function} moved since it was read (revision {revision_id})"
            + (f": {detail}" if detail else "")
        )
        self.function = function
        self.revision_id = revision_id


@dataclass(frozen=True)
class AliasState:
    """Where the `live` alias points: its primary version and any weighted extra version."""

    version: str
    routing: dict[str, float] = field(default_factory=dict)
    revision_id: str = ""

    @property
    def shifting_to(self) -> str | None:
        """The version receiving a share of traffic during a canary/linear shift, if any."""
        return next(iter(self.routing), None)


@dataclass(frozen=True)
class LedgerState:
    """The ledger's per-function state item (read-modify-write under `revision`)."""

    function: str
    live_version: str | None = None
    previous_of: dict[str, str] = field(default_factory=dict)  # version -> version before it
    bad_versions: frozenset[str] = frozenset()
    latched: bool = False
    latch_reason: str = ""
    last_rollback_at: datetime | None = None
    last_auto_rollback_at: datetime | None = None
    # Who made the last rollback and where it left the alias: the cooldown and the
    # recent-rollback rule apply only while that version is still the one being rolled back,
    # and their messages name the person (or alarm) who acted.
    last_rollback_by: str = ""
    last_rollback_to: str | None = None
    last_incident: str = ""
    revision: int = 0

    def with_release(self, version: str, previous: str | None) -> LedgerState:
        """After a release: `version` is live, its predecessor known, the latch cleared."""
        chain = dict(self.previous_of)
        if previous and previous != version:
            chain[version] = previous
        return replace(
            self, live_version=version, previous_of=chain, latched=False, latch_reason=""
        )

    def with_rollback(
        self,
        from_version: str,
        to_version: str,
        now: datetime,
        *,
        automatic: bool,
        reason: str,
        incident: str,
        actor: str = "",
        vouched: bool = False,
    ) -> LedgerState:
        """After a rollback: target live, the rolled-back-from version bad, latch if automatic.

        A roll forward (a human's --to-version newer than live) marks nothing bad: the version
        it leaves was the good one. `vouched`: a human chose a version marked bad on purpose
        (--allow-bad-version); it is live now, so it is no longer marked bad (else `status`
        would show a bad live version and the next rollback would skip it as broken)."""
        forward = is_published(from_version) and is_published(to_version)
        forward = forward and int(to_version) > int(from_version)
        bad = self.bad_versions if forward else self.bad_versions | {from_version}
        if vouched:
            bad -= {to_version}
        return replace(
            self,
            live_version=to_version,
            bad_versions=bad,
            latched=automatic,
            latch_reason=reason if automatic else "",
            last_rollback_at=now,
            last_auto_rollback_at=now if automatic else self.last_auto_rollback_at,
            last_rollback_by=actor,
            last_rollback_to=to_version,
            last_incident=incident or self.last_incident,
        )


@dataclass(frozen=True)
class LedgerEvent:
    """One decision in the ledger: a release or a rollback, done, refused, skipped or failed."""

    function: str
    kind: Kind
    outcome: Outcome
    at: str
    actor: str
    reason: str
    version: str | None = None  # the version made live (or the intended target)
    previous_version: str | None = None
    code_sha256: str = ""
    git_commit: str = ""
    automatic: bool = False
    rule: str = ""  # the safety rule behind a refusal or skip
    details: dict[str, Any] = field(default_factory=dict)
    event_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])

    def as_dict(self) -> dict[str, Any]:
        return {
            "function": self.function,
            "kind": self.kind,
            "outcome": self.outcome,
            "at": self.at,
            "actor": self.actor,
            "reason": self.reason,
            "version": self.version,
            "previousVersion": self.previous_version,
            "codeSha256": self.code_sha256,
            "gitCommit": self.git_commit,
            "automatic": self.automatic,
            "rule": self.rule,
            "details": self.details,
            "eventId": self.event_id,
        }


@dataclass(frozen=True)
class HealthResult:
    """What invoking a version with the synthetic health event said."""

    healthy: bool
    detail: str = ""
