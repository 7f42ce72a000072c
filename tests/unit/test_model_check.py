"""The compiled model check (feedbackctl/local/model_check.py) answers as jsonschema's
Draft4Validator: on the feedback model with the bodies a client sends or gets wrong, and on
schemas using each keyword it compiles, over seeded random JSON values."""

from __future__ import annotations

import random
from typing import Any

import pytest
from jsonschema import Draft4Validator

from feedbackctl.local.model_check import ModelValidator, compiled
from feedbackctl.templating import feedback_json_schema

VALID = {"name": "Ada", "email": "ada@example.com", "rating": 4, "message": "Works well."}


def _bodies() -> list[Any]:
    bodies: list[Any] = [VALID, {}, [], "text", 4, None, True, [VALID]]
    for field in VALID:
        bodies.append({k: v for k, v in VALID.items() if k != field})  # one field missing
    for rating in (0, 1, 5, 6, -1, 4.0, 4.5, True, False, "4", None, 10**30):
        bodies.append({**VALID, "rating": rating})
    for name in ("", " ", "A" * 100, "A" * 101, "Ada\u0000", "Ada\u200b", "\u00ad", "Zoë", 7):
        bodies.append({**VALID, "name": name})
    for email in ("a@b", "a@b.co", "no-at.example.com", "a@@b.co", "é@b.co", "a@b.co ", ""):
        bodies.append({**VALID, "email": email})
    for message in ("", "x" * 2000, "x" * 2001, "line\nbreak", "tab\there", "\u202e", [1]):
        bodies.append({**VALID, "message": message})
    bodies.append({**VALID, "extra": 1})  # additionalProperties: false
    bodies.append({**VALID, "rating": {"nested": [1, 2]}})
    return bodies


def test_the_feedback_model_is_compiled_and_answers_as_jsonschema() -> None:
    schema = feedback_json_schema()
    check = compiled(schema)
    assert check is not None
    reference = Draft4Validator(schema)
    answers = [(check(body), reference.is_valid(body)) for body in _bodies()]
    assert [fast for fast, _ in answers] == [slow for _, slow in answers]
    assert any(fast for fast, _ in answers)
    assert not all(fast for fast, _ in answers)


KEYWORD_SCHEMAS: list[dict[str, Any]] = [
    {"type": "integer"},
    {"type": "number", "minimum": 1, "maximum": 3},
    {"type": ["string", "null"], "minLength": 2, "maxLength": 3},
    {"minimum": 1, "exclusiveMinimum": True, "maximum": 3, "exclusiveMaximum": True},
    {"pattern": "^a+b?$"},
    {"format": "email"},  # unchecked without a format checker
    {"type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": 2},
    {"required": ["a"], "properties": {"a": {"type": "boolean"}}},
    {"properties": {"a": {"type": "string"}}, "additionalProperties": {"type": "integer"}},
    {"properties": {"a": {}}, "additionalProperties": False},
    {"not": {"type": "object"}},
    {"allOf": [{"type": "number"}, {"minimum": 0}]},
    {"anyOf": [{"type": "string"}, {"type": "integer"}]},
    {"oneOf": [{"type": "number"}, {"type": "integer"}]},
    {"type": "object", "title": "annotations only", "description": "x", "default": {}},
]


def _value(rng: random.Random, depth: int = 0) -> Any:
    kinds = ["int", "float", "bool", "null", "str"] + (["list", "dict"] if depth < 3 else [])
    kind = rng.choice(kinds)
    if kind == "int":
        return rng.choice([0, 1, 2, 3, 4, -1, 10**20])
    if kind == "float":
        return rng.choice([0.5, 1.0, 2.0, 3.0, 2.5, -0.0])
    if kind == "bool":
        return rng.choice([True, False])
    if kind == "null":
        return None
    if kind == "str":
        return rng.choice(["", "a", "ab", "aab", "abc", "b", "é", "a\n", "aaaa"])
    if kind == "list":
        return [_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    keys = rng.sample(["a", "b", "c"], rng.randrange(4))
    return {key: _value(rng, depth + 1) for key in keys}


@pytest.mark.parametrize("schema", KEYWORD_SCHEMAS, ids=lambda s: ",".join(sorted(s)))
def test_each_keyword_answers_as_jsonschema(schema: dict[str, Any]) -> None:
    check = compiled(schema)
    assert check is not None
    reference = Draft4Validator(schema)
    rng = random.Random(16)
    values = [_value(rng) for _ in range(400)]
    mismatches = [v for v in values if check(v) != reference.is_valid(v)]
    assert mismatches == []
    assert len({check(v) for v in values}) == (1 if "format" in schema else 2)  # both answers


@pytest.mark.parametrize(
    "schema",
    [
        {"enum": [1, 2]},
        {"$ref": "#/definitions/x", "definitions": {"x": {}}},
        {"properties": {"a": {"uniqueItems": True}}},
        {"items": [{"type": "string"}]},
        {"dependencies": {"a": ["b"]}},
    ],
)
def test_a_schema_with_other_keywords_is_left_to_jsonschema(schema: dict[str, Any]) -> None:
    assert compiled(schema) is None
    validator = ModelValidator(schema)
    assert validator.check is None
    rng = random.Random(3)
    for value in (_value(rng) for _ in range(50)):
        assert validator.is_valid(value) == Draft4Validator(schema).is_valid(value)


def test_the_validator_still_words_the_errors_with_jsonschema() -> None:
    validator = ModelValidator(feedback_json_schema())
    body = {**VALID, "rating": 9}
    assert not validator.is_valid(body)
    assert [e.message for e in validator.iter_errors(body)] == [
        "9 is greater than the maximum of 5"
    ]
