"""The local AWS endpoint (default 127.0.0.1:4566): Lambda's Invoke API is answered by the invoke
service, every other request is forwarded to the moto server behind it.

So boto3 with AWS_ENDPOINT_URL pointed here — the CLI, the release and rollback engines, the
functions themselves — gets real invocations (ExecutedVersion, FunctionError, throttling) and
moto for the rest. moto never changes or checks an alias's RevisionId, so the endpoint keeps its
own per alias (`AliasRevisions`) and answers a stale UpdateAlias with 412 as Lambda does.
Sockets, framing and limits are the HTTP transport's (feedbackctl.local.http_server): chunked
uploads arrive de-chunked and are forwarded with a Content-Length.
"""

from __future__ import annotations

import base64
import http.client
import json
import re
import threading
import uuid
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from feedbackctl.errors import FeedbackctlError
from feedbackctl.local.http_server import HttpRequest, HttpResponse, HttpServer, Limits, Refusal
from feedbackctl.local.invoke import FunctionNotFoundError, InvokeService, TooManyRequestsError

LOG_TAIL_BYTES = 4096
# Lambda's limit on a synchronous invocation's request payload.
MAX_INVOKE_PAYLOAD_BYTES = 6 * 1024 * 1024
# Bodies are held in memory to be forwarded: S3 uploads (code, the site) stay far below this.
MAX_BODY_BYTES = 512 * 1024 * 1024
INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations$")
ALIAS_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/aliases(?:/(?P<alias>[^/]+))?/?$")
REVISION_MISMATCH = (
    "The Revision Id provided does not match the latest Revision Id. "
    "Call the GetFunction/GetAlias API to retrieve the latest Revision Id"
)
# Not forwarded either way: hop-by-hop, and the framing each side sets for itself.
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "proxy-connection",
    "content-length",
    "expect",
}

Answer = tuple[int, bytes, dict[str, str]]


def function_name(path_part: str) -> str:
    """The function name from a path's FunctionName (a name, `name:qualifier` or an ARN)."""
    return InvokeService.parse(unquote(path_part), None)[0]


class AliasRevisions:
    """Lambda's alias RevisionId, kept by the endpoint because moto's never changes.

    An alias first seen here adopts moto's RevisionId (so a client that read it from moto
    directly still agrees); each UpdateAlias through the endpoint gives it a new one. Updates
    are checked and applied under one lock, so of two racing updates that carry the same
    RevisionId exactly one wins and the other gets PreconditionFailedException.
    """

    def __init__(self) -> None:
        self._revisions: dict[tuple[str, str], str] = {}
        self.update_lock = threading.Lock()
        self._lock = threading.Lock()

    def current(self, function: str, alias: str, moto_revision: str | None) -> str:
        with self._lock:
            key = (function, alias)
            if key not in self._revisions:
                self._revisions[key] = moto_revision or str(uuid.uuid4())
            return self._revisions[key]

    def known(self, function: str, alias: str) -> str | None:
        with self._lock:
            return self._revisions.get((function, alias))

    def renew(self, function: str, alias: str) -> str:
        with self._lock:
            revision = str(uuid.uuid4())
            self._revisions[(function, alias)] = revision
            return revision

    def forget(self, function: str, alias: str) -> None:
        with self._lock:
            self._revisions.pop((function, alias), None)

    def stamp(self, function: str, alias: dict[str, Any]) -> None:
        """Replace moto's RevisionId in an alias configuration with ours."""
        if isinstance(alias, dict) and "Name" in alias:
            alias["RevisionId"] = self.current(function, alias["Name"], alias.get("RevisionId"))


def lambda_error(status: int, error_type: str, message: str, **extra: str) -> Answer:
    """A Lambda REST-JSON error: botocore reads the code from x-amzn-ErrorType."""
    body = json.dumps({"Type": "User", "message": message, **extra}).encode()
    return status, body, {"Content-Type": "application/json", "x-amzn-ErrorType": error_type}


class _Moto:
    """Keep-alive connections to moto, one per request thread (the pool is bounded)."""

    def __init__(self, address: tuple[str, int]) -> None:
        self._address = address
        self._local = threading.local()

    def request(self, method: str, target: str, body: bytes, headers: dict[str, str]) -> Answer:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = http.client.HTTPConnection(*self._address, timeout=60)
            self._local.connection = connection
        try:
            connection.request(method, target, body=body or None, headers=headers)
            response = connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            connection.close()
            self._local.connection = None
            raise
        return response.status, data, dict(response.getheaders())


