"""The running local platform follows its stack record (feedbackctl.local.changes.RECORD_KEY, in
the stack's code bucket), which `deploy --stage local` rewrites and `destroy --stage local`
removes, both from another process:

- a changed template's API (routes and methods, models, validators, gateway responses, the
  stage's throttling, usage plans and keys) is served by the gateway from the next request on,
  without a restart; each API key keeps its local value across changes;
- a removed record means the stack was destroyed: the gateway answers every request 403 with
  that reason, and the stream pollers stop (their mappings went with the stack).

Each record the data plane follows is acknowledged in SERVING_KEY (its ETag, or null once the
stack is gone), so the command that changed the record returns only once the platform serves
it (`wait_acknowledged`).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

from feedbackctl.errors import FeedbackctlError
from feedbackctl.local.apimodel import ApiModel
from feedbackctl.local.changes import RECORD_KEY

FOLLOW_S = 0.2  # how often the record is looked at (a HEAD request to the in-process moto)
SERVING_KEY = "feedbackctl/serving.json"
ACK_TIMEOUT_S = 10.0
ACK_POLL_S = 0.05


class ApiKeys:
    """The local value of each API key of the stack (AWS would generate one), kept per key id,
    so a key a client holds still works after the API changed."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def of(self, model: ApiModel) -> dict[str, str]:
        """Key value → the logical id of its usage plan, for every key bound to a plan."""
        keys: dict[str, str] = {}
        for plan in model.usage_plans.values():
            for key_id in plan.key_ids:
                key = model.api_keys.get(key_id)
                if key is None:
                    continue
                generated = f"local-{key.logical_id.lower()}-{secrets.token_hex(8)}"
                value = key.value or self.values.setdefault(key.logical_id, generated)
                keys[value] = plan.logical_id
        return keys


class PlaneStop(threading.Event):
    """What the stream pollers run until: the platform stopping, or (once `set()`) its stack
    destroyed. A wait ends at once when the platform stops; a destroyed stack is seen when the
    poller's current wait ends."""

    def __init__(self, platform_stop: threading.Event) -> None:
        super().__init__()
        self._platform_stop = platform_stop

    def is_set(self) -> bool:
        return super().is_set() or self._platform_stop.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        if not self.is_set():
            self._platform_stop.wait(timeout)
        return self.is_set()


def record_etag(s3: Any, bucket: str) -> str | None:
    """The ETag of the stack record, or None when there is none (or no bucket)."""
    from feedbackctl.aws import is_absent_object

    try:
        return str(s3.head_object(Bucket=bucket, Key=RECORD_KEY)["ETag"])
    except Exception as exc:
        if is_absent_object(exc):
            return None
        raise


def acknowledged(s3: Any, bucket: str) -> tuple[bool, str | None]:
    """(whether the platform acknowledged a record, the ETag of the one it serves or None)."""
    try:
        body = json.loads(s3.get_object(Bucket=bucket, Key=SERVING_KEY)["Body"].read())
    except s3.exceptions.NoSuchKey:
        return False, None
    return True, body.get("record")


def wait_acknowledged(
    s3: Any, bucket: str, etag: str | None, what: str, timeout_s: float = ACK_TIMEOUT_S
) -> None:
    """Return once the running platform acknowledges the record `etag` (None: the stack gone);
    a FeedbackctlError naming `what` it did not do after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        seen, serving = acknowledged(s3, bucket)
        if seen and serving == etag:
            return
        if time.monotonic() >= deadline:
            raise FeedbackctlError(
                f"the local platform did not {what} within {timeout_s:g}s",
                doing="waiting for the local platform",
                hint="is its `feedbackctl local up` still running? its output says what failed",
            )
        time.sleep(ACK_POLL_S)


class StackFollower:
    """Keeps the data plane on the stack record: run `run(stop)` in a thread."""

    def __init__(
        self,
        s3: Any,
        bucket: str,
        gateway: Any,
        *,
        model: ApiModel,
        keys: ApiKeys,
        plane: PlaneStop,
        stack: str,
        progress: Callable[[str], None] = lambda _: None,
    ) -> None:
        self.s3 = s3
        self.bucket = bucket
        self.gateway = gateway
        self.model = model  # as the template defines it (the gateway serves it with its origin)
        self.keys = keys
        self.plane = plane
        self.stack = stack
        self.progress = progress
        self._failure = ""
        self.etag = record_etag(s3, bucket)
        self._acknowledge()

    def run(self, stop: threading.Event) -> None:
        """Follow the record until `stop`, or until the stack is destroyed."""
        while not stop.wait(FOLLOW_S):
            try:
                if not self.follow_once():
                    return
                self._failure = ""
            except Exception as exc:  # noqa: BLE001 - one failed look must not end following
                failure = f"following stack {self.stack}'s record: {type(exc).__name__}: {exc}"
                if failure != self._failure:  # said once, not every FOLLOW_S
                    self.progress(failure)
                self._failure = failure

    def follow_once(self) -> bool:
        """Take up a changed record; False once the stack is gone (nothing left to follow)."""
        etag = record_etag(self.s3, self.bucket)
        if etag == self.etag:
            return True
        if etag is None:
            self._retire()
        else:
            body = json.loads(self.s3.get_object(Bucket=self.bucket, Key=RECORD_KEY)["Body"].read())
            self._serve(ApiModel.from_template(body["template"]))
        self.etag = etag
        self._acknowledge()
        return etag is not None

    def _serve(self, model: ApiModel) -> None:
        if model == self.model:
            return
        api_keys = self.keys.of(model)
        self.gateway.serve_api(model, api_keys)
        self.model = model
        # The site sends a key when the API asks for one (as `local up` set it at start).
        wanted = any(route.api_key_required for route in model.routes)
        self.gateway.site_config["apiKey"] = next(iter(api_keys), None) if wanted else None
        routes = ", ".join(f"{r.method} {r.path}" for r in model.routes)
        self.progress(f"the gateway serves the stack's new API: {routes}")

    def _retire(self) -> None:
        self.plane.set()
        self.gateway.retire(
            f"stack {self.stack} was destroyed (`feedbackctl destroy`): nothing is served here; "
            "stop this platform and start `feedbackctl local up` to provision it again"
        )
        self.progress(f"stack {self.stack} was destroyed: the gateway and stream pollers stopped")

    def _acknowledge(self) -> None:
        body = json.dumps({"record": self.etag}).encode()
        self.s3.put_object(
            Bucket=self.bucket, Key=SERVING_KEY, Body=body, ContentType="application/json"
        )
