"""`feedbackctl local up`: the whole platform on one machine, no AWS account, no docker.

moto (in the AWS process, local/aws_process.py, on an internal port) is the control plane and
storage, with the durable state. In front of it the local AWS
endpoint answers Lambda Invoke through the invoke service and forwards the rest. The rendered
`local` stack is provisioned on moto, the current code is released through the same release
engine as `deploy`, and the data plane runs beside it: stream pollers, the metric-filter and
alarm engines with SNS delivery to the orchestrator, and the API gateway serving the SPA.

Resources stay bounded (docs/local.md, "Resources"): moto's storage is bounded as AWS retention
bounds it, its Query reads an index and its transactions copy only what they name
(moto_retention, moto_query, moto_transact), idle workers stop, and `stop()` ends everything
within STOP_S and removes the run's temporary folder.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import socket
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from feedbackctl.config import StageConfig
from feedbackctl.errors import FeedbackctlError
from feedbackctl.local.inprocess import IN_PROCESS_SERVICES, connect

ACCOUNT = "123456789012"
SIGNAL_CHECK_S = 0.2  # how often the waiting main thread lets pending signal handlers run
DIRECT_SERVICES = (
    "DYNAMODB", "DYNAMODBSTREAMS", "SNS", "SQS", "CLOUDWATCH", "LOGS", "S3", "STS",
    "SECRETSMANAGER",
)  # fmt: skip
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}
STOP_S = 2.0  # Ctrl-C ends everything within this
THREAD_JOIN_S = 0.5  # of which the platform's threads get this to finish their current round
WORK_PREFIX = "feedbackctl-local-"
# A round of alarm evaluation is spread across this share of the interval, a batch of alarms at a
# time, so requests meet a few milliseconds of it at a time (AlarmEngine.run).
ALARM_SPREAD = 0.75
PROVISIONING_SERVICES = (
    "iam", "s3", "dynamodb", "sqs", "sns", "logs", "lambda", "cloudwatch", "secretsmanager",
)  # fmt: skip
OWNER_FILE = "owner.pid"  # in a run's temporary folder: the process it belongs to


@dataclass
class Options:
    api_port: int = 8000
    aws_port: int = 4566
    seed: int = 0
    site_dir: Path | None = None
    work_dir: Path | None = None
    alarm_interval_s: float = 2.0
    dataset: Path | None = None
    # Where the platform keeps its state across restarts (feedbackctl.local.durable); None
    # keeps everything in memory for this run only (tests, benchmarks).
    state_dir: Path | None = None
    # A worker idle this long stops; a version no alias routes to stops sooner (invoke.py).
    idle_timeout_s: float = 300.0
    retired_idle_s: float = 30.0


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # no signal sent: only whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's
    return True


def _work_dir() -> Path:
    """A temporary folder for this run, marked with its owner; folders that earlier runs left
    behind (killed with -9, so never stopped) are removed first."""
    root = Path(tempfile.gettempdir())
    for left in root.glob(f"{WORK_PREFIX}*"):
        try:
            owner = int((left / OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue  # not ours to judge: no owner recorded
        if owner != os.getpid() and not _running(owner):
            shutil.rmtree(left, ignore_errors=True)
    work = Path(tempfile.mkdtemp(prefix=WORK_PREFIX))
    (work / OWNER_FILE).write_text(str(os.getpid()))
    return work


def _check_port(port: int, flag: str) -> None:
    if port == 0:
        return
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            raise FeedbackctlError(
                f"port {port} on 127.0.0.1 is in use",
                doing="starting the local platform",
                hint=f"is another `feedbackctl local up` running? choose another port with {flag}",
            ) from None


@dataclass
class LocalPlatform:
    """Start with `start()`, stop with `stop()`; `urls` says where everything is."""

    stage: StageConfig
    options: Options = field(default_factory=Options)
    progress: Callable[[str], None] = lambda _: None

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._stoppers: list[Callable[[], None]] = []
        self.moto: Any = None
        self.endpoint: Any = None
        self.invoker: Any = None
        self.gateway: Any = None
        self.provisioned: Any = None
        self.pollers: list[Any] = []
        self.fanout: Any = None
        self.alarms: Any = None  # the AlarmEngine evaluating the stack's alarms
        self.release_outcomes: list[Any] = []
        self.seeded = 0
        self.store: Any = None
        self.restored: Any = None  # what the state folder held at start (durable.Restored)

    # clients -------------------------------------------------------------------------
    def client(self, service: str, *, through_endpoint: bool = False) -> Any:
        import boto3

        url = self.endpoint.url if through_endpoint else self._moto_url
        factory: Any = boto3.client  # any service by name: the typed overloads want literals
        client = factory(
            service,
            endpoint_url=url,
            region_name=self.stage.region,
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )
        if service in IN_PROCESS_SERVICES and not through_endpoint:
            # the engines: on the AWS process's channel socket, no HTTP (local/aws_process.py)
            connect(client, self.moto.in_process())
        return client

    @property
    def endpoint_url(self) -> str:
        return str(self.endpoint.url)

    @property
    def site_url(self) -> str:
        return str(self.gateway.url)

    @property
    def api_url(self) -> str:
        return str(self.gateway.api_url)

    # lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        _check_port(self.options.aws_port, "--aws-port")
        _check_port(self.options.api_port, "--api-port")
        work = self.options.work_dir
        if work is None:  # ours: removed by stop() once nothing uses it
            work = _work_dir()
            self._stoppers.append(functools.partial(shutil.rmtree, work, ignore_errors=True))
        self._spawn_moto()
        template = self._template()  # rendered while the AWS process starts
        self._start_moto()
        self._start_invoke(work)
        self.progress(f"AWS endpoint on {self.endpoint_url} (moto behind it)")
        if not self._reuse_provisioned(template):
            self._provision(template)
            self._remember_provisioned(template)
        self._release()
        self._start_data_plane(template)
        # Seeding fills an empty platform; a restored one keeps what it had (no duplicates).
        if self.options.seed and not (self.restored and self.restored.snapshot):
            self.seeded = self.seed(self.options.seed)

    def _spawn_moto(self) -> None:
        from feedbackctl.local.aws_process import AwsProcess

        # moto and the durable state run in a process of their own (local/aws_process.py)
        self.moto = AwsProcess(self.options.state_dir)
        self._stoppers.append(self.moto.stop)  # runs last: moto's final snapshot
        self.moto.spawn()

    def _start_moto(self) -> None:
        from urllib.parse import urlsplit

        self.moto.ready()
        self._moto_url = self.moto.url
        self.store, self.restored = self.moto.store, self.moto.restored
        if self.restored is not None and self.restored.snapshot:
            self.progress(
                f"restored state from {self.options.state_dir} "
                f"({self.restored.replayed} journaled changes replayed, "
                f"{self.restored.seconds:.1f}s)"
            )
        url = urlsplit(self._moto_url)
        self._moto_addr = (str(url.hostname), int(url.port or 0))

    # state kept across restarts ------------------------------------------------------
    def _reuse_provisioned(self, template: dict[str, Any]) -> bool:
        """With restored state the stack is there already, recorded in its code bucket with
        the template it was made from. A changed template is applied as `deploy --stage local`
        applies it (feedbackctl.local.changes), or refused, naming what cannot change."""
        if self.store is None or not self.restored.snapshot:
            return False
        from feedbackctl.local.changes import LocalStack
        from feedbackctl.local.invoke import bootstrap_zip
        from feedbackctl.naming import StackNames

        bucket = StackNames(self.stage.stack_name).local_bucket("CodeBucket")
        services = ("s3", "logs", "cloudwatch", "lambda", "dynamodb", "secretsmanager")
        local = LocalStack(
            {s: self.client(s) for s in services},
            bucket,
            stack=self.stage.stack_name,
            region=self.stage.region,
        )
        if local.record is None:
            return False
        changed = local.apply(template, lambda line: self.progress(f"template change {line}"))
        self.provisioned = local.record["provisioned"]
        for resource in template.get("Resources", {}).values():
            if resource.get("Type") == "AWS::Lambda::Function":
                source = (resource.get("Properties") or {}).get("Code", {}).get("ZipFile")
                if isinstance(source, str):  # the bootstrap version's code
                    self.code.add_zip(bootstrap_zip(source))
        self.code.watch_bucket(self.provisioned.outputs["CodeBucketName"])
        refresh = getattr(self.metrics, "refresh", None)
        if callable(refresh):
            refresh()
        said = f"{len(changed)} template change(s) applied" if changed else "template unchanged"
        self.progress(f"stack {self.stage.stack_name} restored ({said})")
        return True

    def _remember_provisioned(self, template: dict[str, Any]) -> None:
        """Record the stack in its code bucket: a restart and `deploy --stage local` compare
        the template they render with it."""
        from feedbackctl.local.changes import write_record

        bucket = self.provisioned.outputs["CodeBucketName"]
        write_record(self.client("s3"), bucket, template, self.provisioned)

    def _template(self) -> dict[str, Any]:
        from feedbackctl.cfnyaml import load
        from feedbackctl.templating import render_stack

        return load(render_stack(self.stage))

    def _start_invoke(self, work: Path) -> None:
        from feedbackctl.local.endpoint import Endpoint
        from feedbackctl.local.inprocess import ShipperWrites
        from feedbackctl.local.invoke import CodeStore, InvokeService
        from feedbackctl.local.lambda_metrics import LambdaMetrics

        self.work = work
        self.code = CodeStore(self.client("s3"), work / "code")
        self.metrics = self._metrics_engine()
        # The log lines and AWS/Lambda metrics of every invocation: to moto as JSON, no client.
        writes = ShipperWrites(
            self.moto.in_process(),
            region=self.stage.region,
            access_key=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        )
        self.lambda_metrics = LambdaMetrics(writes)  # AWS/Lambda, per invoke
        env = {
            **CREDENTIALS,
            "AWS_REGION": self.stage.region,
            "AWS_DEFAULT_REGION": self.stage.region,
            # AWS_ENDPOINT_URL (Lambda, through the local endpoint) is set once it is bound.
            # Only Lambda needs the local endpoint; the rest goes to moto without the extra hop.
            **{f"AWS_ENDPOINT_URL_{service}": self._moto_url for service in DIRECT_SERVICES},
        }
        self.invoker = InvokeService(
            self.client("lambda"),
            self.client("logs"),
            self.code,
            worker_env=env,
            work_dir=work,
            log_sink=self.metrics,
            metrics=self.lambda_metrics,
            log_writer=writes,
            # The functions' JSON calls to moto (DynamoDB above all) go through their workers'
            # channel to the AWS process's socket: none of them costs this process's core
            # (local/aws_process.py).
            aws_socket=(self._moto_url, self.moto.channel),
            idle_timeout_s=self.options.idle_timeout_s,
            retired_idle_s=self.options.retired_idle_s,
        )
        self._stoppers.append(self.invoker.shutdown)
        self._thread("worker-reaper", functools.partial(self.invoker.run_reaper, self._stop))
        self.endpoint = Endpoint(self.invoker, self._moto_addr, port=self.options.aws_port)
        env["AWS_ENDPOINT_URL"] = self.endpoint.url  # the port actually bound (0 picks one)
        self.endpoint.start()
        self._stoppers.append(self.endpoint.stop)

    def _metrics_engine(self) -> Any:
        from feedbackctl.local.metrics import MetricFilterEngine

        return MetricFilterEngine(self.client("logs"), self.client("cloudwatch"))

    def _provision(self, template: dict[str, Any]) -> None:
        from feedbackctl.local.provision import Provisioner

        clients = {s: self.client(s) for s in PROVISIONING_SERVICES}
        provisioner = Provisioner(
            clients,
            self.code,
            stack=self.stage.stack_name,
            region=self.stage.region,
            account=ACCOUNT,
        )
        self.provisioned = provisioner.provision(template, self.progress)
        if self.store is not None:  # a stream made now starts afresh (a destroyed one's is saved)
            kept = {self.provisioned.attrs.get(f"{t}.StreamArn") for t in provisioner.adopted}
            for mapping in self.provisioned.mappings:
                if mapping.stream_arn not in kept:
                    self.store.put_meta(f"poller/{mapping.logical_id}", {})
        self.code.watch_bucket(self.provisioned.outputs["CodeBucketName"])
        refresh = getattr(self.metrics, "refresh", None)
        if callable(refresh):
            refresh()
        created = (
            len(self.provisioned.physical)
            - len(self.provisioned.skipped)
            - len([r for r in self.provisioned.skipped if r[1].startswith("AWS::ApiGateway::")])
        )
        skipped = len(self.provisioned.skipped)
        self.progress(
            f"provisioned {created} resources of {self.stage.stack_name} ({skipped} skipped)"
        )

    def deploy_clients(self) -> Any:
        """The deploy's clients over this platform (Lambda through the local endpoint, so
        invocations run and alias RevisionIds are enforced): `local up`'s own release, and the
        tests and benchmarks that release through the same engine."""
        from feedbackctl.aws import partition
        from feedbackctl.deploy import DeployClients
        from feedbackctl.engine.aws_ports import build_ports
        from feedbackctl.engine.ledger import DynamoLedger
        from feedbackctl.naming import StackNames

        names = StackNames(self.stage.stack_name)
        lam = self.client("lambda", through_endpoint=True)
        region = self.stage.region
        topic = names.topic_arn(
            names.notifications_topic, region, ACCOUNT, partition=partition(region)
        )
        ports = build_ports(
            lam, self.client("dynamodb"), self.client("sns"), stack=names.stack, topic_arn=topic
        )
        return DeployClients(
            self.client("cloudformation"),
            self.client("s3"),
            lam,
            self.client("cloudwatch"),
            DynamoLedger(self.client("dynamodb"), names.ledger_table),  # the deploy's own writes
            names,
            ports,
        )

    def upload(self, manifest: Any) -> str:
        """Put a manifest's artifacts in the code bucket (content-addressed); returns the bucket."""
        bucket = str(self.provisioned.outputs["CodeBucketName"])
        s3 = self.client("s3")
        for artifact in manifest.artifacts.values():
            s3.put_object(
                Bucket=bucket,
                Key=artifact.s3_key,
                Body=artifact.path.read_bytes(),
                Metadata={"codesha256": artifact.code_sha256},
            )
        return bucket

    def _release(self) -> None:
        """Release the current code through the same engine as `feedbackctl deploy`."""
        from feedbackctl.aws.stacks import Waiter
        from feedbackctl.deploy import DeployContext, Deployer, plan_function, read_function
        from feedbackctl.engine.release import ReleasePolicy
        from feedbackctl.functions import FUNCTION_NAMES
        from feedbackctl.packaging import PROJECT_ROOT, package_all

        manifest = package_all(PROJECT_ROOT, self.work / "build")
        bucket = self.upload(manifest)
        clients = self.deploy_clients()
        context = DeployContext(
            "local-up", "", "", "", lambda _: True, lambda _: None, Waiter(interval=0.1)
        )
        deployer = Deployer(clients, context)
        policy = ReleasePolicy(bake_s=0)
        for function in FUNCTION_NAMES:
            release = plan_function(
                read_function(clients, function),
                manifest.artifacts[function],
                allow_rolled_back=False,
            )
            outcome = deployer.release(release, bucket, policy)
            self.release_outcomes.append(outcome)
        versions = ", ".join(f"{o.function} {o.to_version}" for o in self.release_outcomes)
        self.progress(f"released through the release engine: {versions}")

    def _start_data_plane(self, template: dict[str, Any]) -> None:
        from feedbackctl.local.alarms import AlarmEngine
        from feedbackctl.local.apimodel import ApiModel
        from feedbackctl.local.follow import ApiKeys, PlaneStop, StackFollower
        from feedbackctl.local.gateway import Gateway
        from feedbackctl.local.poller import StreamPoller, in_process_reader
        from feedbackctl.local.sns import SnsFanout

        plane = PlaneStop(self._stop)  # the pollers also stop when the stack is destroyed
        for mapping in self.provisioned.mappings:
            key = f"poller/{mapping.logical_id}"
            saved = self.store.meta.get(key) if self.store is not None else None
            poller = StreamPoller(
                mapping,
                self.client("dynamodbstreams"),
                self.client("sqs"),
                self.invoker,
                queue_urls=self.provisioned.queue_urls,
                metrics=self.lambda_metrics,
                checkpoints=saved,
                on_checkpoint=(
                    functools.partial(self.store.put_meta, key) if self.store is not None else None
                ),
                read_records=in_process_reader(
                    self.moto.in_process(),
                    region=self.stage.region,
                    access_key=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                ),
            )
            self.pollers.append(poller)
            self._thread(f"poller-{mapping.logical_id}", functools.partial(poller.run, plane))
        self.fanout = SnsFanout(
            self.client("sns"), self.invoker, self.provisioned.lambda_subscriptions
        )
        alarms = self.alarms = AlarmEngine(
            self.client("cloudwatch"),
            self.fanout,
            region=self.stage.region,
            account=ACCOUNT,
            name_prefix=f"{self.stage.stack_name}-",
            spread=ALARM_SPREAD,
        )
        self._thread("alarms", lambda: alarms.run(self._stop, self.options.alarm_interval_s))
        model = ApiModel.from_template(template)
        # Each API key of the stack gets a local value (AWS would generate one), bound to its plan.
        keys = ApiKeys()
        self.api_keys = keys.of(model)
        spa_key = next(iter(self.api_keys), None) if self.stage.api_key_required else None
        site_config: dict[str, Any] = {
            "apiBaseUrl": "",
            "apiKey": spa_key,
            "stage": self.stage.name,
        }
        self.gateway = Gateway(
            model,
            self.invoker,
            port=self.options.api_port,
            site_dir=self.options.site_dir,
            site_config=site_config,
            api_keys=self.api_keys,
        )
        self.gateway.start()
        site_config["apiBaseUrl"] = self.gateway.api_url  # known once the port is bound
        self._stoppers.append(self.gateway.stop)
        follower = StackFollower(  # `deploy`'s API changes and `destroy`, from other processes
            self.client("s3"),
            self.provisioned.outputs["CodeBucketName"],
            self.gateway,
            model=model,
            keys=keys,
            plane=plane,
            stack=self.stage.stack_name,
            progress=self.progress,
        )
        self._thread("stack-follower", functools.partial(follower.run, self._stop))

    def _thread(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def seed(self, count: int) -> int:
        """Submit `count` feedback items through the gateway as the SPA would (429s retried)."""
        from feedbackctl.demo import sample_messages

        stored = 0
        headers = {"Content-Type": "application/json"}
        if self.stage.api_key_required and self.api_keys:
            headers["X-Api-Key"] = next(iter(self.api_keys))
        for i, (rating, message) in enumerate(sample_messages(count, self.options.dataset)):
            body = {
                "name": f"Seed user {i + 1}",
                "email": f"seed{i + 1}@example.com",
                "rating": rating,
                "message": message,
            }
            for attempt in range(20):
                request = urllib.request.Request(  # noqa: S310 - our own gateway on 127.0.0.1
                    f"{self.api_url}/feedback",
                    data=json.dumps(body).encode(),
                    method="POST",
                    headers=headers,
                )
                try:
                    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                        stored += response.status == 201
                    break
                except urllib.error.HTTPError as error:
                    if error.code != 429:
                        raise
                    self._stop.wait(0.05 * (attempt + 1))  # throttled: back off as a client should
        return stored

    def wait(self) -> None:
        """Block until stop() (or Ctrl-C in the caller).

        Waits in short slices: the kernel may deliver SIGINT to any of the platform's threads,
        and Python runs the handler only when the main thread returns to the interpreter, which
        a wait with no timeout never does, so Ctrl-C would be lost now and then.
        """
        while not self._stop.wait(SIGNAL_CHECK_S):
            pass

    def stop(self) -> None:
        """Stop everything within STOP_S: the threads finish their round (or are abandoned:
        they are daemons, and what they wait on is stopped next), then each part in reverse
        order of start, the workers killed, the temporary folder removed last."""
        self._stop.set()
        deadline = time.monotonic() + THREAD_JOIN_S
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        for stopper in reversed(self._stoppers):
            with contextlib.suppress(Exception):  # shutting down: keep stopping the rest
                stopper()
        self._stoppers.clear()
