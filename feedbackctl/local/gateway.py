"""The local API gateway: API Gateway's REST data plane for the `local` stage, and the SPA.

Requests under `/<stage>/` go through what API Gateway does for the rendered template's API
(feedbackctl.local.apimodel): route, API key, throttling and quota, request validation, the
AWS_PROXY event (payload v1) to the function's `live` alias through an `Invoker`, and the
proxy response or a gateway response. Everything else is the built SPA (`frontend/dist`).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import email.utils
import errno
import functools
import hashlib
import json
import logging
import re
import socket
import socketserver
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote

from feedbackctl import site
from feedbackctl.errors import FeedbackctlError
from feedbackctl.local.apimodel import (
    DEFAULT_RESPONSES,
    ROOT,
    ApiModel,
    HeaderMapping,
    MockResponse,
    Route,
    Throttle,
    UsagePlan,
    media_type,
)
from feedbackctl.local.interfaces import Invoker, InvokeResult

ACCOUNT_ID = "123456789012"
MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
INTEGRATION_TIMEOUT_S = 29.0  # API Gateway's default integration timeout
IDLE_TIMEOUT_S = 120.0  # keep-alive connections idle this long are closed
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

_logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class HttpRequest:
    """One HTTP request as the gateway sees it (headers in arrival order, as sent)."""

    method: str
    target: str  # the request target: path and query string
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    client_ip: str = "127.0.0.1"
    protocol: str = "HTTP/1.1"
    too_large: bool = False  # the body exceeded MAX_BODY_BYTES and was not read

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        found = None
        for key, value in self.headers:
            if key.lower() == wanted:
                found = value
        return found


@dataclass
class HttpResponse:
    """An answer: status, headers in order, body (sent without a body to HEAD)."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


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
def _short_id(seed: str, length: int) -> str:
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
    except ValueError:
        return "the payload is not JSON"
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
    if validator.is_valid(instance):
        return None
    problems = []
    for error in validator.iter_errors(instance):
        where = "/".join(str(p) for p in error.absolute_path)
        message = error.message if len(error.message) <= 200 else error.message[:197] + "..."
        problems.append(f"{where}: {message}" if where else message)
    return "[" + ", ".join(problems) + "]"


class _Api:
    """Everything under `/<stage>/`: one request in, one response out, no sockets."""

    def __init__(self, gateway: Gateway, model: ApiModel) -> None:
        from jsonschema import Draft4Validator

        self.gateway = gateway
        self.model = model
        self.throttler = Throttler(model, gateway.clock)
        self.api_id = gateway.api_id
        self.validators: dict[tuple[str, str], Any] = {
            (route.logical_id, content_type): Draft4Validator(schema)
            for route in model.routes
            if route.validate_body
            for content_type, schema in route.models.items()
        }

    def handle(self, request: HttpRequest, path: str, query: str) -> HttpResponse:
        context = self.context(request, path)
        if request.too_large:
            return self.error("REQUEST_TOO_LARGE", request, context)
        match = self.model.match(request.method, path)
        if match is None:
            return self.error("MISSING_AUTHENTICATION_TOKEN", request, context)
        target = match.target
        context["resourcePath"] = target.path
        context["resourceId"] = _short_id(target.resource_id or self.model.api_logical_id, 6)
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
            context["identity"]["apiKeyId"] = _short_id(f"key:{key}", 10)
        refusal = self.throttler.admit(target.method, target.path, key, plan)
        return None if refusal is None else self.error(refusal, request, context)

    def plan_of(self, key: str | None) -> UsagePlan | None:
        plan_id = self.gateway.api_keys.get(key) if key else None
        return self.model.usage_plan(plan_id) if plan_id else None

    # --- the request context and the proxy event --------------------------------------------

    def context(self, request: HttpRequest, path: str) -> dict[str, Any]:
        now = self.gateway.wall_clock()
        request_id = str(uuid.uuid4())
        host = request.header("host") or self.gateway.address
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
        yield "X-Forwarded-Port", str(self.gateway.port)
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
        started = self.gateway.clock()
        try:
            result = self.gateway.invoker.invoke(route.function_target, payload)
        except Exception as exc:  # noqa: BLE001 - a failed invoke is API Gateway's 500, not a dropped connection
            self.gateway.report(
                f"{route.method} {route.path}: invoking {route.function_target} failed: {exc}"
            )
            return self.error("API_CONFIGURATION_ERROR", request, context)
        elapsed = self.gateway.clock() - started
        if self.gateway.over_integration_timeout(elapsed, result):
            return self.error("INTEGRATION_TIMEOUT", request, context)
        proxied = self.proxied(route, result)
        if isinstance(proxied, str):
            self.gateway.report(f"{route.method} {route.path}: {proxied}")
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
    ) -> HttpResponse:
        """A gateway response: the template's GatewayResponse for `kind`, or API Gateway's."""
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
        return HttpResponse(response.status or status, headers, body.encode("utf-8"))


