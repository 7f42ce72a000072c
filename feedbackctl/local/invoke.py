"""The local invoke service: Lambda's Invoke semantics over moto's control plane.

Resolves `name`, `name:alias`, `name:version` and ARNs (alias routing weights honoured), finds
each version's code by its CodeSha256 (registered zips and the code bucket's content-addressed
artifacts), runs it in a worker process per (function, version) — cold on first use, warm after,
killed on timeout or crash so the next call starts cold — and writes START/END/REPORT and the
handler's lines to moto's CloudWatch Logs under Lambda-style stream names, feeding a LogSink.
A worker idle for `idle_timeout_s` stops (`reap_idle`, run every few seconds by `run_reaper`),
as Lambda recycles idle execution environments; one of a version no alias routes to any more
stops after `retired_idle_s`. `shutdown` stops everything within its deadline.
"""

from __future__ import annotations

import base64
import collections
import contextlib
import hashlib
import io
import json
import os
import random
import select
import signal
import subprocess
import sys
import sysconfig
import threading
import time
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from feedbackctl.local.interfaces import InvokeResult, LogSink
from feedbackctl.local.lambda_metrics import Invocation, LambdaMetrics, split_target
from feedbackctl.local.shipper import Shipper
from feedbackctl.local.worker import AWS_CHANNEL_ENV, AWS_SOCKET_ENV

WORKER_SCRIPT = Path(__file__).with_name("worker.py")
ALIAS_CACHE_S = 1.0
INIT_LIMIT_S = 10.0  # Lambda's limit on a function's init phase, apart from its timeout
# Reserved concurrency changes rarely; writes through the local endpoint invalidate it at once.
RESERVED_CACHE_S = 30.0
# Lambda keeps an idle execution environment for minutes, then recycles it; a local worker costs
# about 45 MB, so one that served nothing for this long stops (the next call starts cold).
IDLE_TIMEOUT_S = 300.0
# A version no alias routes to (a rolled-back or superseded release) is only invoked by name
# (a health check, a drill): its workers stop after a short idle period.
RETIRED_IDLE_S = 30.0
REAP_INTERVAL_S = 5.0
SHUTDOWN_S = 0.75  # how long a stop waits for the last log lines and metrics to be shipped
MAX_LOG_BATCH = 1000  # events per PutLogEvents (AWS allows 10,000 and 1 MB)


class FunctionNotFoundError(LookupError):
    """The function, alias or version does not exist (Lambda's ResourceNotFoundException)."""


class TooManyRequestsError(RuntimeError):
    """The function's reserved concurrency is in use (Lambda's TooManyRequestsException, 429)."""

    reason = "ReservedFunctionConcurrentInvocationLimitExceeded"

    def __init__(self) -> None:
        super().__init__("Rate Exceeded.")


@dataclass(frozen=True)
class VersionSpec:
    """A version's frozen configuration (published versions never change)."""

    name: str
    version: str
    arn: str
    code_sha: str
    timeout_s: float
    memory_mb: int
    environment: dict[str, str]


def code_sha256(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


class CodeStore:
    """Function code by CodeSha256, extracted once per hash under `root`."""

    def __init__(self, s3: Any, root: Path) -> None:
        self._s3 = s3
        self._root = root
        self._zips: dict[str, Path] = {}
        self._buckets: list[str] = []
        self._scanned: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def add_zip(self, data: bytes) -> str:
        sha = code_sha256(data)
        path = self._root / "zips" / (hashlib.sha256(data).hexdigest() + ".zip")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self._zips[sha] = path
        return sha

    def watch_bucket(self, bucket: str) -> None:
        self._buckets.append(bucket)

    def _scan(self) -> None:
        for bucket in self._buckets:
            paginator = self._s3.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=bucket, Prefix="artifacts/"):
                for obj in page.get("Contents", []):
                    if (bucket, obj["Key"]) not in self._scanned:
                        self._scanned.add((bucket, obj["Key"]))
                        self.add_zip(
                            self._s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
                        )

    def directory(self, sha: str) -> Path:
        """The extracted code of `sha` (scans the code buckets for new artifacts on a miss)."""
        with self._lock:
            if sha not in self._zips:
                self._scan()
            if sha not in self._zips:
                raise FunctionNotFoundError(
                    f"no code with CodeSha256 {sha} in the local code store"
                )
            target = self._root / "code" / self._zips[sha].stem
            if not target.is_dir():
                partial = target.with_suffix(".partial")
                with zipfile.ZipFile(self._zips[sha]) as archive:
                    archive.extractall(partial)
                partial.rename(target)
            return target


