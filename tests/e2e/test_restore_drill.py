"""`feedbackctl drill --restore` on a running local platform: the feedback table is backed up,
damaged past the API (items deleted, messages overwritten), restored by `restore`'s copy-back;
afterwards the table holds exactly the backed-up items, the analytics equal a recount, and the
gateway serves the restored data. The platform gets a region and a stack of its own."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from feedbackctl.cli.app import app
from tests.e2e.conftest import http
from tests.e2e.test_local_reload import own_platform

REGIONS = iter(["me-central-1", "ap-southeast-5"])
FEEDBACK = {"name": "Kept", "email": "kept@example.com", "rating": 2, "message": "It is slow"}


@pytest.fixture
def platform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    yield from own_platform(tmp_path, monkeypatch, next(REGIONS), "restore")


def cli(platform: Any, *args: str) -> Any:
    return CliRunner().invoke(
        app, [*args, "--stage", "local", "--endpoint-url", platform.endpoint_url]
    )


def test_a_restore_drill_heals_the_table_and_the_stage_serves_it(platform):
    for _ in range(3):  # items created through the API are part of what is backed up
        assert http("POST", f"{platform.api_url}/feedback", FEEDBACK).status == 201
    result = cli(platform, "drill", "--restore", "--items", "120", "--damage", "10", "--yes",
                 "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["items"], report["seeded"], report["deleted"], report["altered"]) == (
        120, 117, 12, 12,
    )  # fmt: skip
    assert report["healed"] is True
    assert (report["tableMatches"], report["analyticsExact"], report["servedTotal"]) == (
        True, True, 120,
    )  # fmt: skip
    plan = report["restore"]["plan"]
    assert (plan["add"], plan["replace"], plan["remove"]) == (12, 12, 0)
    assert report["restore"]["analyticsRepaired"] is True  # the 12 deleted past the API
    assert report["rtoSeconds"] == report["restore"]["totalSeconds"] > 0
    # What a user sees afterwards, through the gateway.
    analytics = http("GET", f"{platform.api_url}/analytics").body
    assert analytics["totalFeedback"] == 120
    backups = json.loads(cli(platform, "backup", "list", "--json").stdout)["backups"]
    names = sorted(b["backupName"].split("-")[-3] for b in backups)
    assert names == ["pre", "restore"]  # the drill's backup, and restore's own safety backup


def test_a_restore_drill_is_refused_with_a_function_and_previewed_by_a_dry_run(platform):
    both = cli(platform, "drill", "--restore", "--function", "health", "--yes")
    assert both.exit_code == 2
    assert "--restore drills the feedback table; leave out --function" in both.output
    neither = cli(platform, "drill", "--yes")
    assert neither.exit_code == 2
    assert "give --function FUNCTION (or --restore)" in neither.output
    preview = cli(platform, "drill", "--restore", "--items", "50", "--dry-run")
    assert preview.exit_code == 0, preview.output
    assert "bring restore-ap-southeast-5-feedback to 50 items" in preview.output.replace("\n", " ")
    listed = json.loads(cli(platform, "backup", "list", "--json").stdout)
    assert listed["backups"] == []
