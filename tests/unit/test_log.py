"""Structured logging (lambdas.common.log): schema, levels, redaction."""

from __future__ import annotations

import io
import json

from lambdas.common.log import Logger, redact


def _lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(x) for x in stream.getvalue().splitlines()]


def test_lines_carry_powertools_keys():
    out = io.StringIO()
    log = Logger("create-feedback", stream=out, level="INFO")
    log.bind(cold_start=True, function_request_id="r-1", function_name="fn")
    log.info("stored", feedbackId="abc")
    [line] = _lines(out)
    assert line["level"] == "INFO"
    assert line["message"] == "stored"
    assert line["service"] == "create-feedback"
    assert line["location"].startswith("test_lines_carry_powertools_keys:")
    assert line["cold_start"] is True
    assert line["function_request_id"] == "r-1"
    assert line["timestamp"].endswith("Z")
    assert line["feedbackId"] == "abc"


def test_level_filters():
    out = io.StringIO()
    log = Logger("svc", stream=out, level="WARNING")
    log.info("hidden")
    log.debug("hidden")
    log.warning("shown")
    assert [x["message"] for x in _lines(out)] == ["shown"]


def test_emails_are_redacted_everywhere():
    out = io.StringIO()
    log = Logger("svc", stream=out)
    log.info("mail from bob@example.org failed", email="bob@example.org", nested={"to": ["x@y.io"]})
    text = out.getvalue()
    assert "example.org" not in text
    assert "x@y.io" not in text
    [line] = _lines(out)
    assert line["email"] == "[REDACTED]"
    assert line["message"] == "mail from [REDACTED_EMAIL] failed"


def test_exception_records_type_and_traceback():
    out = io.StringIO()
    log = Logger("svc", stream=out)
    try:
        raise KeyError("user a@b.co")
    except KeyError as exc:
        log.exception("boom", exc)
    [line] = _lines(out)
    assert line["level"] == "ERROR"
    assert line["errorType"] == "KeyError"
    assert "Traceback" in line["exception"]
    assert "a@b.co" not in line["exception"]


def test_redact_leaves_other_values_alone():
    assert redact({"rating": 5, "ok": True, "list": [1, "two"]}) == {
        "rating": 5,
        "ok": True,
        "list": [1, "two"],
    }
