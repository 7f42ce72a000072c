"""`feedbackctl drill`: prove that a bad release heals itself, on any stage.

Publishes a version of the live code with a fault injected through configuration
(FEEDBACKCTL_FAULT, which the shared runtime honours and otherwise ignores), records it in the
ledger as a release, moves the `live` alias to it, drives traffic, and measures the time until
the error alarm fires and until the alias is back on the good version (the orchestrator's
automatic rollback). Then it restores $LATEST's configuration and clears the incident latch,
recording that too. If nothing heals within the timeout it rolls back itself and says so.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from feedbackctl.engine.ledger import DynamoLedger
from feedbackctl.engine.model import LedgerEvent, iso
from feedbackctl.engine.rollback import Ports, RollbackRequest, rollback
from feedbackctl.naming import StackNames
from feedbackctl.sandbox import api_event

FAULT_ENV = "FEEDBACKCTL_FAULT"
FAULTS = {"error": "error", "latency": "latency:3000"}
ROUTES = {
    "create-feedback": ("POST", "/feedback"),
    "list-feedback": ("GET", "/feedback"),
    "get-analytics": ("GET", "/analytics"),
    "health": ("GET", "/health"),
}


def traffic_event(function: str) -> dict[str, Any]:
    """A representative request for `function` (its API route, or an empty batch)."""
    if function not in ROUTES:
        return {"Records": []}
    method, path = ROUTES[function]
    body = None
    if method == "POST":
        body = json.dumps(
            {"name": "Drill", "email": "drill@example.com", "rating": 3, "message": "drill traffic"}
        )
    return api_event(method, path, body=body, headers={"Content-Type": "application/json"})


@dataclass
class DrillReport:
    function: str
    fault: str
    good_version: str
    faulty_version: str = ""
    requests: int = 0
    errors: int = 0
    detect_s: float | None = None
    recover_s: float | None = None
    healed_by: str = ""
    outcome: str = "running"
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "function": self.function,
            "fault": self.fault,
            "goodVersion": self.good_version,
            "faultyVersion": self.faulty_version,
            "requests": self.requests,
            "errors": self.errors,
            "detectSeconds": None if self.detect_s is None else round(self.detect_s, 2),
            "recoverSeconds": None if self.recover_s is None else round(self.recover_s, 2),
            "healedBy": self.healed_by,
            "outcome": self.outcome,
            "notes": self.notes,
        }


@dataclass
class DrillRun:
    """The clients and effects a drill uses (injected, so tests can drive time)."""

    lambda_: Any
    cloudwatch: Any
    ledger: DynamoLedger
    ports: Ports
    names: StackNames
    actor: str
    progress: Callable[[str], None] = lambda _: None
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    timeout_s: float = 120.0
    interval_s: float = 0.25

    def _configure(self, physical: str, variables: dict[str, str]) -> None:
        self.lambda_.update_function_configuration(
            FunctionName=physical, Environment={"Variables": variables}
        )
        for _ in range(600):
            state = self.lambda_.get_function_configuration(FunctionName=physical)
            if state.get("LastUpdateStatus", "Successful") != "InProgress":
                return
            self.sleep(0.5)

    def _publish_faulty(self, report: DrillReport, physical: str, fault: str) -> dict[str, str]:
        latest = self.lambda_.get_function_configuration(FunctionName=physical)
        original = dict((latest.get("Environment") or {}).get("Variables") or {})
        live = self.lambda_.get_function_configuration(
            FunctionName=physical, Qualifier=report.good_version
        )
        good_env = dict((live.get("Environment") or {}).get("Variables") or {})
        self._configure(physical, {**good_env, FAULT_ENV: fault})
        published = self.lambda_.publish_version(
            FunctionName=physical, Description=f"drill: {FAULT_ENV}={fault}"
        )
        report.faulty_version = str(published["Version"])
        return original

    def _shift(self, report: DrillReport) -> None:
        state = self.ledger.state(report.function)
        event = LedgerEvent(
            function=report.function,
            kind="release",
            outcome="done",
            at=iso(datetime.now(UTC)),
            actor=self.actor,
            reason=f"drill: version with {FAULT_ENV}={report.fault}",
            version=report.faulty_version,
            previous_version=report.good_version,
            details={"drill": True},
        )
        self.ledger.commit_release(
            state.revision, state.with_release(report.faulty_version, report.good_version), event
        )
        self.lambda_.update_alias(
            FunctionName=self.names.function(report.function),
            Name="live",
            FunctionVersion=report.faulty_version,
            RoutingConfig={"AdditionalVersionWeights": {}},
        )
        self.progress(f"{report.function}: live → {report.faulty_version} (fault {report.fault})")

    def _drive(self, report: DrillReport, started: float) -> None:
        physical = self.names.function(report.function)
        alarm = self.names.errors_alarm(report.function)
        payload = json.dumps(traffic_event(report.function)).encode()
        while self.clock() - started < self.timeout_s:
            result = self.lambda_.invoke(FunctionName=f"{physical}:live", Payload=payload)
            report.requests += 1
            body = result["Payload"].read()
            if (
                result.get("FunctionError")
                or b'"statusCode": 5' in body
                or b'"statusCode":5' in body
            ):
                report.errors += 1
            if report.detect_s is None:
                alarms = self.cloudwatch.describe_alarms(AlarmNames=[alarm]).get("MetricAlarms", [])
                if alarms and alarms[0]["StateValue"] == "ALARM":
                    report.detect_s = self.clock() - started
                    self.progress(f"alarm {alarm} fired after {report.detect_s:.1f}s")
            live = self.ports.lambda_.alias(report.function).version
            if live != report.faulty_version:
                report.recover_s = self.clock() - started
                report.healed_by = "automatic rollback"
                self.progress(f"live is back on {live} after {report.recover_s:.1f}s")
                return
            self.sleep(self.interval_s)

    def _restore(self, report: DrillReport, original: dict[str, str]) -> None:
        physical = self.names.function(report.function)
        if report.recover_s is None:
            request = RollbackRequest(
                report.function,
                self.actor,
                "drill: no automatic rollback within the timeout",
                datetime.now(UTC),
                to_version=report.good_version,
                force=True,
            )
            result = rollback(request, self.ports)
            report.healed_by = f"the drill itself ({result.outcome})"
            report.notes.append(f"not healed within {self.timeout_s:.0f}s: {result.message}")
        self._configure(physical, original)
        state = self.ledger.state(report.function)
        cleared = replace(state, latched=False, latch_reason="")
        event = LedgerEvent(
            function=report.function,
            kind="drill",
            outcome="done",
            at=iso(datetime.now(UTC)),
            actor=self.actor,
            reason=f"drill finished: detect {report.detect_s}s, recover {report.recover_s}s, "
            "latch cleared",
            version=self.ports.lambda_.alias(report.function).version,
            previous_version=report.faulty_version,
            details=report.as_dict(),
        )
        self.ledger.commit_release(state.revision, cleared, event)

    def run(self, function: str, fault: str) -> DrillReport:
        alias = self.ports.lambda_.alias(function)
        report = DrillReport(function, fault, alias.version)
        physical = self.names.function(function)
        original = self._publish_faulty(report, physical, FAULTS.get(fault, fault))
        started = self.clock()
        try:
            self._shift(report)
            self._drive(report, started)
        finally:
            self._restore(report, original)
        report.outcome = "healed" if report.recover_s is not None else "not-healed"
        return report
