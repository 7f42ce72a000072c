"""The CloudWatch Logs filter pattern language (feedbackctl.filterpattern), pure.

The table follows AWS's documented examples and the platform's own log lines (docs/logging.md):
Powertools keys, redacted emails, the per-request `request` line, the WARNING health probe.
"""

from __future__ import annotations

import json

import pytest

from feedbackctl.filterpattern import FilterPatternError, compile_pattern


def line(**fields) -> str:
    return json.dumps(fields, separators=(",", ":"))


ERROR_LINE = line(
    level="ERROR",
    location="handle:110",
    message="unhandled error",
    timestamp="2026-11-25T10:05:00.123Z",
    service="create-feedback",
    cold_start=True,
    function_request_id="8d0c3c1e-1",
    function_version="7",
    errorType="KeyError",
    exception_name="KeyError",
    exception="Traceback (most recent call last):\nKeyError: 'user [REDACTED_EMAIL]'",
)
INFO_LINE = line(
    level="INFO",
    location="store:42",
    message="stored feedback from [REDACTED_EMAIL]",
    timestamp="2026-11-25T10:05:01.000Z",
    service="create-feedback",
    cold_start=False,
    function_request_id="8d0c3c1e-2",
    email="[REDACTED]",
    rating=5,
)
REQUEST_LINE = line(
    level="INFO",
    message="request",
    service="list-feedback",
    method="GET",
    path="/feedback",
    status=200,
    duration_ms=12.5,
    api_request_id="api-1",
)
SLOW_5XX_LINE = line(level="INFO", message="request", status=503, duration_ms=1250.0)
PROBE_LINE = line(
    level="WARNING", message="health check failed", reason="table unreachable", service="health"
)
NESTED_LINE = line(
    eventType="UpdateTrail",
    sourceIPAddress="111.111.111.111",
    arrayKey=["value", "another value"],
    objectList=[{"name": "a", "id": 1}, {"name": "b", "id": 2}],
    SomeObject=None,
    ThisFlag=True,
    user={"id": 1, "email": "John.Stiles@example.com"},
    users=[{"id": 2, "email": "John.Doe@example.com"}],
    actions=["GET", "PUT", "DELETE"],
    coordinates=[[0, 1, 2], [4, 5, 6]],
    latency="750",
)
PLATFORM_START = "START RequestId: 8d0c3c1e-1 Version: 7"
PLATFORM_REPORT = (
    "REPORT RequestId: 8d0c3c1e-1\tDuration: 12.50 ms\tBilled Duration: 13 ms\t"
    "Memory Size: 256 MB\tMax Memory Used: 81 MB"
)
ACCESS_LINE = '127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 404 1534'

