"""The drill renderers: the plan and the report of detect/recover times."""

from __future__ import annotations

from feedbackctl.cli.console import Terminal
from feedbackctl.drill import (
    DrillPlan,
    DrillReport,
)


def show_plan(term: Terminal, plan: DrillPlan) -> None:
    facts, request = plan.facts, plan.request
    term.data(
        f"Plan: drill {facts.function} with {request.fault} on version {facts.alias.version}'s "
        f"code, for up to {plan.timeout_s:g}s"
    )
    for number, step in enumerate(plan.steps, 1):
        term.data(f"  {number}. {step.action:<11} {step.description}")
    for note in plan.notes:
        term.warn(note)
    for rule, message in plan.refusals:
        term.error(f"would be refused ({rule}): {message}")


def show_report(term: Terminal, report: DrillReport) -> None:
    term.data(f"drill of {report.function} ({report.fault}): {report.outcome}")
    term.data(f"  versions     good {report.good_version}, faulty {report.faulty_version}")
    term.data(f"  traffic      {report.requests} requests, {report.errors} failed")
    term.data(
        f"  detected     {report.detect_s:.1f}s after the shift ({report.alarm_fired})"
        if report.detect_s is not None
        else f"  detected     never (watched {', '.join(report.alarms) or 'no alarm'})"
    )
    term.data(
        f"  recovered    {report.recover_s:.1f}s after the shift (healed by {report.healed_by})"
        if report.recover_s is not None
        else "  recovered    no: the alias is still on the faulty version"
    )
    term.data(f"  latch        {report.latch}")
    for note in report.notes:
        term.warn(note)
