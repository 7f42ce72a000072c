"""`feedbackctl render`: one stage's CloudFormation template, to stdout or a file.

Rendering is pure (no AWS calls, no linters) and takes milliseconds; `validate` lints the result.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

StageOption = Annotated[
    str | None,
    typer.Option(
        "--stage", "-s", help="Stage in feedbackctl.toml (default: project.default_stage)."
    ),
]
OutputOption = Annotated[
    Path | None,
    typer.Option(
        "--output", "-o", dir_okay=False, help="Write the template to this file, not stdout."
    ),
]


def register(app: typer.Typer) -> None:
    app.command("render")(render)


def render(stage: StageOption = None, output: OutputOption = None) -> None:
    """Render the stage's CloudFormation template (YAML)."""
    import time

    from feedbackctl.cli.console import Terminal
    from feedbackctl.config import load_config
    from feedbackctl.errors import UsageError
    from feedbackctl.templating import render_stack

    config = load_config().stage(stage)
    started = time.perf_counter()
    text = render_stack(config)
    elapsed_ms = (time.perf_counter() - started) * 1000
    if output is None:
        # Written as is: the console wrapper's rich printing could rewrite `:name:` emoji codes.
        typer.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(
            f"cannot write {output}: {exc.strerror}", hint="pick a writable path"
        ) from exc
    Terminal().success(
        f"wrote {output}: stack {config.stack_name} (stage {config.name}), "
        f"{len(text.splitlines())} lines, rendered in {elapsed_ms:.0f} ms"
    )
