"""The CLI side's one boto3 boundary: sessions from --stage/--profile/--region/--endpoint-url,
clients with retries, the caller's identity, and AWS failures turned into FeedbackctlError
(what we were doing, what AWS said, what to try).

AWS_PROFILE, AWS_REGION and AWS_ENDPOINT_URL are honoured the way boto3 honours them: an
explicit option wins, then the stage's configuration, then the environment.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from feedbackctl.errors import FeedbackctlError, UsageError
from feedbackctl.naming import StackNames

_EXPIRED = {"ExpiredToken", "ExpiredTokenException", "RequestExpired", "TokenRefreshRequired"}
_DENIED = {
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "UnrecognizedClientException",
}


@dataclass(frozen=True)
class Target:
    """Where a command acts: the stage's stack in an account/region (or a local endpoint)."""

    stage: str
    stack_name: str
    region: str
    profile: str | None = None
    endpoint_url: str | None = None
    production: bool = False

    @property
    def names(self) -> StackNames:
        return StackNames(self.stack_name)

    @property
    def local(self) -> bool:
        """True when the endpoint is on this machine (the local platform)."""
        from urllib.parse import urlsplit

        host = urlsplit(self.endpoint_url or "").hostname or ""
        return host in {"127.0.0.1", "localhost", "::1"}


def _hint_for_endpoint(target: Target) -> str:
    if target.endpoint_url:
        return f"is the local platform running at {target.endpoint_url}? `feedbackctl local up`"
    return "check your network, --region and --endpoint-url"


def translate(exc: BaseException, doing: str, target: Target) -> FeedbackctlError | None:
    """The user-facing error for a botocore failure, or None when it is not one we know."""
    from botocore import exceptions as bx

    if isinstance(exc, bx.NoCredentialsError | bx.PartialCredentialsError):
        return FeedbackctlError(
            "no AWS credentials found",
            doing=doing,
            hint="set AWS_PROFILE or pass --profile, or use --stage local for the local platform",
        )
    if isinstance(exc, bx.ProfileNotFound):
        return UsageError(
            str(exc), doing=doing, hint="list profiles with `aws configure list-profiles`"
        )
    if isinstance(exc, bx.EndpointConnectionError | bx.ConnectTimeoutError | bx.ReadTimeoutError):
        return FeedbackctlError(
            f"cannot reach AWS: {exc}", doing=doing, hint=_hint_for_endpoint(target)
        )
    if isinstance(exc, bx.TokenRetrievalError | bx.SSOTokenLoadError):
        return FeedbackctlError(
            "your AWS session has expired", doing=doing, hint="run `aws sso login` and retry"
        )
    if isinstance(exc, bx.ClientError):
        return _client_error(exc, doing, target)
    return None


def _client_error(exc: Any, doing: str, target: Target) -> FeedbackctlError:
    error = exc.response.get("Error", {})
    code, message = str(error.get("Code", "")), str(error.get("Message", ""))
    said = f"AWS said: {code}: {message}"
    if code in _EXPIRED:
        hint = "refresh your credentials (e.g. `aws sso login`) and retry"
        return FeedbackctlError(f"your AWS session has expired ({code})", doing=doing, hint=hint)
    if code in _DENIED:
        hint = "check the profile's IAM permissions for this stage"
        return FeedbackctlError(said, doing=doing, hint=hint)
    if code == "ResourceNotFoundException" or "does not exist" in message:
        hint = (
            f"is stage {target.stage!r} deployed? try `feedbackctl deploy --stage {target.stage}`"
        )
        return FeedbackctlError(said, doing=doing, hint=hint)
    return FeedbackctlError(said, doing=doing)


class Aws:
    """Clients for one target, created on demand and cached."""

    def __init__(self, target: Target, session: Any = None) -> None:
        self.target = target
        self._session = session
        self._clients: dict[str, Any] = {}

    def _boto_session(self) -> Any:
        if self._session is None:
            import boto3

            # The local platform accepts any credentials; a laptop may have none at all.
            local = self.target.local and not self.target.profile
            key = "local" if local and "AWS_ACCESS_KEY_ID" not in os.environ else None
            self._session = boto3.Session(
                profile_name=self.target.profile,
                region_name=self.target.region,
                aws_access_key_id=key,
                aws_secret_access_key=key,
            )
        return self._session

    def client(self, service: str) -> Any:
        if service not in self._clients:
            from botocore.config import Config

            config = Config(
                retries={"max_attempts": 8, "mode": "adaptive"}, connect_timeout=5, read_timeout=30
            )
            kwargs: dict[str, Any] = {"config": config}
            if self.target.endpoint_url:
                kwargs["endpoint_url"] = self.target.endpoint_url
            self._clients[service] = self._boto_session().client(service, **kwargs)
        return self._clients[service]

    def caller(self) -> str:
        """Who is acting, for the ledger: the caller's ARN, else the local user name."""
        try:
            return str(self.client("sts").get_caller_identity()["Arn"])
        except Exception:  # noqa: BLE001 - identity is informative only; the OS user will do
            return f"user:{getpass.getuser()}"

    def account(self) -> str:
        with self.errors("reading the caller identity"):
            return str(self.client("sts").get_caller_identity()["Account"])

    @contextmanager
    def errors(self, doing: str) -> Iterator[None]:
        """Turn known botocore failures inside the block into one-line FeedbackctlErrors."""
        try:
            yield
        except FeedbackctlError:
            raise
        except Exception as exc:
            translated = translate(exc, doing, self.target)
            if translated is None:
                raise
            raise translated from exc


def resolve_target(
    stage_name: str | None,
    *,
    profile: str | None = None,
    region: str | None = None,
    endpoint_url: str | None = None,
) -> Target:
    """The target of a command from its options, feedbackctl.toml and the environment."""
    from feedbackctl.config import load_config

    stage = load_config().stage(stage_name)
    return Target(
        stage=stage.name,
        stack_name=stage.stack_name,
        # A stage names its region on purpose: only --region overrides it, never the environment.
        region=region or stage.region,
        profile=profile or os.environ.get("AWS_PROFILE") or None,
        endpoint_url=endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or stage.endpoint_url,
        production=stage.production,
    )
