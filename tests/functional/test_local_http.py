"""The local platform's HTTP transport (feedbackctl.local.http_server) as a client sees it, over
raw sockets on 127.0.0.1: malformed framing, oversize declarations, unknown methods and stalled
clients each get their answer while another client's request is being served and completes;
64 simultaneous connects are all accepted and answered; no header names the server. The AWS
endpoint's forwarding (chunked uploads, HEAD, large bodies) is checked through boto3 and moto."""

from __future__ import annotations

import http.client
import json
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

from feedbackctl.local.endpoint import Endpoint
from feedbackctl.local.gateway import MAX_BODY_BYTES, Gateway, Limits
from feedbackctl.local.http_server import HttpRequest, HttpResponse, HttpServer, Refusal
from feedbackctl.local.interfaces import InvokeResult
from feedbackctl.local.invoke import CodeStore, InvokeService
from tests.functional.test_local_gateway import LOCAL, VALID

TIMEOUT_S = 10.0


def proxy(status: int = 200, body: Any = None, **extra: Any) -> InvokeResult:
    answer = {"statusCode": status, "body": json.dumps(body or {}), **extra}
    return InvokeResult(200, json.dumps(answer).encode(), executed_version="1")


@dataclass
class HeldInvoker:
    """Answers `answer`; while `held` is set, the next call waits inside the function until
    `release` is set (announcing itself on `entered`): a request being served."""

    answer: InvokeResult = field(default_factory=proxy)
    held: bool = False
    entered: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    calls: int = 0

    def invoke(
        self, function: str, payload: bytes, *, qualifier: str | None = None
    ) -> InvokeResult:
        self.calls += 1
        if self.held:
            self.held = False
            self.entered.set()
            assert self.release.wait(TIMEOUT_S), "the held request was never released"
        return self.answer


