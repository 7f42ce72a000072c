"""One AWS boundary: only the modules that wrap AWS import boto3 or botocore, or call an AWS
operation on a client.

Every module under feedbackctl/ and lambdas/ is parsed (nothing is imported, so a lazy import
inside a function counts as much as one at the top). The boundary is the CLI side's
feedbackctl/aws/ package (sessions, error classification and the domain verbs: stacks,
functions, objects, tables, logs, alarms ...), the engine's ports shipped in the orchestrator's
zip, the local platform (an AWS emulator over moto) and the sandbox; the Lambda handlers keep
their own lean clients. Everything else calls a verb of feedbackctl.aws with a client it was
handed, or a method of the engine's ports.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SDK = {"boto3", "botocore"}
BOUNDARY = (
    "feedbackctl/aws/",
    "feedbackctl/engine/aws_ports.py",
    "feedbackctl/engine/ledger.py",
    "feedbackctl/engine/evidence.py",
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


# Every operation of the services feedbackctl uses, as boto3 names its client methods.
SERVICES = (
    "apigateway",
    "cloudformation",
    "cloudfront",
    "cloudwatch",
    "dynamodb",
    "dynamodbstreams",
    "iam",
    "lambda",
    "logs",
    "s3",
    "sns",
    "sqs",
    "sts",
)
# Receivers whose methods share a name with an AWS operation but are not AWS clients: Jinja's
# Environment.get_template and click's Command.invoke.
NOT_CLIENTS = {"env", "_environment(where)", "super()"}


def _operations() -> frozenset[str]:
    import botocore.session
    from botocore import xform_name

    session = botocore.session.get_session()
    names = {"get_paginator", "get_waiter"}
    for service in SERVICES:
        names |= {xform_name(op) for op in session.get_service_model(service).operation_names}
    return frozenset(names)


def _verb_modules(tree: ast.Module) -> set[str]:
    """Names bound to modules of the boundary package (`from feedbackctl.aws import stacks`)."""
    bound = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("feedbackctl.aws"):
            bound |= {alias.asname or alias.name for alias in node.names}
    return bound


def _aws_calls(path: Path, operations: frozenset[str]) -> list[str]:
    """`line: receiver.operation` for each AWS operation called outside a verb or a port."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    verbs = _verb_modules(tree)
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr not in operations:
            continue
        receiver = ast.unparse(node.func.value)
        if receiver in verbs or receiver in NOT_CLIENTS or "ports" in receiver.split("."):
            continue
        found.append(f"{node.lineno}: {receiver}.{node.func.attr}")
    return found


def test_only_the_boundary_calls_aws_operations():
    operations = _operations()
    offenders = {
        rel: calls
        for path in _modules()
        if not (rel := path.relative_to(ROOT).as_posix()).startswith(BOUNDARY)
        and (calls := _aws_calls(path, operations))
    }
    assert offenders == {}, "call a verb of feedbackctl.aws instead: " + "; ".join(
        f"{rel} line {call}" for rel, calls in offenders.items() for call in calls
    )


def test_the_call_check_sees_raw_client_calls_and_spares_verbs(tmp_path):
    module = tmp_path / "offender.py"
    module.write_text(
        "from feedbackctl.aws import stacks\n"
        "def f(c, s3):\n"
        "    stacks.create_change_set(c.cfn, 'name')\n"
        "    s3.put_object(Bucket='b', Key='k', Body=b'')\n"
        "    c.lambda_.get_paginator('list_versions_by_function')\n"
        "    self.ports.lambda_.update_alias('f', '2', 'rev')\n"
    )
    assert _aws_calls(module, _operations()) == [
        "4: s3.put_object",
        "5: c.lambda_.get_paginator",
    ]


def test_the_walk_covers_the_cli_the_engine_and_the_handlers():
    seen = {path.relative_to(ROOT).as_posix() for path in _modules()}
    assert {
        "feedbackctl/operations.py",
        "feedbackctl/engine/incident.py",
        "lambdas/rollback_orchestrator/handler.py",
    } <= seen
