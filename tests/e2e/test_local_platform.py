"""The local platform end to end: gateway → functions → DynamoDB → stream poller → analytics,
canary weights, a real health-checked rollback, the drill, and a clean shutdown."""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any

import boto3
from typer.testing import CliRunner

from feedbackctl.cli.app import app
from feedbackctl.sandbox import publish_distinct_version
from tests.e2e.conftest import http

VALID = {"name": "Ada", "email": "ada@example.com", "rating": 5, "message": "Excellent, I love it"}


def eventually(check, timeout: float = 30.0, every: float = 0.2) -> Any:
    """Wait for asynchronous work (the stream poller, the alarm engine) to show its result."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(every)


def cli(platform, *args: str):
    return CliRunner().invoke(
        app,
        [*args, "--stage", "local", "--endpoint-url", platform.endpoint_url],
        catch_exceptions=False,
    )


def lambda_client(platform):
    return boto3.client(
        "lambda",
        endpoint_url=platform.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def test_submit_then_read_back_and_see_analytics(local_platform):
    api = local_platform.api_url
    before = http("GET", f"{api}/analytics").body["totalFeedback"]
    created = http("POST", f"{api}/feedback", VALID)
    assert created.status == 201
    assert created.body["sentiment"] == "positive"
    listed = http("GET", f"{api}/feedback?limit=5")
    assert listed.status == 200
    assert listed.body["items"][0]["feedbackId"] == created.body["feedbackId"]
    assert "email" not in json.dumps(listed.body)
    total = eventually(
        lambda: http("GET", f"{api}/analytics").body["totalFeedback"] > before and True
    )
    assert total, "the stream poller never updated the analytics"


def test_text_beyond_ascii_arrives_stored_and_read_back_unchanged(local_platform):
    """Through the gateway's event, the worker's protocol, the function's DynamoDB calls on
    its channel and the list's answer: accents, a character beyond the Basic Multilingual
    Plane, a line separator, quotes and a backslash come back as sent."""
    api = local_platform.api_url
    message = 'Très bien — naïve café ☃ \U0001f600 \u2028 "quoted" \\ end'
    created = http("POST", f"{api}/feedback", {**VALID, "name": "Zoë Ünal", "message": message})
    assert created.status == 201
    listed = http("GET", f"{api}/feedback?limit=20").body["items"]
    mine = next(i for i in listed if i["feedbackId"] == created.body["feedbackId"])
    assert (mine["name"], mine["message"]) == ("Zoë Ünal", message)


def test_invalid_bodies_are_rejected_by_the_gateway_and_by_the_handler(local_platform):
    api = local_platform.api_url
    at_edge = http("POST", f"{api}/feedback", {**VALID, "rating": 9})
    assert at_edge.status == 400
    # The stack's BAD_REQUEST_BODY gateway response keeps the API's error shape.
    assert at_edge.body["error"] == "validation_error"
    assert "rating: 9 is greater than the maximum of 5" in at_edge.body["details"][0]["problem"]
    in_handler = http("POST", f"{api}/feedback", VALID, headers={"Idempotency-Key": "bad key"})
    assert in_handler.status == 400
    assert in_handler.body["details"][0]["field"] == "Idempotency-Key"


def test_health_reports_the_released_version(local_platform):
    health = http("GET", f"{local_platform.api_url}/health")
    assert health.status == 200
    assert health.body["status"] == "ok"
    assert health.body["version"] == "2"  # 1 is the bootstrap; the release engine published 2


def test_canary_weights_split_executed_versions(local_platform):
    client = lambda_client(local_platform)
    name = "feedback-local-get-analytics"
    new = publish_distinct_version(client, name, "canary")
    primary = client.get_alias(FunctionName=name, Name="live")["FunctionVersion"]
    client.update_alias(
        FunctionName=name,
        Name="live",
        FunctionVersion=primary,
        RoutingConfig={"AdditionalVersionWeights": {new: 0.3}},
    )
    try:
        seen = Counter(
            client.invoke(FunctionName=f"{name}:live", Payload=b'{"feedbackctl": "health-check"}')[
                "ExecutedVersion"
            ]
            for _ in range(100)
        )
    finally:
        client.update_alias(
            FunctionName=name,
            Name="live",
            FunctionVersion=primary,
            RoutingConfig={"AdditionalVersionWeights": {}},
        )
    assert set(seen) == {primary, new}
    assert 10 <= seen[new] <= 50  # 30 % of 100


def test_rollback_with_a_real_health_check(local_platform):
    client = lambda_client(local_platform)
    name = "feedback-local-list-feedback"
    # A new release (same code, new version) recorded like deploy does, then rolled back.
    from feedbackctl.engine.ledger import DynamoLedger
    from feedbackctl.engine.model import LedgerEvent

    live = client.get_alias(FunctionName=name, Name="live")["FunctionVersion"]
    new = publish_distinct_version(client, name, "e2e-release")
    ledger = DynamoLedger(local_platform.client("dynamodb"), "feedback-local-ledger")
    state = ledger.state("list-feedback")
    event = LedgerEvent(
        "list-feedback", "release", "done", "2026-11-25T00:00:00.000Z", "e2e", "test", new, live
    )
    ledger.commit_release(state.revision, state.with_release(new, live), event)
    client.update_alias(FunctionName=name, Name="live", FunctionVersion=new)
    result = cli(local_platform, "rollback", "--function", "list-feedback", "--yes")
    assert result.exit_code == 0, result.output
    assert f"list-feedback rolled back from {new} to {live}" in result.output
    assert client.get_alias(FunctionName=name, Name="live")["FunctionVersion"] == live
    # A second relative rollback minutes after the first is held back (it would undo one more
    # release): refused, the alias stays.
    again = cli(local_platform, "rollback", "--function", "list-feedback", "--yes")
    assert again.exit_code == 3
    assert (
        "error: rollback refused (recent-rollback): list-feedback was rolled back" in again.output
    )
    # Forced, it lands on the bootstrap version, whose real health check fails: refused.
    forced = cli(local_platform, "rollback", "--function", "list-feedback", "--yes", "--force")
    assert forced.exit_code == 3
    assert "failed its health check (bootstrap)" in forced.output
    assert client.get_alias(FunctionName=name, Name="live")["FunctionVersion"] == live


def test_drill_heals_through_alarm_and_orchestrator(local_platform):
    result = cli(
        local_platform,
        "drill",
        "--function",
        "create-feedback",
        "--fault",
        "exception",  # escapes the handler: only AWS/Lambda Errors sees it, not our logger
        "--yes",
        "--json",
        "--timeout",
        "90",
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["outcome"] == "healed"
    assert report["healedBy"] == "automatic rollback"
    assert report["detectSeconds"] is not None
    assert report["recoverSeconds"] <= 60
    assert report["latch"] == "cleared"  # set by the rollback of the drill's own version
    client = lambda_client(local_platform)
    name = "feedback-local-create-feedback"
    faulty = client.get_function_configuration(FunctionName=name, Qualifier=report["faultyVersion"])
    good = client.get_function_configuration(FunctionName=name, Qualifier=report["goodVersion"])
    assert faulty["CodeSha256"] == good["CodeSha256"]
    history = json.loads(
        cli(local_platform, "history", "--function", "create-feedback", "--json").stdout
    )
    kinds = [(e["kind"], e["outcome"], e["actor"].split(":")[0]) for e in history[:3]]
    assert ("rollback", "done", "alarm") in kinds
    assert kinds[0][0] == "drill"
    health = http("POST", f"{local_platform.api_url}/feedback", VALID)
    assert health.status == 201  # the good version serves again


def test_status_against_the_local_platform(local_platform):
    result = cli(local_platform, "status", "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["stackStatus"] == "LOCAL_PLATFORM"
    assert {f["function"] for f in body["functions"]} >= {"create-feedback", "health"}
    assert all(f["liveVersion"] for f in body["functions"])


def test_deploy_against_the_local_platform_releases_only_what_changed(local_platform):
    client = lambda_client(local_platform)
    name = "feedback-local-get-analytics"
    before = client.get_alias(FunctionName=name, Name="live")["FunctionVersion"]
    config = client.get_function_configuration(FunctionName=name)
    variables = {**config["Environment"]["Variables"], "LOG_LEVEL": "WARNING"}
    client.update_function_configuration(FunctionName=name, Environment={"Variables": variables})
    # Only the functions this test looks at: an earlier test's rollback left list-feedback's
    # $LATEST identical to a rolled-back version, which the deploy rightly holds (exit 3).
    result = cli(
        local_platform,
        *("deploy", "--yes", "--json", "--bake-seconds", "0"),
        *("--function", "get-analytics", "--function", "health"),
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["plan"]["stack"] == "none"  # `local up` owns the infrastructure here
    assert body["plan"]["uploads"] == []  # the artifacts are already in the code bucket
    releases = {r["function"]: r for r in body["plan"]["releases"]}
    assert (releases["get-analytics"]["action"], releases["get-analytics"]["reason"]) == (
        "release",
        "configuration changed",
    )
    assert releases["get-analytics"]["codeUpdate"] is False
    assert releases["health"]["action"] == "unchanged"
    outcome = next(o for o in body["outcomes"] if o["function"] == "get-analytics")
    assert (outcome["outcome"], outcome["from"]) == ("released", before)
    assert client.get_alias(FunctionName=name, Name="live")["FunctionVersion"] == outcome["to"]
