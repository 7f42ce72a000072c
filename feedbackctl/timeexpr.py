"""Time expressions: what an operator may type wherever a command takes a time.

Accepted (case-insensitive), with `now` the moment the command started:

- a duration before now: `30s`, `5m`, `2h`, `1d`, `1w`, with or without a space, with or
  without `ago`, and with the unit in words: `5 minutes`, `10min ago`, `2 hours ago`, `1 day`;
- `now`, `today` (midnight at the start of today), `yesterday` (midnight at the start of
  yesterday), in UTC or, with `local=True`, in the machine's zone;
- ISO-8601 (`2026-11-25`, `2026-11-25T10:00`, `2026-11-25T10:00:00Z`, `...+01:00`); a time
  without a zone is UTC (local with `local=True`);
- epoch seconds (10 digits) or epoch milliseconds (13 digits), as CloudWatch prints them.

`describe_range` words a parsed range for the one line the command echoes, so the operator sees
what "yesterday" was taken to mean.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from feedbackctl.errors import UsageError

__all__ = ["TIME_FORMS", "describe_range", "parse_time"]

TIME_FORMS = (
    "30s, 10m, 2h, 1d, 1w (also '5 minutes', '10min ago'), now, today, yesterday, "
    "ISO-8601 such as 2026-11-25T10:00:00Z or 2026-11-25, or epoch seconds or milliseconds"
)

_UNIT_WORDS = {
    "seconds": ("s", "sec", "secs", "second", "seconds"),
    "minutes": ("m", "min", "mins", "minute", "minutes"),
    "hours": ("h", "hr", "hrs", "hour", "hours"),
    "days": ("d", "day", "days"),
    "weeks": ("w", "wk", "wks", "week", "weeks"),
}
_UNITS = {word: unit for unit, words in _UNIT_WORDS.items() for word in words}
_RELATIVE_RE = re.compile(r"^(\d+)\s*([a-z]+)(?:\s+ago)?$")
_EPOCH_RE = re.compile(r"^\d{10}(\d{3})?$")


def _midnight(now: datetime, local: bool) -> datetime:
    here = now.astimezone() if local else now.astimezone(UTC)
    return here.replace(hour=0, minute=0, second=0, microsecond=0)


def parse_time(
    text: str, now: datetime, *, option: str = "--since", local: bool = False
) -> datetime:
    """The moment `text` names (module docstring); a UsageError that lists the accepted forms
    when it names none."""
    value = " ".join(text.strip().lower().split())
    relative = _RELATIVE_RE.match(value)
    if relative and relative.group(2) in _UNITS:
        amount, unit = int(relative.group(1)), _UNITS[relative.group(2)]
        return now - timedelta(**{unit: amount})
    if value == "now":
        return now
    if value in ("today", "yesterday"):
        midnight = _midnight(now, local)
        return midnight - timedelta(days=1) if value == "yesterday" else midnight
    if _EPOCH_RE.match(value):
        seconds = int(value) / 1000 if len(value) == 13 else int(value)
        return datetime.fromtimestamp(seconds, UTC)
    try:
        moment = datetime.fromisoformat(text.strip().replace("z", "Z"))
    except ValueError:
        raise UsageError(
            f"{option} {text!r} is not a time I can read", hint=f"use {TIME_FORMS}"
        ) from None
    if moment.tzinfo is None:
        moment = moment.astimezone() if local else moment.replace(tzinfo=UTC)
    return moment


def _stamp(moment: datetime, local: bool) -> str:
    shown = moment.astimezone() if local else moment.astimezone(UTC)
    return shown.strftime("%Y-%m-%d %H:%M:%S") + ("" if local else " UTC")


def describe_range(start: datetime, end: datetime | None, now: datetime, local: bool) -> str:
    """`2026-11-24 00:00:00 UTC → now (34h 0m)`: the range a command is about to read."""
    until = "now" if end is None else _stamp(end, local)
    span = int(((end or now) - start).total_seconds())
    hours, rest = divmod(max(span, 0), 3600)
    length = f"{hours}h {rest // 60}m" if hours else f"{rest // 60}m {rest % 60}s"
    return f"{_stamp(start, local)} → {until} ({length})"
