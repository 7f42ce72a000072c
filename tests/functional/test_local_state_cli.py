"""`feedbackctl local reset`: the saved state of the local platform goes only when asked, and
never from under a running platform."""

from __future__ import annotations

import os

import pytest
from typer.testing import CliRunner

from feedbackctl.cli.app import app
from feedbackctl.config import load_config
from feedbackctl.local import record


@pytest.fixture
def state(tmp_path, monkeypatch):
    monkeypatch.setenv(record.STATE_ENV, str(tmp_path / "state"))
    return record.state_dir(load_config().stage("local"))


def reset(*args: str):
    return CliRunner().invoke(app, ["local", "reset", "--stage", "local", *args])


def test_reset_without_state_says_so(state):
    result = reset("--yes")
    assert result.exit_code == 0
    assert "no saved state for stage 'local'" in result.stderr


def test_reset_deletes_the_state_after_confirmation(state):
    (state / "aws").mkdir(parents=True)
    (state / "aws" / "snapshot.pickle").write_bytes(b"state")
    refused = reset()  # no terminal to ask: nothing is deleted
    assert refused.exit_code == 2
    assert "pass --yes" in refused.stderr
    assert state.exists()
    result = reset("--yes")
    assert result.exit_code == 0, result.stderr
    assert f"deleted the saved state of stage 'local' ({state})" in result.stderr
    assert not state.exists()


def test_reset_never_deletes_the_state_of_a_running_platform(state):
    stage = load_config().stage("local")
    record.write(stage, record.Running(os.getpid(), "http://127.0.0.1:1", "", "", "now"))
    result = reset("--yes")
    assert result.exit_code == 3
    assert f"is running (pid {os.getpid()})" in result.stderr
    assert (state / record.RECORD_NAME).exists()
