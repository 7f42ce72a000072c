"""The local API gateway (feedbackctl.local.gateway) over real HTTP: a gateway on a free port,
the rendered local template's API, a fake Invoker that records the events it receives, and a
keep-alive http.client connection, as the SPA's browser or a benchmark client would hold."""

from __future__ import annotations

import base64
import dataclasses
import http.client
import json
import re
import socket
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from feedbackctl.config import load_config
from feedbackctl.errors import FeedbackctlError
from feedbackctl.local.apimodel import ApiModel, Quota, Throttle
from feedbackctl.local.gateway import Gateway
from feedbackctl.local.interfaces import InvokeResult
from feedbackctl.templating import render_stack
from lambdas.common.validation import validate_feedback
from tests.cfn_yaml import load

ROOT = Path(__file__).resolve().parents[2]
CONFIG = load_config(ROOT / "feedbackctl.toml")
WALL = 1_795_600_800.0  # 2026-11-25T10:00:00Z
VALID = {"name": "Ada Lovelace", "email": "ada@example.com", "rating": 5, "message": "Lovely."}
KEY = "local-key-0123456789abcdef"


def template_model(**changes: Any) -> ApiModel:
    stage = dataclasses.replace(CONFIG.stage("local"), **changes)
    return ApiModel.from_template(load(render_stack(stage)))


LOCAL = template_model()
KEYED = template_model(api_key_required=True)


def proxy(status: int = 200, body: Any = None, **extra: Any) -> InvokeResult:
    answer = {"statusCode": status, "body": json.dumps(body if body is not None else {}), **extra}
    return InvokeResult(200, json.dumps(answer).encode(), executed_version="3")


class FakeClock:
    def __init__(self) -> None:
        self.now = 5_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class FakeInvoker:
    """Records (function, event) per call; answers with queued results, else `default`."""

    default: InvokeResult = field(default_factory=proxy)
    queued: list[InvokeResult | Callable[[dict[str, Any]], InvokeResult]] = field(
        default_factory=list
    )
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def invoke(
        self, function: str, payload: bytes, *, qualifier: str | None = None
    ) -> InvokeResult:
        event = json.loads(payload)
        self.calls.append((function, event))
        answer = self.queued.pop(0) if self.queued else self.default
        return answer(event) if callable(answer) else answer

    @property
    def events(self) -> list[dict[str, Any]]:
        return [event for _, event in self.calls]


@dataclass
class Reply:
    status: int
    headers: dict[str, str]  # lower-cased names (the last of repeated ones)
    body: bytes
    raw_headers: list[tuple[str, str]] = field(default_factory=list)

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Harness:
    gateway: Gateway
    invoker: FakeInvoker
    clock: FakeClock
    logged: list[str]
    conn: http.client.HTTPConnection

    def request(
        self,
        method: str,
        path: str,
        body: bytes | str | dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        data = json.dumps(body) if isinstance(body, dict) else body
        sent = {"Content-Type": "application/json"} if data is not None else {}
        self.conn.request(method, path, body=data, headers={**sent, **(headers or {})})
        response = self.conn.getresponse()
        payload = response.read()
        raw = response.getheaders()
        return Reply(response.status, {k.lower(): v for k, v in raw}, payload, raw)


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[..., Harness]]:
    gateways: list[Gateway] = []

    def start_gateway(model: ApiModel = LOCAL, **options: Any) -> Harness:
        invoker, clock, logged = FakeInvoker(), FakeClock(), []
        options.setdefault("site_config", {"apiBaseUrl": "", "stage": "local"})
        gateway = Gateway(
            model,
            invoker,
            port=0,
            clock=clock,
            wall_clock=lambda: WALL,
            log=logged.append,
            **options,
        )
        gateway.start()
        gateways.append(gateway)
        conn = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=10)
        return Harness(gateway, invoker, clock, logged, conn)

    yield start_gateway
    for gateway in gateways:
        gateway.stop()


@pytest.fixture
def gw(start: Callable[..., Harness]) -> Harness:
    return start()


# --- routing ----------------------------------------------------------------------------------


