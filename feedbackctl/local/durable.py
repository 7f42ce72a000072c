"""The local platform's durable state: moto's backends as a snapshot, plus a journal of every
state-changing AWS request made since, in the stage's state folder.

- `snapshot.pickle`: every moto backend in use (tables and their streams, Lambda functions,
  versions, aliases and code, buckets, log groups and events, metrics and alarms, topics ...)
  and the platform's own records (`meta`, e.g. a stream poller's position), written atomically
  (a temporary file, fsync, rename). It names the journal segment that follows it.
- `journal.<n>.log`: each state-changing request moto answered with success, appended and
  handed to the operating system *before* its answer leaves, so `kill -9` of the platform loses
  nothing acknowledged; fsynced every second (while writes go on), so a machine crash loses at
  most the last second.
  A torn last entry (the process died mid-write) fails its checksum and is dropped.
- start: load the snapshot and replay the journal segments through moto in order; what was
  replayed goes into a snapshot taken in the background while the platform starts. A snapshot
  is also taken every `snapshot_every` journal entries (captured by `fork()`: a child writes it
  while requests go on) and on a clean stop, and the segments it covers are deleted, so a
  restart replays little.

State-changing requests are applied one at a time (a lock around moto's handling and the journal
append), so the journal's order is the order moto applied them, and a replay reproduces every
conditional write's outcome. Reads (Get*, Describe*, List*, Query, Scan, GetRecords, HEAD, GET
...) are neither serialised nor journaled, but they still change moto's dicts (GetShardIterator
files an iterator, every request marks its access key as used), so a snapshot waits for the
reads under way and holds new ones back while it pickles (or forks). A snapshot or fsync that
fails is logged and tried again a second later: the journal still holds everything.
"""

from __future__ import annotations

import contextlib
import gc
import io
import json
import logging
import os
import pickle
import signal
import struct
import sys
import threading
import time
import uuid
import warnings
import weakref
import zlib
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from feedbackctl.local.inprocess import drain, wsgi_environ
from feedbackctl.local.lifetime import die_with_parent

SNAPSHOT = "snapshot.pickle"
SNAPSHOT_VERSION = 1
SNAPSHOT_EVERY = 5000  # journal entries between snapshots: bounds the replay at start
SNAPSHOTS_KEPT = 32  # how many snapshots' timings `Store.snapshots` keeps
FSYNC_INTERVAL_S = 1.0
_logger = logging.getLogger(__name__)
_HEADER = struct.Struct(">2sIQ")  # magic, header length, body length
_CRC = struct.Struct(">I")
_MAGIC = b"FJ"
READ_PREFIXES = (
    "Get",
    "Describe",
    "List",
    "Query",
    "Scan",
    "BatchGet",
    "TransactGet",
    "Head",
    "Filter",
    "Receive",
    "Lookup",
    "Search",
    "Select",
    "Test",
    "Validate",
    "Estimate",
    "Simulate",
)
# Request headers a replay needs (moto routes by Host and the signature's service, and reads
# the protocol's own headers); hop-by-hop and length headers are recomputed.
_DROPPED = {"HTTP_CONNECTION", "HTTP_KEEP_ALIVE", "CONTENT_LENGTH", "HTTP_TRANSFER_ENCODING"}

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


# --- what changes state ------------------------------------------------------------------------


def operation(environ: dict[str, Any], body: bytes) -> str | None:
    """The AWS operation of a request, when its protocol names one (JSON, query, RPC v2)."""
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return str(target).rsplit(".", 1)[-1]
    path = str(environ.get("PATH_INFO", ""))
    if "/operation/" in path:  # Smithy RPC v2 (CBOR): /service/<service>/operation/<name>
        return path.rsplit("/", 1)[-1]
    query = parse_qs(str(environ.get("QUERY_STRING", "")))
    if "Action" in query:
        return query["Action"][0]
    if str(environ.get("CONTENT_TYPE", "")).startswith("application/x-www-form-urlencoded"):
        form = parse_qs(body.decode("utf-8", "replace"))
        if "Action" in form:
            return form["Action"][0]
    return None


