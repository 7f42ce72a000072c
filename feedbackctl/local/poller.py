"""The stream poller: Lambda's event-source mapping semantics for a DynamoDB stream on moto.

Per shard it reads records from a checkpoint, batches them (batch size, batching window),
invokes the mapped function (an alias) through the invoke service, and on the answer:
success → checkpoint past the batch; ReportBatchItemFailures → checkpoint before the first
failed record and retry from it; a function error → bisect (when enabled) and retry; retries
or record age exhausted → a Lambda-shaped on-failure message to the SQS destination, then past.
Each invocation's IteratorAge (the age of the batch's last record) goes to the AWS/Lambda metrics.
An expired shard iterator (15 minutes) resumes after the last record read; a position past the
stream's 24-hour retention resumes at the oldest record kept (TRIM_HORIZON), as Lambda's does.
moto's own mapping is never created on a polled table (it fires on $LATEST and empties the stream).
"""

from __future__ import annotations

import json
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from feedbackctl.local.inprocess import WsgiApp, json_operation
from feedbackctl.local.interfaces import Invoker, InvokeResult
from feedbackctl.local.lambda_metrics import LambdaMetrics, split_target
from feedbackctl.local.moto_overhead import json_default
from feedbackctl.local.provision import StreamMapping

# Lambda polls each shard of a DynamoDB stream "at a base rate of 4 times per second"
# (docs/local.md cites the page): a busy stream's records arrive in batches, not one by one.
POLL_INTERVAL_S = 0.25
READ_LIMIT = 1000  # GetRecords' most records per call
# How often a poller asks for the stream's shards again (DescribeStream); the shards it knows
# are read every poll. A new table's stream is a new ARN, with a poller of its own.
SHARDS_REFRESH_S = 10.0


# GetRecords(iterator, limit) answered in the wire shape: epoch-second timestamps, base64 binary.
RecordReader = Callable[[str, int], dict[str, Any]]


def in_process_reader(app: WsgiApp, *, region: str, access_key: str) -> RecordReader:
    """GetRecords from moto's application in this process, its answer as sent: the records'
    wire shape is Lambda's event shape, which botocore's parsing would only have to be undone
    into (`inprocess.json_operation`)."""
    get_records = json_operation(
        app,
        "DynamoDBStreams_20120810.GetRecords",
        signing_name="dynamodb",
        region=region,
        access_key=access_key,
    )
    return lambda iterator, limit: get_records({"ShardIterator": iterator, "Limit": limit})


def client_reader(streams: Any) -> RecordReader:
    """GetRecords through a DynamoDB Streams client, its parsed answer put back in the wire
    shape. (The platform reads moto's answer as sent instead: `inprocess.json_operation`.)"""

    def read(iterator: str, limit: int) -> dict[str, Any]:
        answer = streams.get_records(ShardIterator=iterator, Limit=limit)
        shaped = {key: answer[key] for key in ("Records", "NextShardIterator") if key in answer}
        return dict(json.loads(json.dumps(shaped, default=json_default)))

    return read


@dataclass
class _Shard:
    shard_id: str
    iterator: str | None
    buffer: list[dict[str, Any]] = field(default_factory=list)
    first_seen: float | None = None
    more: bool = False  # the last read was full: the stream holds more than one read takes


@dataclass
class PollerStats:
    batches: int = 0
    records: int = 0
    retries: int = 0
    on_failure: int = 0


