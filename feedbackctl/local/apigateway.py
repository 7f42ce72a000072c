"""API Gateway's REST data plane for one stage, as the rendered template defines it: route, API
key, throttling and quota, request validation, the AWS_PROXY event (payload format 1.0) to the
function's `live` alias through an `Invoker`, the proxy response, and every gateway response
(the template's GatewayResponse, else API Gateway's own) for what it refuses, transport
refusals included. One request in, one response out: no sockets (feedbackctl.local.http_server).
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from feedbackctl.local.apimodel import (
    DEFAULT_RESPONSES,
    ApiModel,
    HeaderMapping,
    MockResponse,
    Route,
    Throttle,
    UsagePlan,
    media_type,
)
from feedbackctl.local.http_server import HttpRequest, HttpResponse, Refusal
from feedbackctl.local.interfaces import Invoker, InvokeResult

ACCOUNT_ID = "123456789012"
MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
INTEGRATION_TIMEOUT_S = 29.0  # API Gateway's default integration timeout
DEFAULT_TEMPLATE = '{"message":$context.error.messageString}'
PROXY_FIELDS = frozenset({"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"})
# Hop-by-hop and framing headers are the gateway's to set, never the function's.
DROPPED_RESPONSE_HEADERS = frozenset(
    {"content-length", "transfer-encoding", "connection", "keep-alive", "date"}
)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# A VTL reference is `$name`, `$!name` or `${name}` (a brace is consumed only with its pair);
# one pass over the template, so text substituted in is never read as a reference itself.
_TEMPLATE_PART = re.compile(
    r"\$util\.escapeJavaScript\(\s*\$!?(?:\{(?P<escaped_braced>[\w.]+)\}|(?P<escaped>[\w.]+))\s*\)"
    r'(?:\.replaceAll\("(?:[^"\\]|\\.)*",\s*"(?:[^"\\]|\\.)*"\))*'
    r"|\$!?(?:\{(?P<braced>[\w.]+)\}|(?P<bare>[\w.]+))"
)


@dataclass
class _Bucket:
    """A token bucket; callers hold the throttler's lock."""

    throttle: Throttle
    tokens: float
    stamp: float

    def refill(self, now: float) -> None:
        elapsed = max(0.0, now - self.stamp)
        limit = float(self.throttle.burst_limit)
        self.tokens = min(limit, self.tokens + elapsed * self.throttle.rate_limit)
        self.stamp = now


class Throttler:
    """Stage method throttling for every request; usage-plan rate and quota per API key."""

    def __init__(self, model: ApiModel, clock: Callable[[], float]) -> None:
        self._model = model
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, ...], _Bucket] = {}
        self._quota: dict[str, tuple[int, int]] = {}  # key → (window, requests counted)
        self._epoch = clock()

    def admit(self, method: str, path: str, key: str | None, plan: UsagePlan | None) -> str | None:
        """None to let the request through, else the gateway response type refusing it."""
        with self._lock:
            now = self._clock()
            buckets = []
            stage = self._model.method_throttle(method, path)
            if stage is not None:
                buckets.append(self._bucket(("stage", method, path), stage, now))
            if plan is not None and key is not None and plan.throttle is not None:
                buckets.append(self._bucket(("key", key), plan.throttle, now))
            window = 0
            if plan is not None and key is not None and plan.quota is not None:
                window = int((now - self._epoch) // plan.quota.period_seconds)
                seen_window, used = self._quota.get(key, (window, 0))
                used = used if seen_window == window else 0
                if used >= plan.quota.limit:
                    return "QUOTA_EXCEEDED"
                self._quota[key] = (window, used)
            for bucket in buckets:
                bucket.refill(now)
            # Take a token from every bucket or from none, so a refusal costs nothing.
            if any(bucket.tokens < 1 for bucket in buckets):
                return "THROTTLED"
            for bucket in buckets:
                bucket.tokens -= 1
            if key is not None and key in self._quota:
                self._quota[key] = (window, self._quota[key][1] + 1)
            return None

    def _bucket(self, name: tuple[str, ...], throttle: Throttle, now: float) -> _Bucket:
        bucket = self._buckets.get(name)
        if bucket is None:
            bucket = self._buckets[name] = _Bucket(throttle, float(throttle.burst_limit), now)
        return bucket


@functools.lru_cache(maxsize=1024)
def short_id(seed: str, length: int) -> str:
    """A stable id in API Gateway's style (lowercase letters and digits) derived from `seed`."""
    digest = int.from_bytes(hashlib.sha256(seed.encode()).digest()[:16], "big")
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    chars = []
    for _ in range(length):
        digest, index = divmod(digest, len(alphabet))
        chars.append(alphabet[index])
    return "".join(chars)


def _request_time(epoch: float) -> str:
    """`25/Nov/2026:10:00:00 +0000`, API Gateway's requestTime (locale independent)."""
    t = time.gmtime(epoch)
    return (
        f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year}:"
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"
    )


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def render_gateway_template(template: str, values: Mapping[str, str]) -> str:
    """The subset of VTL gateway response templates use: `$context.*` and `$stageVariables.*`
    references, `$util.escapeJavaScript(...)` (its `.replaceAll` fix-ups are not needed: the
    escaping here never produces `\\'`). Unknown references are left as they are, as in VTL.
    """

    def substitute(found: re.Match[str]) -> str:
        escaped = found["escaped_braced"] or found["escaped"]
        value = values.get(escaped or found["braced"] or found["bare"])
        if value is None:
            return found[0]
        return json.dumps(value, ensure_ascii=False)[1:-1] if escaped else value

    return _TEMPLATE_PART.sub(substitute, template)


