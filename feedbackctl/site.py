"""Publishing the web app: build `frontend/` only when its sources changed, then upload the build
to the stage's site bucket with the right Content-Type and Cache-Control, write the stage's
config.json, delete what the new build no longer has (after the upload), and invalidate CloudFront
for the paths that are not content-hashed. Read the bucket, plan, execute: files whose content and
headers are already in place are not uploaded again, and a deploy that changes nothing calls no API.

Hashed assets of the two previous builds are kept (a tab opened before the deploy still loads
the chunks its old index.html names); older ones are deleted. Each published build is recorded
as a manifest object under `_feedbackctl/builds/` listing its hashed assets.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from feedbackctl.aws import apigateway as apigateway_api
from feedbackctl.aws import cdn, objects
from feedbackctl.errors import FeedbackctlError

HASHED_PREFIX = "assets/"  # Vite's content-hashed output: a new build never reuses a name
IMMUTABLE = "public, max-age=31536000, immutable"
NO_CACHE = "no-cache"  # always revalidated: index.html, config.json and sw.js change in place
CONFIG_NAME = "config.json"
INDEX_NAME = "index.html"
BUILD_HASH_FILE = ".build-hash"
SHA256_METADATA = "sha256"  # x-amz-meta-sha256: the object's content hash, to skip re-uploads
# What the build reads; a change to any of them means dist/ is stale.
SOURCE_PATHS = (
    "src",
    "public",
    "index.html",
    "package.json",
    "package-lock.json",
    "vite.config.ts",
    "tsconfig.json",
)
# Tests do not go into dist/: a change to one alone does not rebuild.
IGNORED_SOURCE_SUFFIXES = (".test.ts", ".test.tsx")
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".map": "application/json; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".ico": "image/x-icon",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".txt": "text/plain; charset=utf-8",
    ".webmanifest": "application/manifest+json",
    ".wasm": "application/wasm",
}
DELETE_BATCH = 1000  # DeleteObjects takes at most 1000 keys
# One manifest per published build, named `<UTC time>-<id>.json` so names sort by age.
MANIFEST_PREFIX = "_feedbackctl/builds/"
KEPT_BUILDS = 2  # previous builds whose hashed assets stay after a new one is published

Runner = Callable[..., "subprocess.CompletedProcess[str]"]


# --- building ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SiteBuild:
    """A build ready to publish: where it is and whether it was built now, reused or given."""

    dist_dir: Path
    action: Literal["built", "unchanged", "prebuilt"]
    source_hash: str | None = None


def _source_files(frontend_dir: Path) -> Iterable[Path]:
    for name in SOURCE_PATHS:
        path = frontend_dir / name
        if path.is_file():
            yield path
        elif path.is_dir():
            yield from (
                p
                for p in path.rglob("*")
                if p.is_file() and not p.name.endswith(IGNORED_SOURCE_SUFFIXES)
            )


def source_hash(frontend_dir: Path) -> str:
    """A hash of everything the build reads (paths and contents, in a stable order)."""
    digest = hashlib.sha256()
    for path in sorted(_source_files(frontend_dir), key=lambda p: p.relative_to(frontend_dir)):
        digest.update(path.relative_to(frontend_dir).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise FeedbackctlError(
            f"{name} was not found on PATH",
            doing="building the web app",
            hint="install Node.js 20 with npm (`bash scripts/setup-frontend.sh` builds it), "
            "or publish a prebuilt frontend/dist",
        )
    return found


def _run(run: Runner, command: Sequence[str], cwd: Path) -> None:
    done = run(list(command), cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        shown = " ".join([Path(command[0]).name, *command[1:]])
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        raise FeedbackctlError(
            f"`{shown}` failed (exit {done.returncode}):\n{tail}",
            doing="building the web app",
            hint=f"run `npm run build` in {cwd} to see the whole output",
        )


def _packages_stale(frontend_dir: Path) -> bool:
    """node_modules is missing, or older than package-lock.json (npm stamps each install)."""
    installed = frontend_dir / "node_modules" / ".package-lock.json"
    lock = frontend_dir / "package-lock.json"
    if not installed.is_file():
        return True
    return lock.is_file() and lock.stat().st_mtime > installed.stat().st_mtime


def build_site(frontend_dir: Path, *, npm: str = "npm", run: Runner = subprocess.run) -> SiteBuild:
    """Build the SPA into `frontend_dir/dist` unless the last build was of these very sources.

    The sources' hash is stored in `dist/.build-hash` after a successful build, so an unchanged
    tree is never rebuilt. npm packages are installed (`npm ci`) when node_modules is missing or
    older than package-lock.json.
    """
    if not (frontend_dir / "package.json").is_file():
        raise FeedbackctlError(f"{frontend_dir} has no package.json", doing="building the web app")
    dist = frontend_dir / "dist"
    wanted = source_hash(frontend_dir)
    stamp = dist / BUILD_HASH_FILE
    if (dist / INDEX_NAME).is_file() and stamp.is_file() and stamp.read_text().strip() == wanted:
        return SiteBuild(dist, "unchanged", wanted)
    npm_path = _tool(npm)
    _tool("node")
    if _packages_stale(frontend_dir):
        _run(run, [npm_path, "ci", "--no-audit", "--no-fund"], frontend_dir)
    _run(run, [npm_path, "run", "build"], frontend_dir)
    if not (dist / INDEX_NAME).is_file():
        raise FeedbackctlError(
            f"the build wrote no {INDEX_NAME} into {dist}", doing="building the web app"
        )
    stamp.write_text(wanted + "\n")
    return SiteBuild(dist, "built", wanted)


def prebuilt_site(dist_dir: Path) -> SiteBuild:
    """A build made elsewhere (e.g. by CI): published as it is, never rebuilt."""
    if not (dist_dir / INDEX_NAME).is_file():
        raise FeedbackctlError(
            f"{dist_dir} holds no {INDEX_NAME}",
            doing="reading the prebuilt web app",
            hint="point at the `dist` directory `npm run build` writes",
        )
    return SiteBuild(dist_dir, "prebuilt")


# --- what to publish --------------------------------------------------------------------------


def content_type(key: str) -> str:
    suffix = Path(key).suffix.lower()
    return CONTENT_TYPES.get(suffix, "application/octet-stream")


def cache_control(key: str) -> str:
    """Hashed assets are immutable for a year; everything else is revalidated on every use,
    the service worker `sw.js` among them: browsers find a new build by fetching it again."""
    return IMMUTABLE if key.startswith(HASHED_PREFIX) else NO_CACHE


@dataclass(frozen=True)
class SiteFile:
    """One object of the site as it must be in the bucket."""

    key: str
    body: bytes = field(repr=False)
    content_type: str
    cache_control: str
    sha256: str

    @classmethod
    def of(cls, key: str, body: bytes) -> SiteFile:
        return cls(
            key, body, content_type(key), cache_control(key), hashlib.sha256(body).hexdigest()
        )

    @property
    def hashed(self) -> bool:
        return self.key.startswith(HASHED_PREFIX)


def config_body(config: dict[str, Any]) -> bytes:
    return (json.dumps(config, indent=2, sort_keys=True) + "\n").encode()


def site_files(dist_dir: Path, config: dict[str, Any]) -> list[SiteFile]:
    """The build's files (dotfiles left out) plus the stage's config.json, which replaces any
    config.json in the build: one build serves every stage."""
    files = [
        SiteFile.of(path.relative_to(dist_dir).as_posix(), path.read_bytes())
        for path in sorted(dist_dir.rglob("*"))
        if path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(dist_dir).parts)
        and path.relative_to(dist_dir).as_posix() != CONFIG_NAME
    ]
    files.append(SiteFile.of(CONFIG_NAME, config_body(config)))
    return files


def site_config(api_url: str, stage: str, api_key: str | None = None) -> dict[str, Any]:
    """The config.json the SPA reads at start: the stage's API and its key when it needs one."""
    return {"apiBaseUrl": api_url.rstrip("/"), "apiKey": api_key, "stage": stage}


