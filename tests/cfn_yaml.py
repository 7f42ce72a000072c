"""Parses rendered CloudFormation YAML for tests, short intrinsic tags included.

`!Ref X` becomes `{"Ref": "X"}`, `!GetAtt A.B` becomes `{"Fn::GetAtt": ["A", "B"]}` and every
other `!Tag` becomes `{"Fn::Tag": ...}`, the same shapes the long form has. `ref_text` turns a
resource expression into one comparable string, so tests can state ARNs as `${Table.Arn}`.
"""

from __future__ import annotations

from typing import Any

import yaml


class CfnLoader(yaml.SafeLoader):
    """SafeLoader that also understands CloudFormation's short-form intrinsic tags."""


def _construct(loader: CfnLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        resource, _, attribute = value.partition(".")
        return {"Fn::GetAtt": [resource, attribute]}
    return {f"Fn::{suffix}": value}


CfnLoader.add_multi_constructor("!", _construct)


def load(text: str) -> dict[str, Any]:
    template: dict[str, Any] = yaml.load(text, Loader=CfnLoader)
    return template


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


def resources_of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {
        name: resource
        for name, resource in template["Resources"].items()
        if resource["Type"] == kind
    }


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
