"""`feedbackctl package` through the CLI: exact stdout, the stderr summary and exit codes.

Builds the real repository's existing functions into tmp_path (`--out`), so nothing is written
inside the checkout.
"""

from __future__ import annotations

import json
import re

from click.testing import Result
from typer.testing import CliRunner

from feedbackctl.cli.app import app
from feedbackctl.packaging import Manifest

VALID = (
    "valid names: create-feedback, list-feedback, get-analytics, health, stream-aggregator, "
    "rollback-orchestrator"
)


def _invoke(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def _summary(count: int, out) -> re.Pattern[str]:
    plural = "s" if count != 1 else ""
    manifest = re.escape(str(out / "manifest.json"))
    return re.compile(rf"packaged {count} function{plural} in \d+ ms; manifest: {manifest}\n")


def test_json_prints_exactly_the_manifest_on_stdout(tmp_path):
    out = tmp_path / "build"
    result = _invoke(
        "package", "--out", str(out), "-f", "health", "--function", "get-analytics", "--json"
    )

    assert result.exit_code == 0, result.output
    assert result.stdout == (out / "manifest.json").read_text()
    assert list(json.loads(result.stdout)["functions"]) == ["get-analytics", "health"]
    assert _summary(2, out).fullmatch(result.stderr)


def test_repackaging_prints_the_same_manifest(tmp_path):
    args = ("package", "--out", str(tmp_path), "-f", "health", "--json")
    first = _invoke(*args)
    second = _invoke(*args)

    assert first.exit_code == second.exit_code == 0
    assert first.stdout == second.stdout


def test_the_table_lists_each_zip(tmp_path):
    result = _invoke("package", "--out", str(tmp_path), "-f", "health")

    assert result.exit_code == 0, result.output
    health = Manifest.load(tmp_path / "manifest.json").artifacts["health"]
    assert result.stdout.splitlines() == [
        f"{'function':<22} {'files':>5} {'size KB':>8}  {'CodeSha256':<44}  zip",
        f"{'health':<22} {health.files:>5} {health.size / 1024:>8.1f}  "
        f"{health.code_sha256:<44}  {tmp_path / 'health.zip'}",
    ]
    assert _summary(1, tmp_path).fullmatch(result.stderr)


def test_an_unknown_function_exits_2_listing_the_valid_names(tmp_path):
    result = _invoke("package", "--out", str(tmp_path), "--function", "unknown-fn")

    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == f"error: unknown function 'unknown-fn'; {VALID}\n"
    assert list(tmp_path.iterdir()) == []


def test_a_stage_that_cannot_name_a_folder_exits_2():
    result = _invoke("package", "--stage", "../elsewhere")

    assert result.exit_code == 2
    assert result.stderr == (
        "error: invalid stage name '../elsewhere' "
        "(use letters, digits, '-' and '_': it names a build folder)\n"
    )
