"""The local platform keeps its data across `kill -9`: `local up` is killed (with its workers)
while clients write, started again on the same state folder, and then every feedback the
gateway acknowledged is there, the analytics equal the table once the aggregator has caught up
from its recorded stream position, and the versions, aliases and ledger are as they were."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.e2e.conftest import http
from tests.e2e.test_local_up_cli import ROOT, free_port, user_env, wait_ready

WRITERS = 4
ACKNOWLEDGED_BEFORE_KILL = 120


def local_up(state: Path, api: int, aws: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "feedbackctl", "local", "up"),
            *("--api-port", str(api), "--aws-port", str(aws), "--state-dir", str(state)),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=user_env(),
        start_new_session=True,  # its own process group: kill -9 takes the workers too
    )


def feedbackctl(state: Path, *args: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "feedbackctl", *args, "--stage", "local", "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=user_env(FEEDBACKCTL_STATE_DIR=str(state)),
        timeout=120,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr
    return json.loads(done.stdout)


def releases(status: dict) -> dict:
    return {
        f["function"]: (f["liveVersion"], f["ledgerVersion"], f["routing"])
        for f in status["functions"]
    }


def write_until_killed(process: subprocess.Popen[str], api: int) -> set[str]:
    """Clients post until ACKNOWLEDGED_BEFORE_KILL are acknowledged, then `kill -9` the
    platform's whole process group mid-write; the ids of every 201."""
    acknowledged: list[str] = []
    lock, stop = threading.Lock(), threading.Event()

    def write(writer: int) -> None:
        n = 0
        while not stop.is_set():
            n += 1
            body = {"name": f"w{writer}", "email": "w@example.com", "rating": 1 + n % 5}
            body["message"] = f"writer {writer} message {n}"
            try:
                answer = http("POST", f"http://127.0.0.1:{api}/local/feedback", body)
            except OSError:
                return  # the platform is gone
            if answer.status == 201:
                with lock:
                    acknowledged.append(answer.body["feedbackId"])

    writers = [threading.Thread(target=write, args=(w,)) for w in range(WRITERS)]
    for thread in writers:
        thread.start()
    try:
        while len(acknowledged) < ACKNOWLEDGED_BEFORE_KILL:
            assert process.poll() is None, process.stderr.read()
            time.sleep(0.05)
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # no clean stop, no final snapshot
        process.wait(timeout=30)
        stop.set()
        for thread in writers:
            thread.join(timeout=60)
    with lock:
        return set(acknowledged)


def every_feedback_id(api: int) -> set[str]:
    found: set[str] = set()
    cursor = None
    while True:
        query = "limit=100" + (f"&cursor={cursor}" if cursor else "")
        page = http("GET", f"http://127.0.0.1:{api}/local/feedback?{query}").body
        found |= {item["feedbackId"] for item in page["items"]}
        cursor = page.get("nextCursor")
        if not cursor:
            return found


def verified_once_caught_up(state: Path) -> dict:
    """`analytics verify` once the aggregator has worked through the stream (or 90 s)."""
    deadline = time.monotonic() + 90
    while True:
        verified = feedbackctl(state, "analytics", "verify")
        if verified["consistent"] or time.monotonic() > deadline:
            return verified
        time.sleep(0.5)


def test_kill_9_under_write_load_loses_no_acknowledged_feedback(tmp_path):
    state, api, aws = tmp_path / "state", free_port(), free_port()
    first = local_up(state, api, aws)
    try:
        wait_ready(first)
        before = releases(feedbackctl(state, "status"))
        kept = write_until_killed(first, api)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
            first.wait(timeout=30)

    second = local_up(state, api, aws)
    try:
        wait_ready(second)
        found = every_feedback_id(api)
        assert kept <= found, f"{len(kept - found)} acknowledged feedback lost"
        assert releases(feedbackctl(state, "status")) == before
        # The aggregator resumes from its recorded position: the counters reach the table's
        # count exactly (no record applied twice, none skipped).
        verified = verified_once_caught_up(state)
        assert verified["consistent"], verified["differences"]
        assert verified["counted"] == len(found)
    finally:
        second.send_signal(signal.SIGINT)
        _, err = second.communicate(timeout=60)
    assert "restored state from" in err
    assert "Traceback" not in err
