"""The rendered stacks pass the real cfn-lint and checkov, and `feedbackctl validate` says so.

checkov must be installed (scripts/setup-checkov.sh, which scripts/setup.sh runs); a missing
checkov fails these tests unless FEEDBACKCTL_SKIP_CHECKOV=1 says to skip them on purpose.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from feedbackctl import lint
from feedbackctl.config import StageConfig, load_config
from feedbackctl.errors import FeedbackctlError
from feedbackctl.templating import (
    DEFAULT_TEMPLATES,
    render_apigateway_account,
    render_bootstrap,
    render_stack,
)
from tests.cfn_yaml import load
from tests.unit.test_render import run_cli

ROOT = Path(__file__).resolve().parents[2]
CONFIG = load_config(ROOT / "feedbackctl.toml")
KMS_KEY = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def variants() -> dict[str, StageConfig]:
    """Every stage as configured, plus the optional settings the project's file leaves off."""
    stages = {name: CONFIG.stage(name) for name in CONFIG.stage_names}
    stages["prod+kms+key+email"] = dataclasses.replace(
        CONFIG.stage("prod"),
        kms_key_arn=KMS_KEY,
        api_key_required=True,
        alarm_email="oncall@example.com",
        functions={
            name: dataclasses.replace(settings, reserved_concurrency=5)
            for name, settings in CONFIG.stage("prod").functions.items()
        },
    )
    return stages


VARIANTS = variants()


def checkov_wanted() -> bool:
    if os.environ.get("FEEDBACKCTL_SKIP_CHECKOV") == "1":
        return False
    try:
        lint.find_checkov()
    except FeedbackctlError as exc:
        pytest.fail(f"{exc} (FEEDBACKCTL_SKIP_CHECKOV=1 skips these tests on purpose)")
    return True


@pytest.fixture(scope="module")
def checkov_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, lint.CheckovResult]:
    """One checkov run per variant, all started at once (each takes a few seconds)."""
    if not checkov_wanted():
        pytest.skip("FEEDBACKCTL_SKIP_CHECKOV=1")
    directory = tmp_path_factory.mktemp("checkov")
    runs = {}
    for name, stage in VARIANTS.items():
        path = directory / f"{stage.stack_name}-{len(runs)}.yaml"
        path.write_text(render_stack(stage), encoding="utf-8")
        runs[name] = lint.start_checkov(path)
    return {name: run.result() for name, run in runs.items()}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(VARIANTS))
def test_cfn_lint_finds_nothing(name: str) -> None:
    stage = VARIANTS[name]
    assert lint.run_cfn_lint(render_stack(stage), region=stage.region) == []


@pytest.mark.slow
@pytest.mark.parametrize("name", list(VARIANTS))
def test_cfn_lint_finds_nothing_in_the_bootstrap_stack(name: str) -> None:
    stage = VARIANTS[name]
    assert lint.run_cfn_lint(render_bootstrap(stage), region=stage.region) == []


@pytest.mark.slow
@pytest.mark.parametrize("region", ["eu-west-1", "us-east-1", "cn-north-1", "us-gov-west-1"])
def test_cfn_lint_finds_nothing_in_the_apigateway_account_stack(region: str) -> None:
    assert lint.run_cfn_lint(render_apigateway_account(), region=region) == []


@pytest.mark.slow
def test_checkov_finds_nothing_in_the_apigateway_account_stack(tmp_path: Path) -> None:
    if not checkov_wanted():
        pytest.skip("FEEDBACKCTL_SKIP_CHECKOV=1")
    path = tmp_path / "apigateway-account.yaml"
    path.write_text(render_apigateway_account(), encoding="utf-8")
    result = lint.run_checkov(path)
    assert (result.failed, result.skipped, result.parsing_errors) == ((), (), ())
    assert result.passed > 0
    assert result.clean


@pytest.mark.slow
@pytest.mark.parametrize("name", list(VARIANTS))
def test_checkov_fails_nothing_and_every_skip_has_a_reason(
    checkov_results: dict[str, lint.CheckovResult], name: str
) -> None:
    result = checkov_results[name]
    assert result.failed == ()
    assert result.unjustified == ()
    assert result.parsing_errors == ()
    assert result.passed > 100
    assert result.clean


