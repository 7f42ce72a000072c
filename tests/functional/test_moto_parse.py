"""A JSON request's parameters from the parser compiled per shape (feedbackctl.local.moto_parse)
are moto's own: every operation of the services the platform speaks JSON to, every member
filled, bodies as botocore serializes them; and malformed bodies raise what moto raises."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import botocore.session
import pytest
from botocore.serialize import create_serializer
from moto.core.parse import JSONParser
from moto.core.utils import get_service_model

from feedbackctl.local import moto_parse

SERVICES = ("dynamodb", "dynamodbstreams", "logs", "cloudwatch")
NESTING = 3  # how often a recursive shape (DynamoDB's AttributeValue) contains itself


def _sample(shape: Any, path: tuple[str, ...] = ()) -> Any:
    """A value for every member of `shape`, as a caller would pass it to botocore; a shape
    inside itself NESTING times is left empty."""
    kind = shape.type_name
    if kind == "structure":
        if path.count(shape.name) >= NESTING:
            return {}
        inside = (*path, shape.name)
        return {name: _sample(member, inside) for name, member in shape.members.items()}
    if kind == "list":
        return [_sample(shape.member, path) for _ in range(2)]
    if kind == "map":
        return {f"k{i}": _sample(shape.value, path) for i in range(2)}
    return {
        "string": "a text é",
        "integer": 7,
        "long": 2**40,
        "boolean": True,
        "double": 2.5,
        "float": 0.25,
        "blob": b"\x00\xffbinary",
        "timestamp": datetime(2026, 12, 3, 15, 4, 5, 250000, tzinfo=UTC),
    }.get(kind, "x")


def _requests() -> Iterator[tuple[str, str, bytes]]:
    """(service, operation, body) of every operation, each member filled."""
    session = botocore.session.get_session()
    for service in SERVICES:
        model = session.get_service_model(service)
        serializer = create_serializer("json", include_validation=False)
        for name in model.operation_names:
            operation = model.operation_model(name)
            params = {} if operation.input_shape is None else _sample(operation.input_shape)
            body = serializer.serialize_to_request(params, operation)["body"]
            yield service, name, body if isinstance(body, bytes) else body.encode()


def _parse(service: str, operation: str, body: bytes) -> Any:
    parser = JSONParser(get_service_model(service).operation_model(operation))
    request = {
        "method": "POST",
        "values": {},
        "headers": {},
        "body": body,
        "url_path": "/",
        "url_params": {},
    }
    try:
        return ("parsed", parser.parse(request))  # type: ignore[arg-type]
    except Exception as exc:  # noqa: BLE001 - what moto raises is part of the answer
        return ("raised", type(exc), str(exc))


def _both(service: str, operation: str, body: bytes) -> tuple[Any, Any]:
    moto_parse.uninstall()
    theirs = _parse(service, operation, body)
    moto_parse.install()
    return _parse(service, operation, body), theirs


@pytest.fixture(autouse=True)
def _installed() -> Iterator[None]:
    moto_parse.install()
    yield
    moto_parse.install()  # as the platform runs


def test_every_operation_parses_as_moto_parses_it() -> None:
    compared = 0
    for service, operation, body in _requests():
        mine, theirs = _both(service, operation, body)
        assert mine == theirs, (service, operation)
        assert repr(mine) == repr(theirs), (service, operation)  # the same types, in order
        compared += 1
    assert compared > 150  # every operation of the four services


def test_the_platforms_hot_requests_take_the_compiled_parser() -> None:
    """PutItem, TransactWriteItems, PutLogEvents and PutMetricData: compiled, not declined."""
    for service, operation in (
        ("dynamodb", "PutItem"),
        ("dynamodb", "TransactWriteItems"),
        ("dynamodbstreams", "GetRecords"),
        ("logs", "PutLogEvents"),
        ("cloudwatch", "PutMetricData"),
        ("cloudwatch", "GetMetricData"),
    ):
        shape = get_service_model(service).operation_model(operation).input_shape
        assert moto_parse.compiled(shape) is not None, (service, operation)


ITEM = {"pk": {"S": "a"}, "n": {"N": "1.5"}, "b": {"B": base64.b64encode(b"\x01").decode()}}


@pytest.mark.parametrize(
    "body",
    [
        {"TableName": "t", "Item": "not an object"},
        {"TableName": "t", "Item": {"pk": "not an attribute value"}},
        {"TableName": "t", "Item": {"pk": {"L": 5}}},
        {"TableName": "t", "Item": {"pk": {"M": ["a"]}}},
        {"TableName": "t", "Item": {"pk": {"B": "%%% not base64"}}},
        {"TableName": "t", "Item": {"pk": {"SS": "abc"}}},
        {"TableName": "t", "Item": {"pk": {"L": {"x": {"S": "y"}}}}},
        {"TableName": "t", "Item": {"pk": None, "q": {"NULL": True}}},
        {"TableName": "t", "Item": ITEM, "Unknown": 1, "ReturnValues": None},
        {"TableName": None},
        ["a list"],
        "a string",
    ],
)
def test_a_malformed_put_item_parses_or_raises_as_in_moto(body: Any) -> None:
    mine, theirs = _both("dynamodb", "PutItem", json.dumps(body).encode())
    assert mine == theirs


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        json.dumps({"Namespace": "n", "MetricData": [{"MetricName": "m", "Value": "abc"}]}),
        json.dumps({"Namespace": "n", "MetricData": [{"MetricName": "m", "Timestamp": "x"}]}),
        json.dumps({"Namespace": "n", "MetricData": [{"MetricName": "m", "Timestamp": 1.5e9}]}),
        json.dumps({"Namespace": "n", "MetricData": [{"MetricName": "m", "Counts": ["1", 2]}]}),
        json.dumps(
            {"Namespace": "n", "MetricData": [{"MetricName": "m", "StorageResolution": 1.9}]}
        ),
    ],
)
def test_a_malformed_put_metric_data_parses_or_raises_as_in_moto(body: Any) -> None:
    raw = body if isinstance(body, bytes) else body.encode()
    mine, theirs = _both("cloudwatch", "PutMetricData", raw)
    assert mine == theirs
