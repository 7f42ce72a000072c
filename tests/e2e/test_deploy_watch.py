"""`feedbackctl deploy --stage local --watch` as a user runs it: `local up` and the deploy in
processes of their own; after the deploy, a saved change under lambdas/ is released into the
running platform and served by its gateway, until Ctrl-C. Both run from a copy of the project,
so the test edits the copy's sources, never the repository's. `--watch` anywhere but on the
local platform is refused in one line."""

from __future__ import annotations

import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from feedbackctl.cli.app import app
from tests.e2e.conftest import ROOT, http
from tests.e2e.test_local_up_cli import free_port, user_env, wait_ready

DEADLINE_S = 90.0


def project_copy(tmp_path: Path) -> Path:
    """What `feedbackctl` needs to run from another folder: its sources, the functions', the
    templates, the configuration and the built web app."""
    root, skip = tmp_path / "project", shutil.ignore_patterns("__pycache__", "node_modules")
    for folder in ("feedbackctl", "lambdas", "templates", "frontend"):
        shutil.copytree(ROOT / folder, root / folder, ignore=skip)
    shutil.copy2(ROOT / "feedbackctl.toml", root / "feedbackctl.toml")
    return root


def run(root: Path, state: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "feedbackctl", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=root,  # `python -m` imports feedbackctl (and so the sources it packages) from here
        env=user_env(FEEDBACKCTL_STATE_DIR=str(state)),
    )


def lines_of(stream: object) -> queue.Queue[str]:
    """Each line of a process's stream, read on a thread (a test never blocks on a read)."""
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        for line in stream:  # type: ignore[attr-defined]
            lines.put(line.rstrip())

    threading.Thread(target=read, daemon=True).start()
    return lines


def wait_for_line(lines: queue.Queue[str], text: str, seen: list[str]) -> str:
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.2)
        except queue.Empty:
            continue
        seen.append(line)
        if text in line:
            return line
    raise AssertionError(f"no line with {text!r} in {DEADLINE_S}s: {seen}")


def served_version(api: int) -> str:
    return str(http("GET", f"http://127.0.0.1:{api}/local/health").body["version"])


def test_a_saved_change_is_served_after_deploy_watch_until_ctrl_c(tmp_path):
    root, state = project_copy(tmp_path), tmp_path / "state"
    api, aws = free_port(), free_port()
    platform = run(root, state, "local", "up", "--api-port", str(api), "--aws-port", str(aws))
    watching = None
    try:
        wait_ready(platform)
        before = served_version(api)
        watching = run(root, state, "deploy", "--stage", "local", "--watch", "--yes")
        said: list[str] = []
        err = lines_of(watching.stderr)
        wait_for_line(err, "watching lambdas/", said)
        handler = root / "lambdas" / "health" / "handler.py"
        handler.write_text(handler.read_text() + "\n# saved once more\n")

        deadline = time.monotonic() + DEADLINE_S
        while served_version(api) == before and time.monotonic() < deadline:
            time.sleep(0.2)
        now = served_version(api)
        assert now != before, f"the saved change was not served: {said}"
        wait_for_line(err, f"reload: health → version {now}", said)

        watching.send_signal(signal.SIGINT)
        assert watching.wait(timeout=60) == 0, said
        wait_for_line(err, "stopped watching", said)
        assert not [line for line in said if "Traceback" in line]
        assert served_version(api) == now  # the platform serves on without the watcher
    finally:
        if watching is not None and watching.poll() is None:
            watching.kill()
            watching.wait(timeout=30)
        platform.send_signal(signal.SIGINT)
        platform.communicate(timeout=60)
    assert platform.returncode == 0


def test_watch_is_refused_for_a_stage_on_aws_and_with_dry_run(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)  # the stage's own (AWS) endpoint
    refused = CliRunner().invoke(app, ["deploy", "--stage", "dev", "--watch", "--yes"])
    assert refused.exit_code == 2, refused.output
    assert "--watch works with the local platform only" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    dry = CliRunner().invoke(app, ["deploy", "--stage", "dev", "--watch", "--dry-run"])
    assert dry.exit_code == 2, dry.output
    assert "cannot be used with --dry-run" in dry.stderr
