"""Publishing the web app (feedbackctl.site) against moto's S3 and CloudFront, with a small fake
build: headers per file, config.json per stage, unchanged files skipped, stale files deleted
after the upload (the hashed assets of the two previous builds kept for open tabs), invalidations
for the non-hashed paths; and building only when sources change.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from feedbackctl.errors import FeedbackctlError
from feedbackctl.site import (
    BUILD_HASH_FILE,
    IMMUTABLE,
    MANIFEST_PREFIX,
    NO_CACHE,
    build_site,
    prebuilt_site,
    publish_site,
    site_config,
    source_hash,
)

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
CONFIG = site_config("https://abc123.execute-api.us-east-1.amazonaws.com/dev/", "dev")


class Recorder:
    """A real client that also notes each API call's name (and key), in order."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.calls: list[tuple[str, str | None]] = []

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if not callable(attribute) or name.startswith("_"):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((name, kwargs.get("Key")))
            return attribute(*args, **kwargs)

        return call

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]


def write_build(dist: Path, version: str, extra: dict[str, str] | None = None) -> Path:
    """A Vite-shaped build: hashed assets, an index.html naming them, a default config.json."""
    if dist.exists():
        for path in sorted(dist.rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
    (dist / "assets").mkdir(parents=True, exist_ok=True)
    (dist / "assets" / f"index-{version}.js").write_text(f"console.log('{version}')")
    (dist / "assets" / f"index-{version}.css").write_text(f"body{{--v:'{version}'}}")
    (dist / "index.html").write_text(
        f'<script type="module" src="/assets/index-{version}.js"></script>'
        f'<link rel="stylesheet" href="/assets/index-{version}.css">'
    )
    (dist / "config.json").write_text('{"apiBaseUrl": "/local", "apiKey": null, "stage": "local"}')
    (dist / BUILD_HASH_FILE).write_text("not published\n")
    for name, text in (extra or {}).items():
        (dist / name).parent.mkdir(parents=True, exist_ok=True)
        (dist / name).write_text(text)
    return dist


@pytest.fixture
def site(moto_endpoint: str) -> dict[str, Any]:
    s3 = boto3.client("s3", endpoint_url=moto_endpoint)
    cloudfront = boto3.client("cloudfront", endpoint_url=moto_endpoint)
    bucket = f"site-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    distribution = cloudfront.create_distribution(
        DistributionConfig={
            "CallerReference": uuid.uuid4().hex,
            "Comment": "test",
            "Enabled": True,
            "Origins": {
                "Quantity": 1,
                "Items": [
                    {
                        "Id": "site",
                        "DomainName": f"{bucket}.s3.amazonaws.com",
                        "S3OriginConfig": {"OriginAccessIdentity": ""},
                    }
                ],
            },
            "DefaultCacheBehavior": {
                "TargetOriginId": "site",
                "ViewerProtocolPolicy": "redirect-to-https",
                "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6",
            },
        }
    )
    return {
        "s3": s3,
        "cloudfront": cloudfront,
        "bucket": bucket,
        "distribution_id": distribution["Distribution"]["Id"],
    }


def publish(site: dict[str, Any], dist: Path, config: dict[str, Any] = CONFIG, **kwargs: Any):
    return publish_site(
        kwargs.pop("s3", site["s3"]),
        kwargs.pop("cloudfront", site["cloudfront"]),
        bucket=site["bucket"],
        distribution_id=kwargs.pop("distribution_id", site["distribution_id"]),
        dist_dir=dist,
        config=config,
        now=kwargs.pop("now", NOW),
        **kwargs,
    )


def _keys(site: dict[str, Any]) -> list[str]:
    return [o["Key"] for o in site["s3"].list_objects_v2(Bucket=site["bucket"]).get("Contents", [])]


def objects(site: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The site's objects (the build manifests left out)."""
    s3, bucket = site["s3"], site["bucket"]
    keys = [key for key in _keys(site) if not key.startswith(MANIFEST_PREFIX)]
    return {key: s3.get_object(Bucket=bucket, Key=key) for key in keys}


def manifests(site: dict[str, Any]) -> dict[str, list[str]]:
    """Each build manifest's key and the hashed assets it lists."""
    s3, bucket = site["s3"], site["bucket"]
    return {
        key: json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())["assets"]
        for key in _keys(site)
        if key.startswith(MANIFEST_PREFIX)
    }


