"""The `local up` flow: start the platform, print where everything is, stop cleanly on Ctrl-C."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from types import FrameType

from feedbackctl.cli.console import Terminal
from feedbackctl.config import load_config
from feedbackctl.local.platform import LocalPlatform, Options
from feedbackctl.packaging import PROJECT_ROOT

DATASET = PROJECT_ROOT.parent / "shared" / "data" / "amazon_review_snippets.tsv"


def run_local_up(
    stage_name: str, *, api_port: int, aws_port: int, seed: int, site_dir: Path | None
) -> None:
    term = Terminal()
    stage = load_config().stage(stage_name)
    site = site_dir or PROJECT_ROOT / "frontend" / "dist"
    options = Options(
        api_port=api_port,
        aws_port=aws_port,
        seed=seed,
        site_dir=site if site.is_dir() else None,
        dataset=DATASET if DATASET.is_file() else None,
    )
    platform = LocalPlatform(stage, options, progress=lambda line: term.status(f"• {line}"))
    started = time.perf_counter()

    # SIGTERM (e.g. from a supervisor) stops as cleanly as Ctrl-C.
    def terminate(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    # Ctrl-C must stop the platform even when SIGINT was inherited as ignored (a shell's
    # background job), where Python would otherwise never raise KeyboardInterrupt.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        platform.start()
        term.success(
            f"local platform ready in {time.perf_counter() - started:.1f}s"
            + (f"; seeded {platform.seeded} items" if seed else "")
        )
        term.data(
            f"web app       {platform.site_url}/"
            + ("" if options.site_dir else "  (SPA not built: bash scripts/setup.sh)")
        )
        term.data(f"API           {platform.api_url}")
        term.data(f"AWS endpoint  {platform.endpoint_url}   (other commands: --stage {stage.name})")
        term.status(
            f"try: feedbackctl status --stage {stage.name}; "
            f"feedbackctl drill --function create-feedback --stage {stage.name}; Ctrl-C stops"
        )
        platform.wait()
    except KeyboardInterrupt:
        term.status("stopping…")
    finally:
        platform.stop()
    term.status("stopped; nothing left running")
