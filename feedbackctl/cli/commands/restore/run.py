"""The restore flow: check the source, run the restore with one line per step, ask before
anything of the stage's changes, and report the figures."""

from __future__ import annotations

from datetime import UTC, datetime

from feedbackctl import restore as restoring
from feedbackctl.aws import Aws
from feedbackctl.aws.stacks import Waiter
from feedbackctl.cli import options
from feedbackctl.cli.commands.restore.views import confirmation, show_report
from feedbackctl.cli.console import Terminal
from feedbackctl.engine.model import human_duration
from feedbackctl.errors import UsageError


def source_of(to_time: str | None, backup: str | None, now: datetime) -> restoring.Source:
    if (to_time is None) == (backup is None):
        raise UsageError("give exactly one of --to-time TIME and --backup ARN")
    if backup is not None:
        return restoring.Source(backup_arn=backup.strip())
    assert to_time is not None
    return restoring.Source(to_time=restoring.parse_time(to_time, now))


def run_restore(
    aws: Aws,
    *,
    to_time: str | None,
    backup: str | None,
    dry_run: bool,
    keep_restored: bool,
    repair_analytics: bool,
    timeout: float,
    yes: bool,
    as_json: bool,
    waiter: Waiter | None = None,
) -> restoring.RestoreReport:
    term, target = Terminal(), aws.target
    source = source_of(to_time, backup, datetime.now(UTC))
    if not dry_run and not yes:
        options.require_answerable(yes=yes)
    term.status(f"restoring stage {target.stage} from {source.describe()}")

    def step(name: str, detail: str) -> None:
        term.status(f"  {name}: {detail}")

    def confirm(report: restoring.RestoreReport) -> bool:
        if report.plan.changes == 0:
            term.status("the live table already holds what the restore point holds")
            return False
        options.confirm(confirmation(report, target.stage, target.names.feedback_table),
                        yes=yes, production=target.production)  # fmt: skip
        return True

    clients = {"dynamodb": aws.client("dynamodb")}
    with aws.errors(f"restoring stage {target.stage}"):
        report = restoring.restore(
            clients,
            target.names,
            source,
            actor=aws.caller() if not dry_run else "",
            options=restoring.Options(
                dry_run=dry_run,
                keep_restored=keep_restored,
                repair_analytics=repair_analytics,
                local=target.local,
                converge_timeout=timeout,
            ),
            confirm=confirm,
            waiter=waiter or Waiter(interval=2.0 if not target.local else 0.2, timeout=3600),
            step=step,
        )
    if as_json:
        term.json(report.as_dict())
        return report
    show_report(term, report, target.stage)
    if report.written or report.dry_run:
        term.status(f"took {human_duration(report.total_seconds)}")
    return report
