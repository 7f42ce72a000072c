"""One AWS boundary: only the modules that wrap AWS import boto3 or botocore.

Every module under feedbackctl/ and lambdas/ is parsed (nothing is imported, so a lazy import
inside a function counts as much as one at the top). The boundary is the CLI side's
feedbackctl/aws.py, the engine's two boto3-touching files shipped in the orchestrator's zip,
the local platform (an AWS emulator over moto) and the sandbox; the Lambda handlers keep their
own lean clients. Everything else goes through feedbackctl.aws (error_code, is_not_found, the
re-exported ClientError) or takes its clients injected.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SDK = {"boto3", "botocore"}
BOUNDARY = (
    "feedbackctl/aws.py",
    "feedbackctl/aws/",  # if the boundary grows into a package
    "feedbackctl/engine/aws_ports.py",
    "feedbackctl/engine/ledger.py",
    "feedbackctl/local/",
    "feedbackctl/sandbox.py",
    "lambdas/",
)


def _sdk_imports(path: Path) -> list[str]:
    """`line: statement` for each import of boto3 or botocore in the file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
        else:
            continue
        if any(m.split(".")[0] in SDK for m in modules):
            found.append(f"{node.lineno}: {ast.unparse(node)}")
    return found


def _modules() -> list[Path]:
    return sorted(
        path
        for package in ("feedbackctl", "lambdas")
        for path in (ROOT / package).rglob("*.py")
        if "__pycache__" not in path.parts
    )


def test_only_the_boundary_imports_boto3_or_botocore():
    offenders = {
        rel: imports
        for path in _modules()
        if not (rel := path.relative_to(ROOT).as_posix()).startswith(BOUNDARY)
        and (imports := _sdk_imports(path))
    }
    assert offenders == {}, "import boto3/botocore through feedbackctl.aws instead: " + "; ".join(
        f"{rel} line {line}" for rel, lines in offenders.items() for line in lines
    )


def test_the_check_sees_lazy_imports_and_names_the_offender(tmp_path):
    module = tmp_path / "offender.py"
    module.write_text(
        "def f():\n    from botocore.exceptions import ClientError\n    import boto3.session\n"
    )
    assert _sdk_imports(module) == [
        "2: from botocore.exceptions import ClientError",
        "3: import boto3.session",
    ]


def test_the_walk_covers_the_cli_the_engine_and_the_handlers():
    seen = {path.relative_to(ROOT).as_posix() for path in _modules()}
    assert {
        "feedbackctl/operations.py",
        "feedbackctl/engine/incident.py",
        "lambdas/rollback_orchestrator/handler.py",
    } <= seen