def parse_proxy_response(payload: bytes) -> HttpResponse | str:
    """A function's proxy response as an HttpResponse, or why API Gateway would call it
    malformed (and answer 502)."""
    try:
        data = json.loads(payload)
    except (ValueError, RecursionError) as exc:
        deep = isinstance(exc, RecursionError)
        return "the payload is nested too deeply" if deep else "the payload is not JSON"
    if not isinstance(data, dict):
        return "the payload is not a JSON object"
    unexpected = sorted(set(data) - PROXY_FIELDS)
    if unexpected:
        return f"unexpected fields {', '.join(unexpected)}"
    status = data.get("statusCode")
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        return "statusCode is missing or not an HTTP status"
    headers = _proxy_headers(data.get("headers"), data.get("multiValueHeaders"))
    body = _proxy_body(data.get("body"), data.get("isBase64Encoded") is True)
    if isinstance(headers, str) or isinstance(body, str):
        return headers if isinstance(headers, str) else str(body)
    return HttpResponse(status, headers, body)


def _proxy_body(body: Any, encoded: bool) -> bytes | str:
    if body is not None and not isinstance(body, str):
        return "body is not a string"
    if not encoded or not body:
        return (body or "").encode("utf-8")
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        return "isBase64Encoded is true but the body is not base64"


