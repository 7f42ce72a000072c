"""Code reload for `local up --watch`: a saved change to a function's sources (`lambdas/`, and
the engine modules the orchestrator ships) is packaged and released through the release engine,
so the running platform serves it within seconds.

The watcher polls the source tree's file stamps (no platform-specific file events needed) and
waits until a save has settled. Packaging is content-addressed, so only the functions whose zip
changed are released: each version is published and health-checked first (a handler that no
longer imports is refused and the old version keeps serving), then the `live` alias moves at
once, as `sam sync --watch` does for a development stack. Releases of different functions run
side by side.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

POLL_S = 0.2
WATCHED_SUFFIXES = {".py", ".json", ".txt"}

Stamps = dict[str, tuple[int, int]]


def _watched(source_root: Path) -> Iterator[Path]:
    from feedbackctl.packaging import ENGINE_MODULES

    for folder in ("lambdas", "feedbackctl/engine"):
        yield from (source_root / folder).rglob("*")
    yield from (source_root / module for module in ENGINE_MODULES)


def stamps(source_root: Path) -> Stamps:
    """Path -> (mtime in ns, size) of every source file a function's zip may contain."""
    found: Stamps = {}
    for path in _watched(source_root):
        if path.suffix in WATCHED_SUFFIXES and "__pycache__" not in path.parts:
            try:
                stat = path.stat()
            except FileNotFoundError:  # saved by renaming over it: seen on the next poll
                continue
            found[str(path)] = (stat.st_mtime_ns, stat.st_size)
    return found


@dataclass(frozen=True)
class Reloaded:
    """One reload: what was released (function -> version) and what was refused (-> why)."""

    released: dict[str, str]
    refused: dict[str, str]
    seconds: float


class CodeWatcher:
    """Releases changed functions into a running local platform."""

    def __init__(
        self,
        platform: Any,
        source_root: Path,
        *,
        progress: Callable[[str], None] = lambda _: None,
        poll_s: float = POLL_S,
    ) -> None:
        self.platform = platform
        self.source_root = source_root
        self.progress = progress
        self.poll_s = poll_s
        self._lock = threading.Lock()
        # Taken now, not when `run` starts: a save made in between is still a change.
        self._seen = stamps(source_root)

    def run(self, stop: threading.Event) -> None:
        """Poll until `stop`; after each settled change, reload."""
        while not stop.wait(self.poll_s):
            now = stamps(self.source_root)
            if now == self._seen:
                continue
            # An editor may write a file in several steps: wait until one poll sees no change.
            while not stop.wait(self.poll_s) and (settled := stamps(self.source_root)) != now:
                now = settled
            self._seen = now
            if stop.is_set():
                return
            try:
                self.reload()
            except Exception as exc:  # noqa: BLE001 - one failed reload must not end the watch
                self.progress(f"reload failed: {type(exc).__name__}: {exc}")

    def reload(self) -> Reloaded:
        """Package every function and release those whose code changed."""
        from feedbackctl.aws.stacks import Waiter
        from feedbackctl.deploy import DeployContext, Deployer, plan_function, read_function
        from feedbackctl.engine.release import ReleasePolicy
        from feedbackctl.errors import FeedbackctlError
        from feedbackctl.packaging import package_all

        with self._lock:
            started = time.perf_counter()
            try:
                manifest = package_all(self.source_root, self.platform.work / "build")
            except FeedbackctlError as exc:  # e.g. a file a function needs was removed
                self.progress(f"reload: not packaged: {exc.message}")
                return Reloaded({}, {"*": exc.message}, time.perf_counter() - started)
            bucket = self.platform.upload(manifest)
            clients = self.platform.deploy_clients()
            context = DeployContext(
                "local-watch", "", "", "", lambda _: True, lambda _: None, Waiter(interval=0.05)
            )
            deployer = Deployer(clients, context)
            policy = ReleasePolicy(strategy="all-at-once", bake_s=0)
            plans = [
                plan_function(read_function(clients, name), artifact, allow_rolled_back=True)
                for name, artifact in manifest.artifacts.items()
            ]
            changed = [p for p in plans if p.action == "release"]
            if not changed:
                return Reloaded({}, {}, time.perf_counter() - started)
            with ThreadPoolExecutor(max_workers=len(changed)) as pool:
                outcomes = list(pool.map(lambda p: deployer.release(p, bucket, policy), changed))
            released = {o.function: str(o.to_version) for o in outcomes if o.outcome == "released"}
            refused = {o.function: o.detail for o in outcomes if o.outcome != "released"}
            took = time.perf_counter() - started
            for function, version in released.items():
                self.progress(f"reload: {function} → version {version} ({took:.1f}s after save)")
            for function, why in refused.items():
                self.progress(f"reload: {function} kept its live version: {why}")
            return Reloaded(released, refused, took)