class StreamPoller:
    """Runs one mapping until stopped; `poll_once` drives it step by step in tests."""

    def __init__(
        self,
        mapping: StreamMapping,
        streams: Any,
        sqs: Any,
        invoker: Invoker,
        *,
        queue_urls: dict[str, str],
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
        metrics: LambdaMetrics | None = None,
        checkpoints: dict[str, str] | None = None,
        on_checkpoint: Callable[[dict[str, str]], None] | None = None,
        read_records: RecordReader | None = None,
    ) -> None:
        self.mapping = mapping
        self._streams = streams
        self._read = read_records or client_reader(streams)
        self._sqs = sqs
        self._invoker = invoker
        self._queue_urls = queue_urls
        self._clock = clock
        self._wall = wall
        self._metrics = metrics
        self._shards: dict[str, _Shard] = {}
        self._shards_read_at: float | None = None
        # Shard id -> the sequence number of the last record handled: where a restarted
        # platform resumes (AFTER_SEQUENCE_NUMBER) instead of the mapping's starting position.
        self.checkpoints: dict[str, str] = dict(checkpoints or {})
        self._on_checkpoint = on_checkpoint
        self.stats = PollerStats()

    def _refresh_shards(self) -> None:
        description = self._streams.describe_stream(StreamArn=self.mapping.stream_arn)[
            "StreamDescription"
        ]
        for shard in description.get("Shards", []):
            shard_id = shard["ShardId"]
            if shard_id not in self._shards:
                self._shards[shard_id] = _Shard(shard_id, self._iterator(shard_id, None))

    def _iterator(self, shard_id: str, after: str | None) -> str:
        """An iterator after `after`, else after the checkpoint, else at the starting position."""
        after = after or self.checkpoints.get(shard_id)
        position: dict[str, str] = {"ShardIteratorType": self.mapping.starting_position}
        if after is not None:
            position = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": after}
        answer = self._streams.get_shard_iterator(
            StreamArn=self.mapping.stream_arn, ShardId=shard_id, **position
        )
        return str(answer["ShardIterator"])

    def _fetch(self, shard: _Shard) -> None:
        if shard.iterator is None:
            return
        try:
            result = self._read(shard.iterator, READ_LIMIT)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code == "ExpiredIteratorException":
                # Iterators live 15 minutes (a suspended machine, a long stall): go on from the
                # last record read, as Lambda's poller does.
                fetched = shard.buffer[-1]["dynamodb"]["SequenceNumber"] if shard.buffer else None
                shard.iterator = self._iterator(shard.shard_id, fetched)
                return
            if code == "TrimmedDataAccessException":  # past the 24-hour retention: what is left
                shard.iterator = self._streams.get_shard_iterator(
                    StreamArn=self.mapping.stream_arn,
                    ShardId=shard.shard_id,
                    ShardIteratorType="TRIM_HORIZON",
                )["ShardIterator"]
                return
            raise
        shard.iterator = result.get("NextShardIterator")
        records: list[dict[str, Any]] = result.get("Records", [])
        shard.more = len(records) >= READ_LIMIT
        for record in records:  # as Lambda delivers a stream record: with its source's ARN
            record["eventSourceARN"] = self.mapping.stream_arn
        if records and not shard.buffer:
            shard.first_seen = self._clock()
        shard.buffer += records

    def _ready(self, shard: _Shard) -> bool:
        if not shard.buffer:
            return False
        if len(shard.buffer) >= self.mapping.batch_size or shard.first_seen is None:
            return True
        return self._clock() - shard.first_seen >= self.mapping.window_s

    def poll_once(self) -> int:
        """Fetch and deliver what is ready; returns how many batches were delivered."""
        now = self._clock()
        read_at = self._shards_read_at
        if not self._shards or read_at is None or now - read_at >= SHARDS_REFRESH_S:
            self._refresh_shards()
            self._shards_read_at = now
        delivered = 0
        for shard in list(self._shards.values()):
            self._fetch(shard)
            while self._ready(shard):
                batch = shard.buffer[: self.mapping.batch_size]
                self._deliver(shard, batch, attempts=0)
                self._checkpoint(shard, batch)
                shard.buffer = shard.buffer[len(batch) :]
                shard.first_seen = self._clock() if shard.buffer else None
                delivered += 1
        return delivered

    def _checkpoint(self, shard: _Shard, batch: list[dict[str, Any]]) -> None:
        """The batch is handled (delivered, or sent to the on-failure destination)."""
        last = batch[-1].get("dynamodb", {}).get("SequenceNumber")
        if last is None:
            return
        self.checkpoints[shard.shard_id] = str(last)
        if self._on_checkpoint is not None:
            self._on_checkpoint(dict(self.checkpoints))

    def run(self, stop: threading.Event, interval_s: float = POLL_INTERVAL_S) -> None:
        """Poll every `interval_s` (Lambda's base rate) until stopped; at once again while
        a read came back full, so a stream that is behind is read as fast as it goes."""
        while not stop.is_set():
            began = time.monotonic()
            behind = False
            try:
                self.poll_once()
                behind = any(shard.more for shard in self._shards.values())
            except Exception as exc:  # noqa: BLE001 - a poll failure must not stop the mapping
                sys.stderr.write(
                    f"stream poller ({self.mapping.logical_id}): {type(exc).__name__}: {exc}\n"
                )
            if not behind:
                stop.wait(max(0.0, interval_s - (time.monotonic() - began)))

    # delivery ------------------------------------------------------------------------
    def _too_old(self, record: dict[str, Any]) -> bool:
        if self.mapping.max_age_s < 0:
            return False
        created = record.get("dynamodb", {}).get("ApproximateCreationDateTime")
        return bool(created) and self._wall().timestamp() - float(created) > self.mapping.max_age_s

    def _invoke(self, records: list[dict[str, Any]]) -> InvokeResult:
        self.stats.batches += 1
        self.stats.records += len(records)
        sent = self._wall()
        result = self._invoker.invoke(
            self.mapping.function, json.dumps({"Records": records}).encode()
        )
        created = records[-1].get("dynamodb", {}).get("ApproximateCreationDateTime")
        if self._metrics is not None and created is not None:
            # Lambda's IteratorAge: from the stream receiving the batch's last record to the
            # mapping sending the batch to the function.
            age_ms = max(0.0, (sent.timestamp() - float(created)) * 1000)
            name, qualifier = split_target(self.mapping.function)
            self._metrics.iterator_age(name, qualifier, result.executed_version, age_ms, sent)
        return result

    def _failed_from(self, result: InvokeResult, records: list[dict[str, Any]]) -> int | None:
        """Index of the first record to retry from; None when the batch succeeded."""
        if result.function_error:
            return 0
        if not self.mapping.report_failures:
            return None
        try:
            answer = json.loads(result.payload or b"null")
        except ValueError:
            return 0
        failures = (answer or {}).get("batchItemFailures") if isinstance(answer, dict) else None
        if not failures:
            return None
        positions = {r.get("dynamodb", {}).get("SequenceNumber"): i for i, r in enumerate(records)}
        positions.update({r.get("eventID"): i for i, r in enumerate(records)})
        indexes = [positions.get(f.get("itemIdentifier")) for f in failures if isinstance(f, dict)]
        # An identifier that is not in the batch makes Lambda retry the whole batch.
        return 0 if None in indexes or not indexes else min(i for i in indexes if i is not None)

    def _deliver(self, shard: _Shard, records: list[dict[str, Any]], attempts: int) -> None:
        stale = [r for r in records if self._too_old(r)]
        if stale:
            self._send_to_failure(shard, stale, "RecordAgeExceeded", None, attempts)
            records = [r for r in records if not self._too_old(r)]
        while records:
            result = self._invoke(records)
            start = self._failed_from(result, records)
            if start is None:
                return
            attempts += 1
            self.stats.retries += 1
            if result.function_error and self.mapping.bisect and len(records) > 1:
                middle = len(records) // 2
                self._deliver(shard, records[:middle], attempts)
                self._deliver(shard, records[middle:], attempts)
                return
            records = records[start:]
            if 0 <= self.mapping.max_retries < attempts:
                self._send_to_failure(shard, records, "RetryAttemptsExhausted", result, attempts)
                return

    def _send_to_failure(
        self,
        shard: _Shard,
        records: list[dict[str, Any]],
        condition: str,
        result: InvokeResult | None,
        attempts: int,
    ) -> None:
        self.stats.on_failure += len(records)
        destination = self.mapping.on_failure
        if not destination or destination not in self._queue_urls:
            return
        sequences = [r.get("dynamodb", {}).get("SequenceNumber", "") for r in records]
        arrivals = [r.get("dynamodb", {}).get("ApproximateCreationDateTime") for r in records]

        def iso(epoch: Any) -> str | None:
            if epoch is None:
                return None
            return (
                datetime.fromtimestamp(float(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
                + "Z"
            )

        message = {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": self.mapping.function,
                "condition": condition,
                "approximateInvokeCount": attempts,
            },
            "responseContext": {
                "statusCode": result.status_code if result else 200,
                "executedVersion": result.executed_version if result else "",
                "functionError": (result.function_error or "") if result else "",
            },
            "version": "1.0",
            "timestamp": iso(self._wall().timestamp()),
            "DDBStreamBatchInfo": {
                "shardId": shard.shard_id,
                "startSequenceNumber": sequences[0],
                "endSequenceNumber": sequences[-1],
                "approximateArrivalOfFirstRecord": iso(arrivals[0]),
                "approximateArrivalOfLastRecord": iso(arrivals[-1]),
                "batchSize": len(records),
                "streamArn": self.mapping.stream_arn,
            },
        }
        self._sqs.send_message(
            QueueUrl=self._queue_urls[destination], MessageBody=json.dumps(message)
        )
