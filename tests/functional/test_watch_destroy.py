"""`watch`'s guard loop and `destroy` against moto. The guard acts on the function's
`-lambda-errors` alarm only when the current version's own AWS/Lambda metrics blame it
(tests/functional/test_watch_evidence.py covers the skips)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest

from feedbackctl.aws.stacks import Waiter
from feedbackctl.destroy import destroy
from feedbackctl.engine.incident import Responder, metrics_evidence
from feedbackctl.engine.ledger import DynamoLedger
from feedbackctl.engine.model import LedgerEvent, LedgerState
from feedbackctl.engine.rollback import RollbackRequest, rollback
from feedbackctl.errors import FeedbackctlError
from feedbackctl.naming import StackNames
from feedbackctl.watch import guard
from tests.functional.engine_fixtures import make_world
from tests.functional.test_watch_evidence import lambda_errors_alarm, put_version

FN = "create-feedback"


@pytest.fixture
def world(moto_endpoint):
    w = make_world()
    w.add_function(FN, versions=3)
    state = LedgerState(FN).with_release("2", "1").with_release("3", "2")
    event = LedgerEvent(FN, "release", "done", "2026-11-01T00:00:00.000Z", "d", "deploy", "3", "2")
    assert DynamoLedger(w.ddb, w.ledger_table).claim(0, state, event, "")
    cw = boto3.client("cloudwatch")
    lambda_errors_alarm(cw, w.stack, FN)
    return w, cw


def _guard(w, cw, **kwargs):
    responder = Responder(w.ports(), metrics_evidence(cw, w.stack))
    return guard(cw, responder, StackNames(w.stack), [FN], "watch:alice", **kwargs)


def _fails_now(w, version: str) -> None:
    """Alias traffic of `version` failing 40 % in the alarm's window, nothing on the others."""
    at = datetime.now(UTC) - timedelta(seconds=30)
    put_version(w.stack, FN, version, at, invocations=50, errors=20)


def _fire(w, cw) -> None:
    cw.set_alarm_state(
        AlarmName=StackNames(w.stack).lambda_errors_alarm(FN),
        StateValue="ALARM",
        StateReason="9 errors",
    )


def test_guard_rolls_back_once_per_alarm_transition(world):
    w, cw = world
    sleeps: list[float] = []
    events = _guard(w, cw, interval=7, sleep=sleeps.append)
    assert next(events).kind == "tick"  # OK/INSUFFICIENT_DATA: nothing to do
    _fails_now(w, "3")
    _fire(w, cw)
    alarm, rolled, tick = next(events), next(events), next(events)
    assert (alarm.kind, alarm.function) == ("alarm", FN)
    assert alarm.detail == f"{w.stack}-{FN}-lambda-errors: 9 errors"
    assert rolled.kind == "rollback"
    assert rolled.result is not None
    assert (rolled.result.outcome, rolled.result.to_version) == ("done", "2")
    assert tick.kind == "tick"
    assert next(events).kind == "tick"  # the same transition is not acted on twice
    assert w.alias_version(FN) == "2"
    assert sleeps == [7, 7]  # one sleep between consecutive polls
    latest = DynamoLedger(w.ddb, w.ledger_table).events(FN)[0]
    assert (latest.actor, latest.automatic) == ("watch:alice", True)
    assert latest.details["evidence"]["new"] == {
        "version": "3",
        "invocations": 50,
        "errors": 20,
        "loggedErrors": 0,
        "throttles": 0,
        "errorRate": 0.4,
        "p99Ms": None,
    }


def _after_an_automatic_rollback(w, cw) -> None:
    """An alarm already rolled the function back 3 → 2 (latched); then version 2 fails on
    its own too and the alarm fires again."""
    first = RollbackRequest(
        FN, "alarm:x", "errors", datetime.now(UTC), automatic=True, incident="x@1"
    )
    assert rollback(first, w.ports()).outcome == "done"
    _fails_now(w, "2")
    _fire(w, cw)


def _first_rollback(events):
    return next(e for e in events if e.kind == "rollback").result


