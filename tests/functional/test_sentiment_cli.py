"""`feedbackctl sentiment` through CliRunner: the label, the score, the words and rules that
decided, as text and as JSON, from an argument or from stdin."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from feedbackctl.cli.commands import sentiment as command
from lambdas.common import sentiment_complaints as complaints


def _app() -> typer.Typer:
    """The command alone, registered as the root registers every command module."""
    app = typer.Typer(add_completion=False, rich_markup_mode=None)
    command.register(app)

    @app.callback()
    def root() -> None:
        """feedbackctl"""

    return app


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Support never answered my ticket.",
            "negative (score -0.3612)\n"
            "words:\n"
            "  never     -0.200  negation prior\n"
            "  answered  -1.300  negated verb 'answered' (form, =ignored)\n"
            "rules:\n"
            "  phrase 'support' carries no sentiment here (form)\n"
            "  negated verb 'never … answered' -1.3 (form)\n",
        ),
        (
            "Please add an export to PDF",
            "neutral (score +0.0000)\n"
            "words: none carries sentiment\n"
            "rules:\n"
            "  request 'please add': VADER's words and the negation prior count for nothing\n",
        ),
        (
            "The meeting is at 3pm.",
            "neutral (score +0.0000)\n"
            "words: none carries sentiment\n"
            "rules: none beyond the lexicon\n",
        ),
    ],
)
def test_prints_the_label_score_words_and_rules(text, expected):
    result = CliRunner().invoke(_app(), ["sentiment", text])

    assert result.exit_code == 0
    assert result.stdout == expected


def test_a_complaint_the_model_read_names_the_model():
    result = CliRunner().invoke(
        _app(), ["sentiment", "My invoices still show last month after the update."]
    )

    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "negative (score +0.0000)"
    assert lines[1] == "words: none carries sentiment"
    assert lines[-1].startswith(
        "  complaint model: neutral by its words, a complaint by its shape (log-odds +"
    )
    assert "'still' +" in lines[-1]


def test_praise_the_model_overturned_says_what_the_words_said():
    # Sarcasm: positive by its words (score +0.34, below the words' sureness), negative by the
    # complaint model; the operator sees both, and the features that decided.
    result = CliRunner().invoke(
        _app(), ["sentiment", "--json", "Great, another update that logs me out every morning."]
    )

    assert result.exit_code == 0
    analysis = json.loads(result.stdout)
    assert (analysis["label"], analysis["score"]) == ("negative", 0.34)
    assert [w["text"] for w in analysis["words"]] == ["Great", "logs me out"]
    assert analysis["rules"][-1].startswith(
        "complaint model: positive by its words, a complaint by its shape "
        "(complaint over praise log-odds +"
    )
    assert f"> {complaints.OVERTURN:.1f}; heaviest: 'me out' +" in analysis["rules"][-1]


def test_json_carries_the_same_analysis():
    result = CliRunner().invoke(_app(), ["sentiment", "--json", "The app crashes constantly."])

    assert result.exit_code == 0
    assert json.loads(result.stdout) == {
        "label": "negative",
        "score": -0.4576,
        "words": [
            {
                "text": "crashes",
                "valence": -1.993,
                "source": "feedback lexicon (issue16, =crash)",
            }
        ],
        "rules": ["intensifier: 'constantly' strengthens 'crashes'"],
    }


def test_dash_reads_the_message_from_stdin():
    result = CliRunner().invoke(
        _app(), ["sentiment", "--json", "-"], input="It freezes every time I open settings.\n"
    )

    assert result.exit_code == 0
    assert json.loads(result.stdout)["label"] == "negative"


def test_a_missing_message_is_a_usage_error():
    result = CliRunner().invoke(_app(), ["sentiment"])

    assert result.exit_code == 2
