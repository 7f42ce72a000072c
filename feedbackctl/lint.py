"""Lints a rendered stack: cfn-lint in-process, checkov in its own virtualenv, one report.

cfn-lint is imported and checkov spawned only here and only when asked, so rendering stays
fast. checkov runs offline (no downloads, no update check) while cfn-lint runs, and its JSON is
read into plain dataclasses: passed count, failed checks, skipped checks with their reasons.
A skip without a reason counts as a finding, like a failed check.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from feedbackctl.errors import FeedbackctlError

CHECKOV_ENV = "FEEDBACKCTL_CHECKOV"
CHECKOV_VENV = Path(__file__).resolve().parents[1] / ".venv-checkov" / "bin" / "checkov"
CHECKOV_TIMEOUT = 600
# checkov otherwise asks PyPI for a newer version and its platform for policy metadata.
_OFFLINE_ENV = {"CKV_SKIP_PACKAGE_UPDATE_CHECK": "true", "BC_SKIP_MAPPING": "TRUE"}


@dataclass(frozen=True)
class Finding:
    """One cfn-lint match."""

    rule: str
    severity: str
    message: str
    line: int
    path: str


@dataclass(frozen=True)
class CheckovCheck:
    """One failed or skipped checkov check; `reason` is the skip's justification."""

    check_id: str
    name: str
    resource: str
    line: int
    reason: str = ""


@dataclass(frozen=True)
class CheckovResult:
    version: str
    resources: int
    passed: int
    failed: tuple[CheckovCheck, ...]
    skipped: tuple[CheckovCheck, ...]
    parsing_errors: tuple[str, ...] = ()
    seconds: float = 0.0

    @property
    def unjustified(self) -> tuple[CheckovCheck, ...]:
        return tuple(s for s in self.skipped if not justified(s.reason))

    @property
    def clean(self) -> bool:
        return not (self.failed or self.unjustified or self.parsing_errors)


@dataclass(frozen=True)
class ValidationReport:
    """What `feedbackctl validate` prints: both linters' results for one rendered stack."""

    stage: str
    stack_name: str
    region: str
    cfn_lint_version: str
    cfn_lint_seconds: float
    findings: tuple[Finding, ...]
    checkov: CheckovResult

    @property
    def clean(self) -> bool:
        return not self.findings and self.checkov.clean

    def as_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "stack_name": self.stack_name,
            "region": self.region,
            "clean": self.clean,
            "cfn_lint": {
                "version": self.cfn_lint_version,
                "seconds": round(self.cfn_lint_seconds, 2),
                "findings": [asdict(f) for f in self.findings],
            },
            "checkov": {
                "version": self.checkov.version,
                "seconds": round(self.checkov.seconds, 2),
                "resources": self.checkov.resources,
                "passed": self.checkov.passed,
                "failed": [asdict(c) for c in self.checkov.failed],
                "skipped": [asdict(c) for c in self.checkov.skipped],
                "unjustified_skips": [asdict(c) for c in self.checkov.unjustified],
                "parsing_errors": list(self.checkov.parsing_errors),
            },
        }

    def summary_lines(self) -> list[str]:
        """The human summary: counts, every finding, every skip reason once."""
        c = self.checkov
        lines = [f"{self.stack_name} (stage {self.stage}, {self.region}): {c.resources} resources"]
        found = f"{len(self.findings)} finding(s)" if self.findings else "no findings"
        lines.append(f"cfn-lint {self.cfn_lint_version}: {found} ({self.cfn_lint_seconds:.1f} s)")
        lines += [f"  {f.rule} line {f.line} {f.path}: {f.message}" for f in self.findings]
        lines.append(
            f"checkov {c.version}: {c.passed} passed, {len(c.failed)} failed, "
            f"{len(c.skipped)} skipped ({c.seconds:.1f} s)"
        )
        lines += [f"  FAILED {k.check_id} {k.resource} (line {k.line}): {k.name}" for k in c.failed]
        lines += [
            f"  SKIPPED WITHOUT A REASON {k.check_id} {k.resource} (line {k.line})"
            for k in c.unjustified
        ]
        lines += [f"  PARSING ERROR {p}" for p in c.parsing_errors]
        lines += [
            f"  skip {check_id} x{count}: {reason}"
            for (check_id, reason), count in _grouped_skips(c.skipped)
        ]
        lines.append("clean" if self.clean else f"not clean: {self._problem_count()}")
        return lines

    def _problem_count(self) -> str:
        parts = [
            (len(self.findings), "cfn-lint finding(s)"),
            (len(self.checkov.failed), "failed checkov check(s)"),
            (len(self.checkov.unjustified), "skip(s) without a reason"),
            (len(self.checkov.parsing_errors), "checkov parsing error(s)"),
        ]
        return ", ".join(f"{n} {what}" for n, what in parts if n)


# What checkov reports for a skip written without a comment.
_NO_COMMENT = "No comment provided"


def justified(reason: str) -> bool:
    return reason.strip() not in ("", _NO_COMMENT)


def _grouped_skips(skipped: tuple[CheckovCheck, ...]) -> list[tuple[tuple[str, str], int]]:
    counts: dict[tuple[str, str], int] = {}
    for check in skipped:
        if justified(check.reason):
            key = (check.check_id, check.reason)
            counts[key] = counts.get(key, 0) + 1
    return sorted(counts.items(), key=lambda item: (_check_order(item[0][0]), item[0][1]))


def _check_order(check_id: str) -> tuple[str, int]:
    prefix, _, number = check_id.rpartition("_")
    return (prefix, int(number) if number.isdigit() else 0)


# --- cfn-lint ------------------------------------------------------------------------------


def cfn_lint_version() -> str:
    from cfnlint.version import __version__

    return str(__version__)


