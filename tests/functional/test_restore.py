"""`feedbackctl restore` and `backup` against a moto server: a backup restored into a new table,
verified, copied back so the stream aggregator's counters follow; deletions on request stay
deleted, items written since go, items lost or altered come back; the live table is backed up
first; a dry run changes nothing; bad sources are refused in one line."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from feedbackctl import analytics_ops
from feedbackctl import restore as restoring
from feedbackctl.aws import backups
from feedbackctl.aws.stacks import Waiter
from feedbackctl.cli.app import app
from feedbackctl.forget import forget
from feedbackctl.naming import StackNames
from feedbackctl.sandbox import InvocationContext, StreamPump, create_tables
from lambdas.create_feedback import handler as create
from lambdas.stream_aggregator import handler as aggregator
from tests.conftest import scan_all
from tests.functional.data_stage import data_stage
from tests.functional.handlers import VALID, invoke, post_event


@pytest.fixture
def stage(ddb, moto_endpoint, tmp_path, monkeypatch):
    for made in data_stage(ddb, moto_endpoint, tmp_path, monkeypatch, "rs"):
        ddb.update_continuous_backups(
            TableName=made.names.feedback_table,
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
        )
        yield made.names, made.pump, made.clients


def submit(email: str, rating: int, message: str) -> str:
    body = {**VALID, "email": email, "rating": rating, "message": message}
    answer = invoke(create, post_event(body))
    assert answer["statusCode"] == 201
    return str(json.loads(answer["body"])["feedbackId"])


def aggregate(pump: StreamPump) -> None:
    records = pump.poll()
    while records:
        aggregator.lambda_handler(
            {"Records": records}, InvocationContext(function_name="stream-aggregator")
        )
        records = pump.poll()


def run(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def active_ids(ddb, names: StackNames) -> set[str]:
    return {
        i["feedbackId"]["S"]
        for i in scan_all(ddb, names.feedback_table)
        if i["status"]["S"] == "active"
    }


def test_a_restore_brings_the_backup_back_and_the_counters_follow(stage, ddb):
    names, pump, clients = stage
    kept = [submit(f"p{n}@example.com", n % 5 + 1, f"message {n}") for n in range(6)]
    submit("ada@example.com", 1, "It crashes")
    aggregate(pump)
    backup = backups.create_backup(
        ddb, names.feedback_table, "before", Waiter(sleep=lambda s: None)
    )

    # Since the backup: two new items, a deletion on request, an item lost to a script that
    # deleted it directly, and one altered by hand.
    since = [submit("new@example.com", 5, "after the backup") for _ in range(2)]
    forget(clients, names, "ada@example.com", actor="test", now=datetime.now(UTC))
    ddb.delete_item(TableName=names.feedback_table, Key={"feedbackId": {"S": kept[0]}})
    ddb.update_item(
        TableName=names.feedback_table,
        Key={"feedbackId": {"S": kept[1]}},
        UpdateExpression="SET message = :m",
        ExpressionAttributeValues={":m": {"S": "overwritten"}},
    )
    aggregate(pump)

    steps: list[str] = []
    report = restoring.restore(
        clients,
        names,
        restoring.Source(backup_arn=backup.arn),
        actor="oncall",
        options=restoring.Options(repair_analytics=True, converge_timeout=30),
        confirm=lambda r: True,
        waiter=Waiter(sleep=lambda s: aggregate(pump), interval=0.01),
        step=lambda name, detail: steps.append(name),
    )

    assert report.plan.as_dict() == {
        "remove": 2, "add": 1, "replace": 1, "unchanged": 4,
        "skippedForgotten": 1, "skippedExpired": 0,
    }  # fmt: skip
    assert sorted(report.plan.remove) == sorted(since)
    assert active_ids(ddb, names) == set(kept)  # the deleted-on-request item stays deleted
    [altered] = [i for i in scan_all(ddb, names.feedback_table) if i["feedbackId"]["S"] == kept[1]]
    assert altered["message"]["S"] == "message 1"
    assert report.restored_items == 7
    assert report.live_items == 7
    assert report.restored_summary["totalFeedback"] == 7
    # The directly deleted item never left the counters (REMOVE is not counted), so putting it
    # back left them one above the table, as before the restore: repaired on request.
    assert report.repaired
    verification = analytics_ops.verify(ddb, names, datetime.now(UTC).date())
    assert verification.differences == []
    assert analytics_ops.read_global(ddb, names.analytics_table)["totalFeedback"] == 6
    assert steps == ["restore", "verify", "compare", "backup", "copy", "aggregate", "repair",
                     "clean"]  # fmt: skip
    # The live table was backed up first; the restored table is gone; the restore is recorded.
    assert {b.name for b in backups.list_backups(ddb, names.feedback_table)} == {
        "before",
        f"{names.feedback_table}-pre-restore-{report.restored_table.rsplit('-', 1)[1]}",
    }
    assert report.restored_table not in ddb.list_tables()["TableNames"]
    records = [
        i
        for i in scan_all(ddb, names.analytics_table)
        if i["aggregateId"]["S"].startswith("restore#")
    ]
    assert [(r["restoredBy"]["S"], r["removed"]["N"], r["added"]["N"]) for r in records] == [
        ("oncall", "2", "1")
    ]


def test_without_a_difference_to_repair_the_counters_follow_by_themselves(stage, ddb):
    names, pump, clients = stage
    for n in range(4):
        submit(f"p{n}@example.com", 4, f"message {n}")
    aggregate(pump)
    backup = backups.create_backup(ddb, names.feedback_table, "bkp", Waiter(sleep=lambda s: None))
    submit("late@example.com", 1, "written after")
    aggregate(pump)
    report = restoring.restore(
        clients, names, restoring.Source(backup_arn=backup.arn), actor="oncall",
        options=restoring.Options(converge_timeout=30), confirm=lambda r: True,
        waiter=Waiter(sleep=lambda s: aggregate(pump), interval=0.01),
    )  # fmt: skip
    assert not report.repaired
    assert report.analytics_differences == []
    assert analytics_ops.read_global(ddb, names.analytics_table)["totalFeedback"] == 4


def test_a_dry_run_restores_verifies_and_changes_nothing(stage, ddb):
    names, pump, _ = stage
    submit("a@example.com", 5, "kept")
    aggregate(pump)
    arn = backups.create_backup(ddb, names.feedback_table, "bkp", Waiter(sleep=lambda s: None)).arn
    submit("b@example.com", 2, "after")
    before = scan_all(ddb, names.feedback_table)
    result = run("restore", "--backup", arn, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "restored: 1 item, average rating 5.0" in result.output
    assert "plan: delete 1, put back 0, replace 0, unchanged 1" in result.output
    assert "dry run: nothing on stage test changed" in result.output
    assert scan_all(ddb, names.feedback_table) == before
    assert [t for t in ddb.list_tables()["TableNames"] if "-restore-" in t] == []
    body = json.loads(run("restore", "--backup", arn, "--dry-run", "--json").stdout)
    assert (body["dryRun"], body["plan"]["remove"], body["safetyBackup"]) == (True, 1, None)


def test_the_confirmation_names_what_will_be_replaced_and_no_stops_it(stage, ddb):
    names, _pump, _ = stage
    submit("a@example.com", 5, "kept")
    arn = backups.create_backup(ddb, names.feedback_table, "bkp", Waiter(sleep=lambda s: None)).arn
    submit("b@example.com", 2, "after")
    before = scan_all(ddb, names.feedback_table)
    import feedbackctl.cli.options as cli_options

    asked: list[str] = []

    def refuse(question: str, *, yes: bool, production: bool) -> None:
        import typer

        asked.append(question)
        raise typer.Abort()

    mp = pytest.MonkeyPatch()
    mp.setattr(cli_options, "confirm", refuse)
    mp.setattr(cli_options, "require_answerable", lambda yes: None)
    try:
        result = CliRunner().invoke(app, ["restore", "--backup", arn])
    finally:
        mp.undo()
    assert result.exit_code == 1
    assert asked == [
        f"Replace the feedback of stage test ({names.feedback_table}, 2 items) with backup "
        f"{arn} (1 item): delete 1 item written since, put back 0 items, replace 0 items; the "
        "current table is backed up first. Continue?"
    ]
    assert scan_all(ddb, names.feedback_table) == before
    assert [b.name for b in backups.list_backups(ddb, names.feedback_table)] == ["bkp"]


@pytest.mark.parametrize(
    ("args", "code", "shown"),
    [
        ((), 2, "give exactly one of --to-time TIME and --backup ARN"),
        (("--to-time", "2h", "--backup", "x"), 2, "give exactly one of"),
        (("--to-time", "whenever"), 2, "--to-time 'whenever' is not a time I can read"),
        (("--backup", "arn:aws:dynamodb:us-east-1:123456789012:table/x/backup/01"), 3, "no backup"),
        (("--backup", "arn:aws:backup:us-east-1:123456789012:recovery-point:AB12"), 3,
         "is an AWS Backup recovery point, not a DynamoDB backup"),
        (("--to-time", "2h"), 3, "the local platform keeps no point-in-time history"),
    ],
)  # fmt: skip
def test_bad_sources_are_refused_in_one_line(stage, args, code, shown):
    result = run("restore", *args, "--yes")
    assert result.exit_code == code, result.output
    assert shown in result.output
    assert "Traceback" not in result.output


def test_a_backup_of_another_table_is_refused(stage, ddb):
    names, _, _ = stage
    other = StackNames(f"rs-{uuid.uuid4().hex[:8]}")
    create_tables(ddb, other.feedback_table, other.analytics_table)
    arn = backups.create_backup(ddb, other.feedback_table, "xyz", Waiter(sleep=lambda s: None)).arn
    result = run("restore", "--backup", arn, "--yes")
    assert result.exit_code == 3
    assert f"is of table {other.feedback_table}, not {names.feedback_table}" in result.output


def test_the_latest_restorable_time_restores_the_table_as_it_is(stage, ddb):
    _names, pump, _ = stage
    submit("a@example.com", 5, "kept")
    aggregate(pump)
    result = run("restore", "--to-time", "latest", "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["source"] == "the latest restorable time"
    assert body["plan"]["unchanged"] == 1
    assert body["plan"]["remove"] == 0


def test_backup_create_and_list(stage, ddb):
    names, _, _ = stage
    empty = run("backup", "list")
    assert "no backups yet" in empty.output
    assert f"{names.feedback_table}: point-in-time recovery from" in empty.output
    made = run("backup", "create", "--json")
    assert made.exit_code == 0, made.output
    tables = sorted(b["tableName"] for b in json.loads(made.stdout))
    assert tables == sorted([names.feedback_table, names.analytics_table])
    assert {b["status"] for b in json.loads(made.stdout)} == {"AVAILABLE"}
    listed = json.loads(run("backup", "list", "--json").stdout)
    assert sorted(b["tableName"] for b in listed["backups"]) == tables
    assert listed["pointInTimeRecovery"][names.feedback_table]["enabled"] is True
    assert listed["pointInTimeRecovery"][names.analytics_table]["enabled"] is False
    text = run("backup", "list")
    assert text.output.count("USER") == 2
