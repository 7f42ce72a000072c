"""The submission rules (lambdas.common.validation), pure."""

from __future__ import annotations

import pytest

from lambdas.common.validation import feedback_json_schema, validate_feedback

VALID = {"name": "Ada", "email": "ada@example.com", "rating": 3, "message": "Fine."}


def test_valid_submission_is_trimmed():
    feedback, errors = validate_feedback({**VALID, "name": "  Ada ", "message": "\tFine.\n"})
    assert errors == []
    assert feedback is not None
    assert (feedback.name, feedback.message) == ("Ada", "Fine.")


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("name", "x" * 101, "must be at most 100 characters"),
        ("name", "", "must not be empty"),
        ("name", "a\tb", "must not contain control characters"),
        ("email", "a@b", "must be a valid email address"),
        ("email", 7, "must be a string"),
        ("rating", True, "must be an integer"),
        ("rating", 5.0, "must be an integer"),
        ("rating", 0, "must be between 1 and 5"),
        ("message", "x" * 2001, "must be at most 2000 characters"),
        ("message", "\u0085", "must not contain control characters"),
    ],
)
def test_field_problems_are_named(field, value, problem):
    feedback, errors = validate_feedback({**VALID, field: value})
    assert feedback is None
    assert [(e.field, e.problem) for e in errors] == [(field, problem)]


@pytest.mark.parametrize("value", ["x", "x" * 100, "Zoë Ñandú", "李小龍"])
def test_names_at_the_limits_are_accepted(value):
    assert validate_feedback({**VALID, "name": value})[1] == []


def test_message_may_span_lines():
    assert validate_feedback({**VALID, "message": "line one\nline two\r\n\ttabbed"})[1] == []


def test_boundaries_are_exact():
    assert validate_feedback({**VALID, "message": "m" * 2000})[1] == []
    assert validate_feedback({**VALID, "rating": 1})[1] == []
    assert validate_feedback({**VALID, "rating": 5})[1] == []
    local = "a" * 64
    assert validate_feedback({**VALID, "email": f"{local}@example.com"})[1] == []
    assert validate_feedback({**VALID, "email": f"{local}a@example.com"})[1] != []


def test_schema_rejects_unknown_fields_and_requires_all():
    schema = feedback_json_schema()
    assert schema["additionalProperties"] is False
    assert sorted(schema["required"]) == ["email", "message", "name", "rating"]
    assert schema["properties"]["rating"] == {"type": "integer", "minimum": 1, "maximum": 5}
