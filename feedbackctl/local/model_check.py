"""A request model's validity check compiled to plain Python, beside jsonschema's.

API Gateway validates a request body against its model, a JSON Schema draft 4; the local
gateway asks jsonschema's `Draft4Validator` (`apigateway.RestApi`). jsonschema walks the schema
anew for every body, building a validator object for every subschema it descends into
(`benchmarks/bench_local.py` prints the feedback model's check both ways). `compiled(schema)`
turns a schema into nested closures that answer `is_valid` as `Draft4Validator(schema)`
does, for schemas made of the keywords it knows; a schema using another of draft 4's keywords
(`$ref`, `enum`, `patternProperties` ...) gets None, and jsonschema answers for it.

The answers are jsonschema's by construction and by test: draft 4's types as jsonschema checks
them (a bool is not an integer or a number; 1.0 is a number, not an integer), `pattern` with
`re.search`, lengths in code points, `minimum`/`maximum` with draft 4's boolean exclusive forms,
`format` unchecked (jsonschema checks it only when given a format checker, which API Gateway's
validation is not given). `ModelValidator` pairs the check with jsonschema's validator, which
still words the errors of an invalid body.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

__all__ = ["ModelValidator", "compiled"]

Check = Callable[[Any], bool]

# The keywords `compiled` turns into checks; "format" is one too, answered as jsonschema answers
# it without a format checker (always valid). Draft 4's other keywords make a schema fall back.
_KNOWN = frozenset(
    {
        "type",
        "properties",
        "required",
        "additionalProperties",
        "maxLength",
        "minLength",
        "pattern",
        "minimum",
        "maximum",
        "not",
        "allOf",
        "anyOf",
        "oneOf",
        "items",
        "minItems",
        "maxItems",
        "format",
    }
)


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Number) and not isinstance(value, bool)


_TYPES: dict[str, Check] = {
    "array": lambda v: isinstance(v, list),
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "null": lambda v: v is None,
    "number": _is_number,
    "object": lambda v: isinstance(v, dict),
    "string": lambda v: isinstance(v, str),
}


class _UnsupportedError(Exception):
    """The schema uses a draft 4 keyword (or a form of one) the compiler does not know."""


def compiled(schema: Any) -> Check | None:
    """A function answering `Draft4Validator(schema).is_valid(instance)`, or None when the
    schema uses a keyword of draft 4 this module does not compile."""
    from jsonschema import Draft4Validator

    try:
        return _compile(schema, frozenset(Draft4Validator.VALIDATORS))
    except _UnsupportedError:
        return None


def _compile(schema: Any, draft4: frozenset[str]) -> Check:
    if not isinstance(schema, Mapping):
        raise _UnsupportedError(f"a schema that is not an object: {schema!r}")
    unknown = (set(schema) & draft4) - _KNOWN
    if unknown:
        raise _UnsupportedError(", ".join(sorted(unknown)))
    checks: list[Check] = []
    if "type" in schema:
        checks.append(_type(schema["type"]))
    checks += _object_checks(schema, draft4)
    checks += _string_checks(schema)
    checks += _number_checks(schema)
    checks += _array_checks(schema, draft4)
    checks += _combinations(schema, draft4)
    if not checks:
        return lambda _value: True
    if len(checks) == 1:
        return checks[0]
    every = tuple(checks)
    return lambda value: all(check(value) for check in every)


def _type(wanted: Any) -> Check:
    names = [wanted] if isinstance(wanted, str) else wanted
    if not isinstance(names, list) or not all(n in _TYPES for n in names):
        raise _UnsupportedError(f"type {wanted!r}")
    tests = tuple(_TYPES[n] for n in names)
    if len(tests) == 1:
        return tests[0]
    return lambda value: any(test(value) for test in tests)


def _object_checks(schema: Mapping[str, Any], draft4: frozenset[str]) -> Iterator[Check]:
    properties = schema.get("properties", {})
    required = schema.get("required", [])
    if not isinstance(properties, Mapping) or not isinstance(required, list):
        raise _UnsupportedError("properties or required")
    members = {name: _compile(sub, draft4) for name, sub in properties.items()}
    extra = _additional(schema.get("additionalProperties", True), draft4)
    if not members and not required and extra is None:
        return

    def check(value: Any) -> bool:
        if not isinstance(value, dict):
            return True
        if any(name not in value for name in required):
            return False
        for name, member in value.items():
            sub = members.get(name, extra)
            if sub is not None and not sub(member):
                return False
        return True

    yield check


def _additional(additional: Any, draft4: frozenset[str]) -> Check | None:
    """The check of a property no `properties` entry names; None: anything goes."""
    if additional is True:
        return None
    if additional is False:
        return lambda _value: False
    return _compile(additional, draft4)


def _string_checks(schema: Mapping[str, Any]) -> Iterator[Check]:
    if "maxLength" in schema:
        most = schema["maxLength"]
        yield lambda value: not isinstance(value, str) or len(value) <= most
    if "minLength" in schema:
        least = schema["minLength"]
        yield lambda value: not isinstance(value, str) or len(value) >= least
    if "pattern" in schema:
        pattern = re.compile(schema["pattern"])
        yield lambda value: not isinstance(value, str) or pattern.search(value) is not None


def _number_checks(schema: Mapping[str, Any]) -> Iterator[Check]:
    if "minimum" in schema:
        least = schema["minimum"]
        if schema.get("exclusiveMinimum", False):
            yield lambda value: not _is_number(value) or value > least
        else:
            yield lambda value: not _is_number(value) or value >= least
    if "maximum" in schema:
        most = schema["maximum"]
        if schema.get("exclusiveMaximum", False):
            yield lambda value: not _is_number(value) or value < most
        else:
            yield lambda value: not _is_number(value) or value <= most


def _array_checks(schema: Mapping[str, Any], draft4: frozenset[str]) -> Iterator[Check]:
    if "items" in schema:
        if not isinstance(schema["items"], Mapping):
            raise _UnsupportedError("items as a list (tuple validation)")
        item = _compile(schema["items"], draft4)
        yield lambda value: not isinstance(value, list) or all(item(v) for v in value)
    if "minItems" in schema:
        least = schema["minItems"]
        yield lambda value: not isinstance(value, list) or len(value) >= least
    if "maxItems" in schema:
        most = schema["maxItems"]
        yield lambda value: not isinstance(value, list) or len(value) <= most


def _combinations(schema: Mapping[str, Any], draft4: frozenset[str]) -> Iterator[Check]:
    if "not" in schema:
        negated = _compile(schema["not"], draft4)
        yield lambda value: not negated(value)
    for keyword, combine in _COMBINE.items():
        if keyword not in schema:
            continue
        if not isinstance(schema[keyword], list):
            raise _UnsupportedError(keyword)
        yield combine(tuple(_compile(sub, draft4) for sub in schema[keyword]))


def _all_of(parts: tuple[Check, ...]) -> Check:
    return lambda value: all(part(value) for part in parts)


def _any_of(parts: tuple[Check, ...]) -> Check:
    return lambda value: any(part(value) for part in parts)


def _one_of(parts: tuple[Check, ...]) -> Check:
    return lambda value: sum(1 for part in parts if part(value)) == 1


_COMBINE: dict[str, Callable[[tuple[Check, ...]], Check]] = {
    "allOf": _all_of,
    "anyOf": _any_of,
    "oneOf": _one_of,
}


class ModelValidator:
    """`is_valid` by the compiled check when the schema has one, else by jsonschema;
    `iter_errors` by jsonschema (an invalid body's messages)."""

    def __init__(self, schema: Mapping[str, Any]) -> None:
        from jsonschema import Draft4Validator

        self._jsonschema = Draft4Validator(schema)
        self.check = compiled(schema)

    def is_valid(self, instance: Any) -> bool:
        if self.check is not None:
            return self.check(instance)
        return bool(self._jsonschema.is_valid(instance))

    def iter_errors(self, instance: Any) -> Any:
        return self._jsonschema.iter_errors(instance)
