"""`deploy --stage local --watch`: after the deploy, each saved change to a function's code is
packaged and released into the running local platform (found through its record, reached
through its AWS endpoint) by the same code watcher as `local up --watch`
(feedbackctl.local.reload), until Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path
from typing import Any

from feedbackctl.aws import Aws, objects
from feedbackctl.cli.code_watch import stop_on_signals, watch_code
from feedbackctl.cli.console import Terminal
from feedbackctl.deploy import DeployClients

SIGNAL_CHECK_S = 0.2  # how often the waiting main thread lets a pending Ctrl-C through
WATCHER_JOIN_S = 30.0  # a release in progress at Ctrl-C finishes (its alias move included)


class PlatformRelease:
    """The running platform as the code watcher releases into it from this process: the
    artifacts go to the stack's code bucket, the releases through the deploy's clients."""

    def __init__(self, aws: Aws, bucket: str, work: Path) -> None:
        self.aws = aws
        self.bucket = bucket
        self.work = work  # the watcher packages into work/build

    def upload(self, manifest: Any) -> str:
        """Put the manifest's artifacts in the code bucket (by content hash); the bucket."""
        s3 = self.aws.client("s3")
        for artifact in manifest.artifacts.values():
            objects.upload_artifact(
                s3, self.bucket, artifact.s3_key, artifact.path.read_bytes(), artifact.code_sha256
            )
        return self.bucket

    def deploy_clients(self) -> DeployClients:
        from feedbackctl.cli.commands.deploy.run import clients_for

        return clients_for(self.aws)


def watch_after_deploy(aws: Aws, bucket: str, term: Terminal) -> None:
    """Release saved changes into the local platform until Ctrl-C (or SIGTERM)."""
    stop_on_signals()
    stop = threading.Event()
    with tempfile.TemporaryDirectory(prefix="feedbackctl-watch-") as work:
        thread = watch_code(PlatformRelease(aws, bucket, Path(work)), term, stop)
        term.status("watching lambdas/ and the engine: a saved change is released; Ctrl-C stops")
        try:
            while not stop.wait(SIGNAL_CHECK_S):
                pass
        except KeyboardInterrupt:
            term.status("stopping…")
        finally:
            stop.set()
            thread.join(timeout=WATCHER_JOIN_S)
    term.status("stopped watching")
