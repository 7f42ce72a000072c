"""A Lambda-like runtime process for one function version (run as a script, not imported).

Started as `python -S worker.py <code_dir> <purelib> <memory_mb>`: `-S` skips site-packages' .pth
files so the project's editable install cannot shadow the version's own code; the code dir comes
first on sys.path and site-packages (boto3, as the python3.12 runtime provides) after it.
Requests arrive as JSON lines on stdin; on the original stdout go JSON lines: `{"init_ms": ...}`
once, `{"log": line}` as the handler prints (so lines printed before a crash or timeout still
reach the logs), then the answer. Errors are shaped and logged as awslambdaric's bootstrap.py
does (`[ERROR] Type: msg` plus the traceback, indented with NO-BREAK SPACEs, as one event).

A function's JSON-protocol AWS calls (those with an `X-Amz-Target`: DynamoDB and its streams,
CloudWatch Logs, ...) to the endpoint named in FEEDBACKCTL_AWS_CHANNEL (the platform's moto) go
to the Unix socket named in FEEDBACKCTL_AWS_SOCKET (`local up`'s AWS process,
local/aws_process.py) when the platform names both: `{"aws": {method, url, headers, body}}` out,
the answer as one line back (`AwsChannel`). The function's boto3 builds, signs and reads them as
ever; only the transport differs: no HTTP parse, no hand-off between a server's threads.

Memory: RLIMIT_DATA is set to the version's MemorySize before the handler module is imported.
Measured here (Linux 6.18, Python 3.11): VmData tracks RSS within ~2 MB for this process, and a
worker with boto3 imported plus 8 threads runs under 128 MB; RLIMIT_AS was also workable but
counts reserved address space. An allocation past the limit raises MemoryError, which never
happens on Lambda (the cgroup OOM-kills the runtime), so a MemoryError that reaches the runtime
makes the worker SIGKILL itself: the invoke service then sees what Lambda reports for an
out-of-memory function, `Runtime exited with error: signal: killed`.
"""

from __future__ import annotations

import importlib
import json
import os
import resource
import signal
import sys
import threading
import time
import traceback
from types import TracebackType
from typing import Any, NoReturn, TextIO

ERROR_LOG_IDENT = "\u00a0"  # awslambdaric indents traceback lines with NO-BREAK SPACE
HANDLER_MODULE, HANDLER_NAME = "index", "lambda_handler"
AWS_CHANNEL_ENV = "FEEDBACKCTL_AWS_CHANNEL"  # the endpoint whose calls go through the channel
AWS_SOCKET_ENV = "FEEDBACKCTL_AWS_SOCKET"  # the Unix socket that answers them
# awslambdaric logs this before the error when the handler module cannot be initialised.
UNHANDLED_INIT_WARNING = (
    "LAMBDA_WARNING: Unhandled exception. The most likely cause is an issue in the function code. "
    "However, in rare cases, a Lambda runtime update can cause unexpected function behavior. "
    "For functions using managed runtimes, runtime updates can be triggered by a function change, "
    "or can be applied automatically. To determine if the runtime has been updated, check the "
    "runtime version in the INIT_START log entry. If this error correlates with a change in the "
    "runtime version, you may be able to mitigate this error by temporarily rolling back to the "
    "previous runtime version. For more information, see "
    "https://docs.aws.amazon.com/lambda/latest/dg/runtimes-update.html"
)


class Context:
    """The attributes of Lambda's context object."""

    def __init__(self, data: dict[str, Any], deadline: float) -> None:
        self.function_name = data["function_name"]
        self.function_version = data["function_version"]
        self.invoked_function_arn = data["invoked_function_arn"]
        self.memory_limit_in_mb = data["memory_limit_in_mb"]
        self.aws_request_id = data["aws_request_id"]
        self.log_group_name = data["log_group_name"]
        self.log_stream_name = data["log_stream_name"]
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class LogStream:
    """The handler's stdout: each complete line goes to the invoke service at once."""

    def __init__(self, protocol: TextIO) -> None:
        self._protocol = protocol
        self._partial = ""
        self.held: list[str] | None = []  # lines printed during init, sent with the first call

    def write(self, text: str) -> int:
        self._partial += text
        *lines, self._partial = self._partial.split("\n")
        for line in lines:
            self.emit(line)
        return len(text)

    def emit(self, line: str) -> None:
        if self.held is not None:
            self.held.append(line)
        else:
            self._protocol.write(json.dumps({"log": line}) + "\n")

    def flush(self) -> None:
        if self._partial:
            line, self._partial = self._partial, ""
            self.emit(line)

    def release(self) -> None:
        """Send the init lines (at the first invocation, as Lambda logs them in its stream)."""
        held, self.held = self.held or [], None
        for line in held:
            self.emit(line)

    def isatty(self) -> bool:
        return False