def test_post_feedback_reaches_the_live_alias_and_returns_its_proxy_response(gw: Harness) -> None:
    gw.invoker.default = proxy(
        201,
        {"feedbackId": "f-1", "status": "stored"},
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "Content-Length": "999",  # the gateway frames the response itself
            "Connection": "close",
        },
        multiValueHeaders={"Set-Cookie": ["a=1", "b=2"]},
    )
    reply = gw.request("POST", "/local/feedback", VALID)
    assert reply.status == 201
    assert reply.json() == {"feedbackId": "f-1", "status": "stored"}
    assert reply.headers["content-type"] == "application/json; charset=utf-8"
    assert reply.headers["content-length"] == str(len(reply.body))
    assert [v for k, v in reply.raw_headers if k == "Set-Cookie"] == ["a=1", "b=2"]
    assert "connection" not in reply.headers
    assert uuid.UUID(reply.headers["x-amzn-requestid"])
    ((function, event),) = gw.invoker.calls
    assert function == "feedback-local-create-feedback:live"
    assert json.loads(event["body"]) == VALID
    assert gw.gateway.api_url == f"http://127.0.0.1:{gw.gateway.port}/local"


@pytest.mark.parametrize(
    ("method", "path", "function"),
    [
        ("GET", "/local/feedback", "feedback-local-list-feedback:live"),
        ("GET", "/local/analytics", "feedback-local-get-analytics:live"),
        ("GET", "/local/health", "feedback-local-health:live"),
        ("GET", "/local/health/", "feedback-local-health:live"),
    ],
)
def test_each_route_invokes_its_function(
    gw: Harness, method: str, path: str, function: str
) -> None:
    assert gw.request(method, path).status == 200
    assert [f for f, _ in gw.invoker.calls] == [function]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/local/nope"),
        ("DELETE", "/local/feedback"),
        ("POST", "/local/health"),
        ("GET", "/local"),
        ("GET", "/local/feedback/123"),
    ],
)
def test_an_unknown_route_is_api_gateways_403(gw: Harness, method: str, path: str) -> None:
    reply = gw.request(method, path)
    assert reply.status == 403
    assert reply.json() == {"message": "Missing Authentication Token"}
    assert reply.headers["x-amzn-errortype"] == "MissingAuthenticationTokenException"
    # The template's DEFAULT_4XX: CORS for the site, whose origin is the gateway's own here.
    assert reply.headers["access-control-allow-origin"] == gw.gateway.url
    assert reply.headers["vary"] == "Origin"
    assert gw.invoker.calls == []


# --- the proxy event ------------------------------------------------------------------------


def test_the_proxy_event_has_api_gateways_shape(gw: Harness) -> None:
    gw.conn.putrequest("GET", "/local/feedback?limit=5&cursor=a%20b&tag=x&tag=y&empty=")
    gw.conn.putheader("User-Agent", "gateway-test/1.0")
    gw.conn.putheader("X-Tag", "one")
    gw.conn.putheader("X-Tag", "two")
    gw.conn.endheaders()
    response = gw.conn.getresponse()
    response.read()
    assert response.status == 200
    (event,) = gw.invoker.events
    port = gw.gateway.port
    assert event["resource"] == "/feedback"
    assert event["path"] == "/feedback"
    assert event["httpMethod"] == "GET"
    assert event["queryStringParameters"] == {
        "limit": "5",
        "cursor": "a b",
        "tag": "y",
        "empty": "",
    }
    assert event["multiValueQueryStringParameters"] == {
        "limit": ["5"],
        "cursor": ["a b"],
        "tag": ["x", "y"],
        "empty": [""],
    }
    assert event["headers"]["User-Agent"] == "gateway-test/1.0"
    assert event["headers"]["Host"] == f"127.0.0.1:{port}"
    assert event["headers"]["X-Tag"] == "two"
    assert event["multiValueHeaders"]["X-Tag"] == ["one", "two"]
    assert event["headers"]["X-Forwarded-For"] == "127.0.0.1"
    assert event["headers"]["X-Forwarded-Proto"] == "http"
    assert event["headers"]["X-Forwarded-Port"] == str(port)
    assert (event["pathParameters"], event["stageVariables"]) == (None, None)
    assert (event["body"], event["isBase64Encoded"]) == (None, False)
    context = event["requestContext"]
    assert context["requestId"] == response.getheader("x-amzn-RequestId")
    assert re.fullmatch(r"[A-Za-z0-9+/]{16}", context["extendedRequestId"])
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["identity"]["userAgent"] == "gateway-test/1.0"
    assert (context["identity"]["apiKey"], context["identity"]["apiKeyId"]) == (None, None)
    volatile = {"requestId", "extendedRequestId", "identity", "resourceId"}
    assert {k: v for k, v in context.items() if k not in volatile} == {
        "accountId": "123456789012",
        "apiId": gw.gateway.api_id,
        "resourcePath": "/feedback",
        "httpMethod": "GET",
        "requestTime": "25/Nov/2026:10:00:00 +0000",
        "requestTimeEpoch": 1_795_600_800_000,
        "path": "/local/feedback",
        "protocol": "HTTP/1.1",
        "stage": "local",
        "domainPrefix": "127",
        "domainName": f"127.0.0.1:{port}",
    }
    assert re.fullmatch(r"[a-z0-9]{6}", context["resourceId"])
    assert re.fullmatch(r"[a-z0-9]{10}", gw.gateway.api_id)


