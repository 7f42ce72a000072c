"""Structured JSON logging with the Powertools key names, without the Powertools dependency.

One JSON object per line on stdout (Lambda ships stdout to CloudWatch Logs). Email addresses
are redacted from every message and field before a line is written. See docs/logging.md for
why the schema is kept by hand (cold-start import time and package size, measured).
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
import traceback
from typing import Any, TextIO

_LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40}
_EMAIL_RE = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_SENSITIVE_KEYS = frozenset({"email", "authorization", "x-api-key", "cookie"})
REDACTED = "[REDACTED]"
REDACTED_EMAIL = "[REDACTED_EMAIL]"


def redact(value: Any) -> Any:
    """Return `value` with emails and credential-like fields replaced, recursively."""
    if isinstance(value, str):
        return _EMAIL_RE.sub(REDACTED_EMAIL, value) if "@" in value else value
    if isinstance(value, dict):
        return {
            k: REDACTED if isinstance(k, str) and k.lower() in _SENSITIVE_KEYS else redact(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value


def _timestamp(now: float) -> str:
    seconds = int(now)
    millis = int((now - seconds) * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


class Logger:
    """A per-function logger; `bind` adds per-invocation keys (request id, cold start...)."""

    def __init__(
        self, service: str, *, stream: TextIO | None = None, level: str | None = None
    ) -> None:
        self.service = service
        self._stream = stream
        self._level = _LEVELS.get((level or os.environ.get("LOG_LEVEL", "INFO")).upper(), 20)
        self._context: dict[str, Any] = {}

    def set_level(self, level: str) -> None:
        self._level = _LEVELS.get(level.upper(), 20)

    def bind(self, **fields: Any) -> None:
        """Replace the per-invocation keys added to every line."""
        self._context = fields

    def append(self, **fields: Any) -> None:
        self._context.update(fields)

    def debug(self, message: str, /, **fields: Any) -> None:
        self._emit("DEBUG", message, fields)

    def info(self, message: str, /, **fields: Any) -> None:
        self._emit("INFO", message, fields)

    def warning(self, message: str, /, **fields: Any) -> None:
        self._emit("WARNING", message, fields)

    def error(self, message: str, /, **fields: Any) -> None:
        self._emit("ERROR", message, fields)

    def exception(
        self, message: str, exc: BaseException, /, *, level: str = "ERROR", **fields: Any
    ) -> None:
        """Log with the exception's type and a redacted traceback (at ERROR unless told)."""
        fields["errorType"] = type(exc).__name__
        fields["exception_name"] = type(exc).__name__
        fields["exception"] = "".join(traceback.format_exception(exc)).rstrip()
        self._emit(level, message, fields)

    def _emit(self, level: str, message: str, fields: dict[str, Any]) -> None:
        if _LEVELS[level] < self._level:
            return
        frame = sys._getframe(2)  # the caller of debug/info/...; cheaper than inspect
        record: dict[str, Any] = {
            "level": level,
            "location": f"{frame.f_code.co_name}:{frame.f_lineno}",
            "message": message,
            "timestamp": _timestamp(time.time()),
            "service": self.service,
        }
        record.update(self._context)
        record.update(fields)
        trace = os.environ.get("_X_AMZN_TRACE_ID")
        if trace:
            record["xray_trace_id"] = trace.split(";", 1)[0].removeprefix("Root=")
        # ASCII escapes: a lone surrogate that ever reached a field must not crash the write.
        line = json.dumps(redact(record), default=str, separators=(",", ":"), ensure_ascii=True)
        stream = self._stream or sys.stdout
        stream.write(line + "\n")
        stream.flush()
