"""The local AWS endpoint (default 127.0.0.1:4566): Lambda's Invoke API is answered by the invoke
service, every other request is forwarded unchanged to the moto server behind it.

So boto3 with AWS_ENDPOINT_URL pointed here — the CLI, the release and rollback engines, the
functions themselves — gets real invocations (ExecutedVersion, FunctionError) and moto for the rest.
"""

from __future__ import annotations

import base64
import http.client
import json
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from feedbackctl.errors import FeedbackctlError
from feedbackctl.local.invoke import FunctionNotFoundError, InvokeService

LOG_TAIL_BYTES = 4096
INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations$")
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "proxy-connection",
}


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
            error = json.dumps({"Type": "User", "Message": str(exc)}).encode()
            self._send(
                404,
                error,
                {
                    "Content-Type": "application/json",
                    "x-amzn-ErrorType": "ResourceNotFoundException",
                },
            )
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

    def _forward(self) -> None:
        body = self._body()
        connection = self.server.moto_connection()
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        try:
            connection.request(self.command, self.path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            self.server.drop_connection()
            raise
        self._send(response.status, data, dict(response.getheaders()))

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        match = INVOKE_PATH.match(url.path)
        if match and self.command == "POST":
            self._invoke(unquote(match.group("name")), url.query)
            return
        if self.command != "GET" and "/functions" in url.path:
            self.server.invoker.invalidate()  # an alias or version may have moved
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