def test_a_body_is_passed_as_text_or_base64(gw: Harness) -> None:
    body = json.dumps({**VALID, "name": "Zoë 🎉"})
    assert gw.request("POST", "/local/feedback", body.encode()).status == 200
    assert gw.request("GET", "/local/health", b"\xff\xfe binary").status == 200
    text, binary = gw.invoker.events
    assert (text["body"], text["isBase64Encoded"]) == (body, False)
    assert binary["isBase64Encoded"] is True
    assert base64.b64decode(binary["body"]) == b"\xff\xfe binary"


# --- request validation at the edge ---------------------------------------------------------

BAD_BODIES = [
    ("missing email", json.dumps({k: v for k, v in VALID.items() if k != "email"})),
    ("rating above five", json.dumps({**VALID, "rating": 7})),
    ("rating as a string", json.dumps({**VALID, "rating": "5"})),
    ("rating as a float", json.dumps({**VALID, "rating": 5.0})),
    ("rating true", json.dumps({**VALID, "rating": True})),
    ("unknown field", json.dumps({**VALID, "admin": True})),
    ("name with a control character", json.dumps({**VALID, "name": "Ada\u0007"})),
    ("blank message", json.dumps({**VALID, "message": "   "})),
    ("message over 2000 characters", json.dumps({**VALID, "message": "m" * 2001})),
    ("email without a domain dot", json.dumps({**VALID, "email": "ada@localhost"})),
    ("a list", json.dumps([VALID])),
    ("not JSON", '{"name": "Ada",'),
    ("NaN rating", json.dumps(VALID).replace("5", "NaN")),
    ("empty body", ""),
]


@pytest.mark.parametrize(("case", "body"), BAD_BODIES, ids=[c for c, _ in BAD_BODIES])
def test_a_bad_body_is_rejected_at_the_edge_without_invoking(
    gw: Harness, case: str, body: str
) -> None:
    try:
        parsed: Any = json.loads(body)
    except ValueError:
        parsed = None
    if parsed is not None and "NaN" not in body:
        assert validate_feedback(parsed)[0] is None, f"{case}: the handler would accept it"
    reply = gw.request("POST", "/local/feedback", body.encode(), {"Origin": "http://x.example"})
    assert reply.status == 400, case
    answer = reply.json()  # the template's BAD_REQUEST_BODY: the handler's error shape
    assert answer["error"] == "validation_error"
    assert answer["message"] == "the feedback is invalid"
    (detail,) = answer["details"]
    assert detail["field"] == "body"
    assert detail["problem"].startswith("[")
    assert reply.headers["access-control-allow-origin"] == gw.gateway.url
    assert gw.invoker.calls == []


def test_validation_names_the_problems(gw: Harness) -> None:
    reply = gw.request("POST", "/local/feedback", {**VALID, "rating": 9, "extra": 1})
    problem = reply.json()["details"][0]["problem"]
    assert "Additional properties are not allowed ('extra' was unexpected)" in problem
    assert "rating: 9 is greater than the maximum of 5" in problem
    # What the client sent is quoted in the message, never evaluated as a template reference.
    reply = gw.request("POST", "/local/feedback", {**VALID, "$context.requestId": 1})
    assert "('$context.requestId' was unexpected)" in reply.json()["details"][0]["problem"]


