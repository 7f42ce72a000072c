"""The `local up` and `local reset` flows: start the platform, print where everything is, stop
cleanly on Ctrl-C; delete a stage's saved state.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from feedbackctl.cli.code_watch import stop_on_signals, watch_code
from feedbackctl.cli.console import Terminal
from feedbackctl.config import StageConfig, load_config
from feedbackctl.errors import RefusedError
from feedbackctl.local import record
from feedbackctl.local.heap import freeze_survivors
from feedbackctl.local.platform import LocalPlatform, Options
from feedbackctl.packaging import PROJECT_ROOT

DATASET = PROJECT_ROOT.parent / "shared" / "data" / "amazon_review_snippets.tsv"


def run_local_up(
    stage_name: str,
    *,
    api_port: int,
    aws_port: int,
    seed: int,
    site_dir: Path | None,
    watch: bool = False,
    state_dir: Path | None = None,
    fresh: bool = False,
) -> None:
    term = Terminal()
    if state_dir is not None:  # this process's record and state, and the banner's commands
        os.environ[record.STATE_ENV] = str(state_dir.resolve())
    stage = load_config().stage(stage_name)
    running = record.find(stage)
    if running is not None:
        raise RefusedError(
            f"a local platform for stage {stage.name!r} already runs (pid {running.pid}, "
            f"AWS endpoint {running.endpoint_url}, recorded in {record.state_dir(stage)})",
            hint=f"use it (`--stage {stage.name}` reaches it), or stop it first; another copy of "
            "the project (or FEEDBACKCTL_STATE_DIR) runs a separate one",
        )
    site = site_dir or PROJECT_ROOT / "frontend" / "dist"
    options = Options(
        api_port=api_port,
        aws_port=aws_port,
        seed=seed,
        site_dir=site if site.is_dir() else None,
        dataset=DATASET if DATASET.is_file() else None,
        state_dir=record.state_dir(stage),
    )
    if fresh:
        _delete_state(stage)
    platform = LocalPlatform(stage, options, progress=lambda line: term.status(f"• {line}"))
    started = time.perf_counter()
    stop_on_signals()
    stopping, watching = threading.Event(), None
    # Full collections walk only what is new, not the whole state (local/heap.py).
    with freeze_survivors():
        try:
            platform.start()
            _record(stage, platform)
            if watch:
                watching = watch_code(platform, term, stopping)
            term.success(
                f"local platform ready in {time.perf_counter() - started:.1f}s"
                + _seeded(platform, seed)
            )
            term.data(
                f"web app       {platform.site_url}/"
                + ("" if options.site_dir else "  (SPA not built: bash scripts/setup.sh)")
            )
            term.data(f"API           {platform.api_url}")
            term.data(
                f"AWS endpoint  {platform.endpoint_url}   (other commands: --stage {stage.name})"
            )
            term.status(
                f"try: {_command(stage, 'status')}; "
                f"{_command(stage, 'drill --function create-feedback')}; Ctrl-C stops"
            )
            if watching is not None:
                term.status("watching lambdas/ and the engine: a saved change is released")
            platform.wait()
        except KeyboardInterrupt:
            term.status("stopping…")
        finally:
            stopping.set()
            if watching is not None:
                watching.join(timeout=5)
            record.clear(stage, os.getpid())
            platform.stop()
    term.status("stopped; nothing left running")


def _seeded(platform: LocalPlatform, seed: int) -> str:
    if platform.restored is not None and platform.restored.snapshot:
        kept = "; state restored"
        return kept + (" (--seed fills only an empty platform: nothing added)" if seed else "")
    return f"; seeded {platform.seeded} items" if seed else ""


def _delete_state(stage: StageConfig) -> bool:
    """Delete the stage's saved state (never while a platform uses it); False when none."""
    folder = record.state_dir(stage)
    running = record.find(stage)
    if running is not None:
        raise RefusedError(
            f"the local platform for stage {stage.name!r} is running (pid {running.pid}) and "
            f"uses the state in {folder}",
            hint="stop it (Ctrl-C) first",
        )
    if not folder.exists():
        return False
    shutil.rmtree(folder)
    return True


def run_local_reset(stage_name: str, *, yes: bool) -> None:
    from feedbackctl.cli.options import confirm

    term = Terminal()
    stage = load_config().stage(stage_name)
    folder = record.state_dir(stage)
    if not folder.exists():
        term.status(f"no saved state for stage {stage.name!r} (nothing in {folder})")
        return
    confirm(
        f"Delete the saved state of stage {stage.name!r} in {folder}?", yes=yes, production=False
    )
    _delete_state(stage)
    term.success(f"deleted the saved state of stage {stage.name!r} ({folder})")


def _record(stage: StageConfig, platform: LocalPlatform) -> None:
    """Tell other commands where this platform serves (`--stage` finds it by this record)."""
    record.write(
        stage,
        record.Running(
            pid=os.getpid(),
            endpoint_url=platform.endpoint_url,
            api_url=platform.api_url,
            site_url=platform.site_url,
            started_at=datetime.now(UTC).isoformat(timespec="seconds"),
        ),
    )


def _command(stage: StageConfig, what: str) -> str:
    """A command to copy: `--stage` finds this platform through its record; a state folder
    chosen by FEEDBACKCTL_STATE_DIR must be named to the other command too."""
    chosen = os.environ.get(record.STATE_ENV)
    prefix = f"{record.STATE_ENV}={chosen} " if chosen else ""
    return f"{prefix}feedbackctl {what} --stage {stage.name}"
