"""Several new indexes on an existing table are added one per stack update (CloudFormation
makes one GSI creation or deletion per table per update): the intermediate templates."""

from __future__ import annotations

from typing import Any

from feedbackctl.cfnyaml import load
from feedbackctl.config import load_config
from feedbackctl.index_steps import index_steps, table_names
from feedbackctl.templating import render_stack


def rendered() -> dict[str, Any]:
    return load(render_stack(load_config().stage("dev")))


def indexes(template: dict[str, Any], logical: str) -> list[str]:
    props = template["Resources"][logical]["Properties"]
    return [i["IndexName"] for i in props.get("GlobalSecondaryIndexes") or []]


def test_each_step_adds_one_more_index_and_defines_only_key_attributes():
    template = rendered()
    final = indexes(template, "FeedbackTable")
    assert len(final) >= 3
    live = {"FeedbackTable": {final[0]}, "AnalyticsTable": set(), "LedgerTable": set()}
    steps = index_steps(template, live)
    assert len(steps) == len(final) - 2  # the last one comes with the full template
    for number, step in enumerate(steps, 1):
        assert indexes(step, "FeedbackTable") == final[: number + 1]
        props = step["Resources"]["FeedbackTable"]["Properties"]
        keys = {k["AttributeName"] for k in props["KeySchema"]} | {
            k["AttributeName"] for i in props["GlobalSecondaryIndexes"] for k in i["KeySchema"]
        }
        assert {a["AttributeName"] for a in props["AttributeDefinitions"]} == keys
        # Everything else is the full template's.
        others = {k: v for k, v in step["Resources"].items() if k != "FeedbackTable"}
        assert others == {k: v for k, v in template["Resources"].items() if k != "FeedbackTable"}


def test_no_steps_when_a_table_gains_one_index_or_is_new():
    template = rendered()
    final = indexes(template, "FeedbackTable")
    assert index_steps(template, {"FeedbackTable": set(final[:-1])}) == []
    assert index_steps(template, {}) == []  # a new table is created with all its indexes
    assert table_names(template)["FeedbackTable"] == "feedback-dev-feedback"