def test_a_valid_body_passes_and_a_body_of_another_type_is_the_functions_to_judge(
    gw: Harness,
) -> None:
    assert gw.request("POST", "/local/feedback", {**VALID, "name": "李小龍"}).status == 200
    # No model for text/plain: API Gateway passes it on unvalidated (the handler answers 415).
    reply = gw.request("POST", "/local/feedback", b"hello", {"Content-Type": "text/plain"})
    assert reply.status == 200
    assert len(gw.invoker.calls) == 2


# --- integration failures -------------------------------------------------------------------


def test_a_function_error_is_a_502(gw: Harness) -> None:
    error = json.dumps({"errorMessage": "boom", "errorType": "RuntimeError"}).encode()
    gw.invoker.default = InvokeResult(200, error, function_error="Unhandled")
    reply = gw.request("GET", "/local/analytics", headers={"Origin": "http://localhost:5173"})
    assert reply.status == 502
    assert reply.json() == {"message": "Internal server error"}
    assert reply.headers["x-amzn-errortype"] == "InternalServerErrorException"
    assert reply.headers["access-control-allow-origin"] == gw.gateway.url
    assert any("feedback-local-get-analytics:live raised (Unhandled)" in line for line in gw.logged)


@pytest.mark.parametrize(
    ("payload", "why"),
    [
        (b"not json", "the payload is not JSON"),
        (b'"just a string"', "the payload is not a JSON object"),
        (b'{"body": "{}"}', "statusCode is missing or not an HTTP status"),
        (b'{"statusCode": 200, "body": {"a": 1}}', "body is not a string"),
        (b'{"statusCode": 200, "body": "", "extra": 1}', "unexpected fields extra"),
        (b'{"statusCode": 200, "headers": {"X": {"a": 1}}}', "headers.X is not a string"),
        (b'{"statusCode": 200, "isBase64Encoded": true, "body": "%%"}', "body is not base64"),
    ],
)
def test_a_malformed_proxy_response_is_a_502(gw: Harness, payload: bytes, why: str) -> None:
    gw.invoker.default = InvokeResult(200, payload)
    reply = gw.request("GET", "/local/health")
    assert reply.status == 502
    assert reply.json() == {"message": "Internal server error"}
    assert any("Malformed Lambda proxy response" in line and why in line for line in gw.logged)


def test_a_base64_proxy_body_is_decoded(gw: Harness) -> None:
    body = base64.b64encode(b"\x89PNG bytes").decode()
    gw.invoker.default = InvokeResult(
        200,
        json.dumps(
            {
                "statusCode": 200,
                "headers": {"Content-Type": "image/png"},
                "body": body,
                "isBase64Encoded": True,
            }
        ).encode(),
    )
    reply = gw.request("GET", "/local/health")
    assert (reply.status, reply.body, reply.headers["content-type"]) == (
        200,
        b"\x89PNG bytes",
        "image/png",
    )


def test_an_integration_past_29_seconds_is_a_504(gw: Harness) -> None:
    def slow(event: dict[str, Any]) -> InvokeResult:
        gw.clock.advance(29.5)
        return proxy(200)

    gw.invoker.queued.append(slow)
    reply = gw.request("GET", "/local/feedback")
    assert reply.status == 504
    assert reply.json() == {"message": "Endpoint request timed out"}
    assert reply.headers["access-control-allow-origin"] == gw.gateway.url


def test_a_function_that_times_out_sooner_is_a_502_as_in_aws(gw: Harness) -> None:
    timed_out = json.dumps({"errorMessage": "Task timed out after 10.00 seconds"}).encode()
    gw.invoker.default = InvokeResult(
        200, timed_out, function_error="Unhandled", timed_out=True, duration_ms=10_000
    )
    assert gw.request("GET", "/local/feedback").status == 502
    # A function whose timeout is the API's 29 s is cut off by the gateway first.
    gw.invoker.default = dataclasses.replace(gw.invoker.default, duration_ms=28_950)
    assert gw.request("GET", "/local/feedback").status == 504