def test_watch_force_lifts_the_latch_but_not_the_cooldown(world):
    """`watch --force` used to bypass the cooldown too and roll back again at once."""
    w, cw = world
    _after_an_automatic_rollback(w, cw)
    forced = _guard(w, cw, sleep=lambda _: None, force=True)
    result = _first_rollback(forced)
    assert (result.outcome, result.rule) == ("refused", "cooldown")
    assert result.message.startswith(f"cooldown: {FN} was rolled back by alarm:x at ")
    assert result.message.endswith("more (--ignore-cooldown overrides)")
    assert w.alias_version(FN) == "2"
    both = _guard(w, cw, sleep=lambda _: None, force=True, ignore_cooldown=True)
    result = _first_rollback(both)
    assert (result.outcome, result.to_version) == ("done", "1")
    assert w.alias_version(FN) == "1"
    latest = DynamoLedger(w.ddb, w.ledger_table).events(FN)[0]
    assert latest.details["overrides"] == ["latch-override", "cooldown-override"]


def test_watch_ignore_cooldown_alone_still_waits_for_the_latch(world):
    w, cw = world
    _after_an_automatic_rollback(w, cw)
    events = _guard(w, cw, sleep=lambda _: None, ignore_cooldown=True)
    assert _first_rollback(events).rule == "latch"
    assert w.alias_version(FN) == "2"


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ([], (False, False)),
        (["--force"], (True, False)),
        (["--ignore-cooldown"], (False, True)),
        (["--force", "--ignore-cooldown"], (True, True)),
    ],
)
def test_watch_flags_reach_the_guard_separately(world, tmp_path, monkeypatch, flags, expected):
    from typer.testing import CliRunner

    import feedbackctl.cli.commands.watch.run as flow
    from feedbackctl.cli.app import app

    w, _ = world
    config = tmp_path / "feedbackctl.toml"
    config.write_text(
        '[project]\ndefault_stage = "test"\n'
        f'[stages.test]\nregion = "us-east-1"\nstack_name = "{w.stack}"\n'
    )
    monkeypatch.setenv("FEEDBACKCTL_CONFIG", str(config))
    seen: list[tuple[bool, bool]] = []

    def one_poll(*args, force, ignore_cooldown, **kwargs):
        seen.append((force, ignore_cooldown))
        return iter(())

    monkeypatch.setattr(flow, "guard", one_poll)
    result = CliRunner().invoke(app, ["watch", "-f", FN, *flags], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert seen == [expected]


TEMPLATE = """
Resources:
  CodeBucket:
    Type: AWS::S3::Bucket
    DeletionPolicy: Retain
  LedgerTable:
    Type: AWS::DynamoDB::Table
    DeletionPolicy: Retain
    Properties:
      BillingMode: PAY_PER_REQUEST
      DeletionProtectionEnabled: true
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
Outputs:
  CodeBucketName: {Value: !Ref CodeBucket}
  LedgerTableName: {Value: !Ref LedgerTable}
"""


def _stack(name: str):
    cfn, s3, ddb = boto3.client("cloudformation"), boto3.client("s3"), boto3.client("dynamodb")
    cfn.create_stack(StackName=name, TemplateBody=TEMPLATE)
    outputs = {
        o["OutputKey"]: o["OutputValue"]
        for o in cfn.describe_stacks(StackName=name)["Stacks"][0]["Outputs"]
    }
    s3.put_object(Bucket=outputs["CodeBucketName"], Key="artifacts/x.zip", Body=b"zip")
    return {"cloudformation": cfn, "s3": s3, "dynamodb": ddb}, outputs


def _exists(clients, outputs):
    """Whether the bucket and the table still exist (asked by name: the server holds many)."""
    try:
        clients["s3"].head_bucket(Bucket=outputs["CodeBucketName"])
        bucket = True
    except clients["s3"].exceptions.ClientError:
        bucket = False
    try:
        clients["dynamodb"].describe_table(TableName=outputs["LedgerTableName"])
        table = True
    except clients["dynamodb"].exceptions.ResourceNotFoundException:
        table = False
    return bucket, table


def test_destroy_keeps_the_data_by_default(moto_endpoint):
    name = f"fb-destroy-{datetime.now(UTC).strftime('%H%M%S%f')}"
    clients, outputs = _stack(name)
    report = destroy(
        clients,
        name,
        delete_data=False,
        waiter=Waiter(sleep=lambda _: None),
        progress=lambda _: None,
    )
    assert report["deleted"] is True
    assert sorted(report["retained"]) == sorted(outputs.values())
    assert _exists(clients, outputs) == (True, True)


def test_destroy_with_delete_data_removes_tables_and_buckets(moto_endpoint):
    name = f"fb-destroy-{datetime.now(UTC).strftime('%H%M%S%f')}"
    clients, outputs = _stack(name)
    report = destroy(
        clients,
        name,
        delete_data=True,
        waiter=Waiter(sleep=lambda _: None),
        progress=lambda _: None,
    )
    assert sorted(report["deletedData"]) == sorted(outputs.values())
    assert _exists(clients, outputs) == (False, False)


def test_destroy_of_a_missing_stack_says_so(moto_endpoint):
    clients = {"cloudformation": boto3.client("cloudformation"), "s3": None, "dynamodb": None}
    report = destroy(
        clients, "never-deployed", delete_data=True, waiter=Waiter(), progress=lambda _: None
    )
    assert report == {
        "stack": "never-deployed",
        "deleted": False,
        "reason": "the stack does not exist",
        "retained": [],
    }


def _destroy_stubs(outputs: dict[str, str]):
    """Stubbed clients: the stack (with `outputs`) is described, deleted and gone."""
    from botocore.stub import Stubber

    cfn = boto3.client("cloudformation", region_name="us-east-1")
    s3 = boto3.client("s3", region_name="us-east-1")
    ddb = boto3.client("dynamodb", region_name="us-east-1")
    stubs = {"cloudformation": Stubber(cfn), "s3": Stubber(s3), "dynamodb": Stubber(ddb)}
    stack = {
        "StackName": "fb-gone",
        "StackStatus": "UPDATE_COMPLETE",
        "CreationTime": datetime(2026, 11, 1, tzinfo=UTC),
        "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()],
    }
    stubs["cloudformation"].add_response("describe_stacks", {"Stacks": [stack]})
    stubs["cloudformation"].add_response("delete_stack", {}, {"StackName": "fb-gone"})
    for _ in range(2):  # the wait's first poll finds it gone, then the check after it
        stubs["cloudformation"].add_client_error(
            "describe_stacks", "ValidationError", "Stack with id fb-gone does not exist"
        )
    return {"cloudformation": cfn, "s3": s3, "dynamodb": ddb}, stubs


def _emptied(stub, bucket: str, key: str) -> None:
    stub.add_response(
        "list_object_versions",
        {"Versions": [{"Key": key, "VersionId": "v1"}]},
        {"Bucket": bucket},
    )
    stub.add_response(
        "delete_objects",
        {"Deleted": [{"Key": key, "VersionId": "v1"}]},
        {"Bucket": bucket, "Delete": {"Objects": [{"Key": key, "VersionId": "v1"}], "Quiet": True}},
    )


def test_destroy_waits_for_an_updating_table_and_empties_a_refilled_bucket_again():
    """DeleteTable on an UPDATING table fails (ResourceInUseException); late S3 access-log
    deliveries refill a log bucket between emptying and DeleteBucket (BucketNotEmpty)."""
    clients, stubs = _destroy_stubs(
        {"AccessLogsBucketName": "fb-logs", "LedgerTableName": "fb-gone-ledger"}
    )
    s3, ddb = stubs["s3"], stubs["dynamodb"]
    _emptied(s3, "fb-logs", "access/1")
    s3.add_client_error("delete_bucket", "BucketNotEmpty", expected_params={"Bucket": "fb-logs"})
    _emptied(s3, "fb-logs", "access/2")  # delivered after the first emptying
    s3.add_response("delete_bucket", {}, {"Bucket": "fb-logs"})
    table = {"TableName": "fb-gone-ledger", "DeletionProtectionEnabled": True}
    ddb.add_response("describe_table", {"Table": {**table, "TableStatus": "UPDATING"}})
    ddb.add_response("describe_table", {"Table": {**table, "TableStatus": "ACTIVE"}})
    ddb.add_response(
        "update_table",
        {},
        {"TableName": "fb-gone-ledger", "DeletionProtectionEnabled": False},
    )
    ddb.add_response("describe_table", {"Table": {**table, "TableStatus": "ACTIVE"}})
    ddb.add_response("delete_table", {}, {"TableName": "fb-gone-ledger"})
    sleeps: list[float] = []
    lines: list[str] = []
    with stubs["cloudformation"], s3, ddb:
        report = destroy(
            clients,
            "fb-gone",
            delete_data=True,
            waiter=Waiter(sleep=sleeps.append, clock=lambda: 0.0, interval=5),
            progress=lines.append,
        )
        for stub in stubs.values():
            stub.assert_no_pending_responses()
    assert report["deletedData"] == ["fb-logs", "fb-gone-ledger"]
    assert sleeps == [5, 5]  # the bucket's retry, then the table's poll while UPDATING
    assert lines == [
        "deleting stack fb-gone…",
        "deleted bucket fb-logs (2 object versions)",
        "deleted table fb-gone-ledger",
    ]


def test_destroy_gives_up_on_a_bucket_that_keeps_refilling_with_what_to_do():
    clients, stubs = _destroy_stubs({"AccessLogsBucketName": "fb-logs"})
    for attempt in range(5):
        _emptied(stubs["s3"], "fb-logs", f"access/{attempt}")
        stubs["s3"].add_client_error("delete_bucket", "BucketNotEmpty")
    sleeps: list[float] = []
    with stubs["cloudformation"], stubs["s3"], pytest.raises(FeedbackctlError) as failed:
        destroy(
            clients,
            "fb-gone",
            delete_data=True,
            waiter=Waiter(sleep=sleeps.append, clock=lambda: 0.0, interval=5),
            progress=lambda _: None,
        )
    stubs["s3"].assert_no_pending_responses()
    assert sleeps == [5, 5, 5, 5]  # one wait before each of the four retries
    assert str(failed.value) == (
        "deleting the retained data: bucket fb-logs was refilled 5 times while emptying it "
        "(stop what writes to it (log deliveries settle within the hour), then run "
        "`feedbackctl destroy --delete-data` again)"
    )


def test_destroy_with_delete_data_removes_every_log_group_of_the_stage(moto_endpoint):
    """Whatever the stack delete left (a group API Gateway or Lambda made itself, or one a late
    delivery recreated) goes too; a stack whose name only starts with this one's keeps its own."""
    from feedbackctl.functions import FUNCTION_NAMES

    name = f"fb-logs-{datetime.now(UTC).strftime('%H%M%S%f')}"
    template = TEMPLATE + "  ApiId: {Value: a1b2c3d4e5}\n"
    cfn, logs = boto3.client("cloudformation"), boto3.client("logs")
    cfn.create_stack(StackName=name, TemplateBody=template)
    mine = [f"/aws/lambda/{name}-{seed}" for seed in FUNCTION_NAMES]
    mine += [f"/aws/apigateway/{name}-access", "API-Gateway-Execution-Logs_a1b2c3d4e5/dev"]
    others = [f"/aws/lambda/{name}-other-health", "API-Gateway-Execution-Logs_zzz999/dev"]
    for group in mine + others:
        logs.create_log_group(logGroupName=group)
    clients = {
        "cloudformation": cfn,
        "s3": boto3.client("s3"),
        "dynamodb": boto3.client("dynamodb"),
        "logs": logs,
    }
    lines: list[str] = []
    report = destroy(
        clients, name, delete_data=True, waiter=Waiter(sleep=lambda _: None), progress=lines.append
    )

    assert sorted(set(report["deletedData"]) & set(mine + others)) == sorted(mine)
    left = {
        g["logGroupName"]
        for prefix in (f"/aws/lambda/{name}", "/aws/apigateway/", "API-Gateway-Execution-Logs_")
        for g in logs.describe_log_groups(logGroupNamePrefix=prefix)["logGroups"]
    }
    assert not left & set(mine)
    assert set(others) <= left
    assert lines[-1] == "deleted log group API-Gateway-Execution-Logs_a1b2c3d4e5/dev"
    for group in others:
        logs.delete_log_group(logGroupName=group)


def test_destroy_without_delete_data_leaves_the_log_groups(moto_endpoint):
    name = f"fb-logs-{datetime.now(UTC).strftime('%H%M%S%f')}"
    clients, _ = _stack(name)
    logs = boto3.client("logs")
    logs.create_log_group(logGroupName=f"/aws/lambda/{name}-health")
    report = destroy(
        {**clients, "logs": logs},
        name,
        delete_data=False,
        waiter=Waiter(sleep=lambda _: None),
        progress=lambda _: None,
    )
    assert report["deleted"] is True
    groups = logs.describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{name}-")["logGroups"]
    assert [g["logGroupName"] for g in groups] == [f"/aws/lambda/{name}-health"]


def test_a_destroy_dry_run_only_reads():
    """The plan is made from DescribeStacks and DescribeLogGroups alone: a Stubber with no
    other response fails any other call (a delete, an update)."""
    from botocore.stub import Stubber

    from feedbackctl.destroy import plan_destroy, stage_log_groups

    outputs = {"CodeBucketName": "fb-code", "LedgerTableName": "fb-gone-ledger"}
    cfn = boto3.client("cloudformation", region_name="us-east-1")
    logs = boto3.client("logs", region_name="us-east-1")
    stack = {
        "StackName": "fb-gone",
        "StackStatus": "UPDATE_COMPLETE",
        "CreationTime": datetime(2026, 11, 1, tzinfo=UTC),
        "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()],
    }
    with Stubber(cfn) as cfn_stub, Stubber(logs) as logs_stub:
        cfn_stub.add_response("describe_stacks", {"Stacks": [stack]})
        kept = plan_destroy({"cloudformation": cfn, "logs": logs}, "fb-gone", delete_data=False)
        cfn_stub.add_response("describe_stacks", {"Stacks": [stack]})
        exact, _prefixes = stage_log_groups("fb-gone", None)
        for group in exact:  # the six functions' groups and the access log, asked by name
            found = [{"logGroupName": group}] if group.endswith("-health") else []
            logs_stub.add_response("describe_log_groups", {"logGroups": found})
        gone = plan_destroy({"cloudformation": cfn, "logs": logs}, "fb-gone", delete_data=True)
        cfn_stub.assert_no_pending_responses()
        logs_stub.assert_no_pending_responses()
    assert kept == {
        "stack": "fb-gone",
        "dryRun": True,
        "deleted": True,
        "deletedData": [],
        "retained": ["fb-code", "fb-gone-ledger"],
    }
    assert gone["deletedData"] == ["fb-code", "fb-gone-ledger", "/aws/lambda/fb-gone-health"]
    assert gone["retained"] == []


def test_destroy_dry_run_through_the_cli_changes_nothing(moto_endpoint, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from feedbackctl.cli.app import app

    name = f"fb-dry-{datetime.now(UTC).strftime('%H%M%S%f')}"
    clients, outputs = _stack(name)
    config = tmp_path / "feedbackctl.toml"
    config.write_text(
        '[project]\ndefault_stage = "test"\n'
        f'[stages.test]\nregion = "us-east-1"\nstack_name = "{name}"\n'
    )
    monkeypatch.setenv("FEEDBACKCTL_CONFIG", str(config))
    result = CliRunner().invoke(app, ["destroy", "--dry-run", "--delete-data"])
    assert result.exit_code == 0, result.output
    assert f"would delete stack {name}" in result.output
    assert f"would delete: {outputs['LedgerTableName']}" in result.output
    assert "dry run: nothing was changed" in result.output
    assert clients["cloudformation"].describe_stacks(StackName=name)["Stacks"]
    assert _exists(clients, outputs) == (True, True)


def test_an_incident_another_guard_handled_is_said_not_recorded(world):
    """The orchestrator (here: a first guard) rolled back for this ALARM transition; a second
    guard sees the same transition and says who handled it, writing no "skipped" row."""
    w, cw = world
    _fails_now(w, "3")
    _fire(w, cw)
    first = _guard(w, cw, sleep=lambda _: None)
    assert _first_rollback(first).outcome == "done"
    ledger = DynamoLedger(w.ddb, w.ledger_table)
    before = len(ledger.events(FN, 50))
    second = _guard(w, cw, sleep=lambda _: None)
    events = []
    for event in second:
        events.append(event)
        if event.kind == "tick":
            break
    assert [(e.kind, e.detail.split(": ", 1)[-1]) for e in events] == [
        ("alarm", "9 errors"),
        ("ignored", "already handled by watch:alice"),
        ("tick", ""),
    ]
    assert len(ledger.events(FN, 50)) == before
