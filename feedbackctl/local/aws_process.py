"""The local platform's AWS side in a process of its own: moto, the durable state's journal and
snapshots, and the HTTP endpoint the functions' SDK calls reach.

Why a second process: one Python process runs Python code on one core at a time (the GIL). With
moto in the gateway's process, every DynamoDB call of every function, the stream aggregator's
transactions and the shippers' writes ran on the same core as the gateway's HTTP, the invoke
service and the engines, and that one core limited the request rate and set its tail
(docs/local.md, "Figures"). Here moto has a core of its own. The functions' JSON-protocol
calls (DynamoDB above all) reach it on its channel socket, a Unix socket where each call and its
answer are a JSON line (`ChannelServer`; the workers' `AwsChannel` sends them), and their other
calls over HTTP; the platform's engines (log and metric shippers, stream pollers, metric
filters, alarms) reach it through `AwsProcess.in_process()`, a WSGI application that forwards each
request on the same socket. What moto answers, refuses and keeps is
unchanged: the same application, the same journal, the same snapshots, in the other process.

The child is `python -m feedbackctl.local.aws_process PARENT_PID [STATE_DIR]`. It prints one
line when ready, `{"url": ..., "channel": SOCKET, "restored": {...}}` (or `{"error": ...}`), then
answers control lines on
its stdin, one JSON object a line: `put_meta` (a platform fact journaled in order with moto's
writes, e.g. a stream poller's position), `snapshots` (the latest snapshots' timings), `stored`
and `moto_query` (what moto holds, and moto's own Query instead of the index: for the
benchmarks) and `stop` (a clean stop: moto's server stopped, a final snapshot). EOF on stdin
stops it cleanly too; if the platform's process dies (`kill -9`), the kernel kills the child at
once (PR_SET_PDEATHSIG), which loses nothing acknowledged, as a killed platform never did.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable
from http import HTTPStatus
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

from feedbackctl.errors import FeedbackctlError
from feedbackctl.local.inprocess import channel_answer
from feedbackctl.local.lifetime import die_with_parent

__all__ = ["AwsProcess", "RemoteStore", "main"]

START_S = 60.0  # the child's start: imports, a restore's replay and its snapshot
STOP_S = 10.0  # a clean stop's final snapshot
_PHRASES = frozenset(int(status) for status in HTTPStatus)


class _Forward:
    """A WSGI application that forwards each request to the AWS process on its channel socket
    (a call and its answer, a JSON line each, as the functions' `AwsChannel` sends them): one
    connection a thread, kept open."""

    def __init__(self, path: str, base: str) -> None:
        self.path = path
        self.base = base  # the AWS process's URL, as a client would name it
        self._local = threading.local()

    def _line(self) -> tuple[socket.socket, IO[bytes]]:
        line: tuple[socket.socket, IO[bytes]] | None = getattr(self._local, "line", None)
        if line is None:
            connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            connection.connect(self.path)
            line = self._local.line = (connection, connection.makefile("rb"))
        return line

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        headers = [
            [name[5:].replace("_", "-").title(), str(value)]
            for name, value in environ.items()
            if name.startswith("HTTP_") and name != "HTTP_HOST"
        ]
        if environ.get("CONTENT_TYPE"):
            headers.append(["Content-Type", str(environ["CONTENT_TYPE"])])
        query = environ.get("QUERY_STRING") or ""
        path = quote(environ.get("PATH_INFO") or "/", safe="/:@!$&'()*+,;=~")
        call = {
            "method": environ["REQUEST_METHOD"],
            "url": self.base + path + (f"?{query}" if query else ""),
            "headers": headers,
            "body": body.decode("latin-1"),
        }
        connection, replies = self._line()
        try:
            connection.sendall(json.dumps({"aws": call}).encode() + b"\n")
            reply = json.loads(replies.readline())
        except (OSError, ValueError):
            self._local.line = None
            replies.close()
            connection.close()
            raise
        status = int(reply["status"])
        phrase = HTTPStatus(status).phrase if status in _PHRASES else ""
        start_response(
            f"{status} {phrase}",
            [(str(name), str(value)) for name, value in reply["headers"]],
        )
        return [str(reply["body"]).encode("latin-1")]


class RemoteStore:
    """The durable state's calls the platform makes, answered by the AWS process's `Store`."""

    def __init__(self, process: AwsProcess, meta: dict[str, Any]) -> None:
        self._process = process
        self.meta = meta

    def put_meta(self, key: str, value: Any) -> None:
        self.meta[key] = value
        self._process.control({"op": "put_meta", "key": key, "value": value})

    @property
    def snapshots(self) -> list[Any]:
        from feedbackctl.local.durable import Snapshot

        answer = self._process.control({"op": "snapshots"})
        return [Snapshot(*row) for row in answer["snapshots"]]


class AwsProcess:
    """The AWS process, started by `start()`: `url` is its HTTP endpoint, `in_process()`
    forwards a request to it, `store` (with a state folder) reaches its durable state."""

    def __init__(self, state_dir: Path | None) -> None:
        self.state_dir = state_dir
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self.url = ""
        self.channel = ""  # the Unix socket of the functions' AwsChannel calls
        self._forward: _Forward | None = None
        self.store: RemoteStore | None = None
        self.restored: Any = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def start(self) -> None:
        """`spawn()`, then `ready()`."""
        self.spawn()
        self.ready()

    def spawn(self) -> None:
        """Start the process; it imports moto and restores the state while the caller goes on."""
        command = [sys.executable, "-m", "feedbackctl.local.aws_process", str(os.getpid())]
        if self.state_dir is not None:
            command.append(str(self.state_dir))
        self._proc = subprocess.Popen(  # noqa: S603 - our own module, by this interpreter
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )

    def ready(self) -> None:
        """Wait until the spawned process serves; FeedbackctlError, in one line, if it fails."""
        from feedbackctl.local.durable import Restored

        line = self._read_line(START_S)
        started: dict[str, Any] = (
            json.loads(line) if line else {"error": "it exited while starting"}
        )
        if "error" in started:
            self.stop()
            raise FeedbackctlError(
                f"the local AWS process did not start: {started['error']}",
                doing="starting the local platform",
            )
        self.url = str(started["url"])
        self.channel = str(started["channel"])
        self._forward = _Forward(self.channel, self.url)
        if started.get("restored") is not None:
            self.restored = Restored(**started["restored"])
            self.store = RemoteStore(self, dict(self.restored.meta))

    def in_process(self) -> _Forward:
        """What the AWS process serves, as a WSGI application of this process (the engines'
        calls: `inprocess.connect`, `json_operation`, `ShipperWrites`)."""
        assert self._forward is not None  # set by start()
        return self._forward

    def _read_line(self, timeout_s: float) -> bytes:
        assert self._proc is not None
        assert self._proc.stdout is not None
        stdout: IO[bytes] = self._proc.stdout
        found: list[bytes] = []
        reader = threading.Thread(target=lambda: found.append(stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout_s)
        return found[0] if found else b""

    def control(self, message: dict[str, Any]) -> dict[str, Any]:
        """One control line and its answer; FeedbackctlError when the process is gone."""
        with self._lock:
            proc = self._proc
            if proc is None or proc.stdin is None or proc.stdout is None:
                raise FeedbackctlError("the local AWS process is not running")
            try:
                proc.stdin.write(json.dumps(message).encode() + b"\n")
                proc.stdin.flush()
                line = proc.stdout.readline()
            except (BrokenPipeError, OSError):
                line = b""
            if not line:
                raise FeedbackctlError("the local AWS process stopped")
            answer: dict[str, Any] = json.loads(line)
            return answer

    def stop(self) -> None:
        """A clean stop (a final snapshot); kills the process if it does not end in STOP_S."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        with self._lock:
            with contextlib.suppress(BrokenPipeError, OSError, ValueError):
                if proc.stdin is not None:
                    proc.stdin.write(b'{"op": "stop"}\n')
                    proc.stdin.close()
            try:
                proc.wait(STOP_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()


def stored_objects(account: str = "123456789012", region: str = "us-east-1") -> dict[str, int]:
    """What moto holds in this process for a region: log events, metric datums, stream records
    (the resources benchmark's measure of what a request leaves behind)."""
    from moto.cloudwatch.models import cloudwatch_backends
    from moto.dynamodb.models import dynamodb_backends
    from moto.logs.models import logs_backends

    logs = logs_backends[account][region]
    tables = dynamodb_backends[account][region].tables.values()
    return {
        "log_events": sum(len(s.events) for g in logs.groups.values() for s in g.streams.values()),
        "metric_datums": len(cloudwatch_backends[account][region].metric_data),
        "stream_records": sum(len(t.stream_shard.items) for t in tables if t.stream_shard),
    }


def _failure(exc: BaseException) -> dict[str, Any]:
    """A channel call that raised, answered as a server answers it: a 500 the SDK retries."""
    body = json.dumps({"__type": "InternalFailure", "message": f"{type(exc).__name__}"})
    headers = [["Content-Type", "application/x-amz-json-1.0"]]
    return {"status": 500, "headers": headers, "body": body}


class ChannelServer:
    """The functions' `AwsChannel` calls on a Unix socket: a thread a worker's connection
    reads its calls, a JSON line each, and writes `answer`'s answers (moto's, through
    inprocess.channel_answer); what raises is answered as a server answers it, a 500."""

    def __init__(self, answer: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
        self._answer = answer
        self._folder = tempfile.mkdtemp(prefix="feedbackctl-aws-")
        self.path = os.path.join(self._folder, "channel.sock")
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._socket.bind(self.path)
        self._socket.listen(128)
        threading.Thread(target=self._accept, name="aws-channel", daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._socket.accept()
            except OSError:
                return  # closed: stopping
            threading.Thread(
                target=self._serve, args=(connection,), name="aws-channel-call", daemon=True
            ).start()

    def _serve(self, connection: socket.socket) -> None:
        with connection, connection.makefile("rb") as lines:
            for line in lines:
                try:
                    reply = self._answer(json.loads(line)["aws"])
                except Exception as exc:  # noqa: BLE001 - the function must get an answer
                    reply = _failure(exc)
                try:
                    connection.sendall(json.dumps(reply).encode() + b"\n")
                except OSError:
                    return  # the worker is gone

    def close(self) -> None:
        self._socket.close()
        shutil.rmtree(self._folder, ignore_errors=True)


def _serve(
    lines: Iterable[bytes], answer: Callable[[dict[str, Any]], None], store: Any, stop: Any
) -> None:
    for line in lines:
        message = json.loads(line)
        op = message.get("op")
        if op == "put_meta" and store is not None:
            store.put_meta(str(message["key"]), message["value"])
            answer({"ok": True})
        elif op == "snapshots" and store is not None:
            answer({"snapshots": [[s.held_s, s.written_s, s.size_bytes] for s in store.snapshots]})
        elif op == "stored":
            answer({"stored": stored_objects()})
        elif op == "moto_query":
            from feedbackctl.local import moto_query

            moto_query.set_enabled(bool(message["enabled"]))
            answer({"ok": True})
        elif op == "stop":
            break
        else:
            answer({"error": f"unknown control line {op!r}"})
    stop()


def main(argv: list[str]) -> int:
    """The child: moto and its state, until told to stop (or its stdin ends)."""
    die_with_parent(int(argv[0]))
    # Ctrl-C and a SIGTERM to the process group are the platform's to handle: it stops this
    # process cleanly (a final snapshot); if it dies instead, the kernel kills this one.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    # The control lines get a descriptor of their own; a stray print (a library's) goes to
    # stderr and cannot corrupt them.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    def answer(message: dict[str, Any]) -> None:
        out.write(json.dumps(message).encode() + b"\n")
        out.flush()

    from feedbackctl.local import moto_query, moto_retention, moto_transact
    from feedbackctl.local.heap import freeze_survivors
    from feedbackctl.sandbox import start_moto_server

    with freeze_survivors():
        try:
            moto_retention.install()  # storage bounded as AWS retention bounds it
            moto_query.install()  # a Query reads the partition, not the table
            moto_transact.install()  # a transaction copies the items it names, not the tables
            store = restored = None
            if argv[1:]:
                from feedbackctl.local.durable import Store, install_stable_stream_ids

                install_stable_stream_ids()
                store = Store(Path(argv[1]) / "aws")
                moto, url = start_moto_server(wrap=store.wrap)
                done = store.restore(moto.app)
                restored = dataclasses.asdict(done)
            else:
                moto, url = start_moto_server()
            channel = ChannelServer(channel_answer(moto.in_process()))
        except Exception as exc:  # noqa: BLE001 - the platform says why, in one line
            answer({"error": f"{type(exc).__name__}: {exc}"})
            return 1
        answer({"url": url, "channel": channel.path, "restored": restored})

        def stop() -> None:
            channel.close()
            moto.stop()
            if store is not None:
                store.close()  # the final snapshot

        _serve(iter(sys.stdin.buffer.readline, b""), answer, store, stop)
    # Stopped and snapshotted: tearing down a large heap object by object takes seconds and
    # saves nothing.
    out.flush()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