def invalidations(site: dict[str, Any]) -> list[dict[str, Any]]:
    cloudfront = site["cloudfront"]
    listed = cloudfront.list_invalidations(DistributionId=site["distribution_id"])
    items = listed["InvalidationList"].get("Items", []) or []
    return [
        cloudfront.get_invalidation(DistributionId=site["distribution_id"], Id=item["Id"])[
            "Invalidation"
        ]
        for item in items
    ]


def test_first_publish_uploads_every_file_with_its_headers_and_the_stage_config(site, tmp_path):
    dist = write_build(tmp_path / "dist", "aaa111", {"favicon.svg": "<svg/>"})
    report = publish(site, dist)

    stored = objects(site)
    assert sorted(stored) == [
        "assets/index-aaa111.css",
        "assets/index-aaa111.js",
        "config.json",
        "favicon.svg",
        "index.html",
    ]
    headers = {k: (v["ContentType"], v["CacheControl"]) for k, v in stored.items()}
    assert headers == {
        "assets/index-aaa111.css": ("text/css; charset=utf-8", IMMUTABLE),
        "assets/index-aaa111.js": ("text/javascript; charset=utf-8", IMMUTABLE),
        "config.json": ("application/json; charset=utf-8", NO_CACHE),
        "favicon.svg": ("image/svg+xml", NO_CACHE),
        "index.html": ("text/html; charset=utf-8", NO_CACHE),
    }
    assert IMMUTABLE == "public, max-age=31536000, immutable"
    assert json.loads(stored["config.json"]["Body"].read()) == {
        "apiBaseUrl": "https://abc123.execute-api.us-east-1.amazonaws.com/dev",
        "apiKey": None,
        "stage": "dev",
    }
    assert report.uploaded[-2:] == ("config.json", "index.html")
    assert report.deleted == ()
    assert manifests(site) == {
        f"{MANIFEST_PREFIX}20250301T120000Z-{report.manifest[-17:-5]}.json": [
            "assets/index-aaa111.css",
            "assets/index-aaa111.js",
        ]
    }
    assert report.invalidated_paths == ("/", "/config.json", "/favicon.svg", "/index.html")
    [invalidation] = invalidations(site)
    assert invalidation["Id"] == report.invalidation_id
    batch = invalidation["InvalidationBatch"]
    assert sorted(batch["Paths"]["Items"]) == sorted(report.invalidated_paths)
    assert batch["CallerReference"].startswith("feedbackctl-20250301T120000-")


def test_publishing_the_same_build_again_makes_no_change(site, tmp_path):
    dist = write_build(tmp_path / "dist", "aaa111")
    publish(site, dist)
    s3 = Recorder(site["s3"])
    cloudfront = Recorder(site["cloudfront"])

    report = publish(site, dist, s3=s3, cloudfront=cloudfront)

    assert report.uploaded == ()
    assert report.deleted == ()
    assert report.invalidation_id is None
    assert sorted(report.unchanged) == sorted(objects(site))
    assert report.manifest is None  # the newest manifest already names this build
    assert len(manifests(site)) == 1
    assert set(s3.names()) == {"get_paginator", "head_object", "get_object"}  # reads only
    assert cloudfront.calls == []
    assert len(invalidations(site)) == 1


def test_a_new_build_uploads_first_then_deletes_what_it_no_longer_has(site, tmp_path):
    dist = write_build(tmp_path / "dist", "aaa111", {"robots.txt": "old"})
    publish(site, dist)
    write_build(dist, "bbb222")
    s3 = Recorder(site["s3"])

    report = publish(site, dist, s3=s3, now=NOW + timedelta(minutes=1))

    # The previous build's hashed assets stay: a tab opened before the deploy still loads them.
    assert sorted(objects(site)) == [
        "assets/index-aaa111.css",
        "assets/index-aaa111.js",
        "assets/index-bbb222.css",
        "assets/index-bbb222.js",
        "config.json",
        "index.html",
    ]
    assert report.uploaded == (
        "assets/index-bbb222.css",
        "assets/index-bbb222.js",
        "index.html",
    )
    assert report.unchanged == ("config.json",)
    assert report.deleted == ("robots.txt",)
    assert report.kept == ("assets/index-aaa111.css", "assets/index-aaa111.js")
    writes = [(name, key) for name, key in s3.calls if name in {"put_object", "delete_objects"}]
    assert writes == [
        ("put_object", "assets/index-bbb222.css"),
        ("put_object", "assets/index-bbb222.js"),
        ("put_object", "index.html"),
        ("put_object", report.manifest),
        ("delete_objects", None),
    ]
    # A removed non-hashed file is invalidated too; hashed paths never are.
    assert report.invalidated_paths == ("/", "/config.json", "/index.html", "/robots.txt")