NOT_BUILT_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>feedbackctl: the web app is not built</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:40em;margin:4em auto;padding:0 1em}}
code{{background:#f3f3f3;padding:.1em .3em}}</style></head>
<body><h1>The web app is not built</h1>
<p>The local platform is running, but there is no built single-page app to serve here
({where}).</p>
<p>Build it from the repository root with <code>bash scripts/setup.sh</code>, then reload
this page.</p>
<p>The API works meanwhile: <a href="{api}/health">{api}/health</a></p>
</body></html>
"""


class _Site:
    """The built SPA: files from `site_dir`, `/config.json` from the site config, and
    index.html for any path that is not a file (client-side routes)."""

    def __init__(self, gateway: Gateway, site_dir: Path | None) -> None:
        self.gateway = gateway
        self.root = site_dir.resolve() if site_dir is not None else None

    def handle(self, request: HttpRequest, path: str) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            return _text(
                405, "method not allowed: the site serves GET and HEAD", ("Allow", "GET, HEAD")
            )
        if path == "/config.json":
            body = json.dumps(self.gateway.site_config, separators=(",", ":")).encode()
            return HttpResponse(
                200,
                [
                    ("Content-Type", "application/json; charset=utf-8"),
                    ("Cache-Control", site.NO_CACHE),
                ],
                body,
            )
        if self.root is None or not (self.root / "index.html").is_file():
            return self.not_built()
        relative = unquote(path).lstrip("/")
        if "\x00" in relative or ".." in relative.replace("\\", "/").split("/"):
            return _text(403, "forbidden path")
        candidate = (self.root / relative).resolve() if relative else self.root
        if not candidate.is_relative_to(self.root):
            return _text(403, "forbidden path")
        if not candidate.is_file():
            # A client-side route (or a missing file): the SPA, as CloudFront's error pages do.
            candidate = self.root / "index.html"
        return self.file(candidate, request)

    def file(self, file: Path, request: HttpRequest) -> HttpResponse:
        stat = file.stat()
        etag = f'"{stat.st_size:x}-{stat.st_mtime_ns:x}"'
        relative = file.relative_to(self.root).as_posix() if self.root else file.name
        # The same Content-Type and Cache-Control a deploy gives the object in the site bucket.
        headers = [
            ("Content-Type", site.content_type(relative)),
            ("Cache-Control", site.cache_control(relative)),
            ("ETag", etag),
            ("X-Content-Type-Options", "nosniff"),
        ]
        if request.header("if-none-match") == etag:
            return HttpResponse(304, headers)
        return HttpResponse(200, headers, file.read_bytes())

    def not_built(self) -> HttpResponse:
        where = f"no index.html in {self.root}" if self.root else "no site directory was given"
        page = NOT_BUILT_PAGE.format(where=where, api=self.gateway.api_url)
        return HttpResponse(
            200,
            [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store")],
            page.encode(),
        )


def _text(status: int, text: str, *extra: tuple[str, str]) -> HttpResponse:
    headers = [("Content-Type", "text/plain; charset=utf-8"), *extra]
    return HttpResponse(status, headers, (text + "\n").encode())


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], gateway: Gateway) -> None:
        self.gateway = gateway
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host's FQDN, a DNS lookup we have no use for.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def track(self, connection: socket.socket, open_: bool) -> None:
        with self.connections_lock:
            if open_:
                self.connections.add(connection)
            else:
                self.connections.discard(connection)

    def close_connections(self) -> None:
        """Wake the threads waiting on idle keep-alive connections, so stop() is prompt."""
        with self.connections_lock:
            connections, self.connections = self.connections, set()
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by the client
                connection.shutdown(socket.SHUT_RDWR)


class _V6Server(_Server):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # TCP_NODELAY: with Nagle on, a keep-alive client's next request waits out a delayed ACK.
    disable_nagle_algorithm = True
    timeout = IDLE_TIMEOUT_S
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, True)
        hook = self.server.gateway.on_connection
        if hook is not None:
            hook(self.connection)

    def finish(self) -> None:
        self.server.track(self.connection, False)
        super().finish()

    def serve(self) -> None:
        started = time.perf_counter()
        gateway = self.server.gateway
        body, too_large = self.read_body()
        if body is None and not too_large:
            return
        request = HttpRequest(
            method=self.command,
            target=self.path,
            headers=tuple(self.headers.items()),
            body=body or b"",
            client_ip=str(self.client_address[0]),
            protocol=self.request_version,
            too_large=too_large,
        )
        if too_large:
            self.close_connection = True  # the unread body cannot be skipped
        response = gateway.handle(request)
        if gateway.log is not None:  # before sending, so the line precedes what it reports
            elapsed = (time.perf_counter() - started) * 1000
            gateway.log(f"{self.command} {self.path} {response.status} {elapsed:.1f} ms")
        self.send(response)

    # http.server dispatches on these names.
    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = serve  # noqa: N815

    def read_body(self) -> tuple[bytes | None, bool]:
        """(body, False); (None, True) when over the limit; (None, False) after a 400 sent."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self.read_chunked()
        raw = self.headers.get("Content-Length") or "0"
        if not raw.isdigit():
            self.send_error(400, "bad Content-Length")
            return None, False
        length = int(raw)
        if length > MAX_BODY_BYTES:
            return None, True
        return (self.rfile.read(length) if length else b""), False

    def read_chunked(self) -> tuple[bytes | None, bool]:
        chunks: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(1024).split(b";", 1)[0].strip()
            try:
                size = int(line, 16)
            except ValueError:
                self.send_error(400, "bad chunked body")
                return None, False
            total += size
            if total > MAX_BODY_BYTES:
                return None, True
            if size == 0:
                while self.rfile.readline(8192) not in (b"\r\n", b"\n", b""):
                    pass  # trailers: read and ignored
                return b"".join(chunks), False
            chunks.append(self.rfile.read(size))
            self.rfile.readline(8)

    def send(self, response: HttpResponse) -> None:
        """Status line, headers and body in one buffer and one sendall: split writes would
        leave a keep-alive client waiting out Nagle and a delayed ACK between them."""
        status = response.status
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = ""
        lines = [f"HTTP/1.1 {status} {reason}"]
        lines += [
            f"{name}: {value}"
            for name, value in response.headers
            if not any(c in name or c in value for c in "\r\n")
        ]
        bodiless = status in (204, 304) or status < 200
        if not bodiless:
            lines.append(f"Content-Length: {len(response.body)}")
        lines.append(f"Date: {email.utils.formatdate(usegmt=True)}")
        if self.close_connection:
            lines.append("Connection: close")
        elif self.request_version == "HTTP/1.0":
            lines.append("Connection: keep-alive")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")
        send_body = not bodiless and self.command != "HEAD"
        self.connection.sendall(head + response.body if send_body else head)

    def log_message(self, format: str, *args: Any) -> None:
        log = self.server.gateway.log
        if log is not None:
            log(format % args)


class Gateway:
    """The local API gateway and site server on one port: `start()`, `stop()`, `url`."""

    def __init__(
        self,
        model: ApiModel,
        invoker: Invoker,
        *,
        host: str = "127.0.0.1",
        port: int = 8000,
        site_dir: Path | None = None,
        site_config: dict[str, Any] | None = None,
        api_keys: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        log: Callable[[str], None] | None = None,
        api_id: str | None = None,
        integration_timeout_s: float = INTEGRATION_TIMEOUT_S,
        on_connection: Callable[[socket.socket], None] | None = None,
    ) -> None:
        """`api_keys` maps each API key's value to its usage plan's logical id. `site_config`
        is served as `/config.json`, read on every request (so it may be filled in after
        start(), once the port is known). `clock` drives throttling, quotas and the
        integration timeout; `wall_clock` the request times in the event. `on_connection`
        sees each accepted socket (diagnostics: its options, its peer)."""
        self.model = model
        self.invoker = invoker
        self.host = host
        self._port = port
        self.site_config = site_config if site_config is not None else {}
        self.api_keys = dict(api_keys or {})
        self.clock = clock
        self.wall_clock = wall_clock
        self.log = log
        self.api_id = api_id or _short_id(f"api:{model.api_name}", 10)
        self.integration_timeout_s = integration_timeout_s
        self.on_connection = on_connection
        self._site = _Site(self, site_dir)
        self._api = _Api(self, model.with_site_origin(self.url))
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # --- where it listens -------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._port

    @property
    def address(self) -> str:
        host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(self.host, self.host)  # noqa: S104 - mapping a wildcard to a reachable address
        return f"[{host}]:{self._port}" if ":" in host else f"{host}:{self._port}"

    @property
    def url(self) -> str:
        """The site's URL (and origin), e.g. http://127.0.0.1:8000."""
        return f"http://{self.address}"

    @property
    def api_url(self) -> str:
        """The API's base URL, the stage path included, e.g. http://127.0.0.1:8000/local."""
        return f"{self.url}/{self.model.stage_name}"

    # --- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        """Listen and serve in a background thread; a port in use is a FeedbackctlError."""
        server_class = _V6Server if ":" in self.host else _Server
        try:
            self._server = server_class((self.host, self._port), self)
        except OSError as exc:
            raise self._bind_error(exc) from None
        self._port = int(self._server.server_address[1])
        # Locally the gateway serves the site, so the site's origin is the gateway's own.
        self._api = _Api(self, self.model.with_site_origin(self.url))
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"gateway-{self._port}",
            daemon=True,
        )
        self._thread.start()

    def _bind_error(self, exc: OSError) -> FeedbackctlError:
        if exc.errno == errno.EADDRINUSE:
            return FeedbackctlError(
                f"port {self._port} on {self.host} is in use",
                doing="starting the API gateway",
                hint="is another `feedbackctl local up` running? "
                "choose another port with --api-port",
            )
        return FeedbackctlError(
            f"cannot listen on {self.host} port {self._port}: {exc.strerror or exc}",
            doing="starting the API gateway",
            hint="choose another port with --api-port",
        )

    def stop(self) -> None:
        """Stop serving and close every connection, idle keep-alive ones included."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        server.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Gateway:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    # --- requests ---------------------------------------------------------------------------

    def handle(self, request: HttpRequest) -> HttpResponse:
        """Answer one request: the API under `/<stage>/`, the site everywhere else."""
        path, _, query = request.target.partition("?")
        if path.startswith(("http://", "https://")):  # absolute-form request target
            path = "/" + path.split("://", 1)[1].partition("/")[2]
        prefix = f"/{self.model.stage_name}"
        if path == prefix or path.startswith(prefix + "/"):
            resource = unquote(path[len(prefix) :]).rstrip("/") or ROOT
            return self._api.handle(request, resource, query.partition("#")[0])
        return self._site.handle(request, path)

    def over_integration_timeout(self, elapsed_s: float, result: InvokeResult) -> bool:
        """API Gateway answers 504 when the integration outlasts its timeout (29 s). A function
        that times out sooner is a function error (502), as Lambda reports it to API Gateway."""
        limit = self.integration_timeout_s
        # A function whose own timeout equals the limit is cut off by API Gateway first; the
        # invoke service reports such a timeout a little under the limit.
        reported = result.duration_ms / 1000 + (0.1 if result.timed_out else 0.0)
        return elapsed_s >= limit or reported >= limit

    def report(self, message: str) -> None:
        """A failure worth telling the developer: to the log callback, else Python logging."""
        if self.log is not None:
            self.log(message)
        else:
            _logger.warning("%s", message)