CASES = [
    # --- the template's metric filter and the structured log lines -----------------------
    ('{ $.level = "ERROR" }', ERROR_LINE, True),
    ('{ $.level = "ERROR" }', INFO_LINE, False),
    ('{ $.level = "ERROR" }', PROBE_LINE, False),  # the health probe must never trip the alarm
    ('{ $.level = "ERROR" }', "ERROR something broke", False),  # not JSON: never a JSON match
    ('{ $.level = "ERROR" }', '["ERROR"]', False),  # JSON, but not an object
    ('{ $.level = "ERROR" }', '{"level": "ERROR"', False),  # truncated JSON
    ("{$.level=ERROR}", ERROR_LINE, True),  # spacing is free; alphanumeric values need no quotes
    ('{ $.level = "error" }', ERROR_LINE, False),  # case-sensitive
    ('{ $.level != "ERROR" }', INFO_LINE, True),
    ('{ $.level != "ERROR" }', ERROR_LINE, False),
    ('{ $.missing != "ERROR" }', INFO_LINE, False),  # a missing field matches no comparison
    ('{ $.level = "ERROR" || $.level = "WARNING" }', PROBE_LINE, True),
    ('{ $.level = "ERROR" && $.cold_start IS TRUE }', ERROR_LINE, True),
    ('{ $.level = "ERROR" && $.cold_start IS FALSE }', ERROR_LINE, False),
    ("{ $.cold_start IS FALSE }", INFO_LINE, True),
    ('{ $.service = "create-*" }', INFO_LINE, True),  # trailing wildcard
    ('{ $.function_request_id = "*-2" }', INFO_LINE, True),  # leading wildcard
    ('{ $.message = "*REDACTED*" }', INFO_LINE, True),  # both ends
    ('{ $.message = "*bob@example.org*" }', INFO_LINE, False),  # redacted before it was written
    ('{ $.email = "[REDACTED]" }', INFO_LINE, True),
    ('{ $.errorType = "KeyError" && $.exception = "Traceback*" }', ERROR_LINE, True),
    ("{ $.function_version = 7 }", ERROR_LINE, True),  # a numeric string equals the number
    ("{ $.rating = 5 }", INFO_LINE, True),
    ("{ $.rating != 5 }", INFO_LINE, False),
    ("{ $.rating >= 5 }", INFO_LINE, True),
    ("{ $.rating < 5 }", INFO_LINE, False),
    ("{ $.status >= 500 }", REQUEST_LINE, False),
    ("{ $.status >= 500 && $.duration_ms > 1e3 }", SLOW_5XX_LINE, True),  # scientific notation
    ("{ $.duration_ms <= 12.5 }", REQUEST_LINE, True),
    ("{ $.duration_ms > +12 }", REQUEST_LINE, True),
    ("{ $.duration_ms > -1 }", REQUEST_LINE, True),
    ('{ $.status = "2*" }', REQUEST_LINE, True),  # a number is matched by its text too
    ("{ $.duration_ms = * }", REQUEST_LINE, True),  # exists
    ("{ $.duration_ms = * }", PROBE_LINE, False),
    ("{ $.duration_ms NOT EXISTS }", PROBE_LINE, True),
    ("{ $.duration_ms NOT EXISTS }", REQUEST_LINE, False),
    ("{ $.message = %^health check (fail|pass)% }", PROBE_LINE, None),  # invalid: no groups
    ("{ $.message = %^health check fail% }", PROBE_LINE, True),
    ("{ $.message != %^health% }", PROBE_LINE, False),
    # --- AWS's documented JSON examples ---------------------------------------------------
    ('{ $.eventType = "UpdateTrail" }', NESTED_LINE, True),
    ("{ $.sourceIPAddress != 123.123.* }", NESTED_LINE, True),
    ('{ $.arrayKey[0] = "value" }', NESTED_LINE, True),
    ('{ $.arrayKey[1] = "another value" }', NESTED_LINE, True),
    ('{ $.arrayKey[2] = "value" }', NESTED_LINE, False),  # index out of range
    ("{ $.objectList[1].id = 2 }", NESTED_LINE, True),
    ("{ $.SomeObject IS NULL }", NESTED_LINE, True),
    ("{ $.ThisFlag IS NULL }", NESTED_LINE, False),
    ("{ $.SomeOtherObject NOT EXISTS }", NESTED_LINE, True),
    ("{ $.SomeObject NOT EXISTS }", NESTED_LINE, False),  # null is present
    ("{ $.ThisFlag IS TRUE }", NESTED_LINE, True),
    ('{ $.eventType = "*Trail" }', NESTED_LINE, True),
    ('{ $.eventType = "Up*Trail" }', NESTED_LINE, False),  # a '*' in the middle is literal
    ("{ $.users = 1 }", '{"users": [1, 2, 3]}', False),  # arrays are not value nodes
    ("{ $.users != 1 }", '{"users": [1, 2, 3]}', False),
    ("{ $.latency > 500 }", NESTED_LINE, True),  # a numeric string compares as a number
    ('{ ($.user.id = 1) && ($.users[0].email = "John.Doe@example.com") }', NESTED_LINE, True),
    (
        '{ ($.user.id = 2 && $.users[0].email = "nonmatch") || $.actions[2] = "GET" }',
        NESTED_LINE,
        False,
    ),
    (  # && binds tighter than ||
        '{ $.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch'
        " && $.actions[2] = nomatch }",
        NESTED_LINE,
        True,
    ),
    (
        '{ ($.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch)'
        " && $.actions[2] = nomatch }",
        NESTED_LINE,
        False,
    ),
    ("{ $.coordinates[1][2] = 6 }", NESTED_LINE, True),
    # --- terms, phrases, ?any, -exclusion ----------------------------------------------------
    ("", PLATFORM_START, True),
    ("   ", ERROR_LINE, True),
    ("ERROR", "[ERROR] A fatal exception has occurred", True),
    ("ERROR", "Exiting with ERRORCODE: -1", True),  # a term matches inside a word
    ("ERROR", "error: lower case", False),
    ("ERROR", ERROR_LINE, True),  # terms search the raw line, JSON or not
    ('"ERROR" - "Exiting"', "Exiting with ERRORCODE: -1", False),  # AWS's own spacing
    ("ERROR -Exiting", "[ERROR] A fatal exception has occurred", True),
    ("ERROR Exception", "[ERROR] Caught IllegalArgumentException", True),
    ("ERROR Exception", "[ERROR] Caught nothing", False),
    ('"unhandled error"', ERROR_LINE, True),
    ('"error unhandled"', ERROR_LINE, False),
    ("?ERROR ?WARN", "WARN message", True),
    ("?ERROR ?WARN", "INFO message", False),
    ("ERROR -WARN", "ERROR WARN message", False),
    ("ERROR WARN", "ERROR message", False),
    ("REPORT Duration", PLATFORM_REPORT, True),
    ('"RequestId: 8d0c3c1e-1"', PLATFORM_START, True),
    ("START -REPORT", PLATFORM_REPORT, False),
    ('?"Task timed out" ?"Runtime exited"', "2026-11-25 Task timed out after 3.00 seconds", True),
    # --- standalone regex -------------------------------------------------------------------
    ("%AUTHORIZED%", "[ERROR 401] UNAUTHORIZED REQUEST", True),
    ("%^START RequestId%", PLATFORM_START, True),
    ("%^START RequestId%", PLATFORM_REPORT, False),
    # --- space-delimited --------------------------------------------------------------------
    ("[ip, user, username, timestamp, request, status_code, bytes]", ACCESS_LINE, True),
    ("[ip, user, username, timestamp, request, status_code]", ACCESS_LINE, False),  # count
    ("[..., status_code, bytes]", ACCESS_LINE, True),
    ("[ip, user, ...]", ACCESS_LINE, True),
    ("[ip, user, ..., status_code = 404, bytes]", ACCESS_LINE, True),
    (
        "[ip, user, username, timestamp, request = *html*, status_code = 4*, bytes]",
        ACCESS_LINE,
        True,
    ),
    ("[..., request = *.gif*, status_code, bytes]", ACCESS_LINE, False),
    ("[..., status_code = 4* && status_code != 403, bytes > 1000]", ACCESS_LINE, True),
    ("[..., status_code = 4* && status_code != 404, bytes]", ACCESS_LINE, False),
    ("[..., status_code = 500 || status_code = 404, bytes]", ACCESS_LINE, True),
    ("[..., request = *.html*, status_code = 4*,]", ACCESS_LINE, True),  # AWS's example
    ("[..., request = *.html*, status_code = 4*]", ACCESS_LINE, False),  # one field short
    ("[w1 = ERROR || w1 = WARN, w2]", "WARN message", True),
    ("[w1 = ERROR || w1 = WARN, w2]", "INFO message", False),
]


