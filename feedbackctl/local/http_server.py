"""The local platform's HTTP transport: sockets, framing and limits, on waitress (Pylons' WSGI
server) for the API gateway and the local AWS endpoint alike.

Owns what a front door owns: the listen backlog, a bounded pool of request threads (reading and
writing is asynchronous, so a slow client costs a socket, never a thread), keep-alive, idle and
stalled-request timeouts, and a body size limit enforced from the headers (Content-Length, and
each chunk size of a chunked body) before the body is read. A `handler` turns one `HttpRequest`
into one `HttpResponse`; what the transport refuses itself (malformed framing 400, a stalled
request 408, too large 413/431, an unknown transfer coding 501, a handler that raised 500) is a
`Refusal` that the `refuse` callback answers in its owner's words. No header names the server.
"""

from __future__ import annotations

import functools
import logging
import re
import socket
import threading
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, cast

from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser, ParsingError, get_header_lines
from waitress.receiver import ChunkedReceiver
from waitress.rfc7230 import HEADER_FIELD_RE
from waitress.server import TcpWSGIServer
from waitress.task import ErrorTask, ThreadedTaskDispatcher, WSGITask
from waitress.utilities import Error, RequestEntityTooLarge

# The request's header fields as sent (names as the client spelled them, in arrival order,
# repeats kept), which the WSGI environ cannot carry: API Gateway forwards them so.
_RAW_HEADERS = "feedbackctl.raw_headers"
# The transport frames responses itself; a handler's framing or hop-by-hop headers are dropped.
# A handler's Server header too: waitress would answer it with a Via header naming itself.
_DROPPED = frozenset(
    {
        "connection",
        "content-length",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "server",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
_BODILESS = frozenset({204, 304})
_DIGITS = re.compile(r"[0-9]+")

# waitress's own header grammar (its type stub says str; it is compiled from bytes).
_HEADER_FIELD = cast("re.Pattern[bytes]", HEADER_FIELD_RE)

_logger = logging.getLogger(__name__)
# Under load the request queue is deeper than the pool: that is the bound working, not news.
logging.getLogger("waitress.queue").setLevel(logging.ERROR)


@dataclass(frozen=True)
class HttpRequest:
    """One HTTP request (headers in arrival order, as sent; the body de-chunked)."""

    method: str
    target: str  # the request target as sent: path and query string (or absolute-form)
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    client_ip: str = "127.0.0.1"
    protocol: str = "HTTP/1.1"

    def header(self, name: str) -> str | None:
        """The last value of header `name` (case-insensitive), or None."""
        wanted = name.lower()
        found = None
        for key, value in self.headers:
            if key.lower() == wanted:
                found = value
        return found


@dataclass
class HttpResponse:
    """An answer: status, headers in order, body (the transport sends no body to HEAD)."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


@dataclass(frozen=True)
class Refusal:
    """A request the transport refused before any handler saw it, or a handler that raised.

    `request` has the method, target and headers when they were read (no body: it was not
    read, or not all of it); None when even the request line was unreadable."""

    status: int  # 400, 408, 413, 431, 500 or 501
    reason: str  # the status's phrase
    detail: str  # what was wrong, for a log line (never names the server)
    request: HttpRequest | None = None


@dataclass(frozen=True)
class Limits:
    """How much one server takes on. Every limit holds before the work it limits is done."""

    max_body_bytes: int
    max_header_bytes: int = 64 * 1024  # the request line and the header fields together
    threads: int = 32  # requests handled at once; more queue (their sockets are still read)
    backlog: int = 1024  # completed connections waiting to be accepted (the kernel caps it)
    connection_limit: int = 500  # open connections; past it the server stops accepting
    idle_timeout_s: int = 120  # an idle keep-alive connection, or a stalled request, ends
    cleanup_interval_s: int = 30  # how often connections are checked against idle_timeout_s


Handler = Callable[[HttpRequest], HttpResponse]
Refuser = Callable[[Refusal], HttpResponse]
WsgiApp = Callable[[dict[str, Any], Callable[..., object]], Iterable[bytes]]


class RequestTimeoutError(Error):
    """A request begun and not finished within the idle timeout (a stalled or slow client)."""

    code = 408
    reason = "Request Timeout"


class _Parser(HTTPRequestParser):
    """waitress's parser, keeping the header fields as sent, and refusing a chunked body as
    soon as a chunk size would take it over the limit (waitress would read up to the limit)."""

    raw_headers: tuple[tuple[str, str], ...] = ()

    def parse_header(self, header_plus: bytes) -> None:
        try:
            super().parse_header(header_plus)
        finally:
            self.raw_headers = _header_fields(header_plus)

    def received(self, data: bytes) -> int:
        consumed = super().received(data)
        body = self.body_rcv
        if (
            not self.completed
            and isinstance(body, ChunkedReceiver)
            and len(body) + body.chunk_remainder >= self.adj.max_request_body_size
        ):
            limit = self.adj.max_request_body_size - 1
            self.error = RequestEntityTooLarge(f"a chunk takes the body over {limit} bytes")
            self.completed = True
        return consumed


def _header_fields(header_plus: bytes) -> tuple[tuple[str, str], ...]:
    """The header fields after the request line, as waitress accepts them (names with `_`
    are dropped, as waitress drops them; values stripped of spaces and tabs only)."""
    start = header_plus.find(b"\r\n")
    if start < 0:
        return ()
    try:
        lines = get_header_lines(header_plus[start + 2 :])
    except ParsingError:
        return ()
    fields = []
    for line in lines:
        found = _HEADER_FIELD.match(line)
        if found is None or b"_" in found.group("name"):
            continue
        name, value = found.group("name"), found.group("value").strip(b" \t")
        fields.append((name.decode("latin-1"), value.decode("latin-1")))
    return tuple(fields)


def _partial_request(parser: HTTPRequestParser, client_ip: str) -> HttpRequest | None:
    """What was read of a refused request: None before its request line was understood."""
    method, target = getattr(parser, "command", None), getattr(parser, "request_uri", None)
    if not parser.headers_finished or not method or target is None:
        return None
    return HttpRequest(
        method=str(method),
        target=str(target),
        headers=getattr(parser, "raw_headers", ()),
        client_ip=client_ip,
        protocol=f"HTTP/{parser.version}",
    )


class _Exchange(WSGITask):
    """One request and its response, through the WSGI application below."""

    def get_environment(self) -> dict[str, Any]:
        environ = super().get_environment()
        environ[_RAW_HEADERS] = getattr(self.request, "raw_headers", ())
        return environ

    def build_response_header(self) -> bytes:
        """waitress's response head, with each header named as the application spelled it:
        waitress capitalises every name (`x-amz-meta-sha256` became `X-Amz-Meta-Sha256`, and
        S3 clients read the metadata's keys from those names)."""
        spelled: dict[bytes, list[bytes]] = {}
        for given, _ in cast(list[tuple[str, str]], self.response_headers):
            original = given.encode("latin-1")
            spelled.setdefault(_capitalised(original), []).append(original)
        status, *lines = super().build_response_header().split(b"\r\n")
        for index, line in enumerate(lines):
            written, colon, value = line.partition(b":")
            if colon and spelled.get(written):
                lines[index] = spelled[written].pop(0) + colon + value
        return b"\r\n".join([status, *lines])

    def set_close_on_finish(self) -> None:
        # waitress closes the connection after any response without Content-Length, 204 and
        # 304 included, though they have no body to delimit (RFC 9112 6.3): every CORS
        # preflight and revalidated asset would cost the browser a new connection.
        request = cast(HTTPRequestParser, self.request)
        persistent = (
            self.version == "1.1"
            and not request.connection_close
            and request.headers.get("CONNECTION", "").lower() != "close"
        )
        if persistent and not self.has_body and not self.wrote_header:
            return
        super().set_close_on_finish()


@functools.lru_cache(maxsize=512)  # the applications' header names: a handful, every response
def _capitalised(name: bytes) -> bytes:
    """A header name as waitress writes it (each dash-separated part capitalised)."""
    return b"-".join(part.capitalize() for part in name.split(b"-"))


class _RefusalTask(ErrorTask):
    """waitress's error response, written in the owner's words (the `refuse` callback)."""

    def execute(self) -> None:
        server = cast(_Server, self.channel.server)
        parser = cast(HTTPRequestParser, self.request)
        error = cast(Error, parser.error)
        request = _partial_request(parser, str(self.channel.addr[0]))
        refusal = Refusal(error.code, error.reason, str(error.body), request)
        response = server.owner.answer_refusal(refusal)
        self.status = status_line(response.status)
        body = response.body if response.status not in _BODILESS else b""
        headers = _wire_headers(response.headers)
        if response.status not in _BODILESS:
            headers.append(("Content-Length", str(len(body))))
        cast(list[tuple[str, str]], self.response_headers).extend(headers)
        self.set_close_on_finish()  # what follows a refused request cannot be trusted
        self.content_length = len(body)
        self.write(b"" if request is not None and request.method == "HEAD" else body)


class _Channel(HTTPChannel):
    """One client connection."""

    parser_class = _Parser
    task_class = _Exchange
    error_task_class = _RefusalTask

    def __init__(self, server: _Server, sock: socket.socket, *args: Any, **kwargs: Any) -> None:
        super().__init__(server, sock, *args, **kwargs)
        if server.owner.on_connection is not None:
            server.owner.on_connection(sock)

    def time_out(self) -> bool:
        """Answer a request that stalled half-way with 408; False when none is pending (an
        idle keep-alive connection, which is simply closed)."""
        channel: Any = self  # waitress's type stub lacks requests_lock and a mutable requests
        with channel.requests_lock:
            request = channel.request
            if request is None or request.completed or channel.requests or channel.will_close:
                return False
            request.error = RequestTimeoutError("the request was not completed in time")
            request.completed = True
            if not request.headers_finished:
                request.version = "1.1"
            # As waitress queues a completed request: the error task answers and closes.
            channel.requests.append(request)
            channel.request = None
        channel.server.add_task(channel)
        return True


class _Dispatcher(ThreadedTaskDispatcher):
    """waitress's bounded thread pool, its threads named after the server."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name

    def start_new_thread(self, target: Callable[[int], object], thread_no: int) -> None:
        thread = threading.Thread(
            target=target, name=f"{self.name}-{thread_no}", args=(thread_no,), daemon=True
        )
        thread.start()


class _Server(TcpWSGIServer):
    channel_class = _Channel

    def __init__(self, owner: HttpServer, adjustments: Adjustments, name: str) -> None:
        self.owner = owner
        self.stopping = False
        dispatcher = _Dispatcher(name)
        socket_map: dict[int, Any] = {}
        try:
            super().__init__(
                owner.application, map=socket_map, dispatcher=dispatcher, adj=adjustments
            )
        except BaseException:
            for dispatched in list(socket_map.values()):  # the trigger, the half-made socket
                dispatched.close()
            raise
        dispatcher.set_thread_count(adjustments.threads)  # once bound: no threads to undo

    def pull_trigger(self) -> None:
        # After stop() the trigger's descriptor is closed and may be reused by another file.
        if not self.stopping:
            super().pull_trigger()

    def maintenance(self, now: float) -> None:
        """Close connections idle past the timeout; a stalled request is answered 408 first."""
        cutoff = now - self.adj.channel_timeout
        channels = cast(dict[int, _Channel], self.active_channels)
        for channel in list(channels.values()):
            if channel.requests or channel.last_activity >= cutoff:
                continue
            if not channel.time_out():
                channel.will_close = True

    def close_everything(self) -> None:
        """Stop accepting and close every connection (run on the server's own thread)."""
        for dispatched in list(cast(Any, self)._map.values()):
            if isinstance(dispatched, HTTPChannel):
                dispatched.handle_close()
        self.close()


class HttpServer:
    """One listening socket served by waitress: bound on construction, `start()`, `stop()`."""

    def __init__(
        self,
        handler: Handler | None,
        refuse: Refuser,
        *,
        host: str,
        port: int,
        limits: Limits,
        name: str,
        on_connection: Callable[[socket.socket], None] | None = None,
        app: WsgiApp | None = None,
    ) -> None:
        """Bind and listen on (host, port); port 0 picks a free one. An OSError (the port is
        in use) is the caller's to explain. Requests go to `handler`, or, given `app` instead,
        straight to that WSGI application (moto's), which then frames its own responses."""
        if (handler is None) == (app is None):
            raise ValueError("an HttpServer serves a handler or a WSGI application, not both")
        self.handler = handler
        self.application: WsgiApp = app if app is not None else self.wsgi
        self.refuse = refuse
        self.limits = limits
        self.name = name
        self.on_connection = on_connection
        adjustments = Adjustments(
            host=host,
            port=port,
            ipv6=":" in host,
            threads=limits.threads,
            backlog=limits.backlog,
            connection_limit=limits.connection_limit,
            channel_timeout=limits.idle_timeout_s,
            cleanup_interval=limits.cleanup_interval_s,
            # waitress refuses a body of max_request_body_size bytes or more.
            max_request_body_size=limits.max_body_bytes + 1,
            max_request_header_size=limits.max_header_bytes,
            ident="",  # no Server header
            clear_untrusted_proxy_headers=False,  # X-Forwarded-* are the handler's to read
            log_socket_errors=False,  # a client that resets its connection is not news
            asyncore_use_poll=True,  # select() fails past 1024 descriptors
            asyncore_loop_timeout=1,
        )
        # Buffer a response until it is complete (or this large) and send it in one write:
        # status line, headers and body in one segment, not the head alone first. waitress
        # 3.0.2 (pinned) still honours send_bytes but warns that the keyword will go; set as
        # an attribute it does not warn (tests/functional/test_local_gateway.py checks it).
        adjustments.send_bytes = 64 * 1024
        self._server = _Server(self, adjustments, name)
        self.host = host
        self.port = int(cast(Any, self._server).effective_port)
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Serve in a background thread."""
        self._thread = threading.Thread(target=self._server.run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout_s: int = 2) -> None:
        """Close the listening socket and every connection, idle keep-alive ones included,
        then let the request threads finish (up to `timeout_s`)."""
        server = self._server
        if server.stopping:
            return
        server.stopping = True
        if self._thread is not None and self._thread.is_alive():
            done = threading.Event()

            def close() -> None:
                server.close_everything()
                done.set()

            cast(Any, server.trigger).pull_trigger(close)  # the stub calls it an int
            done.wait(timeout_s)
        else:
            server.close_everything()
        server.task_dispatcher.shutdown(timeout=timeout_s)
        if self._thread is not None:
            self._thread.join(timeout_s)

    # --- the WSGI application waitress calls, one request at a time per connection ---------

    def wsgi(
        self, environ: dict[str, Any], start_response: Callable[..., object]
    ) -> Iterable[bytes]:
        request = HttpRequest(
            method=environ["REQUEST_METHOD"],
            target=environ["REQUEST_URI"],
            headers=environ[_RAW_HEADERS],
            body=environ["wsgi.input"].read(),
            client_ip=environ["REMOTE_ADDR"],
            protocol=environ["SERVER_PROTOCOL"],
        )
        try:
            response = cast(Handler, self.handler)(request)
        except Exception as exc:  # noqa: BLE001 - a handler's bug is a 500, never a dropped connection
            _logger.error(
                "%s: %s %s failed\n%s",
                self.name,
                request.method,
                request.target,
                traceback.format_exc(),
            )
            refusal = Refusal(500, "Internal Server Error", f"{type(exc).__name__}: {exc}", request)
            response = self.answer_refusal(refusal)
        headers = _wire_headers(response.headers)
        head = request.method == "HEAD"
        bodiless = response.status in _BODILESS or response.status < 200
        if not bodiless:
            headers.append(("Content-Length", _content_length(response, head=head)))
        start_response(status_line(response.status), headers)
        return [] if bodiless or head else [response.body]

    def answer_refusal(self, refusal: Refusal) -> HttpResponse:
        try:
            return self.refuse(refusal)
        except Exception:  # noqa: BLE001 - the refusal must be answered whatever happens
            _logger.error("%s: answering %s failed\n%s", self.name, refusal, traceback.format_exc())
            body = f'{{"message":"{refusal.reason}"}}'.encode()
            return HttpResponse(refusal.status, [("Content-Type", "application/json")], body)


def status_line(status: int) -> str:
    """An HTTP status line's code and phrase."""
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Unknown"


def _content_length(response: HttpResponse, *, head: bool) -> str:
    """The body's length; for HEAD, the length the handler declares if it sends no body (a
    proxied HEAD answer: the length of what a GET would return)."""
    declared = [v for n, v in response.headers if n.lower() == "content-length"]
    if head and not response.body and declared and _DIGITS.fullmatch(declared[-1]):
        return declared[-1]
    return str(len(response.body))


def _wire_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The headers a handler may send: no framing, hop-by-hop or Server headers, and none
    that could split the response (CR or LF in a name or value)."""
    return [
        (name, value)
        for name, value in headers
        if name.lower() not in _DROPPED and not any(c in name + value for c in "\r\n")
    ]
