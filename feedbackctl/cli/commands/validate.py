"""`feedbackctl validate`: render a stage, lint it with cfn-lint and checkov, summarise.

Exit 0 when both are clean, 1 on any cfn-lint finding, failed checkov check or skip without a
reason. The summary (or `--json`) goes to stdout, progress to stderr.
"""

from __future__ import annotations

from typing import Annotated

import typer

from feedbackctl.cli.commands.render import StageOption

JsonOption = Annotated[bool, typer.Option("--json", help="Print the report as JSON.")]


def register(app: typer.Typer) -> None:
    app.command("validate")(validate)


def validate(stage: StageOption = None, as_json: JsonOption = False) -> None:
    """Render the stage's template and run cfn-lint and checkov on it."""
    import tempfile
    from pathlib import Path

    from feedbackctl.cli.console import Terminal
    from feedbackctl.config import load_config
    from feedbackctl.lint import validate_template
    from feedbackctl.templating import render_stack

    term = Terminal()
    config = load_config().stage(stage)
    text = render_stack(config)
    with tempfile.TemporaryDirectory(prefix="feedbackctl-validate-") as directory:
        path = Path(directory) / f"{config.stack_name}.yaml"
        path.write_text(text, encoding="utf-8")
        report = validate_template(
            text,
            path,
            stage=config.name,
            stack_name=config.stack_name,
            region=config.region,
            progress=term.status,
        )
    if as_json:
        term.json(report.as_dict())
    else:
        for line in report.summary_lines():
            term.data(line)
    if not report.clean:
        raise typer.Exit(1)
