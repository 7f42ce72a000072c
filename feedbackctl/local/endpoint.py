"""The local AWS endpoint (default 127.0.0.1:4566): Lambda's Invoke API is answered by the invoke
service, every other request is forwarded to the moto server behind it.

So boto3 with AWS_ENDPOINT_URL pointed here — the CLI, the release and rollback engines, the
functions themselves — gets real invocations (ExecutedVersion, FunctionError, throttling) and
moto for the rest. moto never changes or checks an alias's RevisionId, so the endpoint keeps its
own per alias (`AliasRevisions`) and answers a stale UpdateAlias with 412 as Lambda does.
"""

from __future__ import annotations

import base64
import http.client
import json
import re
import socket
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from feedbackctl.errors import FeedbackctlError
from feedbackctl.local.invoke import FunctionNotFoundError, InvokeService, TooManyRequestsError

LOG_TAIL_BYTES = 4096
INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations$")
ALIAS_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/aliases(?:/(?P<alias>[^/]+))?/?$")
REVISION_MISMATCH = (
    "The Revision Id provided does not match the latest Revision Id. "
    "Call the GetFunction/GetAlias API to retrieve the latest Revision Id"
)
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "proxy-connection",
}


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


def lambda_error(
    status: int, error_type: str, message: str, **extra: str
) -> tuple[int, bytes, dict[str, str]]:
    """A Lambda REST-JSON error: botocore reads the code from x-amzn-ErrorType."""
    body = json.dumps({"Type": "User", "message": message, **extra}).encode()
    return status, body, {"Content-Type": "application/json", "x-amzn-ErrorType": error_type}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        head = [f"HTTP/1.1 {status} {self.responses.get(status, ('',))[0]}"]
        head += [
            f"{k}: {v}"
            for k, v in headers.items()
            if k.lower() not in HOP_BY_HOP and k.lower() != "content-length"
        ]
        head.append(f"Content-Length: {len(body)}")
        self.wfile.write(
            ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
        )  # one write: no Nagle stall

    def _invoke(self, name: str, query: str) -> None:
        body = self._body()
        qualifiers = parse_qs(query).get("Qualifier") or []
        qualifier = qualifiers[0] if qualifiers else None
        kind = self.headers.get("X-Amz-Invocation-Type", "RequestResponse")
        service = self.server.invoker
        try:
            if kind == "DryRun":
                service.parse(name, qualifier)
                self._send(204, b"", {})
                return
            if kind == "Event":
                service.invoke_async(name, body, qualifier=qualifier)
                self._send(202, b"", {"X-Amzn-RequestId": "async"})
                return
            result = service.invoke(name, body, qualifier=qualifier)
        except FunctionNotFoundError as exc:
            self._send(*lambda_error(404, "ResourceNotFoundException", str(exc)))
            return
        except TooManyRequestsError as exc:
            reason = {"Reason": exc.reason}
            self._send(*lambda_error(429, "TooManyRequestsException", str(exc), **reason))
            return
        headers = {
            "Content-Type": "application/json",
            "X-Amz-Executed-Version": result.executed_version,
            "X-Amzn-RequestId": result.request_id,
        }
        if result.function_error:
            headers["X-Amz-Function-Error"] = result.function_error
        if self.headers.get("X-Amz-Log-Type") == "Tail":
            # Lambda returns the last 4 KB of the invocation's log, base64-encoded.
            tail = result.log_tail.encode("utf-8")[-LOG_TAIL_BYTES:]
            headers["X-Amz-Log-Result"] = base64.b64encode(tail).decode()
        self._send(200, result.payload, headers)

    def _moto(
        self, method: str, path: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, bytes, dict[str, str]]:
        connection = self.server.moto_connection()
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            self.server.drop_connection()
            raise
        return response.status, data, dict(response.getheaders())

    def _headers(self) -> dict[str, str]:
        return {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}

    def _forward(self) -> None:
        self._send(*self._moto(self.command, self.path, self._body(), self._headers()))

    def _alias_call(self, function: str, alias: str | None) -> None:
        """Alias reads and writes, with the endpoint's RevisionId in place of moto's."""
        revisions = self.server.revisions
        body = self._body()
        if self.command == "PUT" and alias is not None:
            self._update_alias(function, alias, body)
            return
        status, data, headers = self._moto(self.command, self.path, body, self._headers())
        if 200 <= status < 300:
            if self.command == "DELETE" and alias is not None:
                revisions.forget(function, alias)
            elif data:
                answer = json.loads(data)
                for item in answer.get("Aliases", [answer]):
                    revisions.stamp(function, item)
                data = json.dumps(answer).encode()
        self._send(status, data, headers)

    def _update_alias(self, function: str, alias: str, body: bytes) -> None:
        revisions = self.server.revisions
        wanted = (json.loads(body or b"{}") or {}).get("RevisionId")
        with revisions.update_lock:
            if wanted and revisions.known(function, alias) is None:
                # Never seen here: read it once so its RevisionId is moto's, as a client saw it.
                get = self.path.split("?", 1)[0]
                status, data, _ = self._moto("GET", get, b"", self._headers())
                if 200 <= status < 300:
                    revisions.stamp(function, json.loads(data))
            current = revisions.known(function, alias)
            if wanted and current is not None and wanted != current:
                self._send(*lambda_error(412, "PreconditionFailedException", REVISION_MISMATCH))
                return
            status, data, headers = self._moto("PUT", self.path, body, self._headers())
            if 200 <= status < 300:
                answer = json.loads(data)
                answer["RevisionId"] = revisions.renew(function, alias)
                data = json.dumps(answer).encode()
        self._send(status, data, headers)

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        match = INVOKE_PATH.match(url.path)
        if match and self.command == "POST":
            self._invoke(unquote(match.group("name")), url.query)
            return
        if self.command != "GET" and "/functions" in url.path:
            self.server.invoker.invalidate()  # an alias, version or concurrency may have changed
        alias = ALIAS_PATH.match(url.path)
        if alias:
            found = alias.group("alias")
            self._alias_call(function_name(alias.group("name")), unquote(found) if found else None)
            return
        self._forward()

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _dispatch  # noqa: N815


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self, address: tuple[str, int], invoker: InvokeService, moto: tuple[str, int]
    ) -> None:
        super().__init__(address, _Handler)
        self.invoker = invoker
        self.revisions = AliasRevisions()
        self._moto = moto
        self._local = threading.local()

    def moto_connection(self) -> http.client.HTTPConnection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = http.client.HTTPConnection(*self._moto, timeout=60)
            self._local.connection = connection
        return connection

    def drop_connection(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None


class Endpoint:
    """The local AWS endpoint, serving in a background thread."""

    def __init__(
        self,
        invoker: InvokeService,
        moto: tuple[str, int],
        *,
        host: str = "127.0.0.1",
        port: int = 4566,
    ) -> None:
        try:
            self._server = _Server((host, port), invoker, moto)
        except OSError as exc:
            raise FeedbackctlError(
                f"port {port} on {host} is in use ({exc.strerror})",
                doing="starting the local AWS endpoint",
                hint="stop the other `feedbackctl local up` or choose another port with --aws-port",
            ) from None
        self.host, self.port = (
            str(self._server.server_address[0]),
            int(self._server.server_address[1]),
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, daemon=True, name="aws-endpoint"
        )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
