"""Exactly-once aggregation under crashes, on the local platform: the stream aggregator's
worker process is killed (SIGKILL) at random instants while it holds a batch, at least 20
times, under a steady stream of POST /feedback; Lambda's retries and bisection (the poller's)
re-deliver what each killed invocation held, and the counters end exactly equal to the table
(`analytics verify`: no difference)."""

from __future__ import annotations

import os
import random
import re
import signal
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from feedbackctl.analytics_ops import verify
from feedbackctl.config import CONFIG_ENV, find_config, load_config
from feedbackctl.naming import StackNames
from tests.e2e.conftest import http

REGION = "ap-southeast-3"
KILLS = 20
BODY = {"name": "Ada", "email": "ada@example.com", "rating": 4, "message": "Fast and tidy"}


def stage_config(tmp_path: Path) -> Path:
    """The project's config with the local stage in a region and stack of its own, its stream
    mapping retrying until a batch succeeds, as one without MaximumRetryAttempts (-1) does:
    twenty kills in a row may hit one batch more often than the stage's 3 retries allow, and a
    batch that exhausts them goes to the on-failure queue, uncounted, by design."""
    text = find_config().read_text(encoding="utf-8")
    stream = "[stages.local.stream]\n"
    assert stream in text, "feedbackctl.toml has no [stages.local.stream] table"
    text = text.replace(stream, stream + "max_retry_attempts = 10000\n")
    local = re.search(r"(?ms)^\[stages\.local\]\n.*?(?=^\[)", text)
    assert local, "feedbackctl.toml has no [stages.local] table"
    table = re.sub(r'(?m)^region = ".*"$', f'region = "{REGION}"', local.group(0), count=1)
    table = re.sub(r'(?m)^stack_name = ".*"$', f'stack_name = "crash-{REGION}"', table, count=1)
    config = tmp_path / "feedbackctl.toml"
    config.write_text(text[: local.start()] + table + text[local.end() :], encoding="utf-8")
    return config


@pytest.fixture
def platform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from feedbackctl.local.platform import LocalPlatform, Options

    monkeypatch.setenv(CONFIG_ENV, str(stage_config(tmp_path)))
    stage = load_config().stage("local")
    assert stage.region == REGION
    local = LocalPlatform(stage, Options(api_port=0, aws_port=0, seed=0, work_dir=tmp_path / "p"))
    local.start()
    yield local
    local.stop()


def test_killing_the_aggregator_at_random_instants_never_miscounts(platform):
    names = StackNames(platform.stage.stack_name)
    aggregator = names.function("stream-aggregator")
    rng = random.Random(14)
    stop = threading.Event()
    stored: list[int] = []

    def post() -> None:
        while not stop.is_set():
            answer = http("POST", f"{platform.api_url}/feedback", BODY)
            stored.append(answer.status)

    writer = threading.Thread(target=post, name="writer", daemon=True)
    writer.start()
    [poller] = [p for p in platform.pollers if "Aggregator" in p.mapping.logical_id]
    kills = 0
    deadline = time.monotonic() + 240
    try:
        # Until 20 kills have failed an invocation (a kill after the answer fails nothing).
        while poller.stats.retries < KILLS and time.monotonic() < deadline:
            busy = platform.invoker.busy_pids(aggregator)
            if not busy:
                stop.wait(0.005)  # polling for the next batch in flight
                continue
            # A random instant inside the invocation: reading the markers, writing, answering.
            stop.wait(rng.uniform(0, 0.03))
            for pid in platform.invoker.busy_pids(aggregator):
                try:
                    os.kill(pid, signal.SIGKILL)
                    kills += 1
                except ProcessLookupError:
                    pass  # it finished first: not a kill
    finally:
        stop.set()
        writer.join(timeout=30)
    assert poller.stats.retries >= KILLS, f"{poller.stats.retries} of {kills} kills failed a batch"
    assert stored
    assert set(stored) == {201}

    ddb = platform.client("dynamodb")
    settle = time.monotonic() + 120
    while True:  # the retries drain; the counters must then equal the table exactly
        check = verify(ddb, names, datetime.now(UTC).date())
        total = int((check.item or {}).get("totalFeedback", 0))
        if not check.differences or time.monotonic() > settle:
            break
        stop.wait(0.5)
    assert check.scan.scanned == len(stored)  # every acknowledged item is stored once
    assert poller.mapping.max_retries == 10000
    assert poller.stats.on_failure == 0
    assert check.differences == [], [d.as_dict() for d in check.differences]
    assert total == len(stored)
    print(  # the figures the closing note of a run quotes (pytest -s)
        f"\ncrash test: {kills} kills, {poller.stats.retries} failed batches retried, "
        f"{len(stored)} items acknowledged and stored, totalFeedback {total}, 0 differences"
    )
