"""Drill figures on one local platform: per fault kind, how long the platform takes to detect
(a rollback alarm in ALARM) and to recover (live back on the good version), each also as a share
of the stage's alarm period; and a 10 % canary of a version failing every request: seconds from
the first shift to the verdict, as a share of the step window. The baseline is the running
platform's own alarm period and alarm-engine interval, printed beside the figures.
Goals: every fault kind heals (the error kinds by the automatic rollback, latency by the drill);
error kinds detected within 3 alarm periods + the alarm interval; the canary decided within one
step window.

Run: .venv/bin/python benchmarks/bench_drill.py   (uses free ports; nothing else needs to run)
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

COMMAND = ".venv/bin/python benchmarks/bench_drill.py"
FN = "create-feedback"
REGION, STACK = "us-east-2", "bench-drill"  # a region and stack of its own (see _stage_config)
ERROR_KINDS = ("exception", "timeout", "import-error", "crash", "memory")
KINDS = (*ERROR_KINDS, "latency")
LATENCY_TIMEOUT_S = 5  # latency raises no rollback alarm: the drill heals it at its timeout
DETECT_PERIODS = 3  # goal: detection within 3 alarm periods + the alarm engine's interval
QUIET_TIMEOUT_S = 120.0  # the longest wait for the rollback alarms to leave ALARM between drills
CANARY_PERCENT = 10
BODY = {"name": "Bench", "email": "bench@example.com", "rating": 4, "message": "Solid and fast"}
# Appended to create-feedback's handler: every request fails (unhandled), the health check passes.
FAIL_EVERY_REQUEST = """
_wrapped = lambda_handler
def lambda_handler(event, context):
    if isinstance(event, dict) and event.get("feedbackctl") == "health-check":
        return _wrapped(event, context)
    raise RuntimeError("broken release: every request fails")
