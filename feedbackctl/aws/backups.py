"""DynamoDB backup verbs: take an on-demand backup and wait until it is AVAILABLE, list a table's
backups (on-demand, system and AWS Backup ones), read its point-in-time window, and restore a
backup or a point in time into a new table.

Over an injected `dynamodb` client. DynamoDB restores always create a new table; the source is
never touched (docs/backup.md cites AWS's documentation for each behaviour relied on here).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from feedbackctl.aws import error_code
from feedbackctl.aws.stacks import Waiter, poll
from feedbackctl.errors import FeedbackctlError


@dataclass(frozen=True)
class BackupInfo:
    """One backup of a table as ListBackups/DescribeBackup tell it."""

    arn: str
    name: str
    table: str
    created: datetime
    status: str  # CREATING | AVAILABLE | DELETED
    kind: str  # USER | SYSTEM | AWS_BACKUP
    size_bytes: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "backupArn": self.arn,
            "backupName": self.name,
            "tableName": self.table,
            "created": self.created.isoformat(),
            "status": self.status,
            "type": self.kind,
            "sizeBytes": self.size_bytes,
        }


@dataclass(frozen=True)
class RecoveryWindow:
    """A table's point-in-time recovery: on or off, and the times it can restore to."""

    enabled: bool
    earliest: datetime | None = None
    latest: datetime | None = None


def _summary(row: dict[str, Any]) -> BackupInfo:
    return BackupInfo(
        arn=str(row["BackupArn"]),
        name=str(row.get("BackupName", "")),
        table=str(row.get("TableName", "")),
        created=row["BackupCreationDateTime"],
        status=str(row.get("BackupStatus", "")),
        kind=str(row.get("BackupType", "")),
        size_bytes=int(row["BackupSizeBytes"]) if "BackupSizeBytes" in row else None,
    )


def list_backups(client: Any, table: str) -> list[BackupInfo]:
    """Every backup of `table` (BackupType ALL: on-demand, system and AWS Backup), newest first."""
    found: list[BackupInfo] = []
    request: dict[str, Any] = {"TableName": table, "BackupType": "ALL"}
    while True:
        page = client.list_backups(**request)
        found += [_summary(row) for row in page.get("BackupSummaries", [])]
        if not page.get("LastEvaluatedBackupArn"):
            break
        request["ExclusiveStartBackupArn"] = page["LastEvaluatedBackupArn"]
    return sorted(found, key=lambda b: b.created, reverse=True)


def describe_backup(client: Any, arn: str) -> BackupInfo | None:
    """The backup, or None when there is no such backup."""
    try:
        description = client.describe_backup(BackupArn=arn)["BackupDescription"]
    except Exception as exc:
        if error_code(exc) in {"BackupNotFoundException", "ValidationException"}:
            return None
        raise
    details, source = description["BackupDetails"], description.get("SourceTableDetails", {})
    return _summary({**details, "TableName": source.get("TableName", "")})


def create_backup(client: Any, table: str, name: str, waiter: Waiter) -> BackupInfo:
    """An on-demand backup of `table`, once AVAILABLE (a restore needs it so)."""
    details = client.create_backup(TableName=table, BackupName=name)["BackupDetails"]
    arn = str(details["BackupArn"])
    info = poll(
        lambda: describe_backup(client, arn),
        lambda b: b is not None and b.status == "AVAILABLE",
        waiter,
        f"backup {name} to become AVAILABLE",
    )
    return info  # type: ignore[no-any-return]


def recovery_window(client: Any, table: str) -> RecoveryWindow:
    """DescribeContinuousBackups: whether PITR is on, and its earliest and latest restore times."""
    description = client.describe_continuous_backups(TableName=table)[
        "ContinuousBackupsDescription"
    ]
    pitr = description.get("PointInTimeRecoveryDescription", {})
    return RecoveryWindow(
        enabled=pitr.get("PointInTimeRecoveryStatus") == "ENABLED",
        earliest=pitr.get("EarliestRestorableDateTime"),
        latest=pitr.get("LatestRestorableDateTime"),
    )


def restore_backup(client: Any, backup_arn: str, target: str) -> None:
    """RestoreTableFromBackup into the new table `target` (CREATING when this returns)."""
    _restoring(lambda: client.restore_table_from_backup(
        TargetTableName=target, BackupArn=backup_arn
    ), target)  # fmt: skip


def restore_time(client: Any, source: str, target: str, when: datetime | None) -> None:
    """RestoreTableToPointInTime of `source` into the new table `target`, at `when` (None: the
    latest restorable time)."""
    request: dict[str, Any] = {"SourceTableName": source, "TargetTableName": target}
    if when is None:
        request["UseLatestRestorableTime"] = True
    else:
        request["RestoreDateTime"] = when
    _restoring(lambda: client.restore_table_to_point_in_time(**request), target)


def _restoring(call: Any, target: str) -> None:
    try:
        call()
    except Exception as exc:
        if error_code(exc) in {"TableAlreadyExistsException", "ResourceInUseException"}:
            raise FeedbackctlError(
                f"table {target} already exists",
                doing="restoring into a new table",
                hint="an earlier restore left it (`--keep-restored`); delete it, then retry",
            ) from None
        raise