class Endpoint:
    """The local AWS endpoint, bound on construction, serving in background threads."""

    def __init__(
        self,
        invoker: InvokeService,
        moto: tuple[str, int],
        *,
        host: str = "127.0.0.1",
        port: int = 4566,
        limits: Limits | None = None,
    ) -> None:
        self.invoker = invoker
        self.revisions = AliasRevisions()
        self._moto = _Moto(moto)
        try:
            self._server = HttpServer(
                self.handle,
                self.refuse,
                host=host,
                port=port,
                limits=limits or Limits(max_body_bytes=MAX_BODY_BYTES),
                name="aws-endpoint",
            )
        except OSError as exc:
            raise FeedbackctlError(
                f"port {port} on {host} is in use ({exc.strerror})",
                doing="starting the local AWS endpoint",
                hint="stop the other `feedbackctl local up` or choose another port with --aws-port",
            ) from None
        self.host, self.port = host, self._server.port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        self._server.start()

    def stop(self) -> None:
        self._server.stop()

    # --- requests ---------------------------------------------------------------------------

    def handle(self, request: HttpRequest) -> HttpResponse:
        url = urlsplit(request.target)
        match = INVOKE_PATH.match(url.path)
        if match and request.method == "POST":
            answer = self._invoke(request, unquote(match.group("name")), url.query)
        else:
            writes = request.method != "GET" and "/functions" in url.path
            if writes:
                self.invoker.invalidate()  # an alias, version or concurrency may change
            alias = ALIAS_PATH.match(url.path)
            if alias:
                found = alias.group("alias")
                function = function_name(alias.group("name"))
                answer = self._alias_call(request, function, unquote(found) if found else None)
            else:
                answer = self._forward(request)
            if writes:
                # Again once moto has applied it: an invoke that read the alias meanwhile
                # must not keep the value from before the write (invoke.py, `invalidate`).
                self.invoker.invalidate()
        status, body, headers = answer
        return HttpResponse(status, list(headers.items()), body)

    def refuse(self, refusal: Refusal) -> HttpResponse:
        """A request the transport could not take (framing, size, a failed forward)."""
        body = json.dumps({"message": refusal.reason}).encode()
        return HttpResponse(refusal.status, [("Content-Type", "application/json")], body)

    def _invoke(self, request: HttpRequest, name: str, query: str) -> Answer:
        body = request.body
        qualifiers = parse_qs(query).get("Qualifier") or []
        qualifier = qualifiers[0] if qualifiers else None
        kind = request.header("X-Amz-Invocation-Type") or "RequestResponse"
        service = self.invoker
        try:
            if kind == "DryRun":
                service.parse(name, qualifier)
                return 204, b"", {}
            refused = _payload_refusal(body, sync=kind != "Event")
            if refused is not None:
                return refused
            if kind == "Event":
                service.invoke_async(name, body, qualifier=qualifier)
                return 202, b"", {"X-Amzn-RequestId": "async"}
            result = service.invoke(name, body, qualifier=qualifier)
        except FunctionNotFoundError as exc:
            return lambda_error(404, "ResourceNotFoundException", str(exc))
        except TooManyRequestsError as exc:
            reason = {"Reason": exc.reason}
            return lambda_error(429, "TooManyRequestsException", str(exc), **reason)
        headers = {
            "Content-Type": "application/json",
            "X-Amz-Executed-Version": result.executed_version,
            "X-Amzn-RequestId": result.request_id,
        }
        if result.function_error:
            headers["X-Amz-Function-Error"] = result.function_error
        if request.header("X-Amz-Log-Type") == "Tail":
            # Lambda returns the last 4 KB of the invocation's log, base64-encoded.
            tail = result.log_tail.encode("utf-8")[-LOG_TAIL_BYTES:]
            headers["X-Amz-Log-Result"] = base64.b64encode(tail).decode()
        return 200, result.payload, headers

    def _forward(self, request: HttpRequest, method: str | None = None) -> Answer:
        """`request` to moto as it came (or as `method` to the same path, without a body)."""
        headers = {k: v for k, v in request.headers if k.lower() not in HOP_BY_HOP}
        if method is None:
            return self._moto.request(request.method, request.target, request.body, headers)
        return self._moto.request(method, request.target.split("?", 1)[0], b"", headers)

    def _alias_call(self, request: HttpRequest, function: str, alias: str | None) -> Answer:
        """Alias reads and writes, with the endpoint's RevisionId in place of moto's."""
        if request.method == "PUT" and alias is not None:
            return self._update_alias(request, function, alias)
        status, data, headers = self._forward(request)
        if 200 <= status < 300:
            if request.method == "DELETE" and alias is not None:
                self.revisions.forget(function, alias)
            elif data:
                answer = json.loads(data)
                for item in answer.get("Aliases", [answer]):
                    self.revisions.stamp(function, item)
                data = json.dumps(answer).encode()
        return status, data, headers

    def _update_alias(self, request: HttpRequest, function: str, alias: str) -> Answer:
        revisions = self.revisions
        try:
            wanted = (json.loads(request.body or b"{}") or {}).get("RevisionId")
        except (ValueError, RecursionError, AttributeError):
            message = "Could not parse request body into json"
            return lambda_error(400, "InvalidRequestContentException", message)
        with revisions.update_lock:
            if wanted and revisions.known(function, alias) is None:
                # Never seen here: read it once so its RevisionId is moto's, as a client saw it.
                status, data, _ = self._forward(request, method="GET")
                if 200 <= status < 300:
                    revisions.stamp(function, json.loads(data))
            current = revisions.known(function, alias)
            if wanted and current is not None and wanted != current:
                return lambda_error(412, "PreconditionFailedException", REVISION_MISMATCH)
            status, data, headers = self._forward(request)
            if 200 <= status < 300:
                answer = json.loads(data)
                answer["RevisionId"] = revisions.renew(function, alias)
                data = json.dumps(answer).encode()
        return status, data, headers


def _payload_refusal(body: bytes, *, sync: bool) -> Answer | None:
    """Lambda's refusal of a payload: 413 over the synchronous limit; 400 when it is not JSON
    ("The request body could not be parsed as JSON": InvalidRequestContentException, Invoke's
    API reference). An empty payload is `{}`."""
    if sync and len(body) > MAX_INVOKE_PAYLOAD_BYTES:
        message = (
            f"Request must be smaller than {MAX_INVOKE_PAYLOAD_BYTES} bytes "
            "for the InvokeFunction operation"
        )
        return lambda_error(413, "RequestTooLargeException", message)
    if not body.strip():
        return None
    try:
        json.loads(body)
    except (ValueError, RecursionError) as exc:
        message = (
            f"Could not parse request body into json: Could not parse payload into json: {exc}"
        )
        return lambda_error(400, "InvalidRequestContentException", message)
    return None
