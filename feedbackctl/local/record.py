"""Where a running local platform is: its record in the stage's state folder, so that every
`--stage local` command reaches that platform's ports, not a default port someone else's
platform may hold.

The state folder of a stage is `<state root>/local/<stage>/`; the state root is
`$FEEDBACKCTL_STATE_DIR` when set, else `.feedbackctl/` beside the stage's feedbackctl.toml.
`local up` writes `platform.json` (pid, endpoints) once it serves and removes it when it stops;
a record whose process is gone (the platform was killed) is no platform. Standard library only:
command start-up reads it.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from feedbackctl.config import StageConfig

STATE_ENV = "FEEDBACKCTL_STATE_DIR"
RECORD_NAME = "platform.json"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def is_local_endpoint(url: str | None) -> bool:
    """True for an endpoint on this machine: the stage is meant for the local platform."""
    return bool(url) and (urlsplit(url).hostname or "") in LOOPBACK


def state_root(stage: StageConfig) -> Path:
    chosen = os.environ.get(STATE_ENV)
    return Path(chosen) if chosen else stage.source.parent / ".feedbackctl"


def state_dir(stage: StageConfig) -> Path:
    return state_root(stage) / "local" / stage.name


@dataclass(frozen=True)
class Running:
    """A platform serving now, as `local up` recorded it."""

    pid: int
    endpoint_url: str
    api_url: str
    site_url: str
    started_at: str


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive, and not ours to signal
        return True
    return True


def find(stage: StageConfig) -> Running | None:
    """The platform serving this stage, or None when none runs (no record, or a dead pid)."""
    path = state_dir(stage) / RECORD_NAME
    try:
        running = Running(**json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None
    return running if _alive(running.pid) else None


def write(stage: StageConfig, running: Running) -> Path:
    """Record a platform that now serves (atomically: a reader never sees half a record)."""
    folder = state_dir(stage)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / RECORD_NAME
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps(asdict(running), indent=2) + "\n", encoding="utf-8")
    partial.replace(path)
    return path


def clear(stage: StageConfig, pid: int) -> None:
    """Remove the record if it is this process's (a newer platform's record stays)."""
    path = state_dir(stage) / RECORD_NAME
    try:
        if json.loads(path.read_text(encoding="utf-8")).get("pid") == pid:
            path.unlink()
    except (OSError, ValueError):
        return
