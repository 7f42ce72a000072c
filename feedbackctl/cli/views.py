"""Renderers shared by commands: rollback plans and results, ledger events, stage status."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from feedbackctl.cli.console import Terminal
from feedbackctl.engine.model import LedgerEvent
from feedbackctl.engine.rollback import RollbackPlan, RollbackResult
from feedbackctl.operations import StageStatus


def plan_dict(plan: RollbackPlan) -> dict[str, Any]:
    return {
        "decision": plan.decision,
        "function": plan.state.function,
        "from": plan.from_version,
        "to": plan.to_version,
        "rule": plan.rule or None,
        "message": plan.message,
        "notes": list(plan.notes),
        "steps": [{"action": s.action, "description": s.description} for s in plan.steps],
    }


def result_dict(result: RollbackResult) -> dict[str, Any]:
    return {
        "outcome": result.outcome,
        "function": result.function,
        "from": result.from_version,
        "to": result.to_version,
        "rule": result.rule or None,
        "message": result.message,
        "durationSeconds": round(result.duration_s, 3),
        "eventId": result.event.event_id if result.event else None,
    }


def show_plan(term: Terminal, plan: RollbackPlan) -> None:
    for note in plan.notes:
        term.warn(note)
    if plan.decision != "rollback":
        return
    term.data(f"Plan: {plan.message}")
    for number, step in enumerate(plan.steps, 1):
        term.data(f"  {number}. {step.action:<13} {step.description}")


def show_result(term: Terminal, result: RollbackResult) -> None:
    if result.outcome == "done":
        term.success(f"{result.message} in {result.duration_s:.2f}s")
    elif result.outcome == "skipped":
        term.status(f"nothing to do: {result.message}")
    else:
        term.error(f"rollback {result.outcome} ({result.rule}): {result.message}")


def _change(event: LedgerEvent) -> str:
    if event.previous_version and event.version:
        return f"{event.previous_version} → {event.version}"
    return event.version or "-"


def history_table(events: list[LedgerEvent]) -> Table:
    table = Table("at", "function", "kind", "outcome", "versions", "actor", "reason", box=None)
    for e in events:
        why = e.reason + (f" [{e.rule}]" if e.rule else "")
        table.add_row(e.at, e.function, e.kind, e.outcome, _change(e), e.actor, why)
    return table


def status_table(status: StageStatus) -> Table:
    table = Table("function", "live", "ledger", "drift", "alarm", "last release", "notes", box=None)
    for f in status.functions:
        live = f.live_version or "-"
        if f.routing:
            live += " + " + ", ".join(f"{v}@{w:.0%}" for v, w in f.routing.items())
        release = f"{f.last_release.version} at {f.last_release.at}" if f.last_release else "-"
        notes = "; ".join(
            x
            for x in (
                f.problem,
                "latched" if f.latched else "",
                f"bad: {', '.join(f.bad_versions)}" if f.bad_versions else "",
            )
            if x
        )
        table.add_row(
            f.function,
            live,
            f.ledger_version or "-",
            f.drift or "-",
            f.alarm_state,
            release,
            notes or "-",
        )
    return table
