"""`local up --watch`: a saved change under lambdas/ is served by the running platform, through
the release engine (feedbackctl.local.reload). The platform is this test's own (a region and
stack of its own), and the sources are a copy, so the repository is never edited."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from feedbackctl.config import CONFIG_ENV, load_config
from tests.e2e.conftest import ROOT, http
from tests.e2e.test_drill_faults import stage_config

# moto's state is one per process (S3 names are global): each platform gets a region of its own.
REGIONS = iter(["me-south-1", "af-south-1", "eu-south-1", "ap-east-1"])


def own_platform(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, region: str, name: str
) -> Iterator[Any]:
    """A running platform of one test's own: in `region`, with the stack `<name>-<region>`."""
    from feedbackctl.local.platform import LocalPlatform, Options

    config = stage_config(tmp_path, region)
    config.write_text(config.read_text().replace(f"drill-{region}", f"{name}-{region}"))
    monkeypatch.setenv(CONFIG_ENV, str(config))
    local = LocalPlatform(
        load_config().stage("local"), Options(api_port=0, aws_port=0, work_dir=tmp_path / "w")
    )
    local.start()
    yield local
    local.stop()


@pytest.fixture
def platform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    yield from own_platform(tmp_path, monkeypatch, next(REGIONS), "reload")


@pytest.fixture
def sources(tmp_path: Path) -> Path:
    root, skip = tmp_path / "src", shutil.ignore_patterns("__pycache__")
    shutil.copytree(ROOT / "lambdas", root / "lambdas", ignore=skip)
    shutil.copytree(ROOT / "feedbackctl", root / "feedbackctl", ignore=skip)  # the engine
    return root


def served_version(platform: Any) -> str:
    return str(http("GET", f"{platform.api_url}/health").body["version"])


def test_a_saved_change_is_released_and_served_and_a_broken_one_is_not(platform, sources):
    from feedbackctl.local.reload import CodeWatcher

    lines: list[str] = []
    watcher = CodeWatcher(platform, sources, progress=lines.append, poll_s=0.05)
    before = served_version(platform)
    handler = sources / "lambdas" / "health" / "handler.py"
    handler.write_text(handler.read_text() + "\n# saved once more\n")

    reloaded = watcher.reload()

    # Only the function whose zip changed is released, and the gateway serves it at once.
    assert list(reloaded.released) == ["health"]
    assert reloaded.refused == {}
    assert served_version(platform) == reloaded.released["health"] != before
    assert any(line.startswith("reload: health → version") for line in lines)

    handler.write_text(handler.read_text() + "\ndef broken(:\n")  # a save with a syntax error
    refused = watcher.reload()
    assert refused.released == {}
    assert "health check" in refused.refused["health"]
    assert served_version(platform) == reloaded.released["health"]  # the good one still serves


def test_the_watcher_notices_a_save_by_itself(platform, sources):
    from feedbackctl.local.reload import CodeWatcher

    done = threading.Event()
    seen: list[str] = []

    def progress(line: str) -> None:
        seen.append(line)
        done.set()

    watcher = CodeWatcher(platform, sources, progress=progress, poll_s=0.05)
    stop = threading.Event()
    thread = threading.Thread(target=watcher.run, args=(stop,), daemon=True)
    thread.start()
    try:
        handler = sources / "lambdas" / "list_feedback" / "handler.py"
        handler.write_text(handler.read_text() + "\n# a change\n")
        assert done.wait(60), "no reload after a save"
    finally:
        stop.set()
        thread.join(timeout=10)
    assert seen[0].startswith("reload: list-feedback → version")
    assert not thread.is_alive()