@pytest.mark.parametrize(("pattern", "message", "expected"), CASES)
def test_pattern_table(pattern: str, message: str, expected: bool | None) -> None:
    if expected is None:
        with pytest.raises(FilterPatternError):
            compile_pattern(pattern)
        return
    assert compile_pattern(pattern).matches(message) is expected


def test_the_table_is_broad() -> None:
    assert len(CASES) >= 40


@pytest.mark.parametrize(
    ("pattern", "position", "reason"),
    [
        ('{ $.level = "ERROR"', 19, "expected '&&', '||' or '}'"),
        ("{ $.level = }", 12, "expected a value after '='"),
        ('{ $.level "ERROR" }', 10, "expected an operator"),
        ("{ level = 1 }", 2, "expected a selector"),
        ("{ $. = 1 }", 4, "expected a property name"),
        ("{ $.latency > slow }", 14, "'>' compares numbers"),
        ("{ $.a IS MAYBE }", 9, "expected NULL, TRUE or FALSE"),
        ("{ $.a NOT THERE }", 10, "expected EXISTS"),
        ("{ ($.a = 1 }", 11, "expected '&&', '||' or ')'"),
        ("{ }", 2, "empty JSON pattern"),
        ('{ $.a = "x" } extra', 14, "unexpected text after the closing '}'"),
        ("{ $.a = b@c }", 9, "expected '&&', '||' or '}'"),
        ('"unterminated', 0, "unterminated quoted string"),
        ("a=b", 1, "must be in double quotes"),
        ("ERROR -", 6, "'-' must be followed by a term"),
        ("%abc", 0, "unterminated regular expression"),
        ("%a% %b%", 4, "a regular expression must be the whole pattern"),
        ("{ $.a = %x% || $.b = %y% || $.c = %z% }", 34, "at most 2 regular expressions"),
        ("%[%", 0, "invalid regular expression"),
        ("[a, b", 5, "expected ',' or ']'"),
        ("[]", 1, "empty space-delimited pattern"),
        ("[a = 1 && ]", 10, "expected a field name"),
        ("{ $[0] = 1 }", 3, "an array index must follow a property"),
    ],
)
def test_invalid_patterns_name_the_position(pattern: str, position: int, reason: str) -> None:
    with pytest.raises(FilterPatternError) as caught:
        compile_pattern(pattern)
    assert caught.value.position == position
    assert reason in str(caught.value)
    assert f"(at position {position})" in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_match_exposes_json_values_for_metric_values() -> None:
    match = compile_pattern("{ $.duration_ms = * }").match(REQUEST_LINE)
    assert match is not None
    assert match.value("$.duration_ms") == 12.5
    assert match.value("$.nope") is None
    assert compile_pattern("").match("not json") is not None


def test_match_exposes_delimited_fields_by_name_and_position() -> None:
    match = compile_pattern("[ip, user, ..., status_code, bytes]").match(ACCESS_LINE)
    assert match is not None
    assert match.value("$bytes") == "1534"
    assert match.value("$status_code") == "404"
    assert match.value("$5") == "GET /index.html HTTP/1.0"  # quotes and brackets removed
    assert match.value("$4") == "10/Oct/2000:13:25:15 -0700"


def test_kind_and_text_are_kept() -> None:
    assert compile_pattern('{ $.level = "ERROR" }').kind == "json"
    assert compile_pattern("ERROR").kind == "terms"
    assert compile_pattern("%x%").kind == "regex"
    assert compile_pattern("[a, ...]").kind == "delimited"
    assert compile_pattern("").kind == "all"
    assert compile_pattern("ERROR").text == "ERROR"


def test_a_trailing_comma_is_one_more_unnamed_field() -> None:
    match = compile_pattern("[..., request = *.html*, status_code = 4*,]").match(ACCESS_LINE)
    assert match is not None
    assert match.value("$7") == "1534"
    assert match.value("$status_code") == "404"
