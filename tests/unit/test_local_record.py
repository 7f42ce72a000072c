"""Where a running local platform is: the record `local up` leaves in the stage's state folder,
and how `--stage` resolves a local stage through it (feedbackctl.local.record)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from feedbackctl.aws import resolve_target
from feedbackctl.errors import FeedbackctlError
from feedbackctl.local import record


@pytest.fixture
def stages(tmp_path, monkeypatch):
    config = tmp_path / "feedbackctl.toml"
    config.write_text(
        '[project]\ndefault_stage = "local"\n'
        '[stages.local]\nregion = "us-east-1"\nstack_name = "fb-local"\n'
        'endpoint_url = "http://127.0.0.1:4566"\n'
        '[stages.dev]\nregion = "us-east-1"\nstack_name = "fb-dev"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("FEEDBACKCTL_CONFIG", str(config))
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv(record.STATE_ENV, raising=False)
    from feedbackctl.config import load_config

    return load_config()


def running(pid: int, port: int = 24566) -> record.Running:
    url = f"http://127.0.0.1:{port}"
    return record.Running(
        pid, url, "http://127.0.0.1:28000/local", url, "2026-12-02T00:00:00+00:00"
    )


def test_the_state_folder_is_beside_the_config_unless_chosen(stages, tmp_path, monkeypatch):
    stage = stages.stage("local")
    assert record.state_dir(stage) == tmp_path / ".feedbackctl" / "local" / "local"
    monkeypatch.setenv(record.STATE_ENV, str(tmp_path / "elsewhere"))
    assert record.state_dir(stage) == tmp_path / "elsewhere" / "local" / "local"


def test_a_local_stage_resolves_to_the_recorded_platforms_ports(stages):
    path = record.write(stages.stage("local"), running(os.getpid()))
    assert path.name == "platform.json"
    assert resolve_target("local").endpoint_url == "http://127.0.0.1:24566"
    # An explicit endpoint still wins over the record.
    assert resolve_target("local", endpoint_url="http://127.0.0.1:9999").endpoint_url == (
        "http://127.0.0.1:9999"
    )


def test_a_local_stage_without_a_running_platform_is_refused_with_the_command(stages):
    with pytest.raises(FeedbackctlError) as refused:
        resolve_target("local")
    assert refused.value.message.startswith("no local platform is running for stage 'local'")
    assert "feedbackctl local up --stage local" in (refused.value.hint or "")


def test_a_record_left_by_a_killed_platform_is_no_platform(stages):
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    record.write(stages.stage("local"), running(int(dead.stdout)))
    assert record.find(stages.stage("local")) is None
    with pytest.raises(FeedbackctlError, match="no local platform is running"):
        resolve_target("local")


def test_clear_removes_only_its_own_record(stages):
    stage = stages.stage("local")
    record.write(stage, running(os.getpid()))
    record.clear(stage, os.getpid() + 1)  # another platform's stop leaves this record alone
    assert record.find(stage) is not None
    record.clear(stage, os.getpid())
    assert record.find(stage) is None


def test_a_stage_in_aws_never_looks_for_a_local_platform(stages):
    assert resolve_target("dev").endpoint_url is None
