"""Publishing the web app as part of `deploy`: build it when its sources changed, then upload
it with this stage's config.json (a dry run says what would change)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from feedbackctl.aws import Aws, stacks
from feedbackctl.cli.console import Terminal
from feedbackctl.deploy import LOCAL_PLATFORM
from feedbackctl.packaging import PROJECT_ROOT
from feedbackctl.site import (
    SiteReport,
    api_key_value,
    build_site,
    prebuilt_site,
    publish_site,
    site_config,
)


def publish_web_app(
    aws: Aws,
    stage: Any,
    term: Terminal,
    stack: stacks.StackInfo | None,
    *,
    dry_run: bool,
    site_dist: Path | None = None,
) -> SiteReport | None:
    """Build the SPA if its sources changed and publish it with this stage's config.json.

    `stack` is the stack as the caller last read it (its outputs name the bucket).
    """
    if stack is not None and stack.status == LOCAL_PLATFORM:
        build = prebuilt_site(site_dist) if site_dist else build_site(PROJECT_ROOT / "frontend")
        term.status(f"web app ({build.action}): the local platform serves {build.dist_dir}")
        return None
    outputs = stack.outputs if stack else {}
    if "SiteBucketName" not in outputs:
        term.status("web app: published once the stack (and its site bucket) exists")
        return None
    build = prebuilt_site(site_dist) if site_dist else build_site(PROJECT_ROOT / "frontend")
    api_key = None
    if stage.api_key_required:
        with aws.errors("reading the stage's API key"):
            api_key = api_key_value(aws.client("apigateway"), outputs["ApiKeyId"])
    with aws.errors(f"publishing the web app to s3://{outputs['SiteBucketName']}"):
        report = publish_site(
            aws.client("s3"),
            aws.client("cloudfront"),
            bucket=outputs["SiteBucketName"],
            distribution_id=outputs.get("SiteDistributionId"),
            dist_dir=build.dist_dir,
            config=site_config(outputs["ApiUrl"], stage.name, api_key),
            now=datetime.now(UTC),
            dry_run=dry_run,
        )
    invalidation = f"; invalidation {report.invalidation_id}" if report.invalidation_id else ""
    verb = "would upload" if dry_run else "uploaded"
    term.status(
        f"web app ({build.action}): {len(report.uploaded)} {verb}, "
        f"{len(report.unchanged)} unchanged, {len(report.deleted)} deleted{invalidation}"
    )
    return report
