"""The whole local platform on free ports, once per test session, for end-to-end tests.

The SPA is served from frontend/dist when it has been built (the test command builds it).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Http:
    status: int
    body: Any
    headers: dict[str, str]


def http(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None) -> Http:
    data = json.dumps(body).encode() if body is not None and not isinstance(body, bytes) else body
    request = urllib.request.Request(
        url,
        data=data,
        method=method,
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw, status, got = response.read(), response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        raw, status, got = error.read(), error.code, dict(error.headers)
    try:
        parsed: Any = json.loads(raw) if raw else None
    except ValueError:
        parsed = raw.decode("utf-8", "replace")
    return Http(status, parsed, got)


@pytest.fixture(scope="session")
def local_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from feedbackctl.config import load_config
    from feedbackctl.local.platform import LocalPlatform, Options

    dist = ROOT / "frontend" / "dist"
    options = Options(
        api_port=0,
        aws_port=0,
        seed=0,
        site_dir=dist if (dist / "index.html").is_file() else None,
        work_dir=tmp_path_factory.mktemp("local-platform"),
        alarm_interval_s=1.0,
    )
    platform = LocalPlatform(load_config().stage("local"), options)
    platform.start()
    platform.http = http  # type: ignore[attr-defined]
    yield platform
    platform.stop()