def test_an_invoke_service_failure_is_a_500(gw: Harness) -> None:
    def crash(event: dict[str, Any]) -> InvokeResult:
        raise RuntimeError("worker pool closed")

    gw.invoker.queued.append(crash)
    reply = gw.request("GET", "/local/health")
    assert (reply.status, reply.json()) == (500, {"message": "Internal server error"})
    assert any("worker pool closed" in line for line in gw.logged)
    assert gw.request("GET", "/local/health").status == 200  # the connection survives


# --- CORS -----------------------------------------------------------------------------------


@pytest.mark.parametrize("origin", ["http://localhost:5173", "http://127.0.0.1:8000"])
def test_a_preflight_from_an_allowed_origin_is_answered_by_the_gateway(
    gw: Harness, origin: str
) -> None:
    reply = gw.request(
        "OPTIONS",
        "/local/feedback",
        headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
    )
    assert reply.status == 204
    assert reply.body == b""
    assert reply.headers["access-control-allow-origin"] == origin
    assert reply.headers["access-control-allow-methods"] == "POST,GET,OPTIONS"
    assert reply.headers["access-control-allow-headers"] == "Content-Type,Idempotency-Key,X-Api-Key"
    assert reply.headers["access-control-max-age"] == "600"
    assert reply.headers["vary"] == "Origin"
    assert gw.invoker.calls == []


def test_a_preflight_from_another_origin_gets_no_grant(gw: Harness) -> None:
    reply = gw.request("OPTIONS", "/local/health", headers={"Origin": "https://evil.example"})
    assert reply.status == 204
    assert "access-control-allow-origin" not in reply.headers
    assert reply.headers["access-control-allow-methods"] == "GET,OPTIONS"
    site = gw.request("OPTIONS", "/local/health", headers={"Origin": gw.gateway.url})
    assert site.headers["access-control-allow-origin"] == gw.gateway.url


# --- API keys, throttling, quotas -----------------------------------------------------------


def test_a_key_is_required_where_the_template_says_so(start: Callable[..., Harness]) -> None:
    gw = start(KEYED, api_keys={KEY: "ApiUsagePlan"})
    for headers in ({}, {"x-api-key": "wrong"}):
        reply = gw.request("POST", "/local/feedback", VALID, headers)
        assert (reply.status, reply.json()) == (403, {"message": "Forbidden"})
        assert reply.headers["x-amzn-errortype"] == "ForbiddenException"
    assert gw.invoker.calls == []
    assert gw.request("POST", "/local/feedback", VALID, {"X-API-Key": KEY}).status == 200
    assert gw.request("GET", "/local/health").status == 200  # probes carry no key
    keyed, health = gw.invoker.events
    assert keyed["requestContext"]["identity"]["apiKey"] == KEY
    assert re.fullmatch(r"[a-z0-9]{10}", keyed["requestContext"]["identity"]["apiKeyId"])
    assert health["requestContext"]["identity"]["apiKey"] is None


def test_stage_throttling_is_a_token_bucket_per_method(gw: Harness) -> None:
    stage = CONFIG.stage("local").throttling
    statuses = [gw.request("GET", "/local/health").status for _ in range(stage.burst_limit + 1)]
    assert statuses == [200] * stage.burst_limit + [429]
    refused = gw.request("GET", "/local/health")
    assert (refused.status, refused.json()) == (429, {"message": "Too Many Requests"})
    assert refused.headers["access-control-allow-origin"] == gw.gateway.url
    assert gw.request("GET", "/local/analytics").status == 200  # another method, its own bucket
    gw.clock.advance(1 / stage.rate_limit)  # one token back
    assert [gw.request("GET", "/local/health").status for _ in range(2)] == [200, 429]
    assert len(gw.invoker.calls) == stage.burst_limit + 2


def plan_model(throttle: Throttle | None, quota: Quota | None) -> ApiModel:
    plan = dataclasses.replace(KEYED.usage_plans["ApiUsagePlan"], throttle=throttle, quota=quota)
    return dataclasses.replace(KEYED, usage_plans={"ApiUsagePlan": plan})