def _scalar(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    return None


def _proxy_headers(single: Any, multi: Any) -> list[tuple[str, str]] | str:
    """multiValueHeaders first; `headers` adds the names multiValueHeaders does not have."""
    if not isinstance(single, dict | None) or not isinstance(multi, dict | None):
        return "headers and multiValueHeaders must be objects"
    out: list[tuple[str, str]] = []
    for name, values in (multi or {}).items():
        if not isinstance(values, list) or any(_scalar(v) is None for v in values):
            return f"multiValueHeaders.{name} is not a list of strings"
        out += [(str(name), str(_scalar(v))) for v in values]
    taken = {name.lower() for name, _ in out}
    for name, value in (single or {}).items():
        text = _scalar(value)
        if value is None:
            continue
        if text is None:
            return f"headers.{name} is not a string"
        if str(name).lower() not in taken:
            out.append((str(name), text))
    return [(n, v) for n, v in out if n.lower() not in DROPPED_RESPONSE_HEADERS]


def validation_errors(validator: Any, body: bytes) -> str | None:
    """None when the body is JSON the model accepts, else API Gateway's validationErrorString
    (a bracketed list; the messages are jsonschema's, not API Gateway's wording)."""
    try:
        instance = json.loads(body.decode("utf-8"), parse_constant=_reject_constant) if body else {}
    except (UnicodeDecodeError, ValueError) as exc:
        return f"[Invalid JSON: {exc}]"
    except RecursionError:  # JSON nested thousands deep: a client's mistake, answered 400
        return "[Invalid JSON: nested too deeply]"
    try:
        if validator.is_valid(instance):
            return None
        problems = []
        for error in validator.iter_errors(instance):
            where = "/".join(str(p) for p in error.absolute_path)
            message = error.message if len(error.message) <= 200 else error.message[:197] + "..."
            problems.append(f"{where}: {message}" if where else message)
    except RecursionError:  # parsed, but too deep for the validator to walk
        return "[Invalid JSON: nested too deeply]"
    return "[" + ", ".join(problems) + "]"


@dataclass(frozen=True)
class Edge:
    """Where and how the stage is served: what RestApi needs from the gateway around it."""

    invoker: Invoker
    api_id: str
    address: str  # host:port the gateway listens on, the Host when a request sends none
    port: int  # for X-Forwarded-Port
    report: Callable[[str], None]  # a failure worth telling the developer
    api_keys: Mapping[str, str] = field(default_factory=dict)  # key value → usage plan id
    clock: Callable[[], float] = time.monotonic  # throttling, quotas, the integration timeout
    wall_clock: Callable[[], float] = time.time  # the request times in the event
    integration_timeout_s: float = INTEGRATION_TIMEOUT_S


class RestApi:
    """Everything under `/<stage>/`: one request in, one response out, no sockets."""

    def __init__(self, model: ApiModel, edge: Edge) -> None:
        from feedbackctl.local.model_check import ModelValidator

        self.edge = edge
        self.model = model
        self.throttler = Throttler(model, edge.clock)
        self.api_id = edge.api_id
        self.validators: dict[tuple[str, str], Any] = {
            (route.logical_id, content_type): ModelValidator(schema)
            for route in model.routes
            if route.validate_body
            for content_type, schema in route.models.items()
        }

    def handle(self, request: HttpRequest, path: str, query: str) -> HttpResponse:
        context = self.context(request, path)
        match = self.model.match(request.method, path)
        if match is None:
            return self.error("MISSING_AUTHENTICATION_TOKEN", request, context)
        target = match.target
        context["resourcePath"] = target.path
        context["resourceId"] = short_id(target.resource_id or self.model.api_logical_id, 6)
        refusal = self.admit(target, request, context)
        if refusal is not None:
            return refusal
        if isinstance(target, MockResponse):
            return self.mock(target, request, context)
        refusal = self.validate(target, request, query, context)
        if refusal is not None:
            return refusal
        event = self.event(
            target,
            request,
            path=path,
            query=query,
            path_parameters=match.path_parameters,
            context=context,
        )
        return self.invoke(target, event, request, context)

    def refused(self, refusal: Refusal, request: HttpRequest, path: str) -> HttpResponse:
        """What the HTTP transport refused under the stage, as API Gateway answers it: through
        the template's gateway responses (so the SPA can read it), the body never read."""
        context = self.context(request, path)
        if refusal.status == 413:
            return self.error("REQUEST_TOO_LARGE", request, context)
        family = "DEFAULT_5XX" if refusal.status >= 500 else "DEFAULT_4XX"
        # Bad Request, Request Timeout, Request Header Fields Too Large, Not Implemented; a
        # handler that raised is API Gateway's "Internal server error".
        message = "Internal server error" if refusal.status == 500 else refusal.reason
        return self.error(family, request, context, message=message, status_code=refusal.status)

    def over_integration_timeout(self, elapsed_s: float, result: InvokeResult) -> bool:
        """API Gateway answers 504 when the integration outlasts its timeout (29 s). A function
        that times out sooner is a function error (502), as Lambda reports it to API Gateway."""
        limit = self.edge.integration_timeout_s
        # A function whose own timeout equals the limit is cut off by API Gateway first; the
        # invoke service reports such a timeout a little under the limit.
        reported = result.duration_ms / 1000 + (0.1 if result.timed_out else 0.0)
        return elapsed_s >= limit or reported >= limit

    def admit(
        self, target: Route | MockResponse, request: HttpRequest, context: dict[str, Any]
    ) -> HttpResponse | None:
        """The API key check, then throttling and quota: None lets the request through."""
        key = request.header("x-api-key")
        plan = None
        if target.api_key_required:
            plan = self.plan_of(key)
            if plan is None:
                return self.error("INVALID_API_KEY", request, context)
            context["identity"]["apiKey"] = key
            context["identity"]["apiKeyId"] = short_id(f"key:{key}", 10)
        refusal = self.throttler.admit(target.method, target.path, key, plan)
        return None if refusal is None else self.error(refusal, request, context)

    def plan_of(self, key: str | None) -> UsagePlan | None:
        plan_id = self.edge.api_keys.get(key) if key else None
        return self.model.usage_plan(plan_id) if plan_id else None

    # --- the request context and the proxy event --------------------------------------------

    def context(self, request: HttpRequest, path: str) -> dict[str, Any]:
        now = self.edge.wall_clock()
        request_id = str(uuid.uuid4())
        host = request.header("host") or self.edge.address
        stage = self.model.stage_name
        return {
            "accountId": ACCOUNT_ID,
            "apiId": self.api_id,
            "resourceId": "",
            "resourcePath": path,
            "httpMethod": request.method,
            "extendedRequestId": base64.b64encode(uuid.UUID(request_id).bytes[:12]).decode(),
            "requestTime": _request_time(now),
            "path": f"/{stage}{path}",
            "protocol": request.protocol,
            "stage": stage,
            "domainPrefix": host.split(".", 1)[0].split(":", 1)[0],
            "requestTimeEpoch": int(now * 1000),
            "requestId": request_id,
            "identity": {
                "cognitoIdentityPoolId": None,
                "accountId": None,
                "cognitoIdentityId": None,
                "caller": None,
                "sourceIp": request.client_ip,
                "principalOrgId": None,
                "accessKey": None,
                "cognitoAuthenticationType": None,
                "cognitoAuthenticationProvider": None,
                "userArn": None,
                "userAgent": request.header("user-agent"),
                "user": None,
                "apiKey": None,
                "apiKeyId": None,
            },
            "domainName": host,
        }

    def event(
        self,
        route: Route,
        request: HttpRequest,
        *,
        path: str,
        query: str,
        path_parameters: Mapping[str, str],
        context: dict[str, Any],
    ) -> dict[str, Any]:
        """The AWS_PROXY event, payload format 1.0."""
        headers: dict[str, str] = {}
        multi_headers: dict[str, list[str]] = {}
        for name, value in self.forwarded(request):
            headers[name] = value
            multi_headers.setdefault(name, []).append(value)
        params: dict[str, str] = {}
        multi_params: dict[str, list[str]] = {}
        for name, value in parse_qsl(query, keep_blank_values=True):
            params[name] = value
            multi_params.setdefault(name, []).append(value)
        body: str | None = None
        encoded = False
        if request.body:
            try:
                body = request.body.decode("utf-8")
            except UnicodeDecodeError:
                body, encoded = base64.b64encode(request.body).decode("ascii"), True
        return {
            "resource": route.path,
            "path": path,
            "httpMethod": request.method,
            "headers": headers or None,
            "multiValueHeaders": multi_headers or None,
            "queryStringParameters": params or None,
            "multiValueQueryStringParameters": multi_params or None,
            "pathParameters": dict(path_parameters) or None,
            "stageVariables": dict(self.model.stage_variables) or None,
            "requestContext": context,
            "body": body,
            "isBase64Encoded": encoded,
        }

    def forwarded(self, request: HttpRequest) -> Iterable[tuple[str, str]]:
        """The request's headers plus the X-Forwarded-* API Gateway adds."""
        forwarded_for = request.header("x-forwarded-for")
        skip = {"x-forwarded-for", "x-forwarded-port", "x-forwarded-proto"}
        yield from ((n, v) for n, v in request.headers if n.lower() not in skip)
        chain = f"{forwarded_for}, {request.client_ip}" if forwarded_for else request.client_ip
        yield "X-Forwarded-For", chain
        yield "X-Forwarded-Port", str(self.edge.port)
        yield "X-Forwarded-Proto", "http"

    # --- the edge's checks, the integration -------------------------------------------------

    def validate(
        self, route: Route, request: HttpRequest, query: str, context: dict[str, Any]
    ) -> HttpResponse | None:
        if route.validate_params:
            present = {name for name, _ in parse_qsl(query, keep_blank_values=True)}
            missing = [f"querystring.{n}" for n in route.required_query if n not in present] + [
                f"header.{n}" for n in route.required_headers if request.header(n) is None
            ]
            if missing:
                message = f"Missing required request parameters: [{', '.join(missing)}]"
                return self.error("BAD_REQUEST_PARAMETERS", request, context, message=message)
        if route.validate_body:
            media = media_type(request.header("content-type"))
            validator = self.validators.get((route.logical_id, media)) or self.validators.get(
                (route.logical_id, "$default")
            )
            problems = validation_errors(validator, request.body) if validator else None
            if problems is not None:
                return self.error("BAD_REQUEST_BODY", request, context, validation=problems)
        return None

    def invoke(
        self, route: Route, event: dict[str, Any], request: HttpRequest, context: dict[str, Any]
    ) -> HttpResponse:
        payload = json.dumps(event, separators=(",", ":")).encode("utf-8")
        started = self.edge.clock()
        try:
            result = self.edge.invoker.invoke(route.function_target, payload)
        except Exception as exc:  # noqa: BLE001 - a failed invoke is API Gateway's 500, not a dropped connection
            self.edge.report(
                f"{route.method} {route.path}: invoking {route.function_target} failed: {exc}"
            )
            return self.error("API_CONFIGURATION_ERROR", request, context)
        elapsed = self.edge.clock() - started
        if self.over_integration_timeout(elapsed, result):
            return self.error("INTEGRATION_TIMEOUT", request, context)
        proxied = self.proxied(route, result)
        if isinstance(proxied, str):
            self.edge.report(f"{route.method} {route.path}: {proxied}")
            return self.error("DEFAULT_5XX", request, context)
        proxied.headers.append(("x-amzn-RequestId", context["requestId"]))
        if not any(name.lower() == "content-type" for name, _ in proxied.headers):
            proxied.headers.append(("Content-Type", "application/json"))
        return proxied

    def proxied(self, route: Route, result: InvokeResult) -> HttpResponse | str:
        if result.function_error or result.timed_out or result.status_code >= 300:
            kind = "timed out" if result.timed_out else "raised"
            return f"{route.function_target} {kind} ({result.function_error or result.status_code})"
        answer = parse_proxy_response(result.payload)
        if isinstance(answer, str):
            return f"Malformed Lambda proxy response from {route.function_target}: {answer}"
        return answer

    def mock(
        self, mock: MockResponse, request: HttpRequest, context: dict[str, Any]
    ) -> HttpResponse:
        headers = [("Content-Type", "application/json")]
        headers += self.mapped_headers(mock.headers, request)
        origin = request.header("origin")
        if origin and origin in mock.allowed_origins:
            headers.append(("Access-Control-Allow-Origin", origin))
        headers.append(("x-amzn-RequestId", context["requestId"]))
        return HttpResponse(mock.status, headers)

    @staticmethod
    def mapped_headers(mapping: HeaderMapping, request: HttpRequest) -> list[tuple[str, str]]:
        headers = list(mapping.static.items())
        for name, source in mapping.echo.items():
            value = request.header(source)
            if value is not None:
                headers.append((name, value))
        return headers

    def error(
        self,
        kind: str,
        request: HttpRequest,
        context: Mapping[str, Any],
        *,
        message: str | None = None,
        validation: str = "",
        status_code: int | None = None,
    ) -> HttpResponse:
        """A gateway response: the template's GatewayResponse for `kind`, or API Gateway's
        (`status_code` overrides the status, for a DEFAULT_4XX/5XX answering a refusal)."""
        status, default_message, error_type = DEFAULT_RESPONSES[kind]
        response = self.model.gateway_response(kind)
        message = message or default_message
        templates = response.templates
        template = templates.get("application/json") or next(iter(templates.values()), None)
        values = {
            "context.error.message": message,
            "context.error.messageString": json.dumps(message),
            "context.error.validationErrorString": validation,
            "context.error.responseType": kind,
            "context.requestId": context["requestId"],
            "context.extendedRequestId": context["extendedRequestId"],
            "context.stage": self.model.stage_name,
            "context.resourcePath": context["resourcePath"],
            "context.httpMethod": request.method,
            "context.path": context["path"],
            "context.apiId": self.api_id,
            **{f"stageVariables.{k}": v for k, v in self.model.stage_variables.items()},
        }
        body = render_gateway_template(template or DEFAULT_TEMPLATE, values)
        headers = [("Content-Type", "application/json"), ("x-amzn-RequestId", context["requestId"])]
        if error_type:
            headers.append(("x-amzn-ErrorType", error_type))
        headers += self.mapped_headers(response.headers, request)
        status = status_code or response.status or status
        return HttpResponse(status, headers, body.encode("utf-8"))
