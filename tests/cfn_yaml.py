"""Template helpers for tests: the product's CloudFormation YAML loader plus comparisons.

`!Ref X` becomes `{"Ref": "X"}`, `!GetAtt A.B` becomes `{"Fn::GetAtt": ["A", "B"]}` and every
other `!Tag` becomes `{"Fn::Tag": ...}`, the same shapes the long form has. `ref_text` turns a
resource expression into one comparable string, so tests can state ARNs as `${Table.Arn}`.
"""

from __future__ import annotations

from typing import Any

from feedbackctl.cfnyaml import CfnLoader, load, resources_of_type

__all__ = ["CfnLoader", "as_list", "load", "ref_text", "resources_of_type"]


def ref_text(value: Any) -> str:
    """`{"Ref": "X"}` → `${X}`, `{"Fn::GetAtt": ["X", "Arn"]}` → `${X.Arn}`, a Sub → its text."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((key, inner),) = value.items()
        if key == "Ref":
            return f"${{{inner}}}"
        if key == "Fn::GetAtt":
            return f"${{{inner[0]}.{inner[1]}}}"
        if key == "Fn::Sub" and isinstance(inner, str):
            return inner
    raise AssertionError(f"not a simple reference: {value!r}")


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