@dataclass
class Answer:
    status: int
    headers: dict[str, str]  # lower-cased names
    body: bytes
    raw: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def read_answer(sock: socket.socket) -> Answer:
    """One HTTP response from `sock`: status line, headers, and a Content-Length body."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"the connection closed before an answer: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines)}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, "the connection closed in the middle of the body"
        body += chunk
    return Answer(int(status_line.split()[1]), headers, body[:length], head + b"\r\n\r\n" + body)


def closed_by_server(sock: socket.socket) -> bool:
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


@dataclass
class Harness:
    gateway: Gateway
    invoker: HeldInvoker
    logged: list[str]

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.gateway.port), timeout=TIMEOUT_S)

    def exchange(self, raw: bytes) -> tuple[Answer, socket.socket]:
        sock = self.connect()
        sock.sendall(raw)
        return read_answer(sock), sock

    @contextmanager
    def another_client_being_served(self) -> Iterator[None]:
        """A keep-alive client whose POST /local/feedback is inside the function for the whole
        block; after the block its 201 must arrive."""
        self.invoker.held, self.invoker.answer = True, proxy(201, {"feedbackId": "f-1"})
        outcome: dict[str, Any] = {}

        def post() -> None:
            conn = http.client.HTTPConnection("127.0.0.1", self.gateway.port, timeout=TIMEOUT_S)
            conn.request(
                "POST", "/local/feedback", json.dumps(VALID), {"Content-Type": "application/json"}
            )
            response = conn.getresponse()
            outcome["status"], outcome["body"] = response.status, json.loads(response.read())
            conn.close()

        client = threading.Thread(target=post)
        client.start()
        assert self.invoker.entered.wait(TIMEOUT_S), "the other client never reached the function"
        try:
            yield
        finally:
            self.invoker.release.set()
            client.join(TIMEOUT_S)
        assert outcome == {"status": 201, "body": {"feedbackId": "f-1"}}


@pytest.fixture
def start() -> Iterator[Callable[..., Harness]]:
    gateways: list[Gateway] = []

    def start_gateway(**limits: Any) -> Harness:
        invoker, logged = HeldInvoker(), []
        gateway = Gateway(
            LOCAL,
            invoker,
            port=0,
            log=logged.append,
            site_config={"apiBaseUrl": "", "stage": "local"},
            limits=Limits(max_body_bytes=MAX_BODY_BYTES, **limits),
        )
        gateway.start()
        gateways.append(gateway)
        return Harness(gateway, invoker, logged)

    yield start_gateway
    for gateway in gateways:
        gateway.stop()


@pytest.fixture
def gw(start: Callable[..., Harness]) -> Harness:
    return start()


def request(method: str, target: str, *headers: str, body: bytes = b"") -> bytes:
    head = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1", *headers]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def post(*headers: str, body: bytes = b"") -> bytes:
    return request("POST", "/local/feedback", "Content-Type: application/json", *headers, body=body)


def deep(depth: int, opener: bytes, closer: bytes) -> bytes:
    return opener * depth + b"1" + closer * depth


NESTED_ARRAYS = deep(5000, b"[", b"]")
NESTED_OBJECTS = deep(5000, b'{"a":', b"}")
BAD_REQUEST = {"message": "Bad Request"}
TOO_LONG = {"message": "Request Too Long"}
NO_TOKEN = {"message": "Missing Authentication Token"}
_HEADERS_START = b"GET /local/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: "
OVERSIZE_HEADERS = _HEADERS_START + b"b" * (64 * 1024 - len(_HEADERS_START))

# (id, bytes sent, status, JSON body (None: checked by the test), whether the server closes)
MALFORMED: list[tuple[str, bytes, int, Any, bool]] = [
    (
        "json-arrays-nested-5000-deep",
        post(f"Content-Length: {len(NESTED_ARRAYS)}", body=NESTED_ARRAYS),
        400,
        None,
        False,
    ),
    (
        "json-objects-nested-5000-deep",
        post(f"Content-Length: {len(NESTED_OBJECTS)}", body=NESTED_OBJECTS),
        400,
        None,
        False,
    ),
    ("content-length-superscript-two", post("Content-Length: ²"), 400, BAD_REQUEST, True),
    ("content-length-minus-one", post("Content-Length: -1"), 400, BAD_REQUEST, True),
    ("content-length-plus-five", post("Content-Length: +5", body=b"[1,2]"), 400, BAD_REQUEST, True),
    (
        "two-differing-content-lengths",
        post("Content-Length: 5", "Content-Length: 6", body=b"[1,2]x"),
        400,
        BAD_REQUEST,
        True,
    ),
    # Declared, never sent: the answer comes from the headers alone.
    ("content-length-huge", post("Content-Length: " + "9" * 30), 413, TOO_LONG, True),
    (
        "content-length-one-over-10-mb",
        post(f"Content-Length: {MAX_BODY_BYTES + 1}"),
        413,
        TOO_LONG,
        True,
    ),
    (
        "chunk-size-negative",
        post("Transfer-Encoding: chunked", body=b"-1\r\n[1]\r\n0\r\n\r\n"),
        400,
        BAD_REQUEST,
        True,
    ),
    (
        "chunk-size-not-hex",
        post("Transfer-Encoding: chunked", body=b"0x5\r\n[1,2]\r\n0\r\n\r\n"),
        400,
        BAD_REQUEST,
        True,
    ),
    # Only the size line is sent: the 413 must not wait for the data.
    (
        "chunk-size-huge",
        post("Transfer-Encoding: chunked", body=b"fffffffffffffff\r\n"),
        413,
        TOO_LONG,
        True,
    ),
    (
        "chunks-adding-up-past-10-mb",
        post(
            "Transfer-Encoding: chunked", body=b"600000\r\n" + b" " * 0x600000 + b"\r\n600000\r\n"
        ),
        413,
        TOO_LONG,
        True,
    ),
    (
        "transfer-coding-unknown",
        post("Transfer-Encoding: gzip", body=b"x"),
        501,
        {"message": "Not Implemented"},
        True,
    ),
    ("method-trace", request("TRACE", "/local/feedback"), 403, NO_TOKEN, False),
    ("method-unknown", request("FOO", "/local/health"), 403, NO_TOKEN, False),
    ("method-lowercase", request("get", "/local/health"), 400, BAD_REQUEST, True),
    # Exactly 64 KB of headers, unterminated: refused once read, with nothing left unread
    # (a close with unread input would be a reset that could swallow the answer).
    (
        "headers-of-64-kb",
        OVERSIZE_HEADERS,
        431,
        {"message": "Request Header Fields Too Large"},
        True,
    ),
    ("request-line-garbage", b"\x16\x03\x01\x02\x00\xfc\x03\x03\r\n\r\n", 400, BAD_REQUEST, True),
]


@pytest.mark.parametrize(
    ("sent", "status", "expected", "closes"),
    [pytest.param(*row[1:], id=row[0]) for row in MALFORMED],
)
def test_malformed_requests_are_answered_while_another_client_is_served(
    gw: Harness, sent: bytes, status: int, expected: Any, closes: bool
) -> None:
    with gw.another_client_being_served():
        answer, sock = gw.exchange(sent)
        with sock:
            assert answer.status == status
            if expected is not None:
                assert answer.json() == expected
            assert answer.headers["content-type"] == "application/json"
            assert "server" not in answer.headers
            assert b"waitress" not in answer.raw.lower()
            assert (answer.headers.get("connection") == "close") is closes
            if closes:
                assert closed_by_server(sock)
            else:  # the same connection serves the next request
                sock.sendall(request("GET", "/config.json"))
                assert read_answer(sock).status == 200
    assert gw.invoker.calls == 1  # only the other client's request reached a function


def test_deep_json_is_the_templates_validation_answer(gw: Harness) -> None:
    answer, sock = gw.exchange(post(f"Content-Length: {len(NESTED_ARRAYS)}", body=NESTED_ARRAYS))
    with sock:
        assert answer.status == 400
        body = answer.json()
        assert body["error"] == "validation_error"
        assert body["details"] == [
            {"field": "body", "problem": "[Invalid JSON: nested too deeply]"}
        ]
        sock.sendall(request("GET", "/config.json"))  # the connection is still good
        assert read_answer(sock).status == 200
    assert gw.invoker.calls == 0


def test_refusals_under_the_stage_carry_the_templates_cors_headers(gw: Harness) -> None:
    answer, sock = gw.exchange(post("Content-Length: -1"))
    sock.close()
    assert answer.headers["access-control-allow-origin"] == gw.gateway.url
    assert answer.headers["vary"] == "Origin"
    assert any("POST /local/feedback 400 refused" in line for line in gw.logged)


def test_unknown_methods_on_the_site_are_405(gw: Harness) -> None:
    for method in ("TRACE", "FOO", "DELETE"):
        answer, sock = gw.exchange(request(method, "/"))
        sock.close()
        assert (answer.status, answer.headers["allow"]) == (405, "GET, HEAD")


STALLED = [
    # The headers are complete, the body is 10 bytes of a declared 100.
    ("half-a-body", post("Content-Length: 100", body=b'{"name": "'), True),
    # The request line and part of the headers, then nothing.
    ("half-the-headers", b"POST /local/feedback HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Ty", False),
]


@pytest.mark.parametrize(
    ("sent", "under_stage"), [pytest.param(*row[1:], id=row[0]) for row in STALLED]
)
def test_a_stalled_client_costs_no_thread_and_gets_408(
    start: Callable[..., Harness], sent: bytes, under_stage: bool
) -> None:
    gw = start(threads=1, idle_timeout_s=1, cleanup_interval_s=1)
    with gw.connect() as stalled:
        stalled.sendall(sent)
        # With one request thread, others are served while the stalled client waits.
        for _ in range(3):
            answer, sock = gw.exchange(request("GET", "/local/health"))
            sock.close()
            assert answer.status == 200
        with gw.another_client_being_served():
            pass
        answer = read_answer(stalled)  # blocks until the idle timeout answers it
        assert answer.status == 408
        assert answer.json() == {"message": "Request Timeout"}
        assert answer.headers["connection"] == "close"
        assert ("access-control-allow-origin" in answer.headers) is under_stage
        assert closed_by_server(stalled)


def test_64_simultaneous_connects_are_all_accepted_and_answered(gw: Harness) -> None:
    count = 64
    barrier = threading.Barrier(count)
    outcomes: list[int | str] = []
    lock = threading.Lock()

    def client() -> None:
        barrier.wait()
        try:
            with socket.create_connection(("127.0.0.1", gw.gateway.port), timeout=TIMEOUT_S) as s:
                s.sendall(request("GET", "/config.json"))
                outcome: int | str = read_answer(s).status
        except OSError as exc:  # a reset or a refused connection
            outcome = type(exc).__name__
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=client) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT_S * 2)
    assert outcomes == [200] * count


def test_preflights_keep_the_connection(gw: Harness) -> None:
    """waitress alone closes after any response without Content-Length, 204 included."""
    with gw.connect() as sock:
        preflight = request(
            "OPTIONS",
            "/local/feedback",
            "Origin: http://localhost:5173",
            "Access-Control-Request-Method: POST",
        )
        for _ in range(3):
            sock.sendall(preflight)
            answer = read_answer(sock)
            assert (answer.status, answer.body) == (204, b"")
            assert "connection" not in answer.headers
            assert "content-length" not in answer.headers
        sock.sendall(request("GET", "/local/health"))
        assert read_answer(sock).status == 200


def test_no_header_names_the_server(gw: Harness) -> None:
    gw.invoker.answer = proxy(200, {}, headers={"Server": "my-function/1.0", "X-Own": "kept"})
    for target in ("/local/health", "/", "/config.json"):
        answer, sock = gw.exchange(request("GET", target))
        sock.close()
        assert answer.status == 200
        assert {"server", "via"}.isdisjoint(answer.headers), target
        assert b"waitress" not in answer.raw.lower()
    assert answer.headers.get("x-own") is None  # the site's answer, not the function's
    answer, sock = gw.exchange(request("GET", "/local/health"))
    sock.close()
    assert answer.headers["x-own"] == "kept"


def test_a_handler_that_raises_is_a_500_and_the_server_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def handler(request: HttpRequest) -> HttpResponse:
        if request.target == "/bug":
            raise KeyError("a bug")
        return HttpResponse(200, [("Content-Type", "text/plain")], b"fine")

    refusals: list[Refusal] = []

    def refuse(refusal: Refusal) -> HttpResponse:
        refusals.append(refusal)
        return HttpResponse(refusal.status, [("Content-Type", "text/plain")], b"sorry")

    server = HttpServer(
        handler, refuse, host="127.0.0.1", port=0, limits=Limits(max_body_bytes=10), name="t"
    )
    server.start()
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT_S) as sock:
            sock.sendall(request("GET", "/bug"))
            answer = read_answer(sock)
            assert (answer.status, answer.body) == (500, b"sorry")
            sock.sendall(request("GET", "/fine"))  # the same connection goes on
            assert read_answer(sock).body == b"fine"
    finally:
        server.stop()
    (refusal,) = refusals
    assert (refusal.status, refusal.detail) == (500, "KeyError: 'a bug'")
    assert refusal.request is not None
    assert refusal.request.target == "/bug"
    assert "KeyError: 'a bug'" in caplog.text  # the traceback is logged, it is a bug


# --- the AWS endpoint ---------------------------------------------------------------------------


@pytest.fixture
def endpoint(moto_endpoint: str, tmp_path: Path) -> Iterator[Endpoint]:
    host, port = moto_endpoint.removeprefix("http://").split(":")
    service = InvokeService(
        boto3.client("lambda", endpoint_url=moto_endpoint),
        boto3.client("logs", endpoint_url=moto_endpoint),
        CodeStore(boto3.client("s3", endpoint_url=moto_endpoint), tmp_path / "code"),
        worker_env={"AWS_ENDPOINT_URL": moto_endpoint},
        work_dir=tmp_path,
    )
    local = Endpoint(service, (host, int(port)), port=0)
    local.start()
    yield local
    local.stop()
    service.shutdown()


def test_s3_through_the_endpoint_large_chunked_and_head(endpoint: Endpoint) -> None:
    s3 = boto3.client("s3", endpoint_url=endpoint.url, region_name="us-east-1")
    bucket = "http-transport-test"
    s3.create_bucket(Bucket=bucket)
    large = bytes(range(256)) * 12_288  # 3 MB: buffered to a file by the transport
    s3.put_object(Bucket=bucket, Key="large.bin", Body=large)
    head = s3.head_object(Bucket=bucket, Key="large.bin")
    assert head["ContentLength"] == len(large)
    assert s3.get_object(Bucket=bucket, Key="large.bin")["Body"].read() == large
    # A chunked upload (as a streaming client sends one) arrives whole.
    conn = http.client.HTTPConnection("127.0.0.1", endpoint.port, timeout=TIMEOUT_S)
    conn.request("PUT", f"/{bucket}/chunked.txt", body=iter([b"hello, ", b"chunked ", b"world"]))
    response = conn.getresponse()
    response.read()
    assert response.status == 200
    assert "server" not in {k.lower() for k, _ in response.getheaders()}
    conn.close()
    body = s3.get_object(Bucket=bucket, Key="chunked.txt")["Body"].read()
    assert body == b"hello, chunked world"


def test_the_endpoint_refuses_malformed_framing(endpoint: Endpoint) -> None:
    with socket.create_connection(("127.0.0.1", endpoint.port), timeout=TIMEOUT_S) as sock:
        sock.sendall(request("PUT", "/b/k", "Content-Length: -1"))
        answer = read_answer(sock)
    assert (answer.status, answer.json()) == (400, {"message": "Bad Request"})
    assert "server" not in answer.headers


def test_moto_keeps_each_clients_connection_open(moto_endpoint: str) -> None:
    """Every boto3 call of the platform (functions, engines, CLI) reaches moto: one TCP
    connection per client, not one per call (werkzeug's server closed each one)."""
    host, port = moto_endpoint.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=TIMEOUT_S)
    target = {"X-Amz-Target": "DynamoDB_20120810.ListTables"}
    headers = {
        **target,
        "Content-Type": "application/x-amz-json-1.0",
        "Authorization": "AWS4-HMAC-SHA256 Credential=local/20261202/us-east-1/dynamodb/"
        "aws4_request, SignedHeaders=host, Signature=0",
    }
    sockets = []
    for _ in range(3):
        conn.request("POST", "/", body=b"{}", headers=headers)
        response = conn.getresponse()
        assert response.status == 200
        assert "TableNames" in json.loads(response.read())
        assert (response.getheader("Connection") or "").lower() != "close"
        sockets.append(conn.sock)
    assert sockets[0] is not None
    assert sockets == [sockets[0]] * 3
    conn.close()


def test_s3_metadata_keeps_its_spelling(moto_endpoint: str) -> None:
    """Header names leave as the application wrote them (S3's `x-amz-meta-*` names are the
    metadata's keys); waitress alone would capitalise them."""
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    s3.create_bucket(Bucket="metadata-spelling")
    s3.put_object(Bucket="metadata-spelling", Key="k", Body=b"x", Metadata={"sha256": "abc"})
    assert s3.head_object(Bucket="metadata-spelling", Key="k")["Metadata"] == {"sha256": "abc"}
