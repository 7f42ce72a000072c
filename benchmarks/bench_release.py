"""Release-engine figures against a moto server: AWS calls (total and mutating) for a no-op
deploy, a one-function deploy and a rollback, and the wall time of a rollback.

moto cannot run handlers, so the rollback's health check is answered in-process here; the
local platform measures it with real invocations. Run: .venv/bin/python benchmarks/bench_release.py
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FN = "create-feedback"
READ = ("Describe", "Get", "List", "Head")
TEMPLATE = (
    "Resources:\n  CodeBucket:\n    Type: AWS::S3::Bucket\n"
    "Outputs:\n  CodeBucketName:\n    Value: !Ref CodeBucket\n"
)


def _server() -> Any:
    from feedbackctl.sandbox import point_boto3_at, start_moto_server

    server, endpoint = start_moto_server()
    point_boto3_at(endpoint)
    return server


class Calls:
    def __init__(self, *clients: Any) -> None:
        self.names: list[str] = []
        for client in clients:
            client.meta.events.register(
                "before-call", lambda model, **_: self.names.append(model.name)
            )

    def take(self) -> dict[str, Any]:
        names, self.names = self.names, []
        mutating = [n for n in names if not n.startswith(READ)]
        return {
            "total": len(names),
            "mutating": len(mutating),
            "by_operation": dict(Counter(names)),
        }


def _setup(stack: str) -> dict[str, Any]:
    import boto3

    from feedbackctl.deploy import DeployClients
    from feedbackctl.engine.aws_ports import LambdaOps, SnsNotifier
    from feedbackctl.engine.ledger import DynamoLedger
    from feedbackctl.engine.model import HealthResult, LedgerEvent, LedgerState
    from feedbackctl.engine.rollback import Ports
    from feedbackctl.naming import StackNames
    from feedbackctl.sandbox import create_ledger_table

    class Healthy(LambdaOps):
        def invoke_health(self, function: str, version: str) -> HealthResult:
            return HealthResult(True, "answered in-process")

    names = StackNames(stack)
    lam, ddb, sns, s3, cfn, cw, iam = (
        boto3.client(s)
        for s in ("lambda", "dynamodb", "sns", "s3", "cloudformation", "cloudwatch", "iam")
    )
    role = iam.create_role(
        RoleName=f"{stack}-role",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )["Role"]["Arn"]
    import io
    import zipfile

    def code(marker: str) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("index.py", f"M = {marker!r}\n")
        return buffer.getvalue()

    lam.create_function(
        FunctionName=names.function(FN),
        Runtime="python3.12",
        Role=role,
        Handler="index.lambda_handler",
        Code={"ZipFile": code("0")},
    )
    for i in range(1, 3):
        lam.update_function_code(FunctionName=names.function(FN), ZipFile=code(str(i)))
        lam.publish_version(FunctionName=names.function(FN))
    lam.create_alias(FunctionName=names.function(FN), Name="live", FunctionVersion="2")
    create_ledger_table(ddb, names.ledger_table)
    ledger = DynamoLedger(ddb, names.ledger_table)
    ledger.claim(
        0,
        LedgerState(FN).with_release("2", "1"),
        LedgerEvent(FN, "release", "done", "2026-11-01T00:00:00.000Z", "b", "r", "2", "1"),
        "",
    )
    topic = sns.create_topic(Name=names.notifications_topic)["TopicArn"]
    cfn.create_stack(StackName=stack, TemplateBody=TEMPLATE)
    ports = Ports(Healthy(lam, stack), ledger, SnsNotifier(sns, topic))
    clients = DeployClients(
        cfn=cfn, s3=s3, lambda_=lam, cloudwatch=cw, ledger=ledger, names=names, engine=ports
    )
    return {"clients": clients, "ports": ports, "all": (lam, ddb, sns, s3, cfn, cw)}


def bench_deploys() -> dict[str, Any]:
    from feedbackctl.aws.stacks import Waiter
    from feedbackctl.deploy import DeployContext, Deployer, plan_deploy, read_facts
    from feedbackctl.engine.release import ReleasePolicy
    from feedbackctl.packaging import PROJECT_ROOT, package_all

    world = _setup(f"bench-{uuid.uuid4().hex[:6]}")
    clients = world["clients"]
    calls = Calls(*world["all"])
    build = Path(tempfile.mkdtemp())
    manifest = package_all(PROJECT_ROOT, build, only=[FN])
    bucket = clients.cfn.describe_stacks(StackName=clients.names.stack)["Stacks"][0]["Outputs"][0][
        "OutputValue"
    ]
    context = DeployContext(
        "bench", "", TEMPLATE, "", lambda q: True, lambda _: None, Waiter(sleep=lambda _: None)
    )
    deployer = Deployer(clients, context)
    calls.take()
    policy = ReleasePolicy(bake_s=0)
    plan = plan_deploy(read_facts(clients, TEMPLATE, manifest, [FN]), manifest, [FN], policy)
    deployer.run(plan)
    one_function = calls.take()
    plan = plan_deploy(read_facts(clients, TEMPLATE, manifest, [FN]), manifest, [FN], policy)
    deployer.run(plan)
    no_op = calls.take()
    assert bucket
    return {"one_function_deploy": one_function, "no_op_deploy": no_op}


def bench_rollback(runs: int = 5) -> dict[str, Any]:
    from feedbackctl.engine.rollback import RollbackRequest, execute, gather, plan_rollback

    times, counted = [], None
    for _ in range(runs):
        world = _setup(f"bench-{uuid.uuid4().hex[:6]}")
        calls = Calls(*world["all"])
        started = time.perf_counter()
        plan = plan_rollback(
            gather(FN, world["ports"]), RollbackRequest(FN, "bench", "bench", datetime.now(UTC))
        )
        result = execute(plan, world["ports"])
        times.append(time.perf_counter() - started)
        assert result.outcome == "done", result.message
        counted = counted or calls.take()
    return {
        "calls": counted,
        "wall_ms_median": round(statistics.median(times) * 1000, 1),
        "wall_ms_max": round(max(times) * 1000, 1),
    }


def run() -> dict[str, Any]:
    server = _server()
    try:
        return {**bench_deploys(), "rollback": bench_rollback()}
    finally:
        server.stop()


def report(results: dict[str, Any]) -> list[str]:
    for name in ("no_op_deploy", "one_function_deploy"):
        r = results[name]
        print(f"{name}: {r['total']} AWS calls, {r['mutating']} mutating: {r['by_operation']}")
    rb = results["rollback"]
    calls = rb["calls"]
    print(
        f"rollback: {calls['total']} AWS calls, {calls['mutating']} mutating: "
        f"{calls['by_operation']}"
    )
    print(
        f"rollback wall time against moto: median {rb['wall_ms_median']} ms, "
        f"max {rb['wall_ms_max']} ms (health check in-process)"
    )
    missed = []
    if results["no_op_deploy"]["mutating"]:
        missed.append("a no-op deploy made a mutating call")
    if rb["wall_ms_median"] > 3000:
        missed.append("rollback slower than 3 s")
    return missed


if __name__ == "__main__":
    missed = report(run())
    print("release: PASS" if not missed else "release: FAIL: " + "; ".join(missed))
    sys.exit(1 if missed else 0)
