"""`feedbackctl sentiment TEXT`: the label the platform gives a message, and why, with its renderer.

Classifies locally with the Lambda's own scorer (lambdas.common.sentiment); no AWS call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from feedbackctl.cli import options

if TYPE_CHECKING:
    from lambdas.common.sentiment import Analysis


def register(app: typer.Typer) -> None:
    @app.command("sentiment")
    def sentiment(
        text: str = typer.Argument(..., help='The message, or "-" to read it from stdin.'),
        as_json: bool = options.JSON,
    ) -> None:
        """Classify a feedback message as the platform does and show the words and rules that
        decided.

        Prints the label, the words' compound score in [-1, 1] (>= 0.05 positive, <= -0.05
        negative), each word or phrase that counted with its valence and where that valence
        comes from, and each rule that applied, so a surprising label can be understood and
        reported. When the label is not the score's (a complaint told as a fact, sarcasm), the
        last rule names the complaint model, what the words said and the features that decided.
        """
        import sys

        from feedbackctl.cli.console import Terminal
        from lambdas.common.sentiment import analyse

        result = analyse(sys.stdin.read() if text == "-" else text)
        term = Terminal()
        if as_json:
            term.json(as_dict(result))
        else:
            for line in render(result):
                term.data(line)


def as_dict(result: Analysis) -> dict[str, Any]:
    return {
        "label": result.label,
        "score": result.score,
        "words": [word._asdict() for word in result.words],
        "rules": list(result.rules),
    }


def render(result: Analysis) -> list[str]:
    """The label and score, then one line per word (valence, source) and per rule."""
    lines = [f"{result.label} (score {result.score:+.4f})"]
    if not result.words:
        lines.append("words: none carries sentiment")
    else:
        lines.append("words:")
        width = max(len(word.text) for word in result.words)
        lines += [f"  {w.text:<{width}}  {w.valence:+.3f}  {w.source}" for w in result.words]
    lines.append("rules:" if result.rules else "rules: none beyond the lexicon")
    lines += [f"  {rule}" for rule in result.rules]
    return lines
