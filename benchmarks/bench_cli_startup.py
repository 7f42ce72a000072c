"""Whole-process wall times of `feedbackctl --help` and `feedbackctl package` next to
`sam --help` and `sam build` of a six-function SAM project, measured in the same run.

SAM CLI is installed in its own virtualenv under .benchmarks-cache/sam-venv (created with
`python -m venv` and pip on the first run, reused after). The SAM project is made in a
temporary folder: template.yaml with six AWS::Serverless::Function (python3.11), each with a
small handler, so `sam build` runs without docker. The runs alternate between the two tools
(a warm-up of each first, not counted) and each figure is the min and median of RUNS runs.
Goals (docs/cli-startup.md): `feedbackctl --help` ≤ 0.6× `sam --help`, and `feedbackctl
package` (the project's six functions) ≤ 0.1× `sam build`, as ratios of the medians.
Run: .venv/bin/python benchmarks/bench_cli_startup.py
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".benchmarks-cache"
SAM_VENV = CACHE / "sam-venv"
SAM_CLI = "aws-sam-cli==1.170.0"
RUNS = 10
HELP_RUNS = 20
GOAL_HELP_RATIO = 0.6
GOAL_PACKAGE_RATIO = 0.1
FUNCTIONS = ("create_feedback", "list_feedback", "get_analytics", "health", "aggregator", "ops")
HANDLER = """import json


def handler(event, context):
    return {{"statusCode": 200, "body": json.dumps({{"function": "{name}"}})}}
"""


def _bin(venv: Path, name: str) -> Path:
    return venv / ("Scripts" if os.name == "nt" else "bin") / name


def ensure_sam() -> Path:
    """SAM CLI's executable in its own virtualenv, installed on first use."""
    sam = _bin(SAM_VENV, "sam")
    if not sam.exists():
        print(f"installing {SAM_CLI} into {SAM_VENV.relative_to(ROOT)} (once)", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(SAM_VENV)], check=True)
        pip = [str(_bin(SAM_VENV, "python")), "-m", "pip", "install", "--quiet", SAM_CLI]
        subprocess.run(pip, check=True)
    return sam


def make_sam_project(folder: Path) -> None:
    """template.yaml with six python3.11 functions, each a folder with a small handler."""
    lines = [
        "AWSTemplateFormatVersion: '2010-09-09'",
        "Transform: AWS::Serverless-2016-10-31",
        "Resources:",
    ]
    for name in FUNCTIONS:
        (folder / name).mkdir(parents=True)
        (folder / name / "app.py").write_text(HANDLER.format(name=name))
        (folder / name / "requirements.txt").write_text("")
        logical = "".join(part.title() for part in name.split("_")) + "Function"
        lines += [
            f"  {logical}:",
            "    Type: AWS::Serverless::Function",
            "    Properties:",
            f"      CodeUri: {name}/",
            "      Handler: app.handler",
            "      Runtime: python3.11",
        ]
    (folder / "template.yaml").write_text("\n".join(lines) + "\n")


def _timed(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {done.returncode}: {done.stderr[-2000:]}")
    return elapsed


def _compare(
    ours: tuple[list[str], Path], theirs: tuple[list[str], Path], env: dict[str, str], runs: int
) -> dict[str, dict[str, float]]:
    """Min and median seconds of each command, alternating runs after one warm-up of each."""
    times: dict[str, list[float]] = {"ours": [], "theirs": []}
    for command, cwd in (ours, theirs):
        _timed(command, cwd, env)
    for _ in range(runs):
        for key, (command, cwd) in (("ours", ours), ("theirs", theirs)):
            times[key].append(_timed(command, cwd, env))
    return {
        key: {"min": min(values), "median": statistics.median(values), "runs": len(values)}
        for key, values in times.items()
    }


def _version(command: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def run() -> dict[str, Any]:
    sam = ensure_sam()
    feedbackctl = _bin(Path(sys.executable).parent.parent, "feedbackctl")
    if not feedbackctl.exists():
        raise RuntimeError(f"{feedbackctl} not found: install the project (scripts/setup.sh)")
    env = {
        **os.environ,
        "SAM_CLI_TELEMETRY": "0",
        # SAM's settings (and its weekly version check) in the cache, not in ~/.aws-sam.
        "__SAM_CLI_APP_DIR": str(CACHE / "sam-config"),
        # `sam build` runs pip with the python3.11 it finds first on PATH.
        "PATH": f"{_bin(SAM_VENV, 'python').parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp:
        work = Path(tmp)
        project = work / "sam-project"
        make_sam_project(project)
        out = work / "feedbackctl-build"
        help_times = _compare(
            ([str(feedbackctl), "--help"], ROOT), ([str(sam), "--help"], project), env, HELP_RUNS
        )
        package_times = _compare(
            ([str(feedbackctl), "package", "--out", str(out)], ROOT),
            ([str(sam), "build"], project),
            env,
            RUNS,
        )
        manifest = json.loads((out / "manifest.json").read_text())
        built = sorted(p.name for p in (project / ".aws-sam" / "build").iterdir() if p.is_dir())
    return {
        "help": help_times,
        "package": package_times,
        "packaged": sorted(manifest["functions"]),
        "sam_built": built,
        "versions": {
            "feedbackctl": _version([str(feedbackctl), "--version"], env),
            "sam": _version([str(sam), "--version"], env),
            "python": sys.version.split()[0],
        },
    }


def _line(label: str, figures: dict[str, float]) -> str:
    return (
        f"  {label:<22} min {figures['min'] * 1000:7.1f} ms   "
        f"median {figures['median'] * 1000:7.1f} ms   ({figures['runs']} runs)"
    )


def report(results: dict[str, Any]) -> list[str]:
    """Print the figures and ratios; return the goals missed (empty when all are met)."""
    versions = results["versions"]
    print(f"{versions['feedbackctl']}, {versions['sam']}, Python {versions['python']}")
    print(
        f"packaged by feedbackctl: {len(results['packaged'])} functions; "
        f"built by sam: {len(results['sam_built'])} functions"
    )
    missed = []
    rows = (
        ("help", "feedbackctl --help", "sam --help", GOAL_HELP_RATIO),
        ("package", "feedbackctl package", "sam build", GOAL_PACKAGE_RATIO),
    )
    for key, ours_label, theirs_label, goal in rows:
        ours, theirs = results[key]["ours"], results[key]["theirs"]
        ratio = ours["median"] / theirs["median"]
        print(_line(ours_label, ours))
        print(_line(theirs_label, theirs))
        print(
            f"  ratio {ratio:.2f}× of the medians ({ours['min'] / theirs['min']:.2f}× of the "
            f"mins); goal ≤ {goal}×: {'met' if ratio <= goal else 'MISSED'}"
        )
        if ratio > goal:
            missed.append(f"`{ours_label}` is {ratio:.2f}× `{theirs_label}` (goal ≤ {goal}×)")
    if len(results["packaged"]) != len(FUNCTIONS) or len(results["sam_built"]) != len(FUNCTIONS):
        missed.append("the two builds did not make six functions each")
    return missed


if __name__ == "__main__":
    missed = report(run())
    print("cli startup: PASS" if not missed else "cli startup: FAIL: " + "; ".join(missed))
    sys.exit(1 if missed else 0)
