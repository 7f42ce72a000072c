"""The deploy renderers: the plan (as lines, and as data for --json), the outcomes' table and
the line that says what happened to each function.
"""

from __future__ import annotations

from typing import Any

from rich.table import Table

from feedbackctl.cli.console import Terminal
from feedbackctl.deploy import (
    DeployPlan,
    FunctionOutcome,
)
from feedbackctl.releasing import describe_steps, steps_json

FAILED_OUTCOMES = {"rolled-back", "failed", "interrupted"}


def plan_dict(plan: DeployPlan) -> dict[str, Any]:
    return {
        "stack": plan.stack_action,
        "replacesStack": plan.leftover,
        "uploads": [a.s3_key for a in plan.uploads],
        "releases": [
            {
                "function": r.function,
                "action": r.action,
                "reason": r.reason,
                "codeUpdate": r.code_update,
                "from": r.from_version,
                "steps": steps_json(r.steps),
            }
            for r in plan.releases
        ],
        "strategy": plan.policy.strategy,
        "windows": {
            "stepSeconds": plan.policy.step_s,
            "bakeSeconds": plan.policy.bake_s,
            "pollSeconds": plan.policy.poll_s,
        },
    }


def show_plan(term: Terminal, plan: DeployPlan) -> None:
    stack = {
        "create": "create the stack",
        "update": "update the stack (change set)",
        "none": "stack unchanged",
    }
    if plan.leftover == "ROLLBACK_COMPLETE":
        stack["create"] = (
            "delete the stack left ROLLBACK_COMPLETE by its failed first create "
            "(after confirmation), then create it"
        )
    elif plan.leftover:
        stack["create"] = (
            f"delete the stack left {plan.leftover} by a declined or failed first create "
            "(it holds nothing), then create it"
        )
    term.data(
        f"Plan: {stack[plan.stack_action]}; {len(plan.uploads)} artifact(s) to upload; "
        f"strategy {plan.policy.strategy}"
    )
    for r in plan.releases:
        term.data(f"  {r.function:<22} {r.action:<9} {r.reason}")
        for number, line in enumerate(describe_steps(r.steps), 1):
            term.data(f"      {number}. {line}")


def summary_table(outcomes: list[FunctionOutcome]) -> Table:
    table = Table("function", "version", "code size", "outcome", "detail", box=None)
    for o in outcomes:
        change = (
            f"{o.from_version or '-'} → {o.to_version or '-'}"
            if o.from_version != o.to_version
            else (o.to_version or "-")
        )
        table.add_row(o.function, change, f"{o.size / 1024:.1f} KB", o.outcome, o.detail)
    return table


def final_line(outcome: FunctionOutcome) -> str:
    """The outcome in words: what happened to which version, and who decided."""
    o = outcome
    if o.outcome == "rolled-back":
        return (
            f"{o.function}: version {o.from_version} rolled back to {o.to_version} "
            f"by {o.by or 'the rollback engine'}: {o.detail}"
        )
    if o.outcome == "released":
        return f"{o.function}: version {o.to_version} released ({o.detail})"
    return f"{o.function}: {o.outcome}: {o.detail}"


def show_outcomes(term: Terminal, outcomes: list[FunctionOutcome]) -> None:
    term.out.print(summary_table(outcomes))
    for outcome in outcomes:
        if outcome.outcome in FAILED_OUTCOMES or outcome.verdict:
            term.status(final_line(outcome))
