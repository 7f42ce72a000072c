"""`feedbackctl forget --email` against a moto server: one person's items created through the
API handler, found through the keyed-hash index (a Query, never a scan), tombstoned and
deleted; the aggregator takes them out of the counters exactly once; the request is recorded
without the address; `analytics verify` finds the figures equal to the table afterwards."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from feedbackctl.cli.app import app
from feedbackctl.sandbox import InvocationContext, StreamPump
from lambdas.common import identity
from lambdas.create_feedback import handler as create
from lambdas.stream_aggregator import handler as aggregator
from tests.conftest import scan_all
from tests.functional.data_stage import data_stage
from tests.functional.handlers import VALID, invoke, post_event

ADA = "Ada.Lovelace@Example.com"
OTHERS = ("grace@example.com", "alan@example.org")


@pytest.fixture
def stage(ddb, moto_endpoint, tmp_path, monkeypatch):
    for made in data_stage(ddb, moto_endpoint, tmp_path, monkeypatch, "fg"):
        yield made.names, made.pump


def submit(email: str, rating: int, message: str) -> None:
    body = {**VALID, "email": email, "rating": rating, "message": message}
    assert invoke(create, post_event(body))["statusCode"] == 201


def aggregate(pump: StreamPump) -> None:
    context = InvocationContext(function_name="stream-aggregator")
    records = pump.poll()
    if records:
        aggregator.lambda_handler({"Records": records}, context)


@pytest.fixture
def calls(monkeypatch):
    """The CLI's reads of the feedback table, by kind."""
    from feedbackctl.aws import tables

    made: list[str] = []
    for name, kind in (("query_page", "Query"), ("scan_page", "Scan")):
        real = getattr(tables, name)

        def counted(client, request, _real=real, _kind=kind):
            made.append(_kind)
            return _real(client, request)

        monkeypatch.setattr(tables, name, counted)
    return made


def run(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def test_forget_removes_every_item_of_the_address_and_the_figures_follow(stage, ddb, calls):
    names, pump = stage
    submit(ADA, 1, "It crashes every time")
    submit("ada.lovelace@EXAMPLE.COM", 2, "Still broken")  # the same person, written otherwise
    submit(OTHERS[0], 5, "Lovely")
    submit(ADA, 4, "Better now, thanks")
    submit(OTHERS[1], 3, "It works")
    aggregate(pump)
    assert run("analytics", "--json").exit_code == 0

    calls.clear()
    result = run("forget", "--email", "ada.lovelace@example.com", "--yes", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert sorted(r["rating"] for r in report["removed"]) == [1, 2, 4]
    assert report["itemsRead"] == 3  # the person's index entries: no scan
    assert "Scan" not in calls
    assert calls.count("Query") == 1

    left = scan_all(ddb, names.feedback_table)
    assert sorted(i["email"]["S"] for i in left) == sorted(OTHERS)
    aggregate(pump)  # the tombstones' MODIFY records, then the REMOVEs
    summary = json.loads(run("analytics", "--json").stdout)
    assert summary["totalFeedback"] == 2
    assert summary["ratings"] == {"1": 0, "2": 0, "3": 1, "4": 0, "5": 1}
    verify = run("analytics", "verify", "--json")
    assert verify.exit_code == 0, verify.output

    # The request is recorded; the address appears nowhere in what was written.
    [record] = [
        i
        for i in scan_all(ddb, names.analytics_table)
        if i["aggregateId"]["S"].startswith("forget#")
    ]
    assert record["itemsRemoved"] == {"N": "3"}
    written = json.dumps(scan_all(ddb, names.analytics_table)).lower()
    assert "lovelace" not in written
    # Neither part of the address, nor it whole (hex salts and ids may hold "ada" by chance).
    assert "ada." not in written
    assert "ada@" not in written
    assert "example.com" not in written
    again = run("forget", "--email", ADA, "--yes")
    assert again.exit_code == 0
    assert "no feedback from that address" in again.output


def test_a_dry_run_changes_nothing_and_says_how_many(stage, ddb):
    names, _ = stage
    submit(ADA, 5, "Great")
    result = run("forget", "--email", ADA, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "would delete 1 item(s)" in result.output
    assert len(scan_all(ddb, names.feedback_table)) == 1


def test_a_tombstone_strips_the_person_before_the_delete(stage, ddb):
    """The stream carries the tombstone's image: rating, sentiment and day, no name or address."""
    _, pump = stage
    submit(ADA, 3, "Meh")
    pump.poll()
    assert run("forget", "--email", ADA, "--yes").exit_code == 0
    modify, remove = pump.poll()
    image = modify["dynamodb"]["NewImage"]
    assert image["status"] == {"S": "forgotten"}
    assert {"name", "email", "message"}.isdisjoint(image)
    assert remove["eventName"] == "REMOVE"


@pytest.mark.parametrize("bad", ["not-an-address", "a@", ""])
def test_a_bad_address_is_one_line_and_exit_2(stage, bad):
    result = run("forget", "--email", bad, "--yes")
    assert result.exit_code == 2
    assert "is not an email address" in result.output
    assert "Traceback" not in result.output


def test_the_keyed_hash_needs_the_key():
    key_a, key_b = b"k" * 32, b"j" * 32
    assert identity.hash_with(key_a, ADA) == identity.hash_with(key_a, " ada.lovelace@EXAMPLE.com")
    assert identity.hash_with(key_a, ADA) != identity.hash_with(key_b, ADA)
