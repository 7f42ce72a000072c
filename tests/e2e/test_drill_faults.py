"""Every drill fault kind heals on the local platform, as an on-call engineer runs the drill:
`feedbackctl drill --function create-feedback --fault KIND --stage local --json --yes`.

The error kinds (exception, timeout, import-error, crash, memory) must be caught by a rollback
alarm and healed by the orchestrator's automatic rollback (exit 0, latch cleared); `latency`
raises no rollback alarm, so the drill heals it itself at its `--timeout` (exit 1, documented).
Each test gets its own platform in a region and stack of its own: moto's backends are shared
per process and per region, S3 names are global, and a drill leaves its alarm in ALARM.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from feedbackctl.cli.app import app
from feedbackctl.config import CONFIG_ENV, find_config, load_config
from feedbackctl.naming import StackNames
from tests.e2e.conftest import http

FN = "create-feedback"  # an API function: the drill's own traffic is a POST /feedback
VALID = {"name": "Ada", "email": "ada@example.com", "rating": 5, "message": "Works well"}
ERROR_KINDS = ("exception", "timeout", "import-error", "crash", "memory")
# One region per kind (not the regions test_release_verdicts.py uses), fixed so `-k` keeps them.
REGIONS = {
    "exception": "ap-northeast-1",
    "timeout": "ap-southeast-1",
    "import-error": "ap-southeast-2",
    "crash": "eu-central-1",
    "memory": "us-west-1",
    "latency": "us-west-2",
}
# Bounds the drill when the platform misses a fault (then the drill heals it itself): 3 alarm
# periods + the alarm interval for detection, and as long again for the rollback.
ERROR_TIMEOUT_S = 60
LATENCY_TIMEOUT_S = 5  # the CLI's minimum: the drill heals a latency fault itself at its timeout


def stage_config(tmp_path: Path, region: str) -> Path:
    """The project's feedbackctl.toml with the local stage moved to `region` and a stack of its
    own, so `--stage local` on the command line addresses this test's platform."""
    text = find_config().read_text(encoding="utf-8")
    local = re.search(r"(?ms)^\[stages\.local\]\n.*?(?=^\[)", text)
    assert local, "feedbackctl.toml has no [stages.local] table"
    table = re.sub(r'(?m)^region = ".*"$', f'region = "{region}"', local.group(0), count=1)
    table = re.sub(r'(?m)^stack_name = ".*"$', f'stack_name = "drill-{region}"', table, count=1)
    config = tmp_path / "feedbackctl.toml"
    config.write_text(text[: local.start()] + table + text[local.end() :], encoding="utf-8")
    return config


@pytest.fixture
def platform(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Any]:
    from feedbackctl.local.platform import LocalPlatform, Options

    region = REGIONS[request.node.callspec.params["kind"]]
    monkeypatch.setenv(CONFIG_ENV, str(stage_config(tmp_path, region)))
    stage = load_config().stage("local")
    assert (stage.region, stage.stack_name) == (region, f"drill-{region}")
    options = Options(api_port=0, aws_port=0, work_dir=tmp_path / "platform")
    local = LocalPlatform(stage, options)
    local.start()
    yield local
    local.stop()


def cli(platform: Any, *args: str) -> Any:
    return CliRunner().invoke(
        app,
        [*args, "--stage", "local", "--endpoint-url", platform.endpoint_url],
        catch_exceptions=False,
    )


