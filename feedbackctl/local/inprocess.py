"""boto3 clients of the platform's own engines that reach moto without a socket.

The log and metric shippers, the metric-filter and alarm engines and the stream poller run in
the platform's process, beside moto. Through HTTP each of their calls paid a loopback
connection's send and receive on both ends, waitress's parsing and a hand-off to one of its
threads, all in the process that serves the gateway and moto (under load, the CPU that process
has is what limits the request rate: docs/local.md, "Figures"). `connect(client, app)` makes a
client call moto's WSGI application directly instead: botocore still builds, signs and parses
every request as it would for AWS (its `before-send` event, which botocore's own Stubber uses,
hands it the prepared request), and moto sees the request a server would give it, through the
same durable-state journal, so answers, errors and what is kept are unchanged (`app` answers
what raises as the server does: `MotoServer.in_process`).

Only the engines' services go this way (IN_PROCESS_SERVICES): Logs and DynamoDB Streams speak
JSON posted to `/`, CloudWatch speaks RPC v2 CBOR posted to its operation's path; none has path
parameters to re-encode or a streamed body.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

__all__ = [
    "IN_PROCESS_SERVICES",
    "ShipperWrites",
    "WsgiApp",
    "channel_answer",
    "connect",
    "drain",
    "json_operation",
    "wsgi_answer",
    "wsgi_environ",
]

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

# The platform's engines' services: a whole body posted to a fixed path.
IN_PROCESS_SERVICES = frozenset({"logs", "cloudwatch", "dynamodbstreams"})


def wsgi_environ(
    method: str, path: str, query: str, headers: dict[str, str], body: bytes
) -> dict[str, Any]:
    """The WSGI environment a server gives an application for this request; `headers` are
    already in their environment names (HTTP_*, CONTENT_TYPE)."""
    return {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "0",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "SCRIPT_NAME": "",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "CONTENT_LENGTH": str(len(body)),
        **headers,
    }


def drain(result: Iterable[bytes]) -> bytes:
    """A WSGI application's whole answer, its iterable closed as the WSGI protocol asks."""
    try:
        return b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()


def _environ_name(header: str) -> str:
    name = header.upper().replace("-", "_")
    return name if name in {"CONTENT_TYPE", "CONTENT_LENGTH"} else f"HTTP_{name}"


class _Body(io.BytesIO):
    """A response body as botocore reads one from urllib3: `stream()` or `read()`."""

    def stream(self, *_args: Any, **_kwargs: Any) -> Iterator[bytes]:
        yield self.read()


def wsgi_answer(
    app: WsgiApp, method: str, url: str, headers: Iterable[tuple[str, str]], body: bytes
) -> tuple[int, list[tuple[str, str]], bytes]:
    """(status, headers, body) of `app`'s answer to a request as a client would send it."""
    parts = urlsplit(url)
    environ_headers = {_environ_name(name): value for name, value in headers}
    environ_headers["HTTP_HOST"] = parts.netloc
    environ_headers.pop("CONTENT_LENGTH", None)  # the environment's own, from the body
    environ = wsgi_environ(method, unquote(parts.path) or "/", parts.query, environ_headers, body)
    answer: dict[str, Any] = {}

    def start_response(status: str, response_headers: list[Any], exc_info: Any = None) -> Any:
        answer["status"], answer["headers"] = status, response_headers
        return lambda _data: None  # moto returns its body; nothing is written this way

    content = drain(app(environ, start_response))
    status = int(str(answer["status"]).split(" ", 1)[0])
    return status, [(str(name), str(value)) for name, value in answer["headers"]], content


def _send(app: WsgiApp, request: Any) -> Any:
    """Answer botocore's prepared request from `app`, as an AWSResponse."""
    from botocore.awsrequest import AWSResponse
    from botocore.compat import HTTPHeaders

    body = request.body or b""
    if hasattr(body, "read"):
        body = body.read()
    if isinstance(body, str):
        body = body.encode("utf-8")
    headers = [
        (name, value.decode("latin-1") if isinstance(value, bytes) else str(value))
        for name, value in request.headers.items()
    ]
    status, sent, content = wsgi_answer(app, request.method, request.url, headers, body)
    return AWSResponse(request.url, status, HTTPHeaders.from_pairs(sent), _Body(content))


