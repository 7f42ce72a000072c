"""Stack updates that add several global secondary indexes to a table, one index at a time.

CloudFormation "can only perform one GSI creation or deletion per update" on a DynamoDB table
(AWS::DynamoDB::Table, GlobalSecondaryIndexes). A release that adds two indexes to an existing
table would fail its change set; `index_steps` gives the intermediate templates that add them
one per table per update, so the deploy applies them in turn and then the full template. Pure:
the live indexes come from DescribeTable (feedbackctl.deploy).
"""

from __future__ import annotations

import copy
from typing import Any

TABLE = "AWS::DynamoDB::Table"


def table_names(template: dict[str, Any]) -> dict[str, str]:
    """Logical id -> TableName of the template's tables whose name is a literal."""
    return {
        logical: str(resource["Properties"]["TableName"])
        for logical, resource in (template.get("Resources") or {}).items()
        if resource.get("Type") == TABLE
        and isinstance((resource.get("Properties") or {}).get("TableName"), str)
    }


def _key_attributes(props: dict[str, Any]) -> set[str]:
    schemas = [props.get("KeySchema") or []]
    for kind in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        schemas += [index.get("KeySchema") or [] for index in props.get(kind) or []]
    return {key["AttributeName"] for schema in schemas for key in schema}


def index_steps(template: dict[str, Any], live: dict[str, set[str]]) -> list[dict[str, Any]]:
    """The templates to apply before `template`, each adding at most one more new index per
    table; [] when no table gains more than one. `live` maps the logical id of each existing
    table to the names of its indexes now (a table not there is created whole)."""
    pending: dict[str, list[str]] = {}
    for logical, resource in (template.get("Resources") or {}).items():
        if resource.get("Type") != TABLE or logical not in live:
            continue
        indexes = (resource.get("Properties") or {}).get("GlobalSecondaryIndexes") or []
        new = [i["IndexName"] for i in indexes if i["IndexName"] not in live[logical]]
        if len(new) > 1:
            pending[logical] = new
    steps = []
    for added in range(1, max((len(new) for new in pending.values()), default=1)):
        step = copy.deepcopy(template)
        for logical, new in pending.items():
            props = step["Resources"][logical]["Properties"]
            later = set(new[added:])
            props["GlobalSecondaryIndexes"] = [
                i for i in props["GlobalSecondaryIndexes"] if i["IndexName"] not in later
            ]
            # AttributeDefinitions may name only key attributes of the table and its indexes.
            used = _key_attributes(props)
            props["AttributeDefinitions"] = [
                a for a in props["AttributeDefinitions"] if a["AttributeName"] in used
            ]
        steps.append(step)
    return steps