def live_version(platform: Any) -> str:
    names = StackNames(platform.stage.stack_name)
    alias = platform.client("lambda").get_alias(FunctionName=names.function(FN), Name="live")
    assert not (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights")
    return str(alias["FunctionVersion"])


def history(platform: Any) -> list[dict[str, Any]]:
    result = cli(platform, "history", "--function", FN, "--json")
    assert result.exit_code == 0, result.output
    events: list[dict[str, Any]] = json.loads(result.stdout)
    return events


def drill(platform: Any, kind: str, *extra: str) -> tuple[int, dict[str, Any], str]:
    result = cli(platform, "drill", "--function", FN, "--fault", kind, "--json", "--yes", *extra)
    try:
        report: dict[str, Any] = json.loads(result.stdout)
    except ValueError:
        pytest.fail(f"drill --json printed no report (exit {result.exit_code}): {result.output}")
    return result.exit_code, report, result.stderr


@pytest.mark.parametrize("kind", ERROR_KINDS)
def test_an_error_fault_is_healed_by_the_automatic_rollback(platform: Any, kind: str) -> None:
    names = StackNames(platform.stage.stack_name)
    good = live_version(platform)
    code, report, stderr = drill(platform, kind, "--timeout", str(ERROR_TIMEOUT_S))
    shown = json.dumps(report, indent=2) + stderr
    events = history(platform)
    # The alarm's first notification must be acted on: the alarm counted more failures than
    # its threshold, all of the faulty version, so the same evidence must blame it.
    automatic = [
        (e["outcome"], e["rule"], e["reason"])
        for e in events
        if e["kind"] == "rollback"
        and e["automatic"]
        and e["previousVersion"] == report["faultyVersion"]
    ]
    assert [outcome for outcome, _, _ in automatic] == ["done"], f"{automatic}\n{shown}"
    assert (code, report["outcome"], report["healedBy"]) == (0, "healed", "automatic rollback"), (
        shown
    )
    assert report["fault"] == kind
    assert report["goodVersion"] == good
    assert report["faultyVersion"] not in ("", good)
    # Unhandled failures: only AWS/Lambda Errors sees them, never our logged-errors filter.
    assert report["alarmFired"] == names.lambda_errors_alarm(FN), shown
    assert report["errors"] >= 1
    assert 0 < report["detectSeconds"] <= report["recoverSeconds"]
    assert report["latch"] == "cleared"  # set by the rollback of the drill's own version
    assert live_version(platform) == good
    newest = events[0]
    assert (newest["kind"], newest["outcome"]) == ("drill", "done")
    assert newest["details"]["outcome"] == "healed"
    rollback = next(e for e in events if e["kind"] == "rollback" and e["outcome"] == "done")
    assert rollback["actor"] == f"alarm:{report['alarmFired']}"
    assert (rollback["previousVersion"], rollback["version"]) == (report["faultyVersion"], good)
    release = next(e for e in events if e["kind"] == "release")
    assert release["version"] == report["faultyVersion"]
    assert release["details"]["drill"] is True
    status = json.loads(cli(platform, "status", "--json").stdout)
    function = next(f for f in status["functions"] if f["function"] == FN)
    assert (function["liveVersion"], function["latched"]) == (good, False)
    assert http("POST", f"{platform.api_url}/feedback", VALID).status == 201


@pytest.mark.parametrize("kind", ["latency"])
def test_latency_raises_no_rollback_alarm_and_the_drill_heals_it_itself(
    platform: Any, kind: str
) -> None:
    good = live_version(platform)
    code, report, stderr = drill(platform, kind, "--timeout", str(LATENCY_TIMEOUT_S))
    assert code == 1  # documented: healed by the drill itself is a finding, not a pass
    assert (report["outcome"], report["healedBy"]) == ("healed-by-drill", "the drill itself"), (
        json.dumps(report, indent=2) + stderr
    )
    assert report["fault"] == "latency:3000"
    assert (report["alarmFired"], report["detectSeconds"]) == (None, None)
    assert report["errors"] == 0  # slow but correct
    assert report["recoverSeconds"] >= LATENCY_TIMEOUT_S
    assert (
        f"no automatic rollback within {LATENCY_TIMEOUT_S}s and no alarm fired" in (report["notes"])
    )
    assert "healed by the drill itself" in stderr
    assert report["latch"] == "none"  # the drill's own rollback is manual: no latch
    assert live_version(platform) == good
    events = history(platform)
    assert (events[0]["kind"], events[0]["outcome"]) == ("drill", "done")
    rollback = next(e for e in events if e["kind"] == "rollback")
    assert (rollback["outcome"], rollback["automatic"]) == ("done", False)
    assert rollback["actor"].startswith("drill:")
    assert (rollback["previousVersion"], rollback["version"]) == (report["faultyVersion"], good)
    status = json.loads(cli(platform, "status", "--json").stdout)
    function = next(f for f in status["functions"] if f["function"] == FN)
    assert (function["liveVersion"], function["latched"]) == (good, False)
