"""Renderers shared by `rollback` (feedbackctl.cli.commands.rollback) and `watch`
(feedbackctl.cli.commands.watch): a rollback's result, and its steps, as data for --json and
as the line a person reads.
"""

from __future__ import annotations

from typing import Any

from feedbackctl.cli.console import Terminal
from feedbackctl.engine.model import human_duration
from feedbackctl.engine.rollback import RollbackResult, Step


def step_dict(step: Step) -> dict[str, Any]:
    """One step as data: the call (type and arguments) and the line `--dry-run` prints."""
    return {
        "action": step.action,
        "call": type(step).__name__,
        "args": step.args(),
        "description": step.describe(),
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
        "steps": [step_dict(s) for s in result.executed],
    }


def show_result(term: Terminal, result: RollbackResult) -> None:
    if result.outcome == "done":
        term.success(f"{result.message} in {human_duration(result.duration_s)}")
    elif result.outcome == "skipped":
        term.status(f"nothing to do ({result.rule}): {result.message}")
    else:
        term.error(f"rollback {result.outcome} ({result.rule}): {result.message}")


# --- history ---------------------------------------------------------------------------------