def channel_answer(app: WsgiApp) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The answer to a function's AWS call sent through its worker's `AwsChannel` (to the AWS
    process's socket, whose server answers what raises): the call and the answer as JSON,
    bodies as Latin-1 text (any bytes)."""

    def answer(call: dict[str, Any]) -> dict[str, Any]:
        status, headers, content = wsgi_answer(
            app,
            str(call["method"]),
            str(call["url"]),
            [(str(name), str(value)) for name, value in call["headers"]],
            str(call["body"]).encode("latin-1"),
        )
        return {"status": status, "headers": headers, "body": content.decode("latin-1")}

    return answer


def connect(client: Any, app: WsgiApp) -> Any:
    """Send `client`'s requests to `app` in this process; returns the client."""

    def before_send(request: Any, **_kwargs: Any) -> Any:
        return _send(app, request)

    client.meta.events.register("before-send", before_send)
    return client


def json_operation(
    app: WsgiApp,
    target: str,
    *,
    signing_name: str,
    region: str,
    access_key: str,
    content_type: str = "application/x-amz-json-1.0",
) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """One operation of a JSON-protocol service of `app`, called with its parameters and
    answering its JSON as sent: for a hot path whose caller wants the wire shape anyway.

    botocore parses an answer into Python types (epoch seconds into datetimes, base64 into
    bytes) that a caller forwarding the answer as JSON must turn back. The stream poller
    forwards GetRecords' records to a function as Lambda's event, in the wire shape, so it
    reads them this way. The request is the one botocore would send (the operation's
    `X-Amz-Target`, the service's JSON content type, 1.0 as DynamoDB and its streams speak, a
    SigV4 credential scope naming the signing service and region, which moto routes by); an
    error answer raises botocore's ClientError with what botocore's own JSON parser reads from
    it (code, message, status; a proxy's empty or HTML 5xx page as its status)."""
    from botocore.exceptions import ClientError
    from botocore.parsers import create_parser

    errors = create_parser("json")

    operation = target.rsplit(".", 1)[-1]
    scope = f"{access_key}/20260101/{region}/{signing_name}/aws4_request"
    headers = [
        ("Content-Type", content_type),
        ("X-Amz-Target", target),
        (
            "Authorization",
            f"AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders=host;x-amz-target, Signature=0",
        ),
    ]

    def call(params: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps(params).encode()
        status, sent, content = wsgi_answer(app, "POST", "http://127.0.0.1/", headers, body)
        if status < 300:
            return dict(json.loads(content or b"{}"))
        response = {
            "status_code": status,
            "headers": {name.lower(): value for name, value in sent},
            "body": content,
        }
        # an error answer is read without the operation's output shape (botocore reads it only
        # to find modeled error fields, which no caller here uses)
        raise ClientError(errors.parse(response, None), operation)  # type: ignore[arg-type]

    return call


class ShipperWrites:
    """PutLogEvents and PutMetricData as the platform's log and `AWS/Lambda` metric shippers
    make them, several times a second under load: JSON straight to moto's application
    (`json_operation`), the answer as sent.

    Through a boto3 client each call also paid botocore's validation of every event and datum,
    its serialization, signing and the answer's parsing: about as much of the platform's
    process as moto's own handling of the call (`benchmarks/bench_local.py` prints a shipping
    round's CPU both ways). The shippers build every parameter themselves from what the
    invocations reported; one difference remains: an empty log line, which botocore's
    validation refused with its whole batch (PutLogEvents takes a message of at least one
    character), is now kept with the others. The requests
    are those of the services' JSON protocols, which botocore's models list for both (CloudWatch
    Logs: JSON 1.1, `Logs_20140328`; CloudWatch: JSON 1.0, `GraniteServiceVersion20100801`,
    beside the RPC v2 CBOR botocore prefers); a CloudWatch timestamp is sent in epoch seconds,
    as botocore's JSON serializer sends one. An error raises botocore's ClientError, as a
    client's call would. Same method names and keyword parameters as the clients', so either
    can be handed to a shipper."""

    def __init__(self, app: WsgiApp, *, region: str, access_key: str) -> None:
        self._logs = json_operation(
            app,
            "Logs_20140328.PutLogEvents",
            signing_name="logs",
            region=region,
            access_key=access_key,
            content_type="application/x-amz-json-1.1",
        )
        self._metrics = json_operation(
            app,
            "GraniteServiceVersion20100801.PutMetricData",
            signing_name="monitoring",
            region=region,
            access_key=access_key,
        )

    def put_log_events(self, **params: Any) -> dict[str, Any]:
        return self._logs(params)

    def put_metric_data(self, **params: Any) -> dict[str, Any]:
        data = [_epoch_timestamp(datum) for datum in params.get("MetricData", ())]
        return self._metrics({**params, "MetricData": data})


def _epoch_timestamp(datum: dict[str, Any]) -> dict[str, Any]:
    """A datum with its datetime `Timestamp` in epoch seconds, as botocore's JSON serializer
    sends one (a naive datetime read as UTC, microseconds kept)."""
    at = datum.get("Timestamp")
    if not isinstance(at, datetime):
        return datum
    return {**datum, "Timestamp": (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()}