@pytest.mark.slow
def test_skips_are_exactly_the_ones_written_in_the_template(
    checkov_results: dict[str, lint.CheckovResult],
) -> None:
    for name, stage in VARIANTS.items():
        template = load(render_stack(stage))
        written = {
            (f"{resource['Type']}.{logical}", skip["id"], skip["comment"])
            for logical, resource in template["Resources"].items()
            for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
        }
        reported = {(s.resource, s.check_id, s.reason) for s in checkov_results[name].skipped}
        assert reported == written, name


@pytest.mark.slow
def test_a_stage_key_and_api_key_leave_fewer_skips(
    checkov_results: dict[str, lint.CheckovResult],
) -> None:
    plain = {s.check_id for s in checkov_results["prod"].skipped}
    full = {s.check_id for s in checkov_results["prod+kms+key+email"].skipped}
    assert full < plain
    assert plain - full == {
        "CKV_AWS_115",  # reserved concurrency set
        "CKV_AWS_119",  # tables on the stage key
        "CKV_AWS_149",  # the email-hash key's secret on the stage key
        "CKV_AWS_158",  # log groups on the stage key
        "CKV_AWS_166",  # the backup vault on the stage key
        "CKV_AWS_173",  # environment on the stage key
        "CKV_AWS_26",  # topics on the stage key
        "CKV_AWS_27",  # queues on the stage key
    }


