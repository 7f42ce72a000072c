"""Debian's chromium driven by Playwright for the web app's browser tests: where it is, the
launch arguments that work on the test machines, and a route that lets pages reach 127.0.0.1
only (every other request is aborted)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "frontend" / "dist"
CHROMIUM = Path(os.environ.get("FEEDBACKCTL_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]"}


def launch(built: str = "index.html") -> Iterator[Any]:
    """A chromium browser for a module's tests; fails clearly when it or the build is missing."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `bash scripts/setup-browser.sh`")
    if not (DIST / built).is_file():
        pytest.fail(f"the web app is not built (no {built}): run `bash scripts/setup-frontend.sh`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def local_only(route: Any) -> None:
    """A Playwright route handler: 127.0.0.1 and localhost pass, everything else is aborted."""
    host = urlsplit(route.request.url).hostname or ""
    if host in LOCAL_HOSTS or f"[{host}]" in LOCAL_HOSTS:
        route.fallback()
    else:
        route.abort("blockedbyclient")