# How Lambda's Go runtime manager (rapid) names the signal that ended the runtime process.
SIGNAL_NAMES = {
    signal.SIGKILL: "killed",
    signal.SIGTERM: "terminated",
    signal.SIGSEGV: "segmentation fault",
    signal.SIGABRT: "aborted",
    signal.SIGBUS: "bus error",
    signal.SIGILL: "illegal instruction",
    signal.SIGFPE: "floating point exception",
    signal.SIGINT: "interrupt",
}


def exit_reason(returncode: int) -> str:
    """`exit status N` or `signal: killed`, as in `Runtime exited with error: ...`."""
    if returncode >= 0:
        return f"exit status {returncode}"
    number = -returncode
    try:
        name = SIGNAL_NAMES.get(signal.Signals(number), f"signal {number}")
    except ValueError:
        name = f"signal {number}"
    return f"signal: {name}"


@dataclass
class CallOutcome:
    """What one request to a worker produced."""

    answer: dict[str, Any] | None  # None: timed out or the process exited
    logs: list[str] = field(default_factory=list)  # the handler's lines, as they were printed
    timed_out: bool = False
    exit: str | None = None  # `exit status 1`, `signal: killed`, ... when the process died
    peak_mb: int = 0  # the process's peak RSS when it was killed on timeout
    init_ms: float | None = None  # the handler module's init, reported by a cold worker


def one_line(payload: bytes) -> bytes:
    """The JSON document `payload` (the empty object when empty, as Lambda's Invoke takes
    it) as one line of the worker's protocol, in ASCII as json.dumps writes it: as it is when
    it is such a line already (what the gateway, the pollers and SNS send), encoded again
    otherwise. Callers send JSON: the AWS endpoint refuses anything else with Lambda's 400
    before invoking; encoding again raises ValueError for what is not JSON."""
    if not payload.strip():
        return b"{}"
    if payload.isascii() and b"\n" not in payload and b"\r" not in payload:
        return payload
    return json.dumps(json.loads(payload)).encode()


