"""Release verdicts on the local platform, as a release engineer would meet them: canaries of
versions that fail at import, time out or crash are rolled back during the canary step with
their per-version figures in the ledger; a canary that only shares the stable version's errors
is promoted; hostile input is answered 4xx and never rolls a healthy release back.

Each test gets its own platform in a region of its own (moto's backends are per process and
per region): a rollback leaves a latch and a bad version behind.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from feedbackctl.aws.stacks import Waiter
from feedbackctl.cli.commands.deploy.run import PolicyRequest, resolve_policy
from feedbackctl.deploy import DeployContext, Deployer, plan_function, read_function
from feedbackctl.engine.evidence import MetricsEvidence
from feedbackctl.engine.ledger import DynamoLedger
from feedbackctl.naming import StackNames
from feedbackctl.packaging import PROJECT_ROOT, package_all
from feedbackctl.releasing import FunctionOutcome
from feedbackctl.sandbox import api_event
from tests.e2e.conftest import http

FN = "create-feedback"
VALID = {"name": "Ada", "email": "ada@example.com", "rating": 5, "message": "Works well"}
HANDLER = Path("lambdas/create_feedback/handler.py")

# How each broken version breaks: appended to create-feedback's handler.
IMPORT_ERROR = "\nimport feedbackctl_module_that_does_not_exist  # noqa\n"
CRASH_ON_POST = """
import os as _os
_wrapped = lambda_handler
def lambda_handler(event, context):
    if isinstance(event, dict) and event.get("httpMethod") == "POST":
        _os._exit(1)
    return _wrapped(event, context)
"""
TIMEOUT_ON_POST = """
import time as _time
_wrapped = lambda_handler
def lambda_handler(event, context):
    if isinstance(event, dict) and event.get("httpMethod") == "POST":
        _time.sleep(30)
    return _wrapped(event, context)
"""
LOW_RATINGS_CRASH = """
import json as _json
_wrapped = lambda_handler
def lambda_handler(event, context):
    if isinstance(event, dict) and '"rating": 1' in (event.get("body") or ""):
        raise RuntimeError("a bug every version shares: rating 1 is not handled")
    return _wrapped(event, context)