def changes_state(method: str, op: str | None) -> bool:
    """True for a request that may change moto's state (REST: by method; others: by name)."""
    if op is not None:
        return not op.startswith(READ_PREFIXES)
    return method in {"PUT", "POST", "DELETE", "PATCH"}


# --- replayable stream records ----------------------------------------------------------------

_STREAM_IDS = uuid.UUID("6f1c6c1e-5d0b-4d55-9a53-4c1bbf6d2f10")


def install_stable_stream_ids() -> None:
    """Give each DynamoDB stream record an eventID derived from its table and sequence number
    (moto draws a random one). A replayed write then recreates the very record the stream
    aggregator saw before the restart, so its de-duplication marker (keyed by the batch's first
    eventID) recognises a batch delivered again. AWS's eventIDs are opaque unique strings; so
    are these. Idempotent."""
    from moto.dynamodb.models.table import StreamRecord

    if getattr(StreamRecord.__init__, "_stable_ids", False):
        return
    original = StreamRecord.__init__

    def init(self: Any, table: Any, stream_type: str, event_name: str, *rest: Any) -> None:
        original(self, table, stream_type, event_name, *rest)
        seq = self.record["dynamodb"]["SequenceNumber"]
        self.record["eventID"] = uuid.uuid5(_STREAM_IDS, f"{table.table_arn}#{seq}").hex

    init._stable_ids = True  # type: ignore[attr-defined]
    StreamRecord.__init__ = init  # type: ignore[method-assign,assignment]


# --- pickling moto's backends ------------------------------------------------------------------


def _weak_values(items: dict[Any, Any]) -> weakref.WeakValueDictionary[Any, Any]:
    return weakref.WeakValueDictionary(items)


def _defaultdict(factory: type, items: dict[Any, Any]) -> defaultdict[Any, Any]:
    return defaultdict(factory, items)


def _unchecked_dict(kind: type[dict[Any, Any]], items: dict[Any, Any]) -> dict[Any, Any]:
    """A dict subclass whose `__setitem__` validates each write, filled without it."""
    rebuilt = kind.__new__(kind)
    dict.update(rebuilt, items)
    return rebuilt


def _checked_dicts() -> frozenset[type]:
    """Dict subclasses that validate every `__setitem__`: moto's LimitedSizeDict, an item's
    attributes, sums every attribute's size on each one. Unpickled as a dict they are filled
    key by key through it (O(n²) an item), most of a large state's load. What a
    snapshot holds was validated when it was written, so a load fills them unchecked, as
    moto's own `Item.__deepcopy__` does."""
    try:
        from moto.dynamodb.models.dynamo_type import LimitedSizeDict
    except ImportError:
        return frozenset()
    return frozenset({LimitedSizeDict})


_PLAIN: set[type] = set()  # types `_Pickler` leaves to pickle: decided once per type


class _Pickler(pickle.Pickler):
    """Pickles moto's objects: locks and events become fresh ones, a WeakValueDictionary its
    items (their owners are pickled too), a defaultdict of `lambda: {}` a defaultdict(dict), a
    dict that validates each write one filled without the checks (`_checked_dicts`).

    pickle asks `reducer_override` about every object that is not a plain builtin (each datum,
    item and timestamp): the answer for a type that is none of those is kept, which makes a
    snapshot, during which every request waits, about a quarter shorter."""

    checked: frozenset[type]  # the dict subclasses of `_checked_dicts`, once per snapshot

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.checked = _checked_dicts()

    def reducer_override(self, obj: Any) -> Any:
        kind = type(obj)
        if kind in _PLAIN:
            return NotImplemented
        if kind in self.checked:
            return _unchecked_dict, (kind, dict(obj))
        return self._other(obj, kind)

    def _other(self, obj: Any, kind: type) -> Any:
        fresh = _fresh_primitive(obj)
        if fresh is not None:
            return fresh, ()
        if isinstance(obj, weakref.WeakValueDictionary):
            return _weak_values, (dict(obj),)
        if isinstance(obj, defaultdict):  # decided by each one's factory, never kept
            factory = obj.default_factory
            if factory is not None and getattr(factory, "__name__", "") == "<lambda>":
                return _defaultdict, (type(factory()), dict(obj))
            return NotImplemented
        _PLAIN.add(kind)
        return NotImplemented