def api_key_value(apigateway: Any, key_id: str) -> str:
    """The value of the stage's API key (the `ApiKeyId` output), for a stage that requires it."""
    return apigateway_api.api_key_value(apigateway, key_id)


# --- reading, planning, executing -------------------------------------------------------------


@dataclass(frozen=True)
class RemoteObject:
    """What the bucket holds under a key, as far as deciding on a re-upload goes."""

    key: str
    sha256: str | None = None
    content_type: str | None = None
    cache_control: str | None = None


def read_site(s3: Any, bucket: str, wanted: Iterable[str]) -> dict[str, RemoteObject]:
    """Every key in the bucket; for the keys this build publishes, their hash and headers."""
    keys = list(objects.keys(s3, bucket))
    present = set(keys)
    remote = {key: RemoteObject(key) for key in keys}
    for key in sorted(set(wanted) & present):
        head = objects.head(s3, bucket, key)
        remote[key] = RemoteObject(
            key,
            (head.get("Metadata") or {}).get(SHA256_METADATA),
            head.get("ContentType"),
            head.get("CacheControl"),
        )
    return remote


@dataclass(frozen=True)
class PublishedBuild:
    """A build published earlier, as its manifest recorded it."""

    manifest_key: str
    assets: frozenset[str]


def read_builds(s3: Any, bucket: str, keys: Iterable[str]) -> list[PublishedBuild]:
    """The manifests among `keys`, oldest first (their names sort by publication time)."""
    builds = []
    for key in sorted(k for k in keys if k.startswith(MANIFEST_PREFIX)):
        body = objects.read_json(s3, bucket, key)
        builds.append(PublishedBuild(key, frozenset(body.get("assets", []))))
    return builds


