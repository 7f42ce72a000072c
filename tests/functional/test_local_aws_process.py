"""The local platform's AWS process (feedbackctl/local/aws_process.py): moto and the durable
state in a process of their own, reached over HTTP by the functions and through a forwarding
WSGI application by the platform's engines.

What a user of the platform would see: writes made either way are the same moto's; the durable
state's facts survive a clean stop; a killed platform takes its AWS process with it (nothing
is left running, holding the journal); a start that fails says why in one line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

from feedbackctl.errors import FeedbackctlError
from feedbackctl.local.aws_process import AwsProcess
from feedbackctl.local.inprocess import connect
from tests.conftest import process_gone

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"


def _client(service: str, url: str) -> object:
    factory: object = boto3.client
    return factory(  # type: ignore[operator]
        service,
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def _table(ddb: object, name: str) -> None:
    ddb.create_table(  # type: ignore[attr-defined]
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


def _our_aws_processes() -> set[int]:
    """AWS processes this test process started that are still running (a platform another
    test keeps for the session has one too: compare with what ran before)."""
    found = set()
    for entry in Path("/proc").iterdir():
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        ours = b"feedbackctl.local.aws_process" in argv and str(os.getpid()).encode() in argv
        if ours and not process_gone(int(entry.name)):
            found.add(int(entry.name))
    return found


def test_writes_over_http_and_through_the_forwarding_app_reach_the_same_moto(tmp_path):
    others = _our_aws_processes()
    aws = AwsProcess(tmp_path / "state")
    aws.start()
    pid = aws.pid
    try:
        assert pid is not None
        assert pid != os.getpid()
        assert _our_aws_processes() - others == {pid}
        over_http = _client("dynamodb", aws.url)
        forwarded = connect(_client("dynamodb", "http://127.0.0.1:9"), aws.in_process())
        _table(over_http, "t")
        forwarded.put_item(TableName="t", Item={"id": {"S": "a"}, "n": {"N": "1"}})
        over_http.put_item(TableName="t", Item={"id": {"S": "b"}, "n": {"N": "2"}})
        assert forwarded.get_item(TableName="t", Key={"id": {"S": "b"}})["Item"]["n"] == {"N": "2"}
        # a refusal comes back as moto gives it, through the forwarding app too
        with pytest.raises(Exception, match="ConditionalCheckFailed"):
            forwarded.put_item(
                TableName="t",
                Item={"id": {"S": "a"}},
                ConditionExpression="attribute_not_exists(id)",
            )
        assert aws.store is not None
        aws.store.put_meta("poller/x", {"shard-1": "42"})
        assert aws.store.snapshots  # the start's snapshot, at least
    finally:
        aws.stop()
    assert process_gone(pid)

    again = AwsProcess(tmp_path / "state")
    again.start()
    try:
        assert again.restored is not None
        assert again.restored.snapshot
        assert again.restored.meta["poller/x"] == {"shard-1": "42"}
        ddb = _client("dynamodb", again.url)
        items = ddb.scan(TableName="t")["Items"]  # type: ignore[attr-defined]
        assert sorted(item["id"]["S"] for item in items) == ["a", "b"]
    finally:
        again.stop()


def test_without_a_state_folder_nothing_is_kept(tmp_path):
    others = _our_aws_processes()
    aws = AwsProcess(None)
    aws.start()
    try:
        assert aws.store is None
        assert aws.restored is None
        _table(_client("dynamodb", aws.url), "t")
    finally:
        aws.stop()
    assert not any(tmp_path.iterdir())
    assert _our_aws_processes() == others


PARENT = """
import json, sys, time
from pathlib import Path
from feedbackctl.local.aws_process import AwsProcess
aws = AwsProcess(Path(sys.argv[1]))
aws.start()
print(json.dumps({"pid": aws.pid, "url": aws.url}), flush=True)
time.sleep(600)
"""


def test_a_killed_platform_takes_its_aws_process_with_it(tmp_path):
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, str(tmp_path / "state")],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert parent.stdout is not None
        started = json.loads(parent.stdout.readline())
        child = int(started["pid"])
        assert not process_gone(child)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(30)
        deadline = time.monotonic() + 30
        while not process_gone(child) and time.monotonic() < deadline:
            time.sleep(0.05)  # polling for the kernel's kill, not timing anything
        assert process_gone(child)
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()


def test_a_start_that_fails_says_why_in_one_line(tmp_path):
    others = _our_aws_processes()
    blocked = tmp_path / "state"
    blocked.write_text("a file where the state folder should be")
    aws = AwsProcess(blocked)
    with pytest.raises(FeedbackctlError) as raised:
        aws.start()
    message = str(raised.value)
    assert "the local AWS process did not start: NotADirectoryError" in message
    assert "\n" not in message
    assert _our_aws_processes() == others  # nothing left running
