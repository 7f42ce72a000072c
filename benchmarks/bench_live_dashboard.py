"""Live dashboard figures on the local platform: how long after a POST /feedback's 201 a client
polling GET /analytics the way the SPA does (a conditional request with the last ETag in
If-None-Match, then LIVE_INTERVAL_S of rest after each answer) first receives the new count;
and the bytes an unchanged poll (304) moves against a full GET (200).

Each of BENCH_LIVE_POSTS feedbacks (default 20) is posted at a random moment of the poll cycle
(seeded), after the previous one was seen; one warm-up post first takes the stream
aggregator's cold start out of the figures. Bytes are counted on the socket: status line,
headers and body as received, and the request as sent. Goal: every update seen within 2 s.

Run: .venv/bin/python benchmarks/bench_live_dashboard.py   (free ports; nothing else needs to run)
"""

from __future__ import annotations

import json
import os
import random
import socket
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

POSTS = int(os.environ.get("BENCH_LIVE_POSTS", "20"))
LIVE_INTERVAL_S = 1.0  # frontend/src/live.ts LIVE_INTERVAL_MS
GOAL_MAX_MS = 2000.0
SEEN_TIMEOUT_S = 15.0
BODY = {"name": "Bench", "email": "bench@example.com", "rating": 4, "message": "Live and fast"}


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    received: int  # bytes read from the socket for this answer
    sent: int  # bytes of the request