def build_manifest(files: Sequence[SiteFile], now: datetime) -> SiteFile:
    """The manifest of a build: its hashed assets, named by time and by their set."""
    assets = sorted(f.key for f in files if f.hashed)
    build_id = hashlib.sha256("\n".join(assets).encode()).hexdigest()[:12]
    body = json.dumps({"assets": assets, "publishedAt": now.isoformat()}, indent=2) + "\n"
    key = f"{MANIFEST_PREFIX}{now.strftime('%Y%m%dT%H%M%SZ')}-{build_id}.json"
    return SiteFile(
        key,
        body.encode(),
        CONTENT_TYPES[".json"],
        NO_CACHE,
        hashlib.sha256(body.encode()).hexdigest(),
    )


@dataclass(frozen=True)
class SitePlan:
    uploads: tuple[SiteFile, ...]
    unchanged: tuple[str, ...]
    deletes: tuple[str, ...]
    invalidation_paths: tuple[str, ...]
    kept: tuple[str, ...] = ()  # hashed assets of the previous builds, kept for open tabs
    manifest: SiteFile | None = None  # written after the uploads, before any delete
    expired_manifests: tuple[str, ...] = ()

    @property
    def changes(self) -> bool:
        return bool(self.uploads or self.deletes or self.manifest or self.expired_manifests)


def _upload_order(file: SiteFile) -> tuple[int, str]:
    # New assets first, so the new index.html never points at a file not there yet; index.html
    # last of all, config.json just before it.
    if file.hashed:
        return 0, file.key
    return {CONFIG_NAME: 2, INDEX_NAME: 3}.get(file.key, 1), file.key


def _path(key: str) -> str:
    return "/" + quote(key, safe="/-_.~")


def _in_place(file: SiteFile, there: RemoteObject | None) -> bool:
    return there is not None and (there.sha256, there.content_type, there.cache_control) == (
        file.sha256,
        file.content_type,
        file.cache_control,
    )


def _grace(
    files: Sequence[SiteFile],
    remote: dict[str, RemoteObject],
    builds: Sequence[PublishedBuild],
    manifest: SiteFile | None,
) -> tuple[set[str], SiteFile | None, tuple[str, ...]]:
    """Hashed assets to keep, the manifest to write (None when the newest is this build's), and
    the manifests no longer needed (pure)."""
    current = frozenset(f.key for f in files if f.hashed)
    newest_first = list(reversed(builds))
    if newest_first and newest_first[0].assets == current:
        manifest = None
    previous: list[frozenset[str]] = []
    for build in newest_first:
        if build.assets != current and build.assets not in previous:
            previous.append(build.assets)
    # Assets no manifest names were published before manifests existed: the oldest build.
    recorded = frozenset().union(*(b.assets for b in builds)) if builds else frozenset()
    unrecorded = frozenset(k for k in remote if k.startswith(HASHED_PREFIX)) - recorded - current
    if unrecorded:
        previous.append(unrecorded)
    kept_sets = [current, *previous[:KEPT_BUILDS]]
    seen: set[frozenset[str]] = set() if manifest is None else {current}
    expired = []
    for build in newest_first:  # one manifest per kept build: the newest of its set
        if build.assets in kept_sets and build.assets not in seen:
            seen.add(build.assets)
        else:
            expired.append(build.manifest_key)
    return set().union(*kept_sets), manifest, tuple(sorted(expired))


