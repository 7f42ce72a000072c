"""The restore renderers: the confirmation naming what will change, and the report."""

from __future__ import annotations

from feedbackctl.cli.console import Terminal
from feedbackctl.engine.model import human_duration
from feedbackctl.restore import RestoreReport


def _items(count: int) -> str:
    return f"{count} item{'' if count == 1 else 's'}"


def confirmation(report: RestoreReport, stage: str, table: str) -> str:
    plan = report.plan
    return (
        f"Replace the feedback of stage {stage} ({table}, {_items(report.live_items)}) with "
        f"{report.source.describe()} ({_items(report.restored_items)}): delete "
        f"{_items(len(plan.remove))} written since, put back {_items(len(plan.add))}, replace "
        f"{_items(len(plan.replace))}; the current table is backed up first. Continue?"
    )


def show_report(term: Terminal, report: RestoreReport, stage: str) -> None:
    summary, plan = report.restored_summary, report.plan
    average = summary.get("averageRating")
    term.data(
        f"restored: {_items(report.restored_items)}, average rating "
        f"{average if average is not None else '-'}, sentiment "
        + ", ".join(f"{k} {v}" for k, v in summary.get("sentiments", {}).items())
        + (f", {report.malformed} malformed" if report.malformed else "")
    )
    term.data(
        f"live before: {_items(report.live_items)}; plan: delete {len(plan.remove)}, put back "
        f"{len(plan.add)}, replace {len(plan.replace)}, unchanged {plan.unchanged}"
        + (f", {plan.skipped_forgotten} deleted on request stay deleted"
           if plan.skipped_forgotten else "")
        + (f", {plan.skipped_expired} past their TTL stay expired" if plan.skipped_expired else "")
    )  # fmt: skip
    if report.dry_run:
        kept = "kept" if report.kept_restored_table else "deleted"
        term.success(f"dry run: nothing on stage {stage} changed ({report.restored_table} {kept})")
        return
    if not report.written and not report.safety_backup:
        return
    steps = ", ".join(f"{name} {human_duration(s)}" for name, s in report.seconds.items())
    term.data(f"steps: {steps}")
    term.data(f"backup of the table before the restore: {report.safety_backup}")
    if report.conflicts:
        term.warn(f"{report.conflicts} item(s) reappeared during the copy and were left as found")
    if report.analytics_differences and not report.repaired:
        term.warn(
            f"the analytics differ from a recount in {len(report.analytics_differences)} "
            "counter(s), as they did before the restore; `feedbackctl analytics verify --repair` "
            "sets them"
        )
    term.success(
        f"stage {stage} serves the restored feedback: {report.written} writes, analytics "
        + ("repaired" if report.repaired else "followed")
        + f", in {human_duration(report.total_seconds)} (restore {report.record_id})"
    )