def test_the_assets_of_the_two_previous_builds_are_kept_and_older_ones_deleted(site, tmp_path):
    dist = tmp_path / "dist"
    reports = []
    for minute, version in enumerate(["aaa111", "bbb222", "ccc333", "ddd444"]):
        write_build(dist, version)
        reports.append(publish(site, dist, now=NOW + timedelta(minutes=minute)))

    hashed = sorted(key for key in objects(site) if key.startswith("assets/"))
    assert hashed == [
        f"assets/index-{v}.{ext}" for v in ("bbb222", "ccc333", "ddd444") for ext in ("css", "js")
    ]
    assert reports[3].deleted == ("assets/index-aaa111.css", "assets/index-aaa111.js")
    assert reports[3].kept == tuple(hashed[:4])
    # One manifest per build still served; the oldest build's manifest went with its assets.
    assert sorted(manifests(site)) == sorted(r.manifest for r in reports[1:])


def test_republishing_an_older_build_keeps_one_manifest_per_build(site, tmp_path):
    dist = tmp_path / "dist"
    for minute, version in enumerate(["aaa111", "bbb222", "aaa111", "bbb222", "aaa111"]):
        write_build(dist, version)
        last = publish(site, dist, now=NOW + timedelta(minutes=minute))
    assert last.deleted == ()
    assert sorted(manifests(site).values()) == [
        ["assets/index-aaa111.css", "assets/index-aaa111.js"],
        ["assets/index-bbb222.css", "assets/index-bbb222.js"],
    ]


def test_assets_published_before_manifests_count_as_the_oldest_build(site, tmp_path):
    """A bucket published before builds were recorded: its assets are one unrecorded build."""
    s3, bucket = site["s3"], site["bucket"]
    s3.put_object(Bucket=bucket, Key="assets/index-old000.js", Body=b"old")
    dist = tmp_path / "dist"
    write_build(dist, "aaa111")
    first = publish(site, dist)
    assert first.kept == ("assets/index-old000.js",)
    write_build(dist, "bbb222")
    publish(site, dist, now=NOW + timedelta(minutes=1))
    write_build(dist, "ccc333")
    third = publish(site, dist, now=NOW + timedelta(minutes=2))
    assert third.deleted == ("assets/index-old000.js",)
    assert "assets/index-old000.js" not in objects(site)


def test_only_config_json_changes_when_the_stage_config_does(site, tmp_path):
    dist = write_build(tmp_path / "dist", "aaa111")
    publish(site, dist)
    report = publish(site, dist, config=site_config("https://x.example/dev", "dev", "k3y"))
    assert report.uploaded == ("config.json",)
    assert b'"apiKey": "k3y"' in objects(site)["config.json"]["Body"].read()
    assert "/config.json" in report.invalidated_paths
    assert len(invalidations(site)) == 2


def test_a_file_with_the_wrong_headers_is_uploaded_again(site, tmp_path):
    dist = write_build(tmp_path / "dist", "aaa111")
    publish(site, dist)
    s3, bucket = site["s3"], site["bucket"]
    body = (dist / "index.html").read_bytes()
    current = s3.head_object(Bucket=bucket, Key="index.html")
    s3.put_object(
        Bucket=bucket,
        Key="index.html",
        Body=body,
        ContentType="text/html; charset=utf-8",
        CacheControl="max-age=600",
        Metadata=current["Metadata"],
    )
    report = publish(site, dist)
    assert report.uploaded == ("index.html",)
    assert s3.head_object(Bucket=bucket, Key="index.html")["CacheControl"] == NO_CACHE


def test_a_dry_run_reports_the_plan_and_changes_nothing(site, tmp_path):
    dist = write_build(tmp_path / "dist", "aaa111")
    s3 = Recorder(site["s3"])
    cloudfront = Recorder(site["cloudfront"])
    report = publish(site, dist, s3=s3, cloudfront=cloudfront, dry_run=True)
    assert report.dry_run
    assert len(report.uploaded) == 4
    assert report.invalidated_paths == ("/", "/config.json", "/index.html")
    assert objects(site) == {}
    assert set(s3.names()) == {"get_paginator"}
    assert cloudfront.calls == []
    assert report.as_dict()["dryRun"] is True


def test_without_a_distribution_nothing_is_invalidated(site, tmp_path):
    dist = write_build(tmp_path / "dist", "aaa111")
    cloudfront = Recorder(site["cloudfront"])
    report = publish(site, dist, cloudfront=cloudfront, distribution_id=None)
    assert len(report.uploaded) == 4
    assert report.invalidated_paths == ()
    assert report.invalidation_id is None
    assert cloudfront.calls == []