_PRIMITIVES: tuple[tuple[type, Callable[[], Any]], ...] = (
    (type(threading.RLock()), threading.RLock),
    (type(threading.Lock()), threading.Lock),
    (threading.Condition, threading.Condition),
    (threading.Event, threading.Event),
)


def _fresh_primitive(obj: Any) -> Callable[[], Any] | None:
    """The constructor of a fresh lock, condition or event in place of `obj`, if it is one."""
    for kind, make in _PRIMITIVES:
        if isinstance(obj, kind):
            return make
    return None


def _backends_in_use() -> dict[str, Any]:
    """`module:attribute` -> the BackendDict of every moto service this process has used."""
    from moto.core.base_backend import BackendDict

    found = {}
    for backends in list(BackendDict._instances):  # type: ignore[misc]
        module_name = backends.backend.__module__
        module = sys.modules[module_name]
        for attribute, value in vars(module).items():
            if value is backends:
                found[f"{module_name}:{attribute}"] = backends
                break
    return found


def _install_backends(saved: dict[str, dict[str, Any]]) -> None:
    """Put saved backends in place of the (empty) ones moto created at import."""
    import importlib

    from moto.core.base_backend import BackendDict

    for key, accounts in saved.items():
        module_name, attribute = key.split(":")
        backends = getattr(importlib.import_module(module_name), attribute)
        backends.clear()
        backends.update(accounts)
        if backends not in BackendDict._instances:  # type: ignore[misc]
            BackendDict._instances.append(backends)  # type: ignore[misc]


# --- the journal -------------------------------------------------------------------------------


def _frame(header: dict[str, Any], body: bytes) -> bytes:
    head = json.dumps(header, separators=(",", ":")).encode()
    return (
        _HEADER.pack(_MAGIC, len(head), len(body))
        + head
        + body
        + _CRC.pack(zlib.crc32(head + body))
    )