class RawHttp:
    """A keep-alive HTTP/1.1 client that counts the bytes each exchange moves."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.sock = socket.create_connection((host, port), timeout=30)
        self.buffer = b""

    def request(self, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> Answer:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if body:
            lines.append(f"Content-Length: {len(body)}")
        wire = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
        self.sock.sendall(wire)
        head = self._read_until(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        parsed = {}
        for line in header_lines:
            if line:
                name, _, value = line.partition(":")
                parsed[name.strip().lower()] = value.strip()
        length = 0 if status in (204, 304) else int(parsed.get("content-length", "0"))
        payload = self._read_exactly(length)
        return Answer(status, parsed, payload, len(head) + len(payload), len(wire))

    def _read_until(self, marker: bytes) -> bytes:
        while marker not in self.buffer:
            self._fill()
        end = self.buffer.index(marker) + len(marker)
        head, self.buffer = self.buffer[:end], self.buffer[end:]
        return head

    def _read_exactly(self, count: int) -> bytes:
        while len(self.buffer) < count:
            self._fill()
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        self.buffer += chunk

    def close(self) -> None:
        self.sock.close()


@dataclass
class Dashboard:
    """Polls GET /analytics like the SPA, in a thread; remembers when each count first showed."""

    client: RawHttp
    path: str
    etag: str | None = None
    total: int = -1
    first_seen: dict[int, float] = field(default_factory=dict)
    answers: list[Answer] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        while not self.stop.is_set():
            headers = {"Accept": "application/json"}
            if self.etag:
                headers["If-None-Match"] = self.etag
            answer = self.client.request("GET", self.path, headers)
            arrived = time.monotonic()
            self.answers.append(answer)
            if answer.status == 200:
                self.etag = answer.headers.get("etag")
                total = int(json.loads(answer.body)["totalFeedback"])
                with self.changed:
                    self.total = total
                    self.first_seen.setdefault(total, arrived)
                    self.changed.notify_all()
            elif answer.status != 304:
                raise RuntimeError(f"GET {self.path} answered {answer.status}: {answer.body!r}")
            self.stop.wait(LIVE_INTERVAL_S)

    def wait_for(self, total: int) -> float:
        """When the dashboard first received `total` (time.monotonic())."""
        with self.changed:
            if not self.changed.wait_for(lambda: total in self.first_seen, SEEN_TIMEOUT_S):
                raise RuntimeError(f"the dashboard never showed {total} (last {self.total})")
            return self.first_seen[total]


def _post(client: RawHttp, path: str) -> float:
    answer = client.request(
        "POST", path, {"Content-Type": "application/json"}, json.dumps(BODY).encode()
    )
    if answer.status != 201:
        raise RuntimeError(f"POST {path} answered {answer.status}: {answer.body!r}")
    return time.monotonic()


def _measure(api_url: str, posts: int, rng: random.Random) -> dict[str, Any]:
    url = urlsplit(api_url)
    host, port, base = url.hostname or "127.0.0.1", url.port or 80, url.path
    poster = RawHttp(host, port)
    # A full, unconditional GET: what every poll would cost without the ETag.
    full = RawHttp(host, port).request("GET", f"{base}/analytics", {"Accept": "application/json"})
    dashboard = Dashboard(RawHttp(host, port), f"{base}/analytics")
    thread = threading.Thread(target=dashboard.run, name="dashboard", daemon=True)
    thread.start()
    try:
        with dashboard.changed:
            dashboard.changed.wait_for(lambda: dashboard.total >= 0, SEEN_TIMEOUT_S)
        expected = dashboard.total + 1
        _post(poster, f"{base}/feedback")  # warm-up: the aggregator's cold start
        dashboard.wait_for(expected)
        latencies = []
        for _ in range(posts):
            time.sleep(rng.uniform(0, LIVE_INTERVAL_S))  # a random moment of the poll cycle
            created = _post(poster, f"{base}/feedback")
            expected += 1
            latencies.append((dashboard.wait_for(expected) - created) * 1000)
    finally:
        dashboard.stop.set()
        thread.join(5)
        poster.close()
        dashboard.client.close()
    unchanged = [a for a in dashboard.answers if a.status == 304]
    changed = [a for a in dashboard.answers if a.status == 200]
    return {
        "latencies_ms": latencies,
        "polls": len(dashboard.answers),
        "polls_304": len(unchanged),
        "polls_200": len(changed),
        "bytes_304": statistics.fmean(a.received for a in unchanged),
        "bytes_304_sent": statistics.fmean(a.sent for a in unchanged),
        "bytes_full": full.received,
        "bytes_full_sent": full.sent,
        "body_full": len(full.body),
    }


def run() -> dict[str, Any]:
    from feedbackctl.config import load_config
    from feedbackctl.local.platform import LocalPlatform, Options

    options = Options(api_port=0, aws_port=0, work_dir=Path(tempfile.mkdtemp()))
    platform = LocalPlatform(load_config().stage("local"), options)
    platform.start()
    try:
        return _measure(platform.api_url, POSTS, random.Random(15))
    finally:
        platform.stop()


def _percentile(ordered: list[float], share: float) -> float:
    return ordered[max(0, round(share * len(ordered)) - 1)]


def report(results: dict[str, Any]) -> list[str]:
    ordered = sorted(results["latencies_ms"])
    p50, p90, worst = statistics.median(ordered), _percentile(ordered, 0.9), ordered[-1]
    ratio = results["bytes_304"] / results["bytes_full"]
    print(
        f"live dashboard: {len(ordered)} posts, polling every {LIVE_INTERVAL_S:g} s with "
        f"If-None-Match ({results['polls']} polls: {results['polls_304']} x 304, "
        f"{results['polls_200']} x 200)"
    )
    print(
        f"  201 -> new count on the dashboard: p50 {p50:.0f} ms, p90 {p90:.0f} ms, "
        f"max {worst:.0f} ms (goal: max <= {GOAL_MAX_MS:.0f} ms)"
    )
    print(
        f"  bytes received: unchanged poll (304) {results['bytes_304']:.0f} B, full GET (200) "
        f"{results['bytes_full']} B ({results['body_full']} B body); "
        f"ratio 304/200 = {ratio:.3f} ({1 / ratio:.1f}x less)"
    )
    print(
        f"  bytes sent: conditional GET {results['bytes_304_sent']:.0f} B, "
        f"plain GET {results['bytes_full_sent']} B"
    )
    return [f"max {worst:.0f} ms > {GOAL_MAX_MS:.0f} ms"] if worst > GOAL_MAX_MS else []


if __name__ == "__main__":
    missed = report(run())
    print("live dashboard: PASS" if not missed else "live dashboard: FAIL: " + "; ".join(missed))
    sys.exit(1 if missed else 0)