# --- the validate command --------------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copy(ROOT / "feedbackctl.toml", tmp_path / "feedbackctl.toml")
    monkeypatch.chdir(tmp_path)
    for name in ("FEEDBACKCTL_CONFIG", "FEEDBACKCTL_TEMPLATES_DIR"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


@pytest.mark.slow
@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_validate_prints_a_clean_summary(project: Path, stage: str) -> None:
    if not checkov_wanted():
        pytest.skip("FEEDBACKCTL_SKIP_CHECKOV=1")
    code, out, err = run_cli(["validate", "--stage", stage])
    lines = out.splitlines()
    assert code == 0, out
    # Per function: a per-version error filter and an AWS/Lambda Errors alarm beside the rest.
    # The account's API Gateway role and setting are no longer in a stage's stack (-2), the
    # API's execution log group is (+1); the weekly AWS Backup plan adds its vault, plan, role
    # and selection (+4).
    assert lines[0] == f"feedback-{stage} (stage {stage}, eu-west-1): 147 resources"
    assert lines[1].startswith(f"cfn-lint {lint.cfn_lint_version()}: no findings (")
    assert lines[2].startswith("checkov 3.3.30: ")
    assert ", 0 failed, " in lines[2]
    assert all(line.startswith("  skip CKV_") for line in lines[3:-1])
    assert lines[-1] == "clean"
    assert err.splitlines() == ["running checkov…", "running cfn-lint…", "waiting for checkov…"]


@pytest.mark.slow
def test_validate_json(project: Path) -> None:
    if not checkov_wanted():
        pytest.skip("FEEDBACKCTL_SKIP_CHECKOV=1")
    code, out, _ = run_cli(["validate", "-s", "local", "--json"])
    report = json.loads(out)
    assert code == 0
    assert report["clean"] is True
    assert report["stage"] == "local"
    assert report["cfn_lint"]["findings"] == []
    assert report["checkov"]["failed"] == []
    assert report["checkov"]["unjustified_skips"] == []
    assert all(skip["reason"] for skip in report["checkov"]["skipped"])


def broken_templates(directory: Path) -> Path:
    """A copy of the templates with one lint error, one check unskipped, one reason removed."""
    templates = directory / "templates"
    shutil.copytree(DEFAULT_TEMPLATES, templates)
    stream = templates / "_stream.yaml.j2"
    stream.write_text(stream.read_text().replace("BatchSize: 100", "BatchSize: 100000"))
    site = templates / "_site.yaml.j2"
    site.write_text(site.read_text().replace(', ("CKV_AWS_68", m.NO_WAF)', ""))
    macros = templates / "_macros.yaml.j2"
    text = macros.read_text()
    start = text.index('{% set LOG_BUCKET_SELF = "') + len('{% set LOG_BUCKET_SELF = "')
    macros.write_text(text[:start] + text[text.index('"', start) :])
    return templates


@pytest.mark.slow
def test_validate_reports_every_finding_and_exits_1(project: Path) -> None:
    if not checkov_wanted():
        pytest.skip("FEEDBACKCTL_SKIP_CHECKOV=1")
    templates = broken_templates(project)
    code, out, err = run_cli(
        ["validate", "--stage", "dev"], env={"FEEDBACKCTL_TEMPLATES_DIR": str(templates)}
    )
    assert code == 1
    assert "cfn-lint 1.58.0: 1 finding(s)" in out
    (finding,) = [line for line in out.splitlines() if line.startswith("  E3034 line ")]
    assert finding.endswith(
        " Resources/StreamAggregatorMapping/Properties/BatchSize: "
        "100000 is greater than the maximum of 10000"
    )
    assert "  FAILED CKV_AWS_68 AWS::CloudFront::Distribution.SiteDistribution" in out
    assert "  SKIPPED WITHOUT A REASON CKV_AWS_18 AWS::S3::Bucket.AccessLogsBucket" in out
    assert out.splitlines()[-1] == (
        "not clean: 1 cfn-lint finding(s), 1 failed checkov check(s), 1 skip(s) without a reason"
    )
    assert "Traceback" not in err


def test_missing_checkov_is_one_line_with_the_fix(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = run_cli(
        ["validate", "--stage", "dev"], env={"FEEDBACKCTL_CHECKOV": "/nonexistent/checkov"}
    )
    assert (code, out) == (1, "")
    assert err.splitlines()[-1] == (
        "error: FEEDBACKCTL_CHECKOV points at /nonexistent/checkov, which is not a file "
        "(fix or unset FEEDBACKCTL_CHECKOV)"
    )


def test_no_checkov_anywhere(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("FEEDBACKCTL_CHECKOV", raising=False)
    monkeypatch.setattr(lint, "CHECKOV_VENV", tmp_path / "missing")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(FeedbackctlError) as caught:
        lint.find_checkov()
    assert str(caught.value) == (
        "checkov is not installed (run scripts/setup-checkov.sh, or set FEEDBACKCTL_CHECKOV "
        "to a checkov executable)"
    )


# --- reading checkov's report ----------------------------------------------------------------


def checkov_check(check_id: str, resource: str, comment: str | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {"result": "SKIPPED" if comment is not None else "FAILED"}
    if comment is not None:
        result["suppress_comment"] = comment
    return {
        "check_id": check_id,
        "check_name": f"name of {check_id}",
        "resource": resource,
        "file_line_range": [12, 40],
        "check_result": result,
    }


def test_parse_checkov_json_in_both_shapes() -> None:
    report = {
        "check_type": "cloudformation",
        "summary": {"passed": 3, "failed": 1, "skipped": 2, "resource_count": 4,
                    "checkov_version": "3.3.30"},
        "results": {
            "passed_checks": [{}, {}, {}],
            "failed_checks": [checkov_check("CKV_AWS_26", "AWS::SNS::Topic.T")],
            "skipped_checks": [
                checkov_check("CKV_AWS_117", "AWS::Lambda::Function.F", "no VPC needed here"),
                checkov_check("CKV_AWS_18", "AWS::S3::Bucket.B", "No comment provided"),
            ],
            "parsing_errors": [],
        },
    }  # fmt: skip
    for text in (json.dumps(report), json.dumps([report])):
        result = lint.parse_checkov_json(text)
        assert (result.version, result.resources, result.passed) == ("3.3.30", 4, 3)
        assert [c.check_id for c in result.failed] == ["CKV_AWS_26"]
        assert result.failed[0].line == 12
        assert [c.check_id for c in result.unjustified] == ["CKV_AWS_18"]
        assert not result.clean


def test_checkov_output_that_is_not_json() -> None:
    with pytest.raises(FeedbackctlError) as caught:
        lint.parse_checkov_json("Traceback (most recent call last):\nValueError: boom\n")
    assert str(caught.value) == (
        "checkov printed no JSON report: ValueError: boom (run it by hand)"
    )
