"""The local platform's state survives `kill -9` (feedbackctl.local.durable): a process makes
changes of every kind through moto, is killed without warning once they are acknowledged, and
a new process restores them from the state folder — by replaying the journal alone, or from
snapshots taken meanwhile plus the journal since."""

from __future__ import annotations

import gc
import io
import json
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

import pytest

from feedbackctl.local import durable
from feedbackctl.local.durable import changes_state, operation, read_journal
from tests.conftest import process_gone

ROOT = Path(__file__).resolve().parents[2]
CHILD = [sys.executable, "-m", "tests.functional.durable_child"]


def run(*args: str) -> dict:
    done = subprocess.run(
        [*CHILD, *args], capture_output=True, text=True, cwd=ROOT, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def write_then_kill(folder: Path, count: int, every: int) -> dict:
    process = subprocess.Popen(
        [*CHILD, "write", str(folder), str(count), str(every)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        line = process.stdout.readline()  # printed once every change was acknowledged
        assert line, process.stderr.read()
        written = json.loads(line)
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    return written


@pytest.mark.parametrize("every", [5000, 7], ids=["journal-only", "snapshots-and-journal"])
def test_everything_acknowledged_before_kill_9_is_there_after_a_restart(tmp_path, every):
    written = write_then_kill(tmp_path, 40, every)
    assert written["snapshot"] is False
    found = run("read", str(tmp_path), "0", str(every))
    assert found["snapshot"] is True
    assert found["items"] == 41  # 40 items and the counter
    assert found["item0"] == "0"  # the write its condition refused stayed refused
    assert found["hits"] == "1"
    # The stream holds the same records, with the same ids and sequence numbers, so a poller
    # resuming after the position it recorded sees exactly what it had not yet processed.
    assert found["records"] == written["records"]
    assert found["meta"] == {"poller": {"after": written["records"][20][1]}}
    first, second = written["versions"]
    assert found["alias"] == [first, {second: 0.25}]
    assert found["timeouts"][second] == 9
    assert found["code"] > 0
    assert found["logs"] == ["hello"]
    assert found["alarm"] == "ALARM"


def test_a_clean_stop_leaves_a_snapshot_and_nothing_to_replay(tmp_path):
    write_then_kill(tmp_path, 5, 5000)
    first = run("read", str(tmp_path))
    assert first["replayed"] > 0
    again = run("read", str(tmp_path))
    assert (again["replayed"], again["items"]) == (0, 6)
    journals = sorted(tmp_path.glob("journal.*.log"))
    assert [p.name for p in tmp_path.iterdir() if p not in journals] == ["snapshot.pickle"]
    assert [p.stat().st_size for p in journals] == [0]  # one fresh segment, nothing in it


def test_a_torn_last_entry_is_dropped_and_the_rest_kept(tmp_path):
    write_then_kill(tmp_path, 3, 5000)
    (segment,) = [p for p in tmp_path.glob("journal.*.log") if p.stat().st_size]
    entries = list(read_journal(segment))
    complete = segment.read_bytes()
    segment.write_bytes(complete + complete[:40])  # a crash in the middle of a write
    assert list(read_journal(segment)) == entries
    segment.write_bytes(complete[:-1])  # the last entry's checksum cut short
    assert list(read_journal(segment)) == entries[:-1]


@pytest.mark.parametrize(
    ("environ", "body", "op", "changes"),
    [
        ({"HTTP_X_AMZ_TARGET": "DynamoDB_20120810.PutItem"}, b"{}", "PutItem", True),
        ({"HTTP_X_AMZ_TARGET": "DynamoDB_20120810.Query"}, b"{}", "Query", False),
        ({"HTTP_X_AMZ_TARGET": "DynamoDBStreams_20120810.GetRecords"}, b"", "GetRecords", False),
        ({"HTTP_X_AMZ_TARGET": "Logs_20140328.FilterLogEvents"}, b"", "FilterLogEvents", False),
        (
            {"PATH_INFO": "/service/GraniteServiceVersion20100801/operation/PutMetricData"},
            b"",
            "PutMetricData",
            True,
        ),
        (
            {"CONTENT_TYPE": "application/x-www-form-urlencoded; charset=utf-8"},
            b"Action=DescribeAlarms&Version=2010-08-01",
            "DescribeAlarms",
            False,
        ),
        ({"QUERY_STRING": "Action=Publish"}, b"", "Publish", True),
        ({"REQUEST_METHOD": "PUT", "PATH_INFO": "/bucket/key"}, b"zip", None, True),
        ({"REQUEST_METHOD": "GET", "PATH_INFO": "/bucket/key"}, b"", None, False),
    ],
)
def test_what_counts_as_a_change(environ, body, op, changes):
    assert operation(environ, body) == op
    assert changes_state(environ.get("REQUEST_METHOD", "POST"), op) is changes


def _wait_until(check, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_a_snapshot_waits_for_reads_under_way_and_holds_new_ones_back(tmp_path, monkeypatch):
    """Reads are not journaled but change moto's dicts (GetShardIterator files an iterator):
    pickling while one ran failed with 'dictionary changed size during iteration' and killed
    the thread that takes snapshots and fsyncs the journal."""
    monkeypatch.setattr(durable, "_backends_in_use", dict)  # what is pickled is not the point
    store = durable.Store(tmp_path)
    order: list[str] = []
    inside, release, hold = threading.Event(), threading.Event(), threading.Event()

    def moto(environ, start_response):
        path = environ["PATH_INFO"]
        order.append(f"read {path}")
        if path == "/slow":
            inside.set()
            release.wait(10)
        start_response("200 OK", [])
        order.append(f"answered {path}")
        return [b"ok"]

    class Pickler(durable._Pickler):
        def dump(self, obj):
            order.append("pickling")
            hold.wait(10)
            super().dump(obj)
            order.append("pickled")

    monkeypatch.setattr(durable, "_Pickler", Pickler)
    app = store.wrap(moto)

    def get(path: str) -> None:
        environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "wsgi.input": io.BytesIO()}
        assert app(environ, lambda *_: None) == [b"ok"]

    slow = threading.Thread(target=get, args=("/slow",))
    slow.start()
    assert inside.wait(10)
    snapshot = threading.Thread(target=store._write_snapshot)
    snapshot.start()
    _wait_until(lambda: store._snapshotting)  # at the gate, waiting for the read
    assert "pickling" not in order
    release.set()
    _wait_until(lambda: "pickling" in order)
    fast = threading.Thread(target=get, args=("/fast",))
    fast.start()
    _wait_until(lambda: len(store._gate._waiters) == 1)  # held back while pickling
    hold.set()
    for thread in (slow, snapshot, fast):
        thread.join(10)
    assert order == [
        "read /slow",
        "answered /slow",
        "pickling",
        "pickled",
        "read /fast",
        "answered /fast",
    ]
    assert (tmp_path / durable.SNAPSHOT).exists()


def test_a_failed_snapshot_is_logged_and_tried_again(tmp_path, monkeypatch, caplog):
    store = durable.Store(tmp_path, fsync_interval_s=0.01)
    taken = []

    def snapshot(**_how: object) -> None:
        taken.append(len(taken))
        if len(taken) == 1:
            raise RuntimeError("dictionary changed size during iteration")

    monkeypatch.setattr(store, "_write_snapshot", snapshot)
    store._snapshot_wanted.set()
    background = threading.Thread(target=store._background)
    background.start()
    _wait_until(lambda: len(taken) == 2)
    store._stop.set()
    background.join(10)
    assert not store._snapshot_wanted.is_set()  # the second one was taken
    assert caplog.text.count("retrying") == 1
    assert "syncing" in caplog.text


def test_each_snapshot_says_how_long_requests_waited_and_what_it_wrote(tmp_path, monkeypatch):
    monkeypatch.setattr(durable, "_backends_in_use", lambda: {"s3": {"x": "y" * 1000}})
    store = durable.Store(tmp_path)
    clock = [100.0]
    monkeypatch.setattr(durable.time, "perf_counter", lambda: clock[0])

    class Pickler(durable._Pickler):
        def dump(self, obj):
            clock[0] += 2.5  # pickling a large state takes a while; requests wait meanwhile
            super().dump(obj)

    monkeypatch.setattr(durable, "_Pickler", Pickler)
    store._write_snapshot()
    store._write_snapshot()

    assert len(store.snapshots) == 2
    latest = store.snapshots[-1]
    assert latest.size_bytes == (tmp_path / durable.SNAPSHOT).stat().st_size
    assert latest.size_bytes > 1000
    assert latest.held_s == 2.5
    assert latest.written_s == 0.0


class _Holder:
    """Stands for a moto model: a plain object holding a lock and maps."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.items: defaultdict = defaultdict(lambda: {})
        self.lists: defaultdict = defaultdict(list)


def test_the_pickler_answers_each_object_as_before_once_its_type_is_known():
    holders = [_Holder(), _Holder()]
    holders[1].items["a"]["b"] = 1
    holders[1].lists["x"].append(2)
    for _ in range(2):  # the second round meets types the first one decided
        buffer = io.BytesIO()
        durable._Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(holders)
        loaded = pickle.loads(buffer.getvalue())
        assert loaded[1].items["a"] == {"b": 1}
        assert loaded[1].items["new"] == {}  # a defaultdict(dict) in place of the lambda
        assert loaded[1].lists["x"] == [2]
        assert loaded[0].lock.acquire(blocking=False)  # a fresh lock, not the pickled one
    assert _Holder in durable._PLAIN
    assert defaultdict not in durable._PLAIN


def test_an_items_attributes_load_without_checking_each_write_and_check_later_ones(monkeypatch):
    """moto's item attributes are a dict that sums every attribute's size on each write: loaded
    key by key through it, most of a large state's load went to those sums.
    A snapshot's items load unchecked (they were checked when written); writes after the load
    are checked as before, so an item over DynamoDB's 400 KB is still refused."""
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict

    item = Item(DynamoType({"S": "a"}), None, {"id": {"S": "a"}, "n": {"N": "1"}})
    buffer = io.BytesIO()
    durable._Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump([item, item])
    checked = []
    original = LimitedSizeDict.__setitem__
    monkeypatch.setattr(
        LimitedSizeDict, "__setitem__", lambda d, k, v: checked.append(k) or original(d, k, v)
    )
    loaded = pickle.loads(buffer.getvalue())
    assert checked == []
    assert loaded[0] is loaded[1]  # shared, as pickled
    assert type(loaded[0].attrs) is LimitedSizeDict
    assert loaded[0].to_json() == item.to_json()
    with pytest.raises(ItemSizeTooLarge):
        loaded[0].attrs["big"] = DynamoType({"S": "x" * 410_000})
    assert checked == ["big"]


def test_a_snapshot_loads_with_the_collector_paused(tmp_path, monkeypatch):
    """Loading makes no garbage, and each full collection it set off walked every object
    loaded so far."""
    monkeypatch.setattr(durable, "_backends_in_use", dict)  # what is loaded is not the point
    durable.Store(tmp_path).restore(lambda environ, start_response: [b"{}"])  # a snapshot
    seen = []
    load = pickle.load
    monkeypatch.setattr(durable.pickle, "load", lambda f: seen.append(gc.isenabled()) or load(f))
    assert gc.isenabled()
    durable.Store(tmp_path).restore(lambda environ, start_response: [b"{}"])
    assert seen == [False]
    assert gc.isenabled()


def test_a_restart_with_nothing_to_replay_keeps_the_snapshot_it_loaded(tmp_path):
    """A start after a clean stop pickled the whole state again although the snapshot it had
    just loaded held all of it; it now opens a new segment only."""
    write_then_kill(tmp_path, 5, 5000)
    run("read", str(tmp_path))  # replays, then stops cleanly: a snapshot and an empty segment
    stopped = (tmp_path / durable.SNAPSHOT).read_bytes()
    again = run("read", str(tmp_path))
    assert (again["replayed"], again["snapshots_written"], again["items"]) == (0, 0, 6)
    assert again["snapshot"] is True
    assert _left(tmp_path) == ([durable.SNAPSHOT], [0])  # the stop's, and an empty segment
    assert (tmp_path / durable.SNAPSHOT).read_bytes() != stopped  # that stop snapshotted too


def test_a_restart_after_kill_9_snapshots_what_it_replayed_in_the_background(tmp_path):
    """A start that replayed the journal pickled the whole state before it served; the snapshot
    is now taken in the background by the forked writer, and covers what was replayed: a crash
    after it replays nothing of that journal."""
    write_then_kill(tmp_path, 5, 5000)
    settled = run("settle", str(tmp_path))
    assert settled["replayed"] > 0
    assert settled["snapshots_written"] == 0  # none before the start returned
    assert settled["settled"] == 1
    assert len(settled["segments"]) == 1  # the replayed ones are covered and deleted
    found = run("read", str(tmp_path))
    assert (found["replayed"], found["items"]) == (0, 6)  # five items and the counter


def _put(app, n: int) -> None:
    body = json.dumps({"TableName": "t", "Item": {"id": {"S": str(n)}}}).encode()
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/",
        "HTTP_X_AMZ_TARGET": "DynamoDB_20120810.PutItem",
        "wsgi.input": io.BytesIO(body),
        "CONTENT_LENGTH": str(len(body)),
    }
    assert app(environ, lambda *_: None) == [b"{}"]


def test_a_snapshot_taken_while_serving_is_written_while_requests_go_on(tmp_path, monkeypatch):
    """Pickling 27 MB of state under the lock held every request for about half a second
    (benchmarks/bench_local.py: one such pause in each 30 s of load, the slowest 1 % of its
    requests). A snapshot taken while serving is now written by a forked child: requests wait
    only for the fork, and the snapshot holds the state as it was at the fork."""
    state = {"s3": {"items": []}}
    monkeypatch.setattr(durable, "_backends_in_use", lambda: state)
    go = tmp_path / "go"

    class Pickler(durable._Pickler):
        def dump(self, obj):  # in the forked child: waits until the parent says go
            deadline = time.monotonic() + 20
            while not go.exists() and time.monotonic() < deadline:
                time.sleep(0.005)
            super().dump(obj)

    def moto(environ, start_response):
        environ["wsgi.input"].read()
        state["s3"]["items"].append(len(state["s3"]["items"]))
        start_response("200 OK", [])
        return [b"{}"]

    folder = tmp_path / "state"
    store = durable.Store(folder)
    store.restore(moto)
    app = store.wrap(moto)
    _put(app, 0)
    monkeypatch.setattr(durable, "_Pickler", Pickler)
    snapshot = threading.Thread(target=store._write_snapshot, kwargs={"forked": True})
    snapshot.start()
    _wait_until(lambda: store._segment == 2)  # forked, and the journal moved to a new segment
    for n in range(1, 4):
        _put(app, n)  # answered while the child is still writing
    assert snapshot.is_alive()
    go.touch()
    snapshot.join(20)
    assert not snapshot.is_alive()

    with (folder / durable.SNAPSHOT).open("rb") as file:
        saved = pickle.load(file)
    assert saved["backends"] == {"s3": {"items": [0]}}  # the state at the fork
    assert saved["journal"] == 1
    assert [p.name for p in sorted(folder.glob("journal.*.log"))] == ["journal.2.log"]
    assert len(list(read_journal(folder / "journal.2.log"))) == 3  # the writes after it
    assert store.snapshots[-1].size_bytes == (folder / durable.SNAPSHOT).stat().st_size
    store.close()


def _answered(environ, start_response):
    """A stand-in for moto that answers every request with success."""
    environ["wsgi.input"].read()
    start_response("200 OK", [])
    return [b"{}"]


def test_writes_go_on_while_the_journal_is_flushed_to_disk(tmp_path, monkeypatch):
    """The fsync of every second held the journal's lock, so on a slow disk every write waited
    for it. It now flushes a duplicate descriptor outside the lock: a write is answered while
    the flush is under way, and the flush covers what was written before it began."""
    store = durable.Store(tmp_path / "state")

    store.restore(_answered)
    app = store.wrap(_answered)
    _put(app, 0)
    flushing, release = threading.Event(), threading.Event()
    flushed: list[int] = []
    real_fsync = os.fsync

    def slow_fsync(fd: int) -> None:
        flushing.set()
        assert release.wait(20)
        flushed.append(os.fstat(fd).st_size)
        real_fsync(fd)

    monkeypatch.setattr(durable.os, "fsync", slow_fsync)
    flush = threading.Thread(target=store.sync)
    flush.start()
    assert flushing.wait(20)
    written = threading.Thread(target=_put, args=(app, 1))
    written.start()
    written.join(20)
    assert not written.is_alive()  # answered while the flush is still under way
    assert store._dirty  # ... and left for the next round
    release.set()
    flush.join(20)
    assert not flush.is_alive()
    monkeypatch.setattr(durable.os, "fsync", real_fsync)
    segment = store.folder / f"journal.{store._segment}.log"
    assert len(list(read_journal(segment))) == 2
    assert flushed == [segment.stat().st_size]  # the same file, both writes by the time it ran
    store.sync()
    assert not store._dirty
    store.close()


def test_a_failed_flush_leaves_the_journal_to_be_flushed_again(tmp_path, monkeypatch):
    store = durable.Store(tmp_path / "state")

    store.restore(_answered)
    _put(store.wrap(_answered), 0)

    def failing(_fd: int) -> None:
        raise OSError(5, "Input/output error")

    open_before = len(os.listdir("/proc/self/fd"))
    monkeypatch.setattr(durable.os, "fsync", failing)
    with pytest.raises(OSError, match="Input/output"):
        store.sync()
    assert store._dirty
    assert len(os.listdir("/proc/self/fd")) == open_before  # the duplicate was closed
    monkeypatch.undo()
    store.sync()
    assert not store._dirty
    store.close()


def test_a_forked_writer_that_fails_leaves_the_last_snapshot_and_the_journal(tmp_path, monkeypatch):
    monkeypatch.setattr(durable, "_backends_in_use", lambda: {"s3": {"n": 1}})
    store = durable.Store(tmp_path)
    store.restore(lambda environ, start_response: [b"{}"])
    before = (tmp_path / durable.SNAPSHOT).read_bytes()

    class Pickler(durable._Pickler):
        def dump(self, obj):
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(durable, "_Pickler", Pickler)
    with pytest.raises(RuntimeError, match="the snapshot writer exited with 1"):
        store._write_snapshot(forked=True)
    assert (tmp_path / durable.SNAPSHOT).read_bytes() == before
    # The segment the failed snapshot would have covered is kept for the next start to replay.
    assert sorted(p.name for p in tmp_path.glob("journal.*.log")) == [
        "journal.1.log",
        "journal.2.log",
    ]


def test_ctrl_c_during_a_forked_snapshot_lets_the_child_finish_its_file(tmp_path, monkeypatch):
    """Ctrl-C reaches the whole process group: the child writing a snapshot got the
    KeyboardInterrupt too and left nothing but an error line."""
    monkeypatch.setattr(durable, "_backends_in_use", lambda: {"s3": {"n": 2}})
    go, ready, children = tmp_path / "go", tmp_path / "ready", []

    class Pickler(durable._Pickler):
        def dump(self, obj):  # in the child, after it set its signals up
            ready.touch()
            deadline = time.monotonic() + 20
            while not go.exists() and time.monotonic() < deadline:
                time.sleep(0.005)
            super().dump(obj)

    fork = durable._fork_writer

    def recorded(state, partial):
        children.append(fork(state, partial))
        return children[-1]

    folder = tmp_path / "state"
    store = durable.Store(folder)
    store.restore(lambda environ, start_response: [b"{}"])
    monkeypatch.setattr(durable, "_Pickler", Pickler)
    monkeypatch.setattr(durable, "_fork_writer", recorded)
    snapshot = threading.Thread(target=store._write_snapshot, kwargs={"forked": True})
    snapshot.start()
    # The child can be ready before `fork` has returned its pid to the parent's list.
    _wait_until(lambda: ready.exists() and bool(children))
    os.kill(children[0], signal.SIGINT)
    go.touch()
    snapshot.join(20)
    assert len(store.snapshots) == 2  # the start's, then this one
    with (folder / durable.SNAPSHOT).open("rb") as file:
        assert pickle.load(file)["journal"] == 1  # this one's, not the start's (0)
    store.close()


class _HeldWriter(durable._Pickler):
    """A snapshot writer's pickler that says it started (its pid and niceness, written to the
    file named by DURABLE_HELD) and then never finishes on its own."""

    def dump(self, obj):
        Path(os.environ["DURABLE_HELD"]).write_text(f"{os.getpid()} {os.nice(0)}")
        time.sleep(120)


def _held(path: Path) -> tuple[int, int]:
    _wait_until(lambda: path.exists() and path.read_text().count(" ") == 1)
    pid, nice = path.read_text().split()
    return int(pid), int(nice)


def _left(folder: Path) -> tuple[list[str], list[int]]:
    """The files a stop left but the journal's segments, and the segments' sizes."""
    journals = sorted(folder.glob("journal.*.log"))
    return sorted(p.name for p in folder.iterdir() if p not in journals), [
        p.stat().st_size for p in journals
    ]


def test_a_stop_during_a_forked_snapshot_does_not_wait_for_the_writer(tmp_path, monkeypatch):
    """A clean stop came while a snapshot was being written in the background: it waited up to
    5 s for the writer and then pickled again in parallel with it, into the same temporary file.
    Now the writer is killed at once and the stop's own snapshot, of a later state, is the one
    kept; the writer runs at the lowest priority meanwhile, behind the requests served."""
    monkeypatch.setattr(durable, "_backends_in_use", dict)  # what is pickled is not the point
    monkeypatch.setenv("DURABLE_HELD", str(tmp_path / "held"))
    folder = tmp_path / "state"
    store = durable.Store(folder)
    store.restore(lambda environ, start_response: [b"{}"])
    with monkeypatch.context() as patched:
        patched.setattr(durable, "_Pickler", _HeldWriter)
        snapshot = threading.Thread(target=store._write_snapshot, kwargs={"forked": True})
        snapshot.start()
        writer, nice = _held(tmp_path / "held")
    assert nice == 19
    closing = threading.Thread(target=store.close)
    closing.start()
    closing.join(60)
    snapshot.join(60)
    assert not closing.is_alive()
    assert not snapshot.is_alive()
    assert process_gone(writer)
    assert [s.size_bytes > 0 for s in store.snapshots] == [True, True]  # the start's, the stop's
    with (folder / durable.SNAPSHOT).open("rb") as file:
        assert pickle.load(file)["journal"] == 2  # the stop's covers the writer's segment (1)
    assert _left(folder) == ([durable.SNAPSHOT], [0])


def test_a_killed_platform_takes_its_snapshot_writer_with_it(tmp_path):
    """`kill -9` of the process whose snapshot was being written: the writer went on running,
    finishing a temporary file the next start may write too. It dies with the platform now, and
    the next start deletes what it left."""
    folder, held = tmp_path / "state", tmp_path / "held"
    script = (
        "import sys, threading, time\n"
        "from pathlib import Path\n"
        "from feedbackctl.local import durable\n"
        "from tests.functional.test_local_durable import _HeldWriter\n"
        "durable._backends_in_use = dict\n"
        "store = durable.Store(Path(sys.argv[1]))\n"
        "store.restore(lambda environ, start_response: [b'{}'])\n"
        "durable._Pickler = _HeldWriter\n"
        "threading.Thread(target=store._write_snapshot, kwargs={'forked': True}).start()\n"
        "time.sleep(120)\n"
    )
    platform = subprocess.Popen(
        [sys.executable, "-c", script, str(folder)],
        cwd=ROOT,
        env={**os.environ, "DURABLE_HELD": str(held)},
    )
    try:
        writer, _nice = _held(held)
    finally:
        platform.kill()
        platform.wait(30)
    _wait_until(lambda: process_gone(writer))
    assert (folder / (durable.SNAPSHOT + ".writer.tmp")).exists()  # what it left unfinished
    store = durable.Store(folder)
    store.restore(lambda environ, start_response: [b"{}"])
    store.close()
    assert _left(folder) == ([durable.SNAPSHOT], [0])
