"""`feedbackctl demo`: run the platform's handlers end to end on a local moto server."""

from __future__ import annotations

import json
from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo(
        count: int = typer.Option(12, "--count", min=1, max=500, help="Feedback items to submit."),
        dataset: Path | None = typer.Option(
            None, "--dataset", help="A TSV of id, rating (-4..4), text to draw messages from."
        ),
        as_json: bool = typer.Option(False, "--json", help="Print every step as JSON on stdout."),
    ) -> None:
        """Run every handler for real against moto on 127.0.0.1: submit, aggregate, list."""
        from feedbackctl.cli.console import Terminal
        from feedbackctl.demo import run_demo

        term = Terminal()
        steps = []
        for step in run_demo(count, dataset):
            steps.append({"step": step.title, "status": step.status, "body": step.body})
            if not as_json:
                _render(term, step.title, step.status, step.body)
        if as_json:
            term.json(steps)


def _render(term: object, title: str, status: int | None, body: object) -> None:
    from feedbackctl.cli.console import Terminal

    assert isinstance(term, Terminal)
    if status is None:
        term.status(f"• {title}")
        return
    colour = "green" if status < 400 else "yellow"
    term.out.print(f"[{colour}]{status}[/{colour}] [bold]{title}[/bold]")
    if isinstance(body, dict) and "items" in body:
        for item in body["items"]:
            term.out.print(f"    {item['rating']}★ {item['sentiment']:<8} ", end="")
            term.out.print(item["message"][:70], markup=False)
        return
    if isinstance(body, dict) and "daily" in body:
        body = {k: v for k, v in body.items() if k != "daily"}
    term.out.print("    " + json.dumps(body, ensure_ascii=False)[:300], markup=False)