class AwsChannel:
    """Sends the function's JSON-protocol calls to the channel's endpoint as lines on `out`,
    reading each answer from `replies` (`over_socket`: the AWS process's socket).

    Installed on botocore's urllib3 session class once the function has imported botocore (at
    its import or in an invocation), so clients made before are covered too; nothing is
    imported for it. A call elsewhere, without `X-Amz-Target`, or with a streamed body goes
    over HTTP as before. The function's threads take turns: one call on the line at a time.
    """

    def __init__(self, out: TextIO, replies: TextIO, endpoint: str) -> None:
        self._out = out
        self._replies = replies
        self._prefix = endpoint.rstrip("/") + "/"
        self._turn = threading.Lock()
        self.installed = False

    @classmethod
    def over_socket(cls, path: str, endpoint: str) -> AwsChannel:
        """The channel on the AWS process's Unix socket (local/aws_process.py)."""
        import socket

        line = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        line.connect(path)
        out = line.makefile("w", encoding="utf-8", newline="\n")
        return cls(out, line.makefile("r", encoding="utf-8", newline="\n"), endpoint)

    def install_if_imported(self) -> None:
        httpsession = sys.modules.get("botocore.httpsession")
        if self.installed or httpsession is None:
            return
        session = httpsession.URLLib3Session
        original = session.send
        channel = self

        def send(self: Any, request: Any) -> Any:
            answer = channel.send(request)
            return original(self, request) if answer is None else answer

        session.send = send
        self.installed = True

    def send(self, request: Any) -> Any:
        """The answer to `request` through the channel; None when it goes over HTTP."""
        body = request.body if request.body is not None else b""
        if isinstance(body, str):
            body = body.encode("utf-8")
        if (
            not isinstance(body, bytes)
            or not f"{request.url}/".startswith(self._prefix)
            or "X-Amz-Target" not in request.headers
        ):
            return None
        headers = [
            [name, value.decode("latin-1") if isinstance(value, bytes) else str(value)]
            for name, value in request.headers.items()
        ]
        call = {"method": request.method, "url": request.url, "headers": headers}
        call["body"] = body.decode("latin-1")
        with self._turn:
            self._out.write(json.dumps({"aws": call}) + "\n")
            self._out.flush()
            reply = json.loads(self._replies.readline())
        from botocore.awsrequest import AWSResponse
        from botocore.compat import HTTPHeaders

        content = str(reply["body"]).encode("latin-1")
        headers_in = HTTPHeaders.from_pairs([tuple(pair) for pair in reply["headers"]])
        return AWSResponse(request.url, int(reply["status"]), headers_in, _Raw(content))


class _Raw:
    """An answer's body as botocore reads one from urllib3: `stream()` or `read()`."""

    def __init__(self, content: bytes) -> None:
        self._content = content

    def stream(self, *_args: Any, **_kwargs: Any) -> Any:
        yield self.read()

    def read(self, *_args: Any, **_kwargs: Any) -> bytes:
        content, self._content = self._content, b""
        return content


def make_error(
    message: str, error_type: str, stack: list[str] | None, request_id: str = ""
) -> dict[str, Any]:
    return {
        "errorMessage": message,
        "errorType": error_type,
        "requestId": request_id,
        "stackTrace": stack if stack is not None else [],
    }


def error_event(error: dict[str, Any]) -> str:
    """The runtime's log event for an error (awslambdaric's log_error, text format)."""
    description = "[ERROR]"
    if error.get("errorType"):
        description += " " + error["errorType"]
    if error.get("errorMessage"):
        description += (":" if error.get("errorType") else "") + " " + error["errorMessage"]
    lines = [description, "Traceback (most recent call last):"]
    for element in error.get("stackTrace") or []:
        if element == "":
            lines.append("")
            continue
        for line in element.splitlines():
            stripped = line.lstrip(" ")
            lines.append(ERROR_LOG_IDENT * (len(line) - len(stripped)) + stripped)
    return "\n".join(lines)