def plan_site(
    files: Sequence[SiteFile],
    remote: dict[str, RemoteObject],
    builds: Sequence[PublishedBuild] = (),
    manifest: SiteFile | None = None,
) -> SitePlan:
    """Upload what is missing or differs (content or headers), delete keys the build no longer
    has except the hashed assets of the previous KEPT_BUILDS builds, record this build's
    manifest, and invalidate every non-hashed path when anything changed (pure)."""
    uploads: list[SiteFile] = []
    unchanged: list[str] = []
    for file in sorted(files, key=_upload_order):
        if _in_place(file, remote.get(file.key)):
            unchanged.append(file.key)
        else:
            uploads.append(file)
    published = {f.key for f in files}
    keep, manifest, expired = _grace(files, remote, builds, manifest)
    stale = [k for k in remote if k not in published and not k.startswith(MANIFEST_PREFIX)]
    deletes = tuple(sorted(key for key in stale if key not in keep))
    kept = tuple(sorted(key for key in stale if key in keep))
    paths: tuple[str, ...] = ()
    if uploads or deletes:
        non_hashed = {f.key for f in files if not f.hashed}
        non_hashed |= {key for key in deletes if not key.startswith(HASHED_PREFIX)}
        # "/" is cached apart from "/index.html" (CloudFront's default root object).
        paths = ("/", *sorted(_path(key) for key in non_hashed))
    return SitePlan(tuple(uploads), tuple(unchanged), deletes, paths, kept, manifest, expired)


@dataclass(frozen=True)
class SiteReport:
    """What publishing did (or, for a dry run, would do)."""

    bucket: str
    uploaded: tuple[str, ...]
    unchanged: tuple[str, ...]
    deleted: tuple[str, ...]
    invalidated_paths: tuple[str, ...]
    invalidation_id: str | None
    bytes_uploaded: int
    dry_run: bool = False
    kept: tuple[str, ...] = ()
    manifest: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "bucket": self.bucket,
            "uploaded": list(self.uploaded),
            "unchanged": list(self.unchanged),
            "deleted": list(self.deleted),
            "invalidatedPaths": list(self.invalidated_paths),
            "invalidationId": self.invalidation_id,
            "bytesUploaded": self.bytes_uploaded,
            "dryRun": self.dry_run,
            "kept": list(self.kept),
            "manifest": self.manifest,
        }


def _delete(s3: Any, bucket: str, keys: Sequence[str]) -> None:
    errors = objects.delete_keys(s3, bucket, keys)
    if errors:
        first = errors[0]
        raise FeedbackctlError(
            f"could not delete {len(errors)} old file(s), e.g. {first.get('Key')}: "
            f"{first.get('Code')} {first.get('Message')}",
            doing=f"removing stale files from s3://{bucket}",
            hint="the new site is live; rerun the deploy to retry the clean-up",
        )


def publish_site(
    s3: Any,
    cloudfront: Any,
    *,
    bucket: str,
    distribution_id: str | None,
    dist_dir: Path,
    config: dict[str, Any],
    now: datetime,
    dry_run: bool = False,
) -> SiteReport:
    """Publish `dist_dir` with `config` as config.json: upload, then delete stale keys, then
    invalidate the non-hashed paths (skipped without a distribution, as on the local platform)."""
    files = site_files(dist_dir, config)
    remote = read_site(s3, bucket, [f.key for f in files])
    builds = read_builds(s3, bucket, remote)
    plan = plan_site(files, remote, builds, build_manifest(files, now))
    invalidation_id = None
    if not dry_run:
        # The manifest goes last of the writes: once it names this build, the assets are there.
        for file in plan.uploads + ((plan.manifest,) if plan.manifest else ()):
            objects.put(
                s3,
                bucket,
                file.key,
                file.body,
                content_type=file.content_type,
                cache_control=file.cache_control,
                metadata={SHA256_METADATA: file.sha256},
            )
        _delete(s3, bucket, plan.deletes + plan.expired_manifests)
        if plan.invalidation_paths and distribution_id:
            invalidation_id = cdn.invalidate(
                cloudfront, distribution_id, plan.invalidation_paths, now
            )
    return SiteReport(
        bucket=bucket,
        uploaded=tuple(f.key for f in plan.uploads),
        unchanged=plan.unchanged,
        deleted=plan.deletes,
        invalidated_paths=plan.invalidation_paths if distribution_id else (),
        invalidation_id=invalidation_id,
        bytes_uploaded=sum(len(f.body) for f in plan.uploads),
        dry_run=dry_run,
        kept=plan.kept,
        manifest=plan.manifest.key if plan.manifest else None,
    )