def test_paths_are_url_encoded_for_the_invalidation(site, tmp_path):
    dist = write_build(tmp_path / "dist", "aaa111", {"docs/read me.txt": "hi"})
    report = publish(site, dist)
    assert "/docs/read%20me.txt" in report.invalidated_paths
    assert objects(site)["docs/read me.txt"]["ContentType"] == "text/plain; charset=utf-8"


# --- building ---------------------------------------------------------------------------------


def fake_frontend(root: Path) -> Path:
    (root / "src").mkdir(parents=True)
    (root / "src" / "main.tsx").write_text("render()")
    (root / "src" / "main.test.tsx").write_text("test()")
    (root / "index.html").write_text("<div id=root></div>")
    (root / "package.json").write_text('{"scripts": {"build": "vite build"}}')
    (root / "package-lock.json").write_text("{}")
    (root / "node_modules").mkdir()
    (root / "node_modules" / ".package-lock.json").write_text("{}")
    return root


class FakeNpm:
    """Stands in for subprocess.run: records commands, and `npm run build` writes dist/."""

    def __init__(self, frontend: Path, fail: bool = False) -> None:
        self.frontend = frontend
        self.fail = fail
        self.commands: list[list[str]] = []

    def __call__(self, command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        self.commands.append([Path(command[0]).name, *command[1:]])
        assert kwargs["cwd"] == self.frontend
        if self.fail:
            return subprocess.CompletedProcess(command, 2, "", "src/main.tsx: error TS2322")
        if command[1:] == ["run", "build"]:
            write_build(self.frontend / "dist", uuid.uuid4().hex[:6])
            (self.frontend / "dist" / BUILD_HASH_FILE).unlink()  # Vite empties dist/
        return subprocess.CompletedProcess(command, 0, "built", "")


@pytest.fixture
def tools(tmp_path, monkeypatch):
    """npm and node on PATH (never run: the FakeNpm runner answers)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("npm", "node"):
        (bin_dir / name).write_text("#!/bin/sh\nexit 0\n")
        (bin_dir / name).chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    return bin_dir


def test_build_runs_once_and_is_reused_until_a_source_changes(tmp_path, tools):
    frontend = fake_frontend(tmp_path / "frontend")
    npm = FakeNpm(frontend)

    first = build_site(frontend, run=npm)
    assert first.action == "built"
    assert npm.commands == [["npm", "run", "build"]]
    assert (frontend / "dist" / BUILD_HASH_FILE).read_text().strip() == source_hash(frontend)

    assert build_site(frontend, run=npm).action == "unchanged"
    (frontend / "src" / "main.test.tsx").write_text("test('more')")  # tests are not built
    assert build_site(frontend, run=npm).action == "unchanged"
    assert len(npm.commands) == 1

    (frontend / "src" / "main.tsx").write_text("render(changed)")
    assert build_site(frontend, run=npm).action == "built"
    assert len(npm.commands) == 2


def test_build_installs_packages_when_they_are_missing(tmp_path, tools):
    frontend = fake_frontend(tmp_path / "frontend")
    (frontend / "node_modules" / ".package-lock.json").unlink()
    npm = FakeNpm(frontend)
    build_site(frontend, run=npm)
    assert npm.commands == [["npm", "ci", "--no-audit", "--no-fund"], ["npm", "run", "build"]]


def test_a_failed_build_says_what_failed(tmp_path, tools):
    frontend = fake_frontend(tmp_path / "frontend")
    with pytest.raises(FeedbackctlError, match="error TS2322") as caught:
        build_site(frontend, run=FakeNpm(frontend, fail=True))
    assert "`npm run build` failed (exit 2)" in str(caught.value)
    assert not (frontend / "dist" / BUILD_HASH_FILE).exists()


def test_missing_npm_is_an_error_with_a_hint(tmp_path, monkeypatch):
    frontend = fake_frontend(tmp_path / "frontend")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(FeedbackctlError, match="npm was not found") as caught:
        build_site(frontend, run=FakeNpm(frontend))
    assert "Node.js 20" in (caught.value.hint or "")


def test_a_prebuilt_dist_is_taken_as_it_is(tmp_path):
    dist = write_build(tmp_path / "dist", "ccc333")
    assert prebuilt_site(dist).action == "prebuilt"
    with pytest.raises(FeedbackctlError, match=r"holds no index\.html"):
        prebuilt_site(tmp_path)
