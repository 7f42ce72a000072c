"""The rollback renderers: the plan, as data for --json and as the numbered steps `--dry-run`
and the confirmation show (the result's renderers are shared with `watch`:
feedbackctl.cli.views).
"""

from __future__ import annotations

from typing import Any

from feedbackctl.cli.console import Terminal
from feedbackctl.cli.views import step_dict
from feedbackctl.engine.rollback import RollbackPlan


def plan_dict(plan: RollbackPlan) -> dict[str, Any]:
    return {
        "decision": plan.decision,
        "function": plan.state.function,
        "from": plan.from_version,
        "to": plan.to_version,
        "rule": plan.rule or None,
        "message": plan.message,
        "notes": list(plan.notes),
        "overrides": list(plan.overrides),
        "steps": [step_dict(s) for s in plan.steps],
    }


def show_plan(term: Terminal, plan: RollbackPlan) -> None:
    """The plan's steps, numbered: exactly the calls `execute` makes, in its order."""
    for note in plan.notes:
        term.warn(note)
    if plan.decision == "rollback":
        term.data(f"Plan: {plan.message}")
    else:
        term.data(f"Plan: {plan.decision} ({plan.rule}); the alias is not touched")
    for number, step in enumerate(plan.steps, 1):
        term.data(f"  {number}. {step.action:<12} {step.describe()}")