"""


def _cli(platform: Any, *args: str) -> tuple[int, str, str]:
    from typer.testing import CliRunner

    from feedbackctl.cli.app import app

    result = CliRunner().invoke(
        app, [*args, "--stage", "local", "--endpoint-url", platform.endpoint_url]
    )
    return result.exit_code, result.stdout, result.stderr


def _wait_quiet(platform: Any) -> float:
    """Wait (bounded) until no rollback alarm of the function is in ALARM: a drill is refused
    while one fires. Returns the seconds waited."""
    from feedbackctl.naming import StackNames

    names = StackNames(platform.stage.stack_name).rollback_alarms(FN)
    cloudwatch = platform.client("cloudwatch")
    started = time.monotonic()
    while time.monotonic() - started < QUIET_TIMEOUT_S:
        alarms = cloudwatch.describe_alarms(AlarmNames=names)["MetricAlarms"]
        if all(a["StateValue"] != "ALARM" for a in alarms):
            return time.monotonic() - started
        time.sleep(0.5)
    raise RuntimeError(f"{', '.join(names)} still in ALARM after {QUIET_TIMEOUT_S:g} s")


def _live(platform: Any) -> str:
    from feedbackctl.naming import StackNames

    name = StackNames(platform.stage.stack_name).function(FN)
    alias = platform.client("lambda").get_alias(FunctionName=name, Name="live")
    routed = (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
    return str(alias["FunctionVersion"]) + "".join(f"+{v}" for v in routed)


def _drill(platform: Any, kind: str) -> dict[str, Any]:
    waited = _wait_quiet(platform)
    extra = ("--timeout", str(LATENCY_TIMEOUT_S)) if kind == "latency" else ()
    code, stdout, stderr = _cli(
        platform, "drill", "--function", FN, "--fault", kind, "--json", "--yes", *extra
    )
    try:
        report: dict[str, Any] = json.loads(stdout)
    except ValueError:
        raise RuntimeError(
            f"drill --fault {kind} printed no report (exit {code}): {stderr}"
        ) from None
    _, history, _ = _cli(platform, "history", "--function", FN, "--json")
    # Alarm notifications the orchestrator judged and did not act on (the ledger's "skipped").
    skipped = [
        e
        for e in json.loads(history)
        if e["kind"] == "rollback"
        and e["automatic"]
        and e["outcome"] != "done"
        and e["previousVersion"] == report["faultyVersion"]
    ]
    return {
        "kind": kind,
        "exit": code,
        "outcome": report["outcome"],
        "healedBy": report["healedBy"],
        "alarm": report["alarmFired"],
        "detect_s": report["detectSeconds"],
        "recover_s": report["recoverSeconds"],
        "requests": report["requests"],
        "errors": report["errors"],
        "latch": report["latch"],
        "good": report["goodVersion"],
        "live_after": _live(platform),
        "quiet_wait_s": round(waited, 1),
        "skipped": Counter(f"{e['outcome']} ({e['rule']})" for e in skipped),
    }


# --- the canary ---------------------------------------------------------------------------------


def _broken_manifest(work: Path) -> Any:
    """create-feedback packaged from a copy of lambdas/ whose handler fails every request."""
    from feedbackctl.packaging import PROJECT_ROOT, package_all

    root = work / "broken"
    shutil.copytree(PROJECT_ROOT / "lambdas", root / "lambdas")
    handler = root / "lambdas" / "create_feedback" / "handler.py"
    handler.write_text(handler.read_text(encoding="utf-8") + FAIL_EVERY_REQUEST, encoding="utf-8")
    return package_all(root, work / "broken-build", only=[FN])


class _Traffic:
    """Clients posting feedback through the gateway until stopped."""

    def __init__(self, api_url: str, clients: int = 4) -> None:
        self._url = f"{api_url}/feedback"
        self._stop = threading.Event()
        self.statuses: dict[int, int] = {}
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._post, daemon=True) for _ in range(clients)]

    def _post(self) -> None:
        data = json.dumps(BODY).encode()
        while not self._stop.is_set():
            request = urllib.request.Request(
                self._url, data=data, method="POST", headers={"Content-Type": "application/json"}
            )
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    response.read()
                    status = response.status
            except urllib.error.HTTPError as error:
                status = error.code
            with self._lock:
                self.statuses[status] = self.statuses.get(status, 0) + 1

    def __enter__(self) -> _Traffic:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)


def _canary(platform: Any, work: Path) -> dict[str, Any]:
    """A 10 % canary of a version failing every request, released by the deploy's engine with
    the stage's windows and rules, traffic through the gateway; timed from the first shift."""
    from feedbackctl.aws.stacks import Waiter
    from feedbackctl.cli.commands.deploy.run import PolicyRequest, resolve_policy
    from feedbackctl.deploy import DeployContext, Deployer, plan_function, read_function

    manifest = _broken_manifest(work)
    _wait_quiet(platform)
    artifact = manifest.artifacts[FN]
    bucket = platform.upload(manifest)
    clients = platform.deploy_clients()
    policy, judging = resolve_policy(platform.stage, PolicyRequest("canary", CANARY_PERCENT))
    marks: dict[str, float] = {}

    def progress(line: str) -> None:
        now = time.monotonic()
        if "@" in line and "live →" in line:
            marks.setdefault("shift", now)
        elif "rolling back" in line:
            marks.setdefault("verdict", now)

    context = DeployContext(
        "bench", "", "", "", lambda _: True, progress, Waiter(interval=0.2), judging=judging
    )
    good = _live(platform)
    planned = plan_function(read_function(clients, FN), artifact, allow_rolled_back=False)
    with _Traffic(platform.api_url) as traffic:
        outcome = Deployer(clients, context).release(planned, bucket, policy)
        ended = time.monotonic()
    shift = marks.get("shift")
    verdict = marks.get("verdict", ended)  # the orchestrator may decide first: the release ends
    return {
        "outcome": outcome.outcome,
        "by": outcome.by or "the release's own verdict",
        "from": outcome.from_version,
        "to": outcome.to_version,
        "good": good,
        "live_after": _live(platform),
        "step_s": policy.step_s,
        "poll_s": policy.poll_s,
        "verdict_s": None if shift is None else round(verdict - shift, 2),
        "restored_s": None if shift is None else round(ended - shift, 2),
        "statuses": dict(sorted(traffic.statuses.items())),
        "detail": outcome.detail,
    }


def _stage_config(work: Path) -> Path:
    """feedbackctl.toml with the local stage in a region and stack of its own: moto's backends
    are shared per process and region (benchmarks/run.py runs bench_local first, on the stage's
    own), and `--stage local` on the command line must address this platform."""
    from feedbackctl.config import find_config

    text = find_config().read_text(encoding="utf-8")
    local = re.search(r"(?ms)^\[stages\.local\]\n.*?(?=^\[)", text)
    if local is None:
        raise RuntimeError("feedbackctl.toml has no [stages.local] table")
    table = re.sub(r'(?m)^region = ".*"$', f'region = "{REGION}"', local.group(0), count=1)
    table = re.sub(r'(?m)^stack_name = ".*"$', f'stack_name = "{STACK}"', table, count=1)
    config = work / "feedbackctl.toml"
    config.write_text(text[: local.start()] + table + text[local.end() :], encoding="utf-8")
    return config