def read_journal(path: Path) -> Iterator[tuple[dict[str, Any], bytes]]:
    """The complete entries of a journal segment, in order; stops at a torn or corrupt one."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return
    at = 0
    while at + _HEADER.size <= len(data):
        magic, head_len, body_len = _HEADER.unpack_from(data, at)
        end = at + _HEADER.size + head_len + body_len + _CRC.size
        if magic != _MAGIC or end > len(data):
            return
        start = at + _HEADER.size
        head, body = data[start : start + head_len], data[start + head_len : end - _CRC.size]
        if _CRC.unpack_from(data, end - _CRC.size)[0] != zlib.crc32(head + body):
            return
        yield json.loads(head), body
        at = end


@dataclass(frozen=True)
class Snapshot:
    """One snapshot taken: how long every request waited for it, and what it wrote."""

    held_s: float  # under the lock, no request inside moto: the pause requests saw
    written_s: float  # writing and fsyncing the file afterwards (requests run meanwhile)
    size_bytes: int


@dataclass
class Restored:
    """What a start found in the state folder."""

    snapshot: bool = False
    replayed: int = 0
    meta: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0


class Store:
    """One state folder: restores moto at start, journals its changes, snapshots them."""

    def __init__(
        self,
        folder: Path,
        *,
        snapshot_every: int = SNAPSHOT_EVERY,
        fsync_interval_s: float = FSYNC_INTERVAL_S,
    ) -> None:
        self.folder = folder
        self.snapshot_every = snapshot_every
        self.fsync_interval_s = fsync_interval_s
        self.meta: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._segment = 0
        self._fd: int | None = None
        self._entries = 0  # since the last snapshot
        self._dirty = False  # written since the last fsync
        self._stop = threading.Event()
        self._snapshot_wanted = threading.Event()
        self.snapshots: deque[Snapshot] = deque(maxlen=SNAPSHOTS_KEPT)  # the latest, oldest first
        self._thread: threading.Thread | None = None
        self.app: WsgiApp | None = None
        # Requests that change nothing durable still change moto's dicts (a shard iterator
        # made, an access key marked as used): a snapshot waits for those under way and holds
        # new ones back, so pickling never walks a dict another thread is changing.
        self._gate = threading.Condition(threading.Lock())
        self._readers = 0
        self._snapshotting = False

    # --- start ---------------------------------------------------------------------------------
    def _segments(self) -> list[tuple[int, Path]]:
        found = []
        for path in self.folder.glob("journal.*.log"):
            with contextlib.suppress(ValueError):
                found.append((int(path.name.split(".")[1]), path))
        return sorted(found)

    def restore(self, app: WsgiApp) -> Restored:
        """Load the snapshot and replay the journal through `app` (moto's own WSGI app), then
        start journaling (and, if anything was replayed, a snapshot in the background; without
        a snapshot to load, one now); call once, before anything else uses moto."""
        started = time.perf_counter()
        self.folder.mkdir(parents=True, exist_ok=True)
        for partial in self.folder.glob(SNAPSHOT + ".*tmp"):  # a killed process's, unfinished
            partial.unlink()
        self.app = app
        restored = Restored()
        covered = -1
        snapshot = self.folder / SNAPSHOT
        if snapshot.is_file():
            with snapshot.open("rb") as file, _collector_off():
                saved = pickle.load(file)  # noqa: S301 - our own state folder, written by us
            if saved.get("version") != SNAPSHOT_VERSION:
                raise ValueError(f"{snapshot} is of an unknown version {saved.get('version')}")
            _install_backends(saved["backends"])
            self.meta = dict(saved["meta"])
            covered = int(saved["journal"])
            restored.snapshot = True
        read = 0
        for number, path in self._segments():
            if number <= covered:
                path.unlink()
                continue
            for header, body in read_journal(path):
                read += 1
                if header["kind"] == "meta":
                    self.meta[header["key"]] = header["value"]
                else:
                    _replay(app, header, body)
                    restored.replayed += 1
        self._segment = max([covered, *(n for n, _ in self._segments())]) + 1
        if not restored.snapshot:
            self._write_snapshot()  # the first: a folder never lacks one once started
        else:
            self._open_segment()
            if read:  # what was replayed goes into a snapshot written in the background
                self._snapshot_wanted.set()
        restored.meta = dict(self.meta)
        restored.seconds = time.perf_counter() - started
        self._thread = threading.Thread(target=self._background, name="state-sync", daemon=True)
        self._thread.start()
        return restored

    # --- recording -----------------------------------------------------------------------------
    def wrap(self, app: WsgiApp) -> WsgiApp:
        """`app` with every state-changing request applied under the lock and journaled."""

        def journaled(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
            method = str(environ.get("REQUEST_METHOD", "GET"))
            if method in {"GET", "HEAD", "OPTIONS"} and "HTTP_X_AMZ_TARGET" not in environ:
                return self._read(app, environ, start_response)
            body = _read_body(environ)
            op = operation(environ, body)
            if not changes_state(method, op) or self._fd is None:
                return self._read(app, _with_body(environ, body), start_response)
            status: list[str] = []

            def capture(code: str, headers: list[Any], exc_info: Any = None) -> Any:
                status.append(code)
                return start_response(code, headers, exc_info)

            with self._lock:
                answer = drain(app(_with_body(environ, body), capture))
                if status and status[0].startswith("2"):
                    self._append(_request_header(environ), body)
            return [answer]

        return journaled

    def _read(
        self, app: WsgiApp, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> list[bytes]:
        """A request that is not journaled, answered whole while no snapshot is pickling."""
        with self._gate:
            while self._snapshotting:
                self._gate.wait()
            self._readers += 1
        try:
            return [drain(app(environ, start_response))]
        finally:
            with self._gate:
                self._readers -= 1
                if not self._readers:
                    self._gate.notify_all()

    @contextlib.contextmanager
    def _quiet(self) -> Iterator[None]:
        """Within the block no request is inside moto: journaled ones wait for `_lock` (the
        caller holds it), the others at the gate."""
        with self._gate:
            self._snapshotting = True
            while self._readers:
                self._gate.wait()
        try:
            yield
        finally:
            with self._gate:
                self._snapshotting = False
                self._gate.notify_all()

    def put_meta(self, key: str, value: Any) -> None:
        """Record one of the platform's own facts (JSON), durably and in order with moto's."""
        with self._lock:
            self.meta[key] = value
            if self._fd is not None:
                self._append({"kind": "meta", "key": key, "value": value}, b"")

    def _append(self, header: dict[str, Any], body: bytes) -> None:
        if self._fd is None:
            return
        frame = _frame(header, body)
        written = 0
        while written < len(frame):  # os.write may write less than asked
            written += os.write(self._fd, frame[written:])
        self._dirty = True
        self._entries += 1
        if self._entries >= self.snapshot_every:
            self._snapshot_wanted.set()

    # --- snapshots -----------------------------------------------------------------------------
    def _open_segment(self) -> None:
        path = self.folder / f"journal.{self._segment}.log"
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

    def _write_snapshot(self, *, forked: bool = False) -> None:
        """Capture everything (under the lock and with no request inside moto, so no change is
        half applied and no dict changes while it is walked), start a new journal segment, then
        write the snapshot and delete the segments it covers.

        `forked`: capture by `fork()` instead of pickling under the lock. The child, a
        copy-on-write image of this moment, pickles and writes the state while requests carry
        on in this process; requests wait only for the fork (a few milliseconds, against about
        half a second to pickle 27 MB). Used for the snapshots taken while serving."""
        started = time.perf_counter()
        # A writer's own temporary file: a stop's snapshot never shares one with an abandoned
        # writer's, and a start overwrites whatever a killed process left.
        partial = self.folder / (SNAPSHOT + (".writer.tmp" if forked else ".tmp"))
        child = 0
        buffer = io.BytesIO()
        with self._lock, self._quiet():
            state = {
                "version": SNAPSHOT_VERSION,
                "backends": {k: dict(v) for k, v in _backends_in_use().items()},
                "meta": dict(self.meta),
                "journal": self._segment,
            }
            if forked and _CAN_FORK:
                child = _fork_writer(state, partial)
            else:
                _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(state)
            covered = self._segment
            if self._fd is not None:
                os.fsync(self._fd)
                os.close(self._fd)
            self._segment += 1
            self._open_segment()
            self._entries = 0
            self._dirty = False
        held = time.perf_counter()
        if child:
            if not self._await_writer(child):
                partial.unlink(missing_ok=True)
                return  # a stop came first: its own snapshot covers these segments too
        else:
            with partial.open("wb") as file:
                file.write(buffer.getbuffer())
                file.flush()
                os.fsync(file.fileno())
        size = partial.stat().st_size
        partial.replace(self.folder / SNAPSHOT)
        _fsync_dir(self.folder)
        for number, path in self._segments():
            if number <= covered:
                path.unlink()
        done = time.perf_counter()
        self.snapshots.append(Snapshot(held - started, done - held, size))

    def _await_writer(self, child: int) -> bool:
        """Wait for a forked snapshot writer, keeping the journal's fsync every second; True
        once it has written the snapshot. A stop does not wait for it: the writer is killed
        (the stop writes a snapshot of its own, of a later state) and False returned."""
        synced = time.monotonic()
        while True:
            pid, status = os.waitpid(child, os.WNOHANG)
            if pid:
                break
            if self._stop.is_set():
                os.kill(child, signal.SIGKILL)
                os.waitpid(child, 0)
                return False
            time.sleep(_WRITER_POLL_S)
            if time.monotonic() - synced >= self.fsync_interval_s:
                self.sync()
                synced = time.monotonic()
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            raise RuntimeError(f"the snapshot writer exited with {code}")
        return True

    def _background(self) -> None:
        """Fsync the journal every second; snapshot when enough entries piled up."""
        while not self._stop.wait(self.fsync_interval_s):
            try:
                self.sync()
                if self._snapshot_wanted.is_set():
                    self._write_snapshot(forked=True)  # none asks for another meanwhile
                    self._snapshot_wanted.clear()
            except Exception:  # the journal still holds everything: a failed one is wanted still
                _logger.exception("local state: syncing %s failed; retrying", self.folder)

    def sync(self) -> None:
        """Make what the journal holds survive a machine crash (what `kill -9` cannot lose is
        already in the operating system's hands).

        The flush runs outside the lock, on a duplicate of the segment's descriptor, so writes
        go on while the disk flushes (an fsync can take tens of milliseconds on some disks, and
        every journaled write waited for it once a second): what was appended before the
        duplicate was taken is flushed, what is appended meanwhile marks the journal dirty
        again for the next round, and a snapshot may close the segment meanwhile."""
        with self._lock:
            if self._fd is None or not self._dirty:
                return
            fd = os.dup(self._fd)
            self._dirty = False
        try:
            os.fsync(fd)
        except BaseException:
            with self._lock:
                self._dirty = True  # not flushed: the next round tries again
            raise
        finally:
            os.close(fd)

    def close(self) -> None:
        """A clean stop: a final snapshot, so the next start replays nothing."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._fd is None:
            return
        self._write_snapshot()
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


@contextlib.contextmanager
def _collector_off() -> Iterator[None]:
    """The cyclic collector paused: loading a snapshot makes hundreds of thousands of objects
    and no garbage, and each full collection the allocations set off walked every object
    loaded so far (docs/local-state.md, "Snapshots", gives the restart figures)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_CAN_FORK = hasattr(os, "fork")
_WRITER_POLL_S = 0.02


def _fork_writer(state: dict[str, Any], partial: Path) -> int:
    """Fork a child that pickles `state` into `partial`, fsyncs it and exits; returns its pid.

    The child is this process frozen at the fork: no request is inside moto (the caller holds
    the lock and the gate), and it runs only the pickler and file calls, never a lock another
    thread may have held at the fork. It leaves by `os._exit`, so no atexit handler, buffered
    stream or server socket of the platform is touched twice.

    The writer is background work: it runs at the lowest priority (nice 19), on the CPU the
    platform's processes leave, so a snapshot does not slow the requests served meanwhile
    (it took a core for seconds at full priority, and the 16-client load's slowest requests
    fell in those seconds). It dies with the thread that forked it, so a killed platform
    leaves no writer behind to finish a temporary file the next start may be writing too."""
    parent = os.getpid()
    with warnings.catch_warnings():  # Python 3.12+: fork() of a process with threads warns
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        die_with_parent(parent)
        # Ctrl-C reaches the whole process group: the platform stops cleanly (killing this
        # writer: its stop writes a snapshot of its own).
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        with contextlib.suppress(OSError):
            os.nice(19)
        gc.disable()  # the child lives for one pickling: no collection needed
        with partial.open("wb") as file:
            _Pickler(file, protocol=pickle.HIGHEST_PROTOCOL).dump(state)
            file.flush()
            os.fsync(file.fileno())
        code = 0
    except BaseException as error:  # noqa: BLE001 - reported on stderr and by the exit code
        os.write(2, f"local state: writing the snapshot failed: {error!r}\n".encode())
    finally:
        os._exit(code)


# --- requests as journal entries ---------------------------------------------------------------


def _read_body(environ: dict[str, Any]) -> bytes:
    from werkzeug.wsgi import get_input_stream

    return bytes(get_input_stream(environ).read())


def _with_body(environ: dict[str, Any], body: bytes) -> dict[str, Any]:
    copy = dict(environ)
    copy["wsgi.input"] = io.BytesIO(body)
    copy["CONTENT_LENGTH"] = str(len(body))
    copy.pop("HTTP_TRANSFER_ENCODING", None)
    return copy


def _request_header(environ: dict[str, Any]) -> dict[str, Any]:
    headers = {
        key: str(value)
        for key, value in environ.items()
        if (key.startswith("HTTP_") or key == "CONTENT_TYPE") and key not in _DROPPED
    }
    return {
        "kind": "request",
        "method": str(environ.get("REQUEST_METHOD", "POST")),
        "path": str(environ.get("PATH_INFO", "/")),
        "query": str(environ.get("QUERY_STRING", "")),
        "headers": headers,
    }


def _replay(app: WsgiApp, header: dict[str, Any], body: bytes) -> None:
    """Apply one journaled request to moto again, as it arrived the first time."""
    environ = wsgi_environ(
        header["method"], header["path"], header["query"], header["headers"], body
    )
    drain(app(environ, lambda *_args, **_kwargs: None))
