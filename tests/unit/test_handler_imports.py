"""Cold start: importing a handler must not pull in CLI or test libraries."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HANDLERS = [
    "lambdas.create_feedback.handler",
    "lambdas.list_feedback.handler",
    "lambdas.get_analytics.handler",
    "lambdas.health.handler",
    "lambdas.stream_aggregator.handler",
    "lambdas.rollback_orchestrator.handler",
]
FORBIDDEN = (
    "typer",
    "rich",
    "click",
    "jinja2",
    "moto",
    "yaml",
    "aws_lambda_powertools",
    "vaderSentiment",
)


@pytest.mark.parametrize("module", HANDLERS)
def test_handler_imports_no_cli_or_test_library(module):
    code = (
        f"import importlib, json, sys; importlib.import_module({module!r}); "
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    loaded = set(
        json.loads(
            subprocess.run(
                [sys.executable, "-c", code], check=True, capture_output=True, text=True
            ).stdout
        )
    )
    assert loaded.isdisjoint(FORBIDDEN), loaded & set(FORBIDDEN)
    assert hasattr(__import__(module, fromlist=["lambda_handler"]), "lambda_handler")