def test_a_keys_usage_plan_throttles_it(start: Callable[..., Harness]) -> None:
    gw = start(
        plan_model(Throttle(rate_limit=1, burst_limit=2), None), api_keys={KEY: "ApiUsagePlan"}
    )
    key = {"x-api-key": KEY}
    statuses = [gw.request("GET", "/local/analytics", headers=key).status for _ in range(3)]
    assert statuses == [200, 200, 429]
    gw.clock.advance(1.0)
    assert gw.request("GET", "/local/feedback", headers=key).status == 200  # per key, any method
    assert gw.request("GET", "/local/feedback", headers=key).status == 429


def test_a_keys_quota_is_a_limit_per_period(start: Callable[..., Harness]) -> None:
    gw = start(plan_model(None, Quota(limit=3, period="DAY")), api_keys={KEY: "ApiUsagePlan"})
    key = {"x-api-key": KEY}
    statuses = [gw.request("GET", "/local/analytics", headers=key).status for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    refused = gw.request("GET", "/local/analytics", headers=key)
    assert refused.json() == {"message": "Limit Exceeded"}
    assert refused.headers["x-amzn-errortype"] == "LimitExceededException"
    gw.clock.advance(86_400)
    assert gw.request("GET", "/local/analytics", headers=key).status == 200


# --- the site ---------------------------------------------------------------------------------


@pytest.fixture
def site(tmp_path: Path) -> Path:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><title>feedback</title>")
    (dist / "assets" / "index-3f9a1c.js").write_text("console.log('app')")
    (dist / "assets" / "index-77aa01.css").write_text("body{}")
    (dist / "favicon.svg").write_text("<svg/>")
    (tmp_path / "secret.txt").write_text("top secret")
    return dist


def test_the_spa_is_served_at_the_root(start: Callable[..., Harness], site: Path) -> None:
    gw = start(site_dir=site)
    index = gw.request("GET", "/")
    assert (index.status, index.body) == (200, b"<!doctype html><title>feedback</title>")
    assert index.headers["content-type"] == "text/html; charset=utf-8"
    assert index.headers["cache-control"] == "no-cache"
    script = gw.request("GET", "/assets/index-3f9a1c.js")
    assert (script.status, script.body) == (200, b"console.log('app')")
    assert script.headers["content-type"] == "text/javascript; charset=utf-8"
    assert script.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert gw.request("GET", "/assets/index-77aa01.css").headers["content-type"] == (
        "text/css; charset=utf-8"
    )
    assert gw.request("GET", "/favicon.svg").headers["content-type"] == "image/svg+xml"


@pytest.mark.parametrize("path", ["/browse", "/analytics", "/browse/page/2?x=1", "/missing.js"])
def test_any_other_path_is_the_spa_fallback(
    start: Callable[..., Harness], site: Path, path: str
) -> None:
    reply = start(site_dir=site).request("GET", path)
    assert (reply.status, reply.body) == (200, b"<!doctype html><title>feedback</title>")
    assert reply.headers["cache-control"] == "no-cache"


def test_config_json_is_generated_from_the_site_config(
    start: Callable[..., Harness], site: Path
) -> None:
    config: dict[str, Any] = {"apiBaseUrl": "", "apiKey": None}
    gw = start(site_dir=site, site_config=config)
    config["apiBaseUrl"] = gw.gateway.api_url  # filled in once the port is known
    reply = gw.request("GET", "/config.json")
    assert reply.json() == {"apiBaseUrl": gw.gateway.api_url, "apiKey": None}
    assert reply.headers["content-type"] == "application/json; charset=utf-8"
    assert reply.headers["cache-control"] == "no-cache"


@pytest.mark.parametrize(
    "path",
    [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/assets/..%2f..%2fsecret.txt",
        "/assets/%2e%2e/%2e%2e/secret.txt",
    ],
)
def test_path_traversal_is_blocked(start: Callable[..., Harness], site: Path, path: str) -> None:
    reply = start(site_dir=site).request("GET", path)
    assert reply.status == 403
    assert b"top secret" not in reply.body


def test_head_and_conditional_requests(start: Callable[..., Harness], site: Path) -> None:
    gw = start(site_dir=site)
    head = gw.request("HEAD", "/assets/index-3f9a1c.js")
    assert (head.status, head.body) == (200, b"")
    assert head.headers["content-length"] == str(len("console.log('app')"))
    again = gw.request(
        "GET", "/assets/index-3f9a1c.js", headers={"If-None-Match": head.headers["etag"]}
    )
    assert (again.status, again.body) == (304, b"")
    assert gw.request("POST", "/", b"x").status == 405
    assert gw.request("GET", "/").status == 200  # the connection is still good


@pytest.mark.parametrize("built", [False, True])
def test_without_a_build_the_root_says_how_to_build(
    start: Callable[..., Harness], tmp_path: Path, built: bool
) -> None:
    gw = start(site_dir=tmp_path / "dist" if built else None)
    if built:
        (tmp_path / "dist").mkdir()  # a directory without index.html
    for path in ("/", "/browse"):
        reply = gw.request("GET", path)
        assert reply.status == 200
        assert reply.headers["content-type"] == "text/html; charset=utf-8"
        assert b"The web app is not built" in reply.body
        assert b"bash scripts/setup.sh" in reply.body
    assert gw.request("GET", "/local/health").status == 200  # the API works regardless


# --- HTTP: keep-alive, Nagle, limits, lifecycle ----------------------------------------------


def test_many_requests_share_one_keep_alive_connection(start: Callable[..., Harness]) -> None:
    accepted: list[socket.socket] = []
    gw = start(on_connection=accepted.append)
    assert gw.request("POST", "/local/feedback", VALID).status == 200
    sock = gw.conn.sock
    for i in range(60):
        reply = gw.request("POST", "/local/feedback", VALID) if i % 2 else gw.request("GET", "/")
        assert reply.status == 200
        assert "connection" not in reply.headers
    assert gw.conn.sock is sock
    assert len(accepted) == 1


def test_accepted_sockets_have_nagle_off(start: Callable[..., Harness]) -> None:
    accepted: list[socket.socket] = []
    gw = start(on_connection=accepted.append)
    assert gw.request("GET", "/local/health").status == 200
    (server_side,) = accepted
    assert server_side.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def test_a_response_is_written_in_one_piece(gw: Harness) -> None:
    gw.invoker.default = proxy(200, {"items": ["x" * 200]})
    with socket.create_connection(("127.0.0.1", gw.gateway.port), timeout=10) as raw:
        raw.sendall(b"GET /local/feedback HTTP/1.1\r\nHost: test\r\n\r\n")
        first = raw.recv(65536)  # one sendall: status line, headers and body arrive together
    head, _, body = first.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert json.loads(body) == {"items": ["x" * 200]}


def test_an_oversized_body_is_413_and_the_connection_closes(gw: Harness) -> None:
    gw.conn.putrequest("POST", "/local/feedback")
    gw.conn.putheader("Content-Type", "application/json")
    gw.conn.putheader("Content-Length", str(11 * 1024 * 1024))
    gw.conn.endheaders()
    response = gw.conn.getresponse()
    assert response.status == 413
    assert json.loads(response.read()) == {"message": "Request Too Long"}
    assert response.getheader("Connection") == "close"
    assert gw.invoker.calls == []


def test_quiet_unless_given_a_log(
    start: Callable[..., Harness], capfd: pytest.CaptureFixture[str]
) -> None:
    gw = start()
    gw.request("GET", "/local/health")
    assert gw.logged[-1].startswith("GET /local/health 200 ")
    quiet = Gateway(LOCAL, FakeInvoker(), port=0)
    with quiet:
        conn = http.client.HTTPConnection("127.0.0.1", quiet.port, timeout=10)
        conn.request("GET", "/local/health")
        assert conn.getresponse().read() == b"{}"
        conn.close()
    assert capfd.readouterr().err == ""


def test_stop_closes_idle_keep_alive_connections(gw: Harness) -> None:
    assert gw.request("GET", "/local/health").status == 200
    port = gw.gateway.port
    gw.gateway.stop()
    assert gw.conn.sock is not None
    assert gw.conn.sock.recv(1) == b""  # the server closed our idle connection
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=10)


def test_a_port_in_use_says_which_and_how_to_choose_another() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        gateway = Gateway(LOCAL, FakeInvoker(), port=port)
        with pytest.raises(FeedbackctlError) as caught:
            gateway.start()
    assert str(caught.value) == (
        f"starting the API gateway: port {port} on 127.0.0.1 is in use "
        "(is another `feedbackctl local up` running? choose another port with --api-port)"
    )