def user_frames(tb: TracebackType | None) -> list[str]:
    """The traceback without the runtime's own frames (awslambdaric drops bootstrap.py's)."""
    frames = traceback.extract_tb(tb)
    while frames and frames[0].filename == __file__:
        frames.pop(0)
    return traceback.format_list(frames)


def import_handler() -> tuple[Any, dict[str, Any] | None]:
    """The handler, or the error Lambda reports for every invocation when it cannot be loaded."""
    try:
        module = importlib.import_module(HANDLER_MODULE)
    except MemoryError:
        raise
    except ImportError as exc:
        message = f"Unable to import module '{HANDLER_MODULE}': {exc}"
        return None, make_error(message, "Runtime.ImportModuleError", None)
    except SyntaxError as exc:
        trace = [f'  File "{exc.filename}" Line {exc.lineno}\n    {exc.text}']
        message = f"Syntax error in module '{HANDLER_MODULE}': {exc}"
        return None, make_error(message, "Runtime.UserCodeSyntaxError", trace)
    except Exception as exc:  # noqa: BLE001 - any other init failure is reported as its own type
        return None, make_error(str(exc), type(exc).__name__, user_frames(exc.__traceback__))
    handler = getattr(module, HANDLER_NAME, None)
    if handler is None:
        message = f"Handler '{HANDLER_NAME}' missing on module '{HANDLER_MODULE}'"
        return None, make_error(message, "Runtime.HandlerNotFound", None)
    return handler, None


def out_of_memory() -> NoReturn:
    """Die as an OOM-killed Lambda runtime does (see the module docstring)."""
    os.kill(os.getpid(), signal.SIGKILL)
    raise SystemExit(137)  # pragma: no cover - SIGKILL cannot be caught


def run(
    handler: Any, init_error: dict[str, Any] | None, request: dict[str, Any], context: Context
) -> dict[str, Any]:
    """One invocation's answer: the result, or the error as the runtime reports it."""
    answer: dict[str, Any] = {"id": request["id"]}
    if init_error is not None:
        # Lambda re-runs the failed init inside each invocation and logs it again.
        answer["error"] = init_error
        answer["error_logs"] = [
            f"[WARNING]\t{_now()}\t\t{UNHANDLED_INIT_WARNING}",
            error_event(init_error),
        ]
    else:
        try:
            result = handler(request["event"], context)
        except MemoryError:
            out_of_memory()
        except Exception as exc:  # noqa: BLE001 - an unhandled error is the function's answer
            error = make_error(
                str(exc), type(exc).__name__, user_frames(exc.__traceback__), request["id"]
            )
            answer["error"] = error
            answer["error_logs"] = [error_event(error)]
        else:
            try:
                answer["result"] = json.dumps(result)
            except (TypeError, ValueError) as exc:
                message = f"Unable to marshal response: {exc}"
                error = make_error(message, "Runtime.MarshalError", None, request["id"])
                answer["error"] = error
                answer["error_logs"] = [error_event(error)]
    return answer


def main() -> None:
    code_dir, purelib, memory_mb = sys.argv[1], sys.argv[2], int(sys.argv[3])
    sys.path[0] = code_dir
    sys.path.append(purelib)
    os.chdir(code_dir)
    protocol = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)  # stray writes to fd 1 must not corrupt the protocol channel
    stdout = LogStream(protocol)
    sys.stdout = stdout
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    started = time.perf_counter()
    try:
        handler, init_error = import_handler()
    except MemoryError:
        out_of_memory()
    init_ms = (time.perf_counter() - started) * 1000
    endpoint, socket_path = os.environ.get(AWS_CHANNEL_ENV), os.environ.get(AWS_SOCKET_ENV)
    channel = AwsChannel.over_socket(socket_path, endpoint) if endpoint and socket_path else None
    first = True
    for line in sys.stdin:
        request = json.loads(line)
        if channel is not None:
            channel.install_if_imported()
        if first:
            # Init's duration goes first, so a REPORT has it even when this call times out.
            protocol.write(json.dumps({"init_ms": init_ms}) + "\n")
        stdout.release()
        begun = time.perf_counter()
        deadline = time.monotonic() + request["timeout_s"]
        answer = run(handler, init_error, request, Context(request["context"], deadline))
        stdout.flush()
        answer["duration_ms"] = (time.perf_counter() - begun) * 1000
        answer["max_memory_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        first = False
        protocol.write(json.dumps(answer) + "\n")


def _now() -> str:
    """The runtime's log timestamp (UTC, milliseconds, `Z`)."""
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z"


if __name__ == "__main__":
    main()