class Worker:
    """One runtime process for one version; handles one request at a time."""

    def __init__(
        self,
        spec: VersionSpec,
        code_dir: Path,
        env: dict[str, str],
        stream: str,
        log_dir: Path,
    ) -> None:
        self.spec = spec
        self.stream = stream
        self.cold = True
        log_dir.mkdir(parents=True, exist_ok=True)
        self._stderr = open(log_dir / f"{spec.name}-{spec.version}-{stream[-8:]}.log", "ab")  # noqa: SIM115
        purelib = sysconfig.get_paths()["purelib"]
        self.proc = subprocess.Popen(  # noqa: S603 - our own interpreter and script
            [sys.executable, "-S", str(WORKER_SCRIPT), str(code_dir), purelib, str(spec.memory_mb)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=env,
            cwd=code_dir,
        )
        self._buffer = b""
        self._initialised = False
        self.last_used = 0.0  # the invoke service's clock when it last finished a call

    def call(
        self, request: dict[str, Any], timeout_s: float, *, event: bytes = b"{}"
    ) -> CallOutcome:
        """Send one request, `event` (a JSON document on one line, `one_line`) its "event", and
        collect its log lines and answer until the deadline.

        On timeout the process is killed (the next call starts cold); when it exits on its own
        (a crash, `os._exit`, a signal, the memory limit) the outcome says how.
        """
        outcome = CallOutcome(None)
        if self.proc.stdin is None or self.proc.stdout is None:  # pragma: no cover - set by Popen
            return outcome
        # Lambda's timeout counts from the invocation; a cold start's init has its own limit
        # (10 s), so until the worker reports init done the deadline is the init's.
        initialising = not self._initialised
        deadline = time.monotonic() + (INIT_LIMIT_S if initialising else timeout_s)
        try:
            # The event goes in as its caller encoded it: a gateway event is about 3 KB, and
            # encoding it again cost more than the rest of the request.
            head = json.dumps(request).encode()
            self.proc.stdin.write(head[:-1] + b', "event": ' + event + b"}\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass  # the process is gone: reading finds EOF and its exit status
        while True:
            line = self._line(deadline)
            if line is None:
                outcome.timed_out = True
                outcome.peak_mb = self._peak_mb()
                self.kill()
                return outcome
            if not line:
                self.kill()  # reaps it; it has already exited
                outcome.exit = exit_reason(self.proc.returncode)
                return outcome
            message: dict[str, Any] = json.loads(line)
            if "log" in message:
                outcome.logs.append(str(message["log"]))
                continue
            if "init_ms" in message:
                outcome.init_ms = float(message["init_ms"])
                self._initialised = True
                if initialising:
                    deadline = time.monotonic() + timeout_s
                continue
            outcome.answer = message
            return outcome

    def _line(self, deadline: float) -> bytes | None:
        """The next protocol line; b"" at EOF; None when the deadline passed first.

        Reads the raw descriptor with its own buffer: select() on a buffered file object would
        miss lines already sitting in its buffer.
        """
        assert self.proc.stdout is not None  # set by Popen
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                return None
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                return b""
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line

    def _peak_mb(self) -> int:
        try:
            status = Path(f"/proc/{self.proc.pid}/status").read_text()
        except OSError:
            return 0
        for row in status.splitlines():
            if row.startswith("VmHWM:"):
                return int(row.split()[1]) // 1024
        return 0

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self._stderr.close()

    def close(self) -> None:
        """Kill the process and close its pipes (by the thread that owns the worker)."""
        self.kill()
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()


class _Turn:
    """A call waiting for a worker of its version: `_release` hands it one (`worker`), or
    `_vacate` a place to start one in (`worker` stays None)."""

    __slots__ = ("ready", "worker")

    def __init__(self) -> None:
        self.ready = threading.Event()
        self.worker: Worker | None = None


class InvokeService:
    """Implements `Invoker` for the local platform."""

    def __init__(
        self,
        lambda_client: Any,
        logs_client: Any,
        code: CodeStore,
        *,
        worker_env: dict[str, str],
        work_dir: Path,
        log_sink: LogSink | None = None,
        metrics: LambdaMetrics | None = None,
        log_writer: Any | None = None,
        aws_socket: tuple[str, str] | None = None,
        max_workers: int = 4,
        rng: random.Random | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        idle_timeout_s: float = IDLE_TIMEOUT_S,
        retired_idle_s: float = RETIRED_IDLE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lambda = lambda_client
        self._logs = logs_client
        # what ships the log lines: the logs client unless given another `put_log_events`
        # (the platform's: inprocess.ShipperWrites)
        self._log_writer = log_writer if log_writer is not None else logs_client
        self._code = code
        # (endpoint, socket path): the functions' JSON-protocol calls to the endpoint go through
        # their workers' channel to the AWS process's socket (worker.AwsChannel,
        # local/aws_process.py); this process answers none of them
        self._aws_socket = aws_socket
        self._worker_env = worker_env
        self._work_dir = work_dir
        self._sink = log_sink
        self.metrics = metrics
        self._max = max_workers
        self._rng = rng or random.Random()  # noqa: S311 - traffic splitting, not secrets
        self._now = now
        self.idle_timeout_s = idle_timeout_s
        self.retired_idle_s = min(retired_idle_s, idle_timeout_s)
        self._clock = clock
        self._specs: dict[tuple[str, str], VersionSpec] = {}
        self._idle: dict[tuple[str, str, str], list[Worker]] = {}
        self._busy: dict[tuple[str, str, str], int] = {}  # places taken: running or starting
        self._queued: dict[tuple[str, str, str], collections.deque[_Turn]] = {}  # arrival order
        self._all: list[Worker] = []
        self._lock = threading.RLock()
        self._closed = False
        self.cold_starts = 0
        self._aliases: dict[tuple[str, str], tuple[float, dict[str, Any]]] = {}
        self._refreshing: set[tuple[str, str]] = set()  # aliases being read again
        self._refresh_lock = threading.Lock()
        self._generation = 0  # moves on with every invalidate(): what was read before is stale
        self._reserved: dict[str, tuple[float, int | None]] = {}
        self._inflight: dict[str, int] = {}  # per function name, for throttling and metrics
        self._async: set[threading.Thread] = set()  # event invocations running
        # Logs are shipped off the request path, as Lambda does, a few batches a second.
        self._log_shipper: Shipper[tuple[str, str, list[tuple[int, str]]]] = Shipper(
            self._put_logs, "log-shipper"
        )

    # resolution ----------------------------------------------------------------------
    @staticmethod
    def parse(function: str, qualifier: str | None) -> tuple[str, str | None]:
        """(function name, qualifier) from a name, `name:qualifier` or an ARN."""
        return split_target(function, qualifier)

    def _pick(self, name: str, qualifier: str | None) -> str:
        if qualifier is None or qualifier == "$LATEST":
            return "$LATEST"
        if qualifier.isdigit():
            return qualifier
        alias = self._alias(name, qualifier)
        weights = (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
        draw = self._rng.random()
        for version, weight in weights.items():
            if draw < weight:
                return str(version)
            draw -= weight
        return str(alias["FunctionVersion"])

    def _alias(self, name: str, alias_name: str) -> dict[str, Any]:
        """The alias, cached briefly: a moto round trip per invoke would dominate its cost.

        Lambda writes through the local endpoint invalidate the cache at once (`invalidate`);
        the short lifetime covers writes made to moto directly. When it runs out, one call
        reads the alias again and the calls arriving meanwhile are answered the value of a
        moment ago, so a busy alias costs one read a lifetime, not one per concurrent call.
        """
        key = (name, alias_name)
        now = self._clock()
        cached = self._aliases.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        with self._refresh_lock:
            reader = key not in self._refreshing
            self._refreshing.add(key)
        if not reader and cached is not None:
            return cached[1]  # another call is reading it (a forgotten value is never served)
        generation = self._generation
        try:
            alias: dict[str, Any] = self._lambda.get_alias(FunctionName=name, Name=alias_name)
        except self._lambda.exceptions.ResourceNotFoundException:
            raise FunctionNotFoundError(f"Function not found: {name}:{alias_name}") from None
        finally:
            if reader:
                with self._refresh_lock:
                    self._refreshing.discard(key)
        if generation == self._generation:  # no write passed while it was read: still current
            self._aliases[key] = (now + ALIAS_CACHE_S, alias)
        return alias

    def invalidate(self) -> None:
        """Forget cached aliases and reserved concurrency (a Lambda write passed the endpoint).

        A read already in flight may have fetched the value from before the write: it is
        answered but not cached (the generation moved on), so a rolled-back alias is never
        served from the cache after the rollback answered."""
        self._generation += 1
        self._aliases.clear()
        self._reserved.clear()

    def _reserved_concurrency(self, name: str) -> int | None:
        """The function's reserved concurrency (PutFunctionConcurrency), cached."""
        now = time.monotonic()
        cached = self._reserved.get(name)
        if cached is not None and cached[0] > now:
            return cached[1]
        generation = self._generation
        try:
            answer = self._lambda.get_function_concurrency(FunctionName=name)
        except self._lambda.exceptions.ResourceNotFoundException:
            answer = {}
        value = answer.get("ReservedConcurrentExecutions")
        reserved = None if value is None else int(value)
        if generation == self._generation:
            self._reserved[name] = (now + RESERVED_CACHE_S, reserved)
        return reserved

    def _admit(self, spec: VersionSpec, qualifier: str | None, at: datetime) -> tuple[int, int]:
        """Count the invocation in flight, or throttle it as Lambda does when the function's
        reserved concurrency is all in use. Returns (in flight for the function, for all)."""
        reserved = self._reserved_concurrency(spec.name)
        with self._lock:
            running = self._inflight.get(spec.name, 0)
            if reserved is not None and running >= reserved:
                throttled = True
            else:
                throttled = False
                running += 1
                self._inflight[spec.name] = running
            everything = sum(self._inflight.values())
        if throttled:
            if self.metrics is not None:
                self.metrics.throttle(spec.name, qualifier, spec.version, at)
            raise TooManyRequestsError
        return running, everything

    def _leave(self, name: str) -> None:
        with self._lock:
            self._inflight[name] -= 1

    def in_flight(self, name: str) -> int:
        """Invocations of function `name` running now (what reserved concurrency limits)."""
        with self._lock:
            return self._inflight.get(name, 0)

    def _spec(self, name: str, version: str) -> VersionSpec:
        key = (name, version)
        if version != "$LATEST" and key in self._specs:
            return self._specs[key]
        try:
            config = self._lambda.get_function_configuration(FunctionName=name, Qualifier=version)
        except self._lambda.exceptions.ResourceNotFoundException:
            raise FunctionNotFoundError(f"Function not found: {name}:{version}") from None
        spec = VersionSpec(
            name=name,
            version=str(config["Version"]),
            arn=config["FunctionArn"],
            code_sha=config["CodeSha256"],
            timeout_s=float(config.get("Timeout", 3)),
            memory_mb=int(config.get("MemorySize", 128)),
            environment=dict((config.get("Environment") or {}).get("Variables") or {}),
        )
        self._specs[key] = spec
        return spec

    # workers -------------------------------------------------------------------------
    def _env(self, spec: VersionSpec, stream: str) -> dict[str, str]:
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/tmp"),  # noqa: S108 - a fallback HOME, like Lambda's
            "TZ": "UTC",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONUNBUFFERED": "1",
            **spec.environment,
            **self._worker_env,
            **(
                {AWS_CHANNEL_ENV: self._aws_socket[0], AWS_SOCKET_ENV: self._aws_socket[1]}
                if self._aws_socket
                else {}
            ),
            "AWS_LAMBDA_FUNCTION_NAME": spec.name,
            "AWS_LAMBDA_FUNCTION_VERSION": spec.version,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": stream,
        }

    def _stream_name(self, version: str) -> str:
        return f"{self._now().strftime('%Y/%m/%d')}/[{version}]{uuid.uuid4().hex}"

    def _acquire(self, spec: VersionSpec) -> Worker:
        """A warm worker of the version, a new one while it has fewer than `max_workers`, or
        the next one released, in arrival order: a call that waits is handed the first worker
        freed after it arrived, never overtaken by a later call (every call waits its turn,
        not a lottery's)."""
        key = (spec.name, spec.version, spec.code_sha)
        with self._lock:
            claimed = self._claim(key)
        if isinstance(claimed, Worker):
            return claimed
        if claimed is not None:  # queued: wait for a released worker or a free place
            claimed.ready.wait()
            if claimed.worker is not None:
                return claimed.worker
            if self._closed:
                raise RuntimeError("the invoke service is shut down")
        return self._start(spec, key)

    def _claim(self, key: tuple[str, str, str]) -> Worker | _Turn | None:
        """Under the lock: a warm worker, None for a free place to start one in, or this
        call's turn in the queue."""
        if self._closed:
            raise RuntimeError("the invoke service is shut down")
        idle = self._idle.setdefault(key, [])
        while idle:
            worker = idle.pop()
            if worker.alive:
                self._busy[key] = self._busy.get(key, 0) + 1
                return worker
        if self._busy.get(key, 0) < self._max:
            self._busy[key] = self._busy.get(key, 0) + 1
            return None
        turn = _Turn()
        self._queued.setdefault(key, collections.deque()).append(turn)
        return turn

    def _start(self, spec: VersionSpec, key: tuple[str, str, str]) -> Worker:
        """Start a worker in a place this call holds (given back if it fails to start)."""
        try:
            code_dir = self._code.directory(spec.code_sha)
            stream = self._stream_name(spec.version)
            self._ensure_stream(spec.name, stream)
            worker = Worker(
                spec,
                code_dir,
                self._env(spec, stream),
                stream,
                self._work_dir / "worker-logs",
            )
        except BaseException:
            with self._lock:
                self._vacate(key)
            raise
        worker.last_used = self._clock()
        with self._lock:
            closed = self._closed
            if not closed:
                self._all.append(worker)
        if closed:  # a stop ran while this one started: it would outlive the platform
            worker.close()
            raise RuntimeError("the invoke service is shut down")
        self.cold_starts += 1
        return worker

    def _release(self, worker: Worker) -> None:
        key = (worker.spec.name, worker.spec.version, worker.spec.code_sha)
        worker.last_used = self._clock()
        with self._lock:
            keep = worker.alive and not self._closed
            if not keep and worker in self._all:
                self._all.remove(worker)  # timed out or crashed: nothing of it is kept
            queued = self._queued.get(key)
            if keep and queued:  # the longest-waiting call takes it, still busy
                turn = self._next_turn(key, queued)
                turn.worker = worker
                turn.ready.set()
            elif keep:
                self._busy[key] -= 1
                self._idle.setdefault(key, []).append(worker)
            else:
                self._vacate(key)
        if not keep:
            worker.close()

    def _vacate(self, key: tuple[str, str, str]) -> None:
        """One of the version's places is free (its worker is gone or never started): the
        longest-waiting call takes it and starts a worker. Call under the lock."""
        queued = self._queued.get(key)
        if queued:
            self._next_turn(key, queued).ready.set()
        else:
            self._busy[key] -= 1

    def _next_turn(self, key: tuple[str, str, str], queued: collections.deque[_Turn]) -> _Turn:
        turn = queued.popleft()
        if not queued:
            del self._queued[key]
        return turn

    # idle workers --------------------------------------------------------------------
    def reap_idle(self) -> list[Worker]:
        """Stop the workers idle past their limit; returns them.

        A worker of `$LATEST` or of a version an alias routes to (its version, or a weight of
        its routing) waits `idle_timeout_s`; any other version's only `retired_idle_s`. Aliases
        are read only for functions that have workers in between those two limits.
        """
        now = self._clock()
        with self._lock:
            idle = [(key, w) for key, workers in self._idle.items() for w in workers]
        undecided = {
            key[0]
            for key, w in idle
            if key[1] != "$LATEST" and self.retired_idle_s <= now - w.last_used
        }
        routed = {name: self._routed_versions(name) for name in undecided}
        stopped: list[Worker] = []
        with self._lock:
            for key, workers in list(self._idle.items()):
                name, version, _ = key
                kept_version = version == "$LATEST" or version in routed.get(name, {version})
                limit = self.idle_timeout_s if kept_version else self.retired_idle_s
                expired = [w for w in workers if now - w.last_used >= limit or not w.alive]
                if not expired:
                    continue
                self._idle[key] = [w for w in workers if w not in expired]
                for worker in expired:
                    self._all.remove(worker)
                stopped += expired
                if not self._idle[key] and not self._busy.get(key):
                    del self._idle[key]
                    self._busy.pop(key, None)
        for worker in stopped:
            worker.close()
        return stopped

    def _routed_versions(self, name: str) -> set[str]:
        """Every version an alias of `name` routes to (all of them when aliases are unknown)."""
        try:
            pages = self._lambda.get_paginator("list_aliases").paginate(FunctionName=name)
            aliases = [a for page in pages for a in page.get("Aliases", [])]
        except Exception:  # noqa: BLE001 - unknown: keep everything for the long limit
            with self._lock:
                return {key[1] for key in self._idle if key[0] == name}
        routed = set()
        for alias in aliases:
            routed.add(str(alias.get("FunctionVersion")))
            weights = (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
            routed.update(str(v) for v in weights)
        return routed

    def run_reaper(self, stop: threading.Event, interval_s: float = REAP_INTERVAL_S) -> None:
        """Reap idle workers every `interval_s` until `stop` is set."""
        while not stop.wait(interval_s):
            try:
                self.reap_idle()
            except Exception as exc:  # noqa: BLE001 - a failed round must not end reaping
                sys.stderr.write(f"stopping idle workers failed: {type(exc).__name__}: {exc}\n")

    # logs ----------------------------------------------------------------------------
    def _ensure_stream(self, name: str, stream: str) -> None:
        group = f"/aws/lambda/{name}"
        try:
            self._logs.create_log_stream(logGroupName=group, logStreamName=stream)
        except self._logs.exceptions.ResourceNotFoundException:
            self._logs.create_log_group(logGroupName=group)
            self._logs.create_log_stream(logGroupName=group, logStreamName=stream)

    def _write_logs(self, spec: VersionSpec, stream: str, lines: list[str]) -> None:
        if self._closed:
            return  # killed by the stop: the platform is going, not the function failing
        stamp = int(self._now().timestamp() * 1000)
        self._log_shipper.put(
            (f"/aws/lambda/{spec.name}", stream, [(stamp, line) for line in lines])
        )

    def _put_logs(self, items: list[tuple[str, str, list[tuple[int, str]]]]) -> None:
        """Ship queued log lines: whatever is waiting goes together, one PutLogEvents per
        stream (at most MAX_LOG_BATCH events), so a burst drains in few calls."""
        streams: dict[tuple[str, str], list[tuple[int, str]]] = {}
        for group, stream, events in items:
            streams.setdefault((group, stream), []).extend(events)
        written: list[tuple[str, str, list[tuple[int, str]]]] = []
        for (group, stream), events in streams.items():
            events.sort(key=lambda event: event[0])  # PutLogEvents wants time order (stable)
            for start in range(0, len(events), MAX_LOG_BATCH):
                batch = events[start : start + MAX_LOG_BATCH]
                try:
                    self._log_writer.put_log_events(
                        logGroupName=group,
                        logStreamName=stream,
                        logEvents=[{"timestamp": t, "message": m} for t, m in batch],
                    )
                except Exception as exc:  # noqa: BLE001 - a lost log batch must not stop shipping
                    sys.stderr.write(f"shipping logs failed: {type(exc).__name__}: {exc}\n")
                else:
                    written.append((group, stream, batch))
        if self._sink is not None and written:
            try:  # the round's metric filters and EMF: one PutMetricData a namespace
                self._sink.log_streams(written)
            except Exception as exc:  # noqa: BLE001 - lost metrics must not stop shipping
                sys.stderr.write(f"metric filters failed: {type(exc).__name__}: {exc}\n")

    def flush(self) -> None:
        """Wait until every log line and metric written so far is in CloudWatch and the sink."""
        self._log_shipper.flush()
        if self.metrics is not None:
            self.metrics.flush()

    # invoke --------------------------------------------------------------------------
    def invoke(
        self, function: str, payload: bytes, *, qualifier: str | None = None
    ) -> InvokeResult:
        name, wanted = self.parse(function, qualifier)
        spec = self._spec(name, self._pick(name, wanted))
        at = self._now()
        concurrent, concurrent_all = self._admit(spec, wanted, at)
        try:
            result = self._run(spec, wanted, payload)
        finally:
            self._leave(spec.name)
        if self.metrics is not None and not self._closed:
            self.metrics.invocation(
                Invocation(
                    name=spec.name,
                    qualifier=wanted,
                    executed_version=spec.version,
                    at=at,
                    duration_ms=result.duration_ms,
                    error=result.function_error is not None,
                    concurrent=concurrent,
                    concurrent_all=concurrent_all,
                )
            )
        return result

    def _run(self, spec: VersionSpec, wanted: str | None, payload: bytes) -> InvokeResult:
        worker = self._acquire(spec)
        request_id = str(uuid.uuid4())
        cold = worker.cold
        worker.cold = False
        context = {
            "function_name": spec.name,
            "function_version": spec.version,
            "invoked_function_arn": spec.arn.rsplit(":", 1)[0] + (f":{wanted}" if wanted else ""),
            "memory_limit_in_mb": spec.memory_mb,
            "aws_request_id": request_id,
            "log_group_name": f"/aws/lambda/{spec.name}",
            "log_stream_name": worker.stream,
        }
        started = time.perf_counter()
        outcome = worker.call(
            {"id": request_id, "context": context, "timeout_s": spec.timeout_s},
            spec.timeout_s,
            event=one_line(payload),
        )
        duration = (time.perf_counter() - started) * 1000
        try:
            return self._result(spec, worker, request_id, outcome, duration=duration, cold=cold)
        finally:
            self._release(worker)

    def _result(
        self,
        spec: VersionSpec,
        worker: Worker,
        request_id: str,
        outcome: CallOutcome,
        *,
        duration: float,
        cold: bool,
    ) -> InvokeResult:
        """The answer and the log lines Lambda writes for it (see docs/local.md for each)."""
        lines = [f"START RequestId: {request_id} Version: {spec.version}", *outcome.logs]
        answer = outcome.answer
        function_error: str | None = "Unhandled"
        if answer is None and outcome.timed_out:
            what = f"Task timed out after {spec.timeout_s:.2f} seconds"
            stamp = self._now().strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
            lines.append(f"{stamp} {request_id} {what}")
            error = {
                "errorType": "Sandbox.Timedout",
                "errorMessage": f"RequestId: {request_id} Error: {what}",
            }
            payload, memory = json.dumps(error).encode(), outcome.peak_mb
        elif answer is None:
            reason = outcome.exit or "signal: killed"
            message = f"RequestId: {request_id} Error: Runtime exited with error: {reason}"
            lines += [message, "Runtime.ExitError"]
            error = {"errorType": "Runtime.ExitError", "errorMessage": message}
            payload = json.dumps(error).encode()
            # A SIGKILLed runtime is Lambda's out-of-memory signature: it reports the full size.
            memory = spec.memory_mb if reason == "signal: killed" else 0
        else:
            lines += answer.get("error_logs", [])
            if "error" in answer:
                payload = json.dumps(answer["error"]).encode()
            else:
                payload, function_error = answer["result"].encode(), None
            duration, memory = answer.get("duration_ms", duration), answer.get("max_memory_mb", 0)
        lines.append(f"END RequestId: {request_id}")
        report = (
            f"REPORT RequestId: {request_id}\tDuration: {duration:.2f} ms\t"
            f"Billed Duration: {int(duration) + 1} ms\tMemory Size: {spec.memory_mb} MB\t"
            f"Max Memory Used: {memory} MB"
        )
        if cold and outcome.init_ms is not None:
            report += f"\tInit Duration: {outcome.init_ms:.2f} ms"
        lines.append(report)
        self._write_logs(spec, worker.stream, lines)
        tail = "\n".join(lines) + "\n"
        return InvokeResult(
            200,
            payload,
            function_error,
            spec.version,
            outcome.timed_out,
            duration,
            request_id,
            tail,
        )

    def invoke_async(self, function: str, payload: bytes, *, qualifier: str | None = None) -> None:
        """Event invocation: run in the background; errors are logged by the function itself."""

        def run() -> None:
            try:
                self.invoke(function, payload, qualifier=qualifier)
            except Exception as exc:  # noqa: BLE001 - async errors stay in the background, as in Lambda
                if not self._closed:
                    sys.stderr.write(f"async invoke of {function} failed: {exc}\n")
            finally:
                with self._lock:
                    self._async.discard(threading.current_thread())

        thread = threading.Thread(target=run, daemon=True, name=f"async-{function}")
        with self._lock:
            self._async.add(thread)
        thread.start()

    def shutdown(self, timeout_s: float = SHUTDOWN_S) -> None:
        """Kill every worker process (no orphans), then ship the last log lines and metrics
        for at most `timeout_s` (what is still queued then is lost, as on a crash)."""
        with self._lock:
            self._closed = True
            workers, self._all = self._all, []
            idle = {w for group in self._idle.values() for w in group}
            self._idle.clear()
            for queued in self._queued.values():  # each waiting call sees the stop and raises
                for turn in queued:
                    turn.ready.set()
            self._queued.clear()
        for worker in workers:
            if worker in idle:
                worker.close()
            else:  # its caller still reads the pipes: it sees the exit and closes them
                worker.kill()
        deadline = time.monotonic() + timeout_s
        with self._lock:
            running = list(self._async)
        for thread in running:  # their workers are gone: each call returns at once
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        # Past the deadline the rest is lost, as on a crash.
        self._log_shipper.close(timeout_s=max(0.0, deadline - time.monotonic()))
        if self.metrics is not None:
            self.metrics.close(timeout_s=max(0.0, deadline - time.monotonic()))

    @property
    def worker_pids(self) -> list[int]:
        with self._lock:
            return [w.proc.pid for w in self._all if w.alive]

    def busy_pids(self, function: str) -> list[int]:
        """The processes of `function`'s workers running an invocation now (drills, tests)."""
        with self._lock:
            idle = {id(w) for workers in self._idle.values() for w in workers}
            return [
                w.proc.pid
                for w in self._all
                if w.alive and w.spec.name == function and id(w) not in idle
            ]


def bootstrap_zip(source: str) -> bytes:
    """A zip with `index.py` = `source` (the stack's inline bootstrap code)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo("index.py", (1980, 1, 1, 0, 0, 0))
        info.external_attr = 0o100644 << 16
        archive.writestr(info, source)
    return buffer.getvalue()