def run_cfn_lint(template_text: str, *, region: str) -> list[Finding]:
    """Every cfn-lint match (errors, warnings, informational) for the template in `region`."""
    from cfnlint.api import ManualArgs, lint

    matches = lint(template_text, config=ManualArgs(regions=[region]))
    return [
        Finding(
            rule=str(m.rule.id),
            severity=str(m.rule.severity),
            message=str(m.message),
            line=int(m.linenumber),
            path="/".join(str(p) for p in getattr(m, "path", None) or ()),
        )
        for m in matches
    ]


# --- checkov -------------------------------------------------------------------------------


def find_checkov() -> str:
    """FEEDBACKCTL_CHECKOV, else the project's .venv-checkov, else `checkov` on PATH."""
    override = os.environ.get(CHECKOV_ENV)
    if override:
        if not Path(override).is_file():
            raise FeedbackctlError(
                f"{CHECKOV_ENV} points at {override}, which is not a file",
                hint=f"fix or unset {CHECKOV_ENV}",
            )
        return override
    if CHECKOV_VENV.is_file():
        return str(CHECKOV_VENV)
    on_path = shutil.which("checkov")
    if on_path:
        return on_path
    raise FeedbackctlError(
        "checkov is not installed",
        hint=f"run scripts/setup-checkov.sh, or set {CHECKOV_ENV} to a checkov executable",
    )


class CheckovRun:
    """A checkov process scanning one template; `result()` waits and parses its JSON."""

    def __init__(self, template_path: Path, executable: str | None = None) -> None:
        command = [
            executable or find_checkov(),
            "--file",
            str(template_path),
            "--framework",
            "cloudformation",
            "--output",
            "json",
            "--skip-download",
        ]
        self._started = time.perf_counter()
        self._process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=template_path.parent,
            env={**os.environ, **_OFFLINE_ENV},
        )

    def result(self) -> CheckovResult:
        try:
            stdout, stderr = self._process.communicate(timeout=CHECKOV_TIMEOUT)
        except subprocess.TimeoutExpired as exc:
            self._process.kill()
            self._process.communicate()
            raise FeedbackctlError(
                f"checkov did not finish within {CHECKOV_TIMEOUT} s", hint="run it by hand"
            ) from exc
        seconds = time.perf_counter() - self._started
        # checkov exits 1 when a check failed; anything else besides 0 is checkov failing.
        if self._process.returncode not in (0, 1):
            raise FeedbackctlError(
                f"checkov exited with {self._process.returncode}: {_last_line(stderr)}",
                hint="run scripts/setup-checkov.sh again",
            )
        return parse_checkov_json(stdout, seconds=seconds)

    def cancel(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
        self._process.communicate()


def start_checkov(template_path: Path) -> CheckovRun:
    return CheckovRun(template_path)


def run_checkov(template_path: Path) -> CheckovResult:
    return start_checkov(template_path).result()


def parse_checkov_json(text: str, *, seconds: float = 0.0) -> CheckovResult:
    """checkov's `-o json` output (one report or a list of them) as a CheckovResult."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FeedbackctlError(
            f"checkov printed no JSON report: {_last_line(text)}", hint="run it by hand"
        ) from exc
    reports = data if isinstance(data, list) else [data]
    passed, resources = 0, 0
    failed: list[CheckovCheck] = []
    skipped: list[CheckovCheck] = []
    parsing_errors: list[str] = []
    version = "?"
    for report in reports:
        summary = report.get("summary", report)
        version = str(summary.get("checkov_version", version))
        resources += int(summary.get("resource_count", 0))
        results = report.get("results", {})
        passed += len(results.get("passed_checks", [])) or int(summary.get("passed", 0))
        failed += [_check(c) for c in results.get("failed_checks", [])]
        skipped += [_check(c) for c in results.get("skipped_checks", [])]
        parsing_errors += [str(p) for p in results.get("parsing_errors", [])]
    return CheckovResult(
        version=version,
        resources=resources,
        passed=passed,
        failed=tuple(failed),
        skipped=tuple(skipped),
        parsing_errors=tuple(parsing_errors),
        seconds=seconds,
    )


def _check(raw: dict[str, Any]) -> CheckovCheck:
    lines = raw.get("file_line_range") or [0]
    return CheckovCheck(
        check_id=str(raw.get("check_id", "?")),
        name=str(raw.get("check_name", "")),
        resource=str(raw.get("resource", "?")),
        line=int(lines[0]),
        reason=str((raw.get("check_result") or {}).get("suppress_comment") or ""),
    )


def _last_line(text: str) -> str:
    stripped = [line for line in text.strip().splitlines() if line.strip()]
    return stripped[-1][:300] if stripped else "(no output)"


# --- both ----------------------------------------------------------------------------------


def validate_template(
    template_text: str,
    template_path: Path,
    *,
    stage: str,
    stack_name: str,
    region: str,
    progress: Callable[[str], None] = lambda _: None,
) -> ValidationReport:
    """Lint a rendered template (already written to `template_path`) with both tools.

    checkov runs in the background while cfn-lint runs here, so the wall time is the slower
    of the two rather than their sum.
    """
    progress("running checkov…")
    checkov = start_checkov(template_path)
    progress("running cfn-lint…")
    started = time.perf_counter()
    try:
        findings = run_cfn_lint(template_text, region=region)
    except BaseException:
        checkov.cancel()
        raise
    lint_seconds = time.perf_counter() - started
    progress("waiting for checkov…")
    return ValidationReport(
        stage=stage,
        stack_name=stack_name,
        region=region,
        cfn_lint_version=cfn_lint_version(),
        cfn_lint_seconds=lint_seconds,
        findings=tuple(findings),
        checkov=checkov.result(),
    )
