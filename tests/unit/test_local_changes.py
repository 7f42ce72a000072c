"""What `deploy --stage local` decides about a template change before it touches anything
(feedbackctl.local.changes.plan): which API and index changes the running platform takes, and
which it names and refuses. On the rendered local template, changed as a developer would."""

from __future__ import annotations

import copy
import functools
from typing import Any

from feedbackctl.cfnyaml import load
from feedbackctl.config import load_config
from feedbackctl.local.changes import Change, normalised, plan
from feedbackctl.templating import render_stack


@functools.cache
def _rendered() -> dict[str, Any]:
    return normalised(load(render_stack(load_config().stage("local"))))


def template() -> dict[str, Any]:
    return copy.deepcopy(_rendered())


def by_id(changes: list[Change]) -> dict[str, Change]:
    return {c.logical_id: c for c in changes}


def feedback_table(t: dict[str, Any]) -> dict[str, Any]:
    props: dict[str, Any] = t["Resources"]["FeedbackTable"]["Properties"]
    return props


def with_index(t: dict[str, Any], name: str, attribute: str) -> dict[str, Any]:
    props = feedback_table(t)
    props["AttributeDefinitions"].append({"AttributeName": attribute, "AttributeType": "S"})
    props["GlobalSecondaryIndexes"].append(
        {
            "IndexName": name,
            "KeySchema": [{"AttributeName": attribute, "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "KEYS_ONLY"},
        }
    )
    return t


def test_one_index_added_or_removed_is_applied():
    old, new = template(), with_index(template(), "name-index", "name")
    added = by_id(plan(old, new))["FeedbackTable"]
    assert added.applicable
    assert added.note.endswith("index name-index created")
    removed = by_id(plan(new, old))["FeedbackTable"]
    assert removed.applicable
    assert removed.note.endswith("index name-index deleted")


def test_index_changes_dynamodb_or_cloudformation_would_refuse_are_named():
    old = template()
    two = with_index(with_index(template(), "name-index", "name"), "message-index", "messageKey")
    both = by_id(plan(old, two))["FeedbackTable"]  # one UpdateTable each, in turn
    assert both.applicable
    assert both.note.endswith("index name-index created, index message-index created")
    changed = template()
    feedback_table(changed)["GlobalSecondaryIndexes"][0]["Projection"] = {"ProjectionType": "ALL"}
    in_place = by_id(plan(old, changed))["FeedbackTable"]
    assert not in_place.applicable
    assert "index createdAt-index changed" in in_place.note
    retyped = template()
    feedback_table(retyped)["AttributeDefinitions"][-1]["AttributeType"] = "N"
    assert "changed its type" in by_id(plan(old, retyped))["FeedbackTable"].note
    keys = template()
    feedback_table(keys)["KeySchema"][0]["AttributeName"] = "status"
    assert not by_id(plan(old, keys))["FeedbackTable"].applicable


def test_api_methods_added_and_removed_are_served_by_the_gateway():
    old, new = template(), template()
    method = copy.deepcopy(new["Resources"]["HealthGetMethod"])
    method["Properties"]["HttpMethod"] = "HEAD"
    new["Resources"]["HealthHeadMethod"] = method
    del new["Resources"]["AnalyticsGetMethod"]
    changes = by_id(plan(old, new))
    assert changes["HealthHeadMethod"].action == "add"
    assert changes["AnalyticsGetMethod"].action == "remove"
    for logical_id in ("HealthHeadMethod", "AnalyticsGetMethod"):
        assert changes[logical_id].applicable
        assert changes[logical_id].note == "served by the local gateway from the new template"


def test_an_api_the_gateway_cannot_serve_where_it_serves_is_refused():
    old = template()
    moved = template()
    moved["Resources"]["ApiStage"]["Properties"]["StageName"] = "v2"
    stage = by_id(plan(old, moved))["ApiStage"]
    assert not stage.applicable
    assert "stage name became 'v2'" in stage.note
    broken = template()
    broken["Resources"]["HealthGetMethod"]["Properties"]["HttpMethod"] = ""
    method = by_id(plan(old, broken))["HealthGetMethod"]
    assert not method.applicable
    assert "the local gateway cannot serve the new API" in method.note


def test_a_platform_made_before_the_email_key_gets_it_and_never_loses_it():
    """A platform whose recorded stack predates EmailHashKey (a restored state folder) has the
    secret added by the next deploy or restart; a template without it keeps it (Retain)."""
    new = template()
    old = copy.deepcopy(new)
    del old["Resources"]["EmailHashKey"]
    added = by_id(plan(old, new))["EmailHashKey"]
    assert (added.action, added.applicable) == ("add", True)
    removed = by_id(plan(new, old))["EmailHashKey"]
    assert (removed.action, removed.applicable) == ("remove", True)
    assert removed.note == "kept (DeletionPolicy: Retain)"
