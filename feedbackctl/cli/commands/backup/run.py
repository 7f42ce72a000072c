"""The backup flows: list the tables' backups and recovery windows, take on-demand backups."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from feedbackctl.aws import Aws, backups
from feedbackctl.aws.stacks import Waiter
from feedbackctl.cli.console import Terminal


def _tables(aws: Aws) -> tuple[str, str]:
    names = aws.target.names
    return names.feedback_table, names.analytics_table


def _when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ") if moment else "-"


def run_list(aws: Aws, *, as_json: bool) -> None:
    term, ddb = Terminal(), aws.client("dynamodb")
    found: list[backups.BackupInfo] = []
    windows: dict[str, backups.RecoveryWindow] = {}
    with aws.errors(f"listing the backups of stage {aws.target.stage}"):
        for table in _tables(aws):
            found += backups.list_backups(ddb, table)
            windows[table] = backups.recovery_window(ddb, table)
    found.sort(key=lambda b: b.created, reverse=True)
    if as_json:
        term.json({
            "backups": [b.as_dict() for b in found],
            "pointInTimeRecovery": {
                table: {
                    "enabled": w.enabled,
                    "earliest": w.earliest.isoformat() if w.earliest else None,
                    "latest": w.latest.isoformat() if w.latest else None,
                }
                for table, w in windows.items()
            },
        })  # fmt: skip
        return
    for table, window in windows.items():
        if window.enabled:
            term.status(
                f"{table}: point-in-time recovery from {_when(window.earliest)} "
                f"to {_when(window.latest)}"
            )
        else:
            term.warn(f"{table}: point-in-time recovery is off")
    if not found:
        term.status("no backups yet (`feedbackctl backup create` takes one)")
        return
    from rich.table import Table

    from feedbackctl.cli.commands.history.views import print_table

    table = Table("created", "table", "type", "status", "size", "name", "arn", box=None)
    for b in found:
        size = f"{b.size_bytes / 1024:.0f} KiB" if b.size_bytes is not None else "-"
        table.add_row(_when(b.created), b.table, b.kind, b.status, size, b.name, b.arn)
    print_table(term, table)


def run_create(aws: Aws, *, as_json: bool, waiter: Waiter | None = None) -> None:
    term, ddb = Terminal(), aws.client("dynamodb")
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    made: list[dict[str, Any]] = []
    with aws.errors(f"backing up stage {aws.target.stage}"):
        for table in _tables(aws):
            term.status(f"backing up {table} ...")
            info = backups.create_backup(
                ddb, table, f"{table}-{stamp}", waiter or Waiter(interval=2.0, timeout=3600)
            )
            made.append(info.as_dict())
            if not as_json:
                term.success(f"{table}: {info.name} {info.status}  {info.arn}")
    if as_json:
        term.json(made)
    else:
        term.status(
            f"restore with: feedbackctl restore --backup {made[0]['backupArn']} "
            f"--stage {aws.target.stage}"
        )
