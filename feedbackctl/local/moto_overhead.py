"""Three of moto's per-request costs that change no answer, removed.

Measured with py-spy on the local platform under 16 clients (docs/local.md, "Figures"):

- Every request, moto 5.2 lists its handler class's methods with `inspect.getmembers` to see
  whether the action is one (2 % of the platform's CPU). A class's methods do not change while
  it serves: the list is kept per class.
- GetRecords answers are built by moto's model-driven serializer, which walks the service
  model for every attribute of every stream record (9 % of the platform's CPU: the stream
  aggregator reads every write). The records are already in DynamoDB's JSON shape, so they are
  written directly, with the serializer's two conversions: a timestamp as epoch seconds
  truncated to the millisecond (as its `_timestamp_unixtimestamp` does), binary as base64.
  `tests/functional/test_moto_overhead.py` compares the answers with and without this.
- Every conditional write, moto lexes and parses its ConditionExpression twice (once to check
  it, once to apply it; every POST is conditional). The
  syntax tree depends only on the expression, its names and its values, and moto evaluates it
  without changing it, so the tree is kept for the latest `PARSED_KEPT` distinct triples and
  shared; an expression that does not parse is parsed (and refused) every time.

One answer on that path is set right: moto answered an expression that does not parse, or
that uses a `#name` or `:value` the request does not define, with a 500 (botocore then retried
it). DynamoDB refuses it with a 400 ValidationException ("Invalid ConditionExpression: ...",
docs/local.md cites the documentation); `InvalidExpressionError` is that answer, and it is still a
ValueError, so moto's Scan and Query go on answering "Bad Filter Expression: ..." for theirs.

`install()` patches once per process; `uninstall()` puts moto's own code back (for the test).
"""

from __future__ import annotations

import base64
import calendar
import functools
import json
import threading
from datetime import datetime
from typing import Any

__all__ = ["install", "json_default", "uninstall"]

_lock = threading.Lock()
_originals: dict[str, Any] = {}
PARSED_KEPT = 512
# (expression, names, values) -> (tree, names found, values found), oldest first.
_parsed: dict[tuple[str, str, str], tuple[Any, list[str], list[str]]] = {}


@functools.cache  # one class: moto is imported when the patch is installed, not before
def _invalid_expression_type() -> type[Exception]:
    from moto.dynamodb.exceptions import MockValidationException

    class InvalidExpressionError(MockValidationException, ValueError):
        """DynamoDB's 400 for a condition that does not parse or names what is not defined;
        `str()` is the detail alone (moto's filter paths prefix their own words)."""

        def __init__(self, detail: str) -> None:
            super().__init__(f"Invalid ConditionExpression: {detail}")
            self.detail = detail

        def __str__(self) -> str:
            return self.detail

    return InvalidExpressionError


def _refusal(exc: Exception) -> Exception | None:
    """DynamoDB's refusal for what moto's parser raised, None when it is not one."""
    if isinstance(exc, KeyError) and exc.args and isinstance(exc.args[0], str):
        name = exc.args[0]
        if name.startswith(":"):
            detail = "An expression attribute value used in expression is not defined; "
            return _invalid_expression_type()(f"{detail}attribute value: {name}")
        if name.startswith("#"):
            detail = "An expression attribute name used in the document path is not defined; "
            return _invalid_expression_type()(f"{detail}attribute name: {name}")
        return None
    if isinstance(exc, ValueError):
        return _invalid_expression_type()(f"Syntax error; {exc}")
    return None


def _key_part(mapping: dict[str, Any] | None) -> str:
    return json.dumps(mapping, sort_keys=True, default=repr) if mapping else ""


def _parse_kept(parse: Any) -> Any:
    """moto's ConditionExpressionParser.parse, answered from the kept trees where it can."""

    def parse_kept(self: Any) -> Any:
        if not self.condition_expression:
            return parse(self)
        key = (
            self.condition_expression,
            _key_part(self.expression_attribute_names),
            _key_part(self.expression_attribute_values),
        )
        kept = _parsed.get(key)
        if kept is None:
            try:
                tree = parse(self)  # raises for what does not parse: nothing kept
            except (ValueError, KeyError) as exc:
                refusal = _refusal(exc)
                if refusal is None:
                    raise
                raise refusal from exc
            kept = (tree, list(self.expr_attr_names_found), list(self.expr_attr_values_found))
            with _lock:
                _parsed[key] = kept
                while len(_parsed) > PARSED_KEPT:
                    del _parsed[next(iter(_parsed))]
            return tree
        tree, names, values = kept
        self.expr_attr_names_found.extend(names)
        self.expr_attr_values_found.extend(values)
        return tree

    return parse_kept


def _epoch(value: datetime) -> int | float:
    """moto's serializer's unix timestamp: naive means UTC; milliseconds, truncated."""
    seconds = calendar.timegm(value.utctimetuple())
    return seconds + (value.microsecond // 1000) / 1000.0 if value.microsecond else seconds


def json_default(value: Any) -> Any:
    """A value JSON lacks, as AWS's JSON protocols carry it: a datetime as epoch seconds,
    bytes as base64."""
    if isinstance(value, datetime):
        return _epoch(value)
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def records_json(result: dict[str, Any]) -> str:
    """A GetRecords result (moto's backend answer) as the JSON body of its response."""
    return json.dumps(result, default=json_default)


def install() -> None:
    with _lock:
        if _originals:
            return
        from moto.core import responses as moto_responses
        from moto.dynamodb.comparisons import ConditionExpressionParser
        from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

        responses: Any = moto_responses  # its names are imported there, not exported
        _originals["method_names"] = responses.method_names_from_class
        _originals["parse"] = ConditionExpressionParser.parse
        ConditionExpressionParser.parse = _parse_kept(ConditionExpressionParser.parse)  # type: ignore[method-assign]
        _originals["get_records"] = DynamoDBStreamsHandler.get_records
        responses.method_names_from_class = functools.cache(responses.method_names_from_class)

        def get_records(self: Any) -> str:
            limit = self._get_param("Limit")
            result = self.backend.get_records(
                self._get_param("ShardIterator"), 1000 if limit is None else limit
            )
            return records_json(result)

        DynamoDBStreamsHandler.get_records = get_records  # type: ignore[assignment,method-assign]


def uninstall() -> None:
    with _lock:
        if not _originals:
            return
        from moto.core import responses as moto_responses
        from moto.dynamodb.comparisons import ConditionExpressionParser
        from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

        responses: Any = moto_responses
        responses.method_names_from_class = _originals.pop("method_names")
        ConditionExpressionParser.parse = _originals.pop("parse")  # type: ignore[method-assign]
        _parsed.clear()
        DynamoDBStreamsHandler.get_records = _originals.pop("get_records")  # type: ignore[method-assign]
