"""Releasing saved code changes while a command waits, and stopping it cleanly: used by
`local up --watch` (feedbackctl.cli.commands.local.run) and `deploy --stage local --watch`
(feedbackctl.cli.commands.deploy.watch), which watch the same code with the same watcher
(feedbackctl.local.reload).
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

from feedbackctl.cli.console import Terminal
from feedbackctl.packaging import PROJECT_ROOT


def stop_on_signals() -> None:
    """Ctrl-C and SIGTERM (e.g. from a supervisor) raise KeyboardInterrupt in the main thread.

    Ctrl-C must stop even when SIGINT was inherited as ignored (a shell's background job),
    where Python would otherwise never raise KeyboardInterrupt."""

    def terminate(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGINT, signal.default_int_handler)


def watch_code(target: Any, term: Terminal, stop: threading.Event) -> threading.Thread:
    """Release saved changes to the functions' code into `target` (a running platform, or its
    stand-in in another process: feedbackctl.local.reload.CodeWatcher) until `stop`."""
    from feedbackctl.local.reload import CodeWatcher

    watcher = CodeWatcher(target, PROJECT_ROOT, progress=lambda line: term.status(f"• {line}"))
    thread = threading.Thread(target=watcher.run, args=(stop,), name="code-watch", daemon=True)
    thread.start()
    return thread
