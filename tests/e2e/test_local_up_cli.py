"""`feedbackctl local up` as a user runs it: a real process, Ctrl-C, nothing left behind."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import http

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def children(pid: int) -> set[int]:
    """Every descendant of `pid` (read from /proc)."""
    found: set[int] = set()
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            kids = (task / "children").read_text().split() if (task / "children").exists() else []
            for kid in map(int, kids):
                if kid not in found:
                    found.add(kid)
                    frontier.append(kid)
    return found


def alive(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "zombie" not in status.read_text().lower()


@pytest.fixture
def ports(tmp_path, monkeypatch):
    # Each test's platforms keep their record (and state) in the test's own folder.
    monkeypatch.setenv("FEEDBACKCTL_STATE_DIR", str(tmp_path / "state"))
    return free_port(), free_port()


def ignore_sigint() -> None:
    """What a shell does to a background job: SIGINT is inherited as ignored."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def user_env(**extra: str) -> dict[str, str]:
    """The environment of a user's shell: no AWS_ENDPOINT_URL (the test suite sets one)."""
    return {k: v for k, v in os.environ.items() if k != "AWS_ENDPOINT_URL"} | extra


def start(
    api: int, aws: int, *extra: str, background_job: bool = False, state: str | None = None
) -> subprocess.Popen[str]:
    env = user_env(**({"FEEDBACKCTL_STATE_DIR": state} if state else {}))
    command = ["local", "up", "--api-port", str(api), "--aws-port", str(aws), *extra]
    return subprocess.Popen(
        [sys.executable, "-m", "feedbackctl", *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
        preexec_fn=ignore_sigint if background_job else None,  # noqa: PLW1509 - signals only
    )


def wait_ready(process: subprocess.Popen[str], timeout: float = 120) -> list[str]:
    lines = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip())
        if line.startswith("AWS endpoint"):
            return lines
    raise AssertionError(
        f"local up never became ready: {lines} "
        f"{process.stderr.read() if process.poll() is not None else ''}"
    )


def test_local_up_serves_seeds_and_stops_cleanly_on_ctrl_c(ports):
    api, aws = ports
    process = start(api, aws, "--seed", "3")
    try:
        lines = wait_ready(process)
        assert lines[0].startswith(f"web app       http://127.0.0.1:{api}/")
        assert lines[1] == f"API           http://127.0.0.1:{api}/local"
        assert lines[2].startswith(f"AWS endpoint  http://127.0.0.1:{aws}")
        assert http("GET", f"http://127.0.0.1:{api}/local/health").body["status"] == "ok"
        listed = http("GET", f"http://127.0.0.1:{api}/local/feedback?limit=10").body
        assert len(listed["items"]) == 3
        workers = children(process.pid)
        assert workers, "the invoke service runs functions in worker processes"
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "Traceback" not in err
    assert "stopped; nothing left running" in err
    assert [pid for pid in workers if alive(pid)] == []


def feedbackctl(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "feedbackctl", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=user_env(**env),
        timeout=120,
        check=False,
    )


def test_stage_local_commands_reach_the_platform_on_its_own_ports_and_refuse_without_one(ports):
    """`local up --aws-port N` records where it serves; `--stage local` goes there, never to
    whatever holds the default port, and says so plainly when no platform runs."""
    api, aws = ports
    process = start(api, aws)
    try:
        lines = wait_ready(process)
        assert lines[2].endswith("(other commands: --stage local)")
        status = feedbackctl("status", "--stage", "local", "--json")
        assert status.returncode == 0, status.stderr
        assert {f["function"] for f in json.loads(status.stdout)["functions"]} >= {
            "create-feedback"
        }
        again = start(free_port(), free_port())
        _, err = again.communicate(timeout=60)
        assert again.returncode == 3
        assert f"a local platform for stage 'local' already runs (pid {process.pid}" in err
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=60)
    gone = feedbackctl("status", "--stage", "local")
    assert gone.returncode == 1
    assert "no local platform is running for stage 'local'" in gone.stderr
    assert "feedbackctl local up --stage local" in gone.stderr
    assert "Traceback" not in gone.stderr


def test_a_second_local_up_on_the_same_ports_says_which_port(ports, tmp_path):
    api, aws = ports
    first = start(api, aws)
    try:
        wait_ready(first)
        second = start(api, aws, state=str(tmp_path / "another-checkout"))
        _, err = second.communicate(timeout=60)
        assert second.returncode == 1
        assert f"port {aws} on 127.0.0.1 is in use" in err
        assert "--aws-port" in err
        assert "Traceback" not in err
    finally:
        first.send_signal(signal.SIGINT)
        first.communicate(timeout=60)


def test_ctrl_c_during_start_up_leaves_nothing_running(ports):
    api, aws = ports
    process = start(api, aws)
    seen = []
    workers: set[int] = set()
    try:
        for line in process.stderr:
            seen.append(line)
            workers |= children(process.pid)
            if (
                "provisioned Lambda::Function" in line
            ):  # mid-provisioning: moto and the endpoint run
                break
        assert seen, "local up printed no progress"
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "Traceback" not in err
    assert "stopped; nothing left running" in err
    assert [pid for pid in workers if alive(pid)] == []


def test_ctrl_c_reaches_local_up_started_as_a_background_job(ports):
    # A shell's background job inherits SIGINT as ignored; `local up` must still stop on it.
    api, aws = ports
    process = start(api, aws, background_job=True)
    try:
        wait_ready(process)
        workers = children(process.pid)
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "stopped; nothing left running" in err
    assert [pid for pid in workers if alive(pid)] == []