def run() -> dict[str, Any]:
    from feedbackctl.config import CONFIG_ENV, load_config
    from feedbackctl.local.platform import LocalPlatform, Options

    # The gateway reports every 502 of the broken versions; the figures count them instead.
    logging.getLogger("feedbackctl.local.gateway").setLevel(logging.ERROR)
    work = Path(tempfile.mkdtemp(prefix="bench-drill-"))
    saved = os.environ.get(CONFIG_ENV)
    os.environ[CONFIG_ENV] = str(_stage_config(work))
    options = Options(api_port=0, aws_port=0, work_dir=work / "platform")  # `local up`'s interval
    try:
        platform = LocalPlatform(load_config().stage("local"), options)
        started = time.perf_counter()
        platform.start()
        ready_s = round(time.perf_counter() - started, 2)
        try:
            drills = [_drill(platform, kind) for kind in KINDS]
            canary = _canary(platform, work)
        finally:
            platform.stop()
    finally:
        if saved is None:
            os.environ.pop(CONFIG_ENV, None)
        else:
            os.environ[CONFIG_ENV] = saved
        shutil.rmtree(work, ignore_errors=True)
    return {
        "ready_s": ready_s,
        "period_s": float(platform.stage.alarms.period_seconds),
        "evaluation_periods": platform.stage.alarms.evaluation_periods,
        "interval_s": float(options.alarm_interval_s),
        "drills": drills,
        "canary": canary,
    }


def _share(seconds: float | None, of: float) -> str:
    return "-" if seconds is None else f"{seconds / of:.2f}"


def _seconds(seconds: float | None) -> str:
    return "never" if seconds is None else f"{seconds:.2f} s"


def _counted(skipped: Counter[str]) -> str:
    return ", ".join(f"{n}x {what}" for what, n in skipped.items()) or "-"


def _healed(drill: dict[str, Any]) -> bool:
    back = drill["live_after"] == drill["good"]
    if drill["kind"] in ERROR_KINDS:
        return back and drill["exit"] == 0 and drill["outcome"] == "healed"
    return back and drill["outcome"] == "healed-by-drill"  # documented: exit 1, a finding


def report(figures: dict[str, Any]) -> list[str]:
    period, interval = figures["period_s"], figures["interval_s"]
    detect_goal = DETECT_PERIODS * period + interval
    print(f"reproduce: {COMMAND}")
    print(
        f"baseline: alarm period {period:g} s (x{figures['evaluation_periods']} evaluation "
        f"periods), alarm engine interval {interval:g} s; platform ready in {figures['ready_s']} s"
    )
    print(
        f"{'fault':<13}{'exit':>5}  {'healed by':<20}{'detect':>9}{'/period':>9}"
        f"{'recover':>10}{'/period':>9}  {'requests':>8}{'failed':>7}  latch    "
        "orchestrator skips  alarm"
    )
    missed: list[str] = []
    for d in figures["drills"]:
        print(
            f"{d['kind']:<13}{d['exit']:>5}  {d['healedBy'] or 'not healed':<20}"
            f"{_seconds(d['detect_s']):>9}{_share(d['detect_s'], period):>9}"
            f"{_seconds(d['recover_s']):>10}{_share(d['recover_s'], period):>9}  "
            f"{d['requests']:>8}{d['errors']:>7}  {d['latch']:<8} "
            f"{_counted(d['skipped']):<19} {d['alarm'] or '-'}"
        )
        if not _healed(d):
            missed.append(
                f"{d['kind']} not healed as documented ({d['outcome']}, {d['healedBy'] or '-'}, "
                f"live {d['live_after']}, good {d['good']})"
            )
        if d["kind"] in ERROR_KINDS and (d["detect_s"] is None or d["detect_s"] > detect_goal):
            missed.append(f"{d['kind']} detected {_seconds(d['detect_s'])} > {detect_goal:g} s")
    c = figures["canary"]
    print(
        f"canary {CANARY_PERCENT} % of a version failing every request: {c['outcome']} by "
        f"{c['by']} ({c['from']} → {c['to']}), verdict {_seconds(c['verdict_s'])} after the first "
        f"shift ({_share(c['verdict_s'], c['step_s'])} of the {c['step_s']:g} s step window), "
        f"live restored at {_seconds(c['restored_s'])}; gateway statuses {c['statuses']}"
    )
    if c["outcome"] != "rolled-back" or c["live_after"] != c["good"]:
        missed.append(f"canary {c['outcome']}, live {c['live_after']}: {c['detail']}")
    if c["verdict_s"] is None or c["verdict_s"] > c["step_s"]:
        missed.append(f"canary verdict {_seconds(c['verdict_s'])} > step window {c['step_s']:g} s")
    return missed


if __name__ == "__main__":
    missed = report(run())
    print("drill: PASS" if not missed else "drill: FAIL: " + "; ".join(missed))
    sys.exit(1 if missed else 0)
