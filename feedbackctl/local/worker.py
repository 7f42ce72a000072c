"""A Lambda-like runtime process for one function version (run as a script, not imported).

Started as `python -S worker.py <code_dir> <purelib>`: `-S` skips site-packages' .pth files so the
project's editable install cannot shadow the version's own code; the code dir comes first on
sys.path and site-packages (boto3, as the python3.12 runtime provides) after it. Requests arrive
as JSON lines on stdin; answers leave as JSON lines on the original stdout, while everything the
handler prints is captured per invocation and returned as its log lines.
"""

from __future__ import annotations

import importlib
import io
import json
import os
import resource
import sys
import time
import traceback
from typing import Any


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


def _error(exc: BaseException, error_type: str | None = None) -> dict[str, Any]:
    return {
        "errorMessage": str(exc),
        "errorType": error_type or type(exc).__name__,
        "stackTrace": traceback.format_exception(exc)[1:],
    }


def main() -> None:
    code_dir, purelib = sys.argv[1], sys.argv[2]
    sys.path[0] = code_dir
    sys.path.append(purelib)
    os.chdir(code_dir)
    protocol = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)  # stray writes to fd 1 must not corrupt the protocol channel
    capture = io.StringIO()
    sys.stdout = capture
    started = time.perf_counter()
    handler: Any = None
    import_error: dict[str, Any] | None = None
    try:
        handler = importlib.import_module("index").lambda_handler  # the zip's entry module
    except Exception as exc:  # noqa: BLE001 - reported to every invocation, as Lambda does
        import_error = _error(exc, "Runtime.ImportModuleError")
    init_ms = (time.perf_counter() - started) * 1000
    init_logs = capture.getvalue().splitlines()
    first = True
    for line in sys.stdin:
        request = json.loads(line)
        capture.seek(0)
        capture.truncate()
        begun = time.perf_counter()
        deadline = time.monotonic() + request["timeout_s"]
        answer: dict[str, Any] = {"id": request["id"]}
        if import_error is not None:
            answer["error"] = import_error
        else:
            try:
                result = handler(request["event"], Context(request["context"], deadline))
                answer["result"] = json.dumps(result)
            except Exception as exc:  # noqa: BLE001 - an unhandled error is the function's answer
                answer["error"] = _error(exc)
        answer["duration_ms"] = (time.perf_counter() - begun) * 1000
        answer["logs"] = (init_logs if first else []) + capture.getvalue().splitlines()
        answer["init_ms"] = init_ms if first else None
        answer["max_memory_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        first = False
        protocol.write(json.dumps(answer) + "\n")


if __name__ == "__main__":
    main()
