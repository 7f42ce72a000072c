"""A platform sandbox on moto: the two data tables as the contract defines them, a Lambda-like
invocation context, and a stream pump that feeds the feedback table's stream to the aggregator
in batches. Used by `feedbackctl demo`, the functional tests and the benchmarks.
"""

from __future__ import annotations

import itertools
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

_logger = logging.getLogger(__name__)

FEEDBACK_INDEX = "createdAt-index"
# The Browse filters' indexes, by partition attribute, with their projected attributes.
FILTER_INDEXES = {
    "rating": ["name", "message", "sentiment", "status"],
    "sentiment": ["name", "rating", "message", "status"],
    "ratingSentiment": ["name", "rating", "message", "sentiment", "status"],
}
EMAIL_INDEX = "emailHash-index"
MOTO_THREADS = 16  # requests moto handles at once; more wait in the queue, their sockets read
# The largest request moto takes: a Lambda zip uploaded inline (50 MB, base64 in JSON) fits.
MOTO_MAX_BODY_BYTES = 128 * 1024 * 1024


def create_tables(client: Any, feedback_table: str, analytics_table: str) -> None:
    """Create the feedback table (stream, GSIs, TTL) and the analytics table, and wait for them."""
    client.create_table(
        TableName=feedback_table,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "feedbackId", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": "feedbackId", "AttributeType": "S"},
            {"AttributeName": "status", "AttributeType": "S"},
            {"AttributeName": "createdAt", "AttributeType": "S"},
            {"AttributeName": "emailHash", "AttributeType": "S"},
            {"AttributeName": "rating", "AttributeType": "N"},
            {"AttributeName": "sentiment", "AttributeType": "S"},
            {"AttributeName": "ratingSentiment", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": FEEDBACK_INDEX,
                "KeySchema": [
                    {"AttributeName": "status", "KeyType": "HASH"},
                    {"AttributeName": "createdAt", "KeyType": "RANGE"},
                ],
                "Projection": {
                    "ProjectionType": "INCLUDE",
                    "NonKeyAttributes": ["name", "rating", "message", "sentiment"],
                },
            },
            *(
                {
                    "IndexName": f"{key}-index",
                    "KeySchema": [
                        {"AttributeName": key, "KeyType": "HASH"},
                        {"AttributeName": "createdAt", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": projected},
                }
                for key, projected in FILTER_INDEXES.items()
            ),
            {
                "IndexName": EMAIL_INDEX,
                "KeySchema": [{"AttributeName": "emailHash", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            },
        ],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )
    client.create_table(
        TableName=analytics_table,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "aggregateId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "aggregateId", "AttributeType": "S"}],
    )
    waiter = client.get_waiter("table_exists")
    for name in (feedback_table, analytics_table):
        waiter.wait(TableName=name, WaiterConfig={"Delay": 0.05, "MaxAttempts": 100})
    client.update_time_to_live(
        TableName=feedback_table,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiresAt"},
    )


def create_email_key(client: Any, name: str) -> str:
    """A Secrets Manager secret holding a random email-hashing key, as the stack makes one;
    returns its ARN (EMAIL_HASH_SECRET_ARN)."""
    import secrets

    return str(client.create_secret(Name=name, SecretString=secrets.token_hex(32))["ARN"])


@dataclass
class InvocationContext:
    """The attributes of Lambda's context object that the functions read."""

    function_name: str
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 256
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    invoked_function_arn: str = ""
    log_group_name: str = ""
    log_stream_name: str = ""

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def api_event(
    method: str,
    path: str,
    *,
    body: str | None = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A REST API (payload v1) proxy event as API Gateway sends it."""
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": headers or {},
        "multiValueHeaders": {k: [v] for k, v in (headers or {}).items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": path,
            "httpMethod": method,
            "path": f"/local{path}",
            "stage": "local",
            "requestId": str(uuid.uuid4()),
            "identity": {"sourceIp": "127.0.0.1", "userAgent": "feedbackctl"},
        },
        "body": body,
        "isBase64Encoded": False,
    }


class StreamPump:
    """Reads the feedback table's stream from TRIM_HORIZON and hands batches to a handler.

    Keeps one iterator per shard, so each record is delivered once unless `redeliver` is used.
    """

    def __init__(self, streams_client: Any, stream_arn: str, batch_size: int = 100) -> None:
        self._streams = streams_client
        self._arn = stream_arn
        self._batch_size = batch_size
        self._iterators: dict[str, str] = {}

    def _shard_iterators(self) -> dict[str, str]:
        shards = self._streams.describe_stream(StreamArn=self._arn)["StreamDescription"]["Shards"]
        for shard in shards:
            shard_id = shard["ShardId"]
            if shard_id not in self._iterators:
                self._iterators[shard_id] = self._streams.get_shard_iterator(
                    StreamArn=self._arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]
        return self._iterators

    def poll(self) -> list[dict[str, Any]]:
        """The next batch of records (possibly empty), shaped as the event-source mapping does."""
        records: list[dict[str, Any]] = []
        for shard_id, iterator in list(self._shard_iterators().items()):
            result = self._streams.get_records(ShardIterator=iterator, Limit=self._batch_size)
            self._iterators[shard_id] = result["NextShardIterator"]
            records.extend({**r, "eventSourceARN": self._arn} for r in result.get("Records", []))
        return records

    def drain(self, handler: Callable[[dict[str, Any], Any], Any], context: Any) -> int:
        """Deliver every available record in batches; returns how many batches were sent."""
        for batches in itertools.count():
            records = self.poll()
            if not records:
                return batches
            for start in range(0, len(records), self._batch_size):
                handler({"Records": records[start : start + self._batch_size]}, context)
        raise AssertionError("unreachable")  # pragma: no cover


def create_ledger_table(client: Any, table: str) -> None:
    """The release ledger table (pk/sk), as the stack defines it."""
    client.create_table(
        TableName=table,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
    )
    client.get_waiter("table_exists").wait(
        TableName=table, WaiterConfig={"Delay": 0.05, "MaxAttempts": 100}
    )


def _dispatcher(*, direct: bool = True) -> Any:
    """moto's dispatcher, remembering which backend serves a host, and answering a service's
    request with moto's handler without Flask around it (feedbackctl/local/moto_direct.py;
    `direct=False`: every request through moto's Flask application, to compare with).

    moto 5.2 finds a request's backend anew each time: it lists every moto module and matches
    the host against every service's URL patterns (a sixth of the platform's CPU under
    load, measured with py-spy); the answer for a host never changes."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    from feedbackctl.local.moto_direct import DirectDispatch

    class Dispatcher(DomainDispatcherApplication):
        def __init__(self) -> None:
            super().__init__(create_backend_app)
            self._backends: dict[str | None, Any] = {}
            self._direct = DirectDispatch() if direct else None

        def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
            app = self.get_application(environ)
            answer = None if self._direct is None else self._direct(app, environ, start_response)
            return app(environ, start_response) if answer is None else answer

        def get_backend_for_host(self, host: str | None) -> Any:
            try:
                return self._backends[host]
            except KeyError:
                backend = self._backends[host] = super().get_backend_for_host(host)
                return backend

    return Dispatcher()


class MotoServer:
    """moto's WSGI application on the platform's waitress transport, optionally wrapped (the
    local platform's durable state journals state-changing requests around it).

    Not werkzeug's development server, which moto's own `moto_server` uses: it answers every
    response with `Connection: close`, so each boto3 call paid a new TCP connection and a new
    thread. waitress keeps connections alive and serves them from a bounded pool of threads.
    """

    def __init__(self, wrap: Callable[[Any], Any] | None = None) -> None:
        from feedbackctl.local.http_server import HttpServer, Limits

        self.app = _dispatcher()
        self.served = wrap(self.app) if wrap is not None else self.app  # what requests reach
        self._server = HttpServer(
            None,
            _refuse,
            host="127.0.0.1",
            port=0,
            # Every boto3 client keeps its connections open: a connection limit reached would
            # leave a new client waiting for an idle one to time out, so it is far away.
            limits=Limits(
                max_body_bytes=MOTO_MAX_BODY_BYTES,
                threads=MOTO_THREADS,
                connection_limit=10_000,
                idle_timeout_s=300,
            ),
            name="moto",
            app=self.served,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.port}"

    def in_process(self) -> Callable[[dict[str, Any], Callable[..., Any]], list[bytes]]:
        """What the server serves, for a caller in this process (`inprocess.connect`): where
        moto raises, the server's 500 answer (logged as the server logs it)."""
        from feedbackctl.local.http_server import Refusal, status_line
        from feedbackctl.local.inprocess import drain

        def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
            try:
                return [drain(self.served(environ, start_response))]
            except Exception:
                method, path = environ["REQUEST_METHOD"], environ["PATH_INFO"]
                _logger.exception("moto: %s %s failed", method, path)
                detail = "The server encountered an unexpected internal server error"
                answer = self._server.answer_refusal(Refusal(500, "Internal Server Error", detail))
                start_response(status_line(answer.status), answer.headers)
                return [answer.body]

        return app

    def start(self) -> None:
        self._server.start()

    def stop(self) -> None:
        self._server.stop()


def _refuse(refusal: Any) -> Any:
    """What the moto server's transport refuses (malformed framing, a body too large)."""
    import json

    from feedbackctl.local.http_server import HttpResponse

    body = json.dumps({"__type": refusal.reason, "message": refusal.detail}).encode()
    return HttpResponse(refusal.status, [("Content-Type", "application/json")], body)


def start_moto_server(wrap: Callable[[Any], Any] | None = None) -> tuple[MotoServer, str]:
    """A moto server on a free 127.0.0.1 port, its per-request log lines silenced; `wrap`
    wraps its WSGI app. Returns the server (call `.stop()`; `.app` is moto's own app) and its
    endpoint URL."""

    from feedbackctl.local import moto_overhead, moto_parse, moto_percentiles, moto_update

    moto_percentiles.install()  # GetMetricData's p99 answered as CloudWatch does
    moto_overhead.install()  # per-request costs that change no answer
    moto_parse.install()  # a JSON request's parameters by a parser compiled per shape
    moto_update.install()  # an UpdateExpression's clause check in one pass, not its square
    server = MotoServer(wrap)
    server.start()
    return server, server.url


def point_boto3_at(endpoint: str, **extra: str) -> None:
    """Send every boto3 client of this process to `endpoint`, with placeholder credentials."""
    import os

    os.environ.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="local",
        AWS_SECRET_ACCESS_KEY="local",  # noqa: S106 - a placeholder moto accepts, not a secret
        AWS_DEFAULT_REGION="us-east-1",
        **extra,
    )


def publish_distinct_version(lambda_client: Any, function: str, marker: str) -> str:
    """Publish a version that differs from the live one by an environment variable.

    Lambda returns the existing version when nothing changed since it was published, so tests
    and benchmarks that need a new version change the configuration first.
    """
    config = lambda_client.get_function_configuration(FunctionName=function)
    variables = {**(config.get("Environment") or {}).get("Variables", {}), "VERSION_MARKER": marker}
    lambda_client.update_function_configuration(
        FunctionName=function, Environment={"Variables": variables}
    )
    published = lambda_client.publish_version(FunctionName=function, Description=marker)
    return str(published["Version"])