"""
REGIONS = iter(["eu-west-2", "eu-west-3", "eu-north-1", "ca-central-1", "ap-south-1", "sa-east-1"])


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Any]:
    from feedbackctl.config import load_config
    from feedbackctl.local.platform import LocalPlatform, Options

    options = Options(api_port=0, aws_port=0, work_dir=tmp_path / "platform", alarm_interval_s=1.0)
    region = next(REGIONS)  # S3 names are global in moto too: a stack name of its own as well
    stage = dataclasses.replace(
        load_config().stage("local"), region=region, stack_name=f"verdicts-{region}"
    )
    local = LocalPlatform(stage, options)
    local.start()
    yield local
    local.stop()


def manifest_with(tmp_path: Path, name: str, append: str) -> Any:
    """create-feedback packaged from a copy of the sources with `append` added to its handler."""
    root = tmp_path / name
    shutil.copytree(PROJECT_ROOT / "lambdas", root / "lambdas")
    handler = root / HANDLER
    handler.write_text(handler.read_text(encoding="utf-8") + append, encoding="utf-8")
    return package_all(root, tmp_path / f"{name}-build", only=[FN])


class Traffic:
    """Clients posting feedback through the gateway until stopped; statuses counted."""

    def __init__(
        self, api_url: str, body: dict[str, Any] = VALID, clients: int = 4, *, lazy: bool = False
    ) -> None:
        self.body = body
        self.lazy = lazy  # start on begin() rather than on entering the block
        self.statuses: Counter[int] = Counter()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._post, args=(api_url,), daemon=True)
            for _ in range(clients)
        ]

    def _post(self, api_url: str) -> None:
        while not self._stop.is_set():
            status = http("POST", f"{api_url}/feedback", self.body).status
            with self._lock:
                self.statuses[status] += 1

    def begin(self) -> None:
        for thread in self._threads:
            if not thread.is_alive() and not self._stop.is_set():
                thread.start()

    def begin_on_shift(self, line: str) -> None:
        """A release's progress callback: the clients start once traffic moves to the new
        version, so the platform's rollback alarm judges the canary, not the release's set-up."""
        if "live →" in line:
            self.begin()

    def __enter__(self) -> Traffic:
        if not self.lazy:
            self.begin()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            if thread.ident is not None:  # a lazy block may end before it began
                thread.join(timeout=60)


def release(
    platform: Any,
    manifest: Any,
    request: PolicyRequest,
    progress: Callable[[str], None] = lambda _: None,
) -> FunctionOutcome:
    """Release create-feedback from `manifest` through the deploy's engine, judged as the local
    stage judges (its windows and rules)."""
    bucket = platform.upload(manifest)
    clients = platform.deploy_clients()
    resolved, judging = resolve_policy(platform.stage, request)
    context = DeployContext(
        "release-engineer", "", "", "", lambda _: True, progress, Waiter(interval=0.2),
        judging=judging,
    )  # fmt: skip
    planned = plan_function(
        read_function(clients, FN), manifest.artifacts[FN], allow_rolled_back=False
    )
    return Deployer(clients, context).release(planned, bucket, resolved)


def ledger_figures(platform: Any) -> list[dict[str, Any]]:
    """The per-version figures behind create-feedback's newest rollback: the deploy's verdict
    (a failed release's `details.verdict`) or the orchestrator's (`details.evidence`), whichever
    rolled it back first."""
    names = StackNames(platform.stage.stack_name)
    ledger = DynamoLedger(platform.client("dynamodb"), names.ledger_table)
    found = []
    for event in ledger.events(FN, 10):
        verdict = event.details.get("verdict") or {}
        if verdict.get("decision") == "rollback" and verdict.get("last"):
            found.append(verdict["last"])
        elif event.kind == "rollback" and event.outcome == "done" and "evidence" in event.details:
            found.append(event.details["evidence"])
    return found


CANARY = PolicyRequest("canary", 50)
NO_BAKE = PolicyRequest(bake_s=0)


def live_alias(platform: Any) -> dict[str, Any]:
    names = StackNames(platform.stage.stack_name)
    return platform.client("lambda").get_alias(FunctionName=names.function(FN), Name="live")


@pytest.mark.parametrize(
    ("kind", "append"), [("crash", CRASH_ON_POST), ("timeout", TIMEOUT_ON_POST)]
)
def test_a_canary_that_breaks_as_aws_breaks_is_rolled_back_during_the_canary(
    platform: Any, tmp_path: Path, kind: str, append: str
) -> None:
    if kind == "timeout":  # a short Timeout keeps the test quick; the failure mode is the same
        platform.client("lambda").update_function_configuration(
            FunctionName=StackNames(platform.stage.stack_name).function(FN), Timeout=2
        )
    manifest = manifest_with(tmp_path, kind, append)
    live_before = live_alias(platform)["FunctionVersion"]
    with Traffic(platform.api_url) as traffic:
        outcome = release(platform, manifest, CANARY)
    assert outcome.outcome == "rolled-back", outcome.detail
    assert outcome.to_version == live_before
    assert traffic.statuses[502] > 0  # the canary really failed requests (Lambda errors)
    figures = ledger_figures(platform)
    assert figures, "the ledger holds no per-version figures for the verdict"
    new = figures[0]["new"]
    assert new["version"] == outcome.from_version
    assert new["errors"] >= 3  # AWS/Lambda Errors: our logger never saw these failures
    assert figures[0]["stable"]["version"] == live_before
    alias = live_alias(platform)
    assert alias["FunctionVersion"] == live_before
    assert not (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights")


def test_a_version_that_fails_at_import_never_gets_traffic(platform: Any, tmp_path: Path) -> None:
    manifest = manifest_with(tmp_path, "import-error", IMPORT_ERROR)
    live_before = live_alias(platform)["FunctionVersion"]
    with Traffic(platform.api_url) as traffic:
        outcome = release(platform, manifest, CANARY)
    assert outcome.outcome == "failed"
    assert "failed its health check" in outcome.detail
    assert "Runtime.ImportModuleError" in outcome.detail
    assert "no traffic moved" in outcome.detail
    assert live_alias(platform)["FunctionVersion"] == live_before
    assert set(traffic.statuses) == {201}  # not one request reached the broken version
    names = StackNames(platform.stage.stack_name)
    ledger = DynamoLedger(platform.client("dynamodb"), names.ledger_table)
    failed = ledger.events(FN, 1)[0]
    assert (failed.kind, failed.outcome) == ("release", "failed")
    assert failed.version != live_before  # the broken version, published but never live
    assert "Runtime.ImportModuleError" in failed.reason


def test_a_canary_sharing_the_stable_version_s_errors_is_promoted(
    platform: Any, tmp_path: Path
) -> None:
    first = release(platform, manifest_with(tmp_path, "stable", LOW_RATINGS_CRASH), NO_BAKE)
    assert first.outcome == "released", first.detail
    again = manifest_with(tmp_path, "canary", LOW_RATINGS_CRASH + "\n# the next version\n")
    low_rating = {**VALID, "rating": 1}
    with Traffic(platform.api_url, body=low_rating, lazy=True) as traffic:
        # Posting before the shift would put the stable version alone under the alarm (its own
        # bug, with no version beside it to compare): what this test judges is the canary.
        outcome = release(platform, again, CANARY, traffic.begin_on_shift)
    assert outcome.outcome == "released", outcome.detail
    assert traffic.statuses[502] > 0  # the pre-existing bug failed requests on both versions
    last = outcome.verdict["last"] if outcome.verdict else None
    assert last is not None
    assert last["status"] == "pass"
    assert last["new"]["errorRate"] == last["stable"]["errorRate"] == 1.0


HOSTILE = [
    {**VALID, "name": "x \ud800"},
    {**VALID, "message": "lone \udfff surrogate"},
    {**VALID, "name": "\u200b\u200b"},
    {**VALID, "name": "evil \u202e name"},
    {**VALID, "rating": 9},
]


def test_a_healthy_release_survives_hostile_input_answered_4xx(platform: Any) -> None:
    names = StackNames(platform.stage.stack_name)
    live = live_alias(platform)["FunctionVersion"]
    statuses = []
    for i in range(20):
        raw = json.dumps(HOSTILE[i % len(HOSTILE)], ensure_ascii=True).encode()  # \ud800 escapes
        statuses.append(http("POST", f"{platform.api_url}/feedback", raw).status)
    assert all(400 <= s < 500 for s in statuses), statuses
    # The edge rejects most of these; the handler validates again: send them past the edge too.
    lam = platform.client("lambda", through_endpoint=True)
    for body in HOSTILE:
        event = api_event(
            "POST",
            "/feedback",
            body=json.dumps(body, ensure_ascii=True),
            headers={"Content-Type": "application/json"},
        )
        answer = lam.invoke(FunctionName=f"{names.function(FN)}:live", Payload=json.dumps(event))
        assert "FunctionError" not in answer
        assert json.loads(answer["Payload"].read())["statusCode"] == 400
    platform.invoker.flush()  # every log line and AWS/Lambda datum is in CloudWatch now
    evidence = MetricsEvidence(
        platform.client("cloudwatch"), names.stack, names.function, period=10
    ).collect(FN, [live], datetime.now(UTC) - timedelta(minutes=5), datetime.now(UTC))
    assert evidence[live].invocations >= len(HOSTILE)
    assert (evidence[live].errors, evidence[live].logged_errors) == (0, 0)
    assert live_alias(platform)["FunctionVersion"] == live
    ledger = DynamoLedger(platform.client("dynamodb"), names.ledger_table)
    assert not ledger.state(FN).latched


def test_two_manual_rollbacks_moments_apart_move_the_alias_once(
    platform: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from feedbackctl.cli.app import app

    before = live_alias(platform)["FunctionVersion"]
    newer = manifest_with(tmp_path, "newer", "\n# a harmless change\n")
    assert release(platform, newer, NO_BAKE).outcome == "released"
    released = live_alias(platform)["FunctionVersion"]
    config = tmp_path / "feedbackctl.toml"
    config.write_text(
        '[project]\ndefault_stage = "local"\n[stages.local]\n'
        f'region = "{platform.stage.region}"\nstack_name = "{platform.stage.stack_name}"\n'
        f'endpoint_url = "{platform.endpoint_url}"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("FEEDBACKCTL_CONFIG", str(config))
    args = ["rollback", "--function", FN, "--yes", "--json", "--stage", "local"]
    args += ["--endpoint-url", platform.endpoint_url]
    first = CliRunner().invoke(app, args, catch_exceptions=False)
    second = CliRunner().invoke(app, args, catch_exceptions=False)  # the other operator
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["outcome"] == "done"
    assert second.exit_code == 3, second.output
    refused = json.loads(second.stdout)
    assert (refused["outcome"], refused["rule"]) == ("refused", "recent-rollback")
    assert live_alias(platform)["FunctionVersion"] == before != released
