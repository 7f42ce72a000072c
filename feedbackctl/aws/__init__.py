"""The CLI side's one AWS boundary. This module: sessions and clients from --stage/--profile/
--region/--endpoint-url (checked first), the caller's identity, the partition of a region, AWS
errors classified by error code (`error_code`, `is_not_found`, `is_absent_object`; botocore's
`ClientError` and `BotoCoreError` re-exported for `except` clauses), and botocore failures
turned into one-line FeedbackctlErrors (what we were doing, what AWS said, what to try).

The package's other modules are the domain verbs, each over a client it is handed: `stacks`
(change sets, stack state), `functions` (publish a version, update code and configuration),
`objects` (S3: upload by hash, list, delete, empty a bucket), `tables`, `logs`, `alarms`,
`topics`, `apigateway`, `identity`, `cdn`. The engine's own ports (feedbackctl.engine.aws_ports:
aliases under a revision, health invokes) ship in the orchestrator's zip. docs/aws-errors.md
cites the AWS behaviour behind each classification; tests/unit/test_layering.py keeps boto3
imports and raw client calls out of everything else.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from feedbackctl.errors import FeedbackctlError, UsageError
from feedbackctl.naming import StackNames

if TYPE_CHECKING:
    # Imported lazily at run time (module __getattr__ below): importing this module must not
    # load botocore, so `--help` and the commands that never call AWS stay fast.
    # The `as` form is mypy's explicit re-export (strict mode exports no plain imports).
    from botocore.exceptions import BotoCoreError as BotoCoreError
    from botocore.exceptions import ClientError as ClientError

    from feedbackctl.config import StageConfig

# botocore's exception classes other modules catch, re-exported so only this module names
# botocore: ClientError is "AWS answered with an error code" (classify it with error_code and
# is_not_found), BotoCoreError "the SDK failed without an answer" (connection, credentials).
_REEXPORTED = {"ClientError", "BotoCoreError"}


def __getattr__(name: str) -> Any:
    if name in _REEXPORTED:
        from botocore import exceptions

        return getattr(exceptions, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_EXPIRED = {"ExpiredToken", "ExpiredTokenException", "RequestExpired", "TokenRefreshRequired"}
_DENIED = {
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "UnrecognizedClientException",
}

# Error codes meaning "no such resource" (docs/aws-errors.md cites each service's API reference).
# Lambda, DynamoDB and CloudWatch Logs answer ResourceNotFoundException; S3 answers
# NoSuchKey/NoSuchBucket with a body, and on HEAD (no body) botocore sets the code to the HTTP
# status, "404" (some S3-compatible endpoints send "NotFound").
_NOT_FOUND = {"ResourceNotFoundException", "NoSuchKey", "NoSuchBucket"}
_S3_HEAD = {"HeadObject", "HeadBucket"}
_HEAD_NOT_FOUND = {"404", "NotFound"}

LOCAL_ENDPOINT_EXAMPLE = "http://127.0.0.1:4566"

# Used only when botocore's partition data is unavailable or does not know the region yet; the
# longer prefixes come first (us-isob- before us-iso-). Source: the partitions listed in
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html
_PARTITION_PREFIXES = (
    ("cn-", "aws-cn"),
    ("us-gov-", "aws-us-gov"),
    ("us-isob-", "aws-iso-b"),
    ("us-iso-", "aws-iso"),
)


@lru_cache(maxsize=1)
def _endpoint_resolver() -> Any:
    # botocore's own endpoint data, read directly: a boto3 Session would read the user's AWS
    # config (and fail on a missing AWS_PROFILE) just to answer a question about a region.
    from botocore.loaders import create_loader
    from botocore.regions import EndpointResolver

    return EndpointResolver(create_loader().load_data("endpoints"))


def known_partition(region: str) -> str | None:
    """The partition botocore's data gives `region` (its region lists and patterns), or None."""
    from botocore.exceptions import UnknownRegionError

    try:
        return str(_endpoint_resolver().get_partition_for_region(region))
    except UnknownRegionError:
        return None


def partition(region: str) -> str:
    """The ARN partition of `region`: aws, aws-cn, aws-us-gov, aws-iso, aws-iso-b, ...

    botocore's partition data first (it knows every partition it ships endpoints for), then
    the documented region prefixes, then `aws`. naming.py builds ARNs from the value this
    returns, so it stays free of botocore (and ships in the orchestrator's zip).
    """
    try:
        found = known_partition(region)
    except ImportError:  # pragma: no cover - botocore ships with the CLI
        found = None
    if found:
        return found
    return next((p for prefix, p in _PARTITION_PREFIXES if region.startswith(prefix)), "aws")


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ClientError ("" for anything else)."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return ""
    return str((response.get("Error") or {}).get("Code", ""))


def _error_message(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return ""
    return str((response.get("Error") or {}).get("Message", ""))


def is_not_found(exc: BaseException, *, stack: str | None = None) -> bool:
    """True when AWS said the resource does not exist, judged by its error code.

    CloudFormation has no not-found code: DescribeStacks answers ValidationError, the code of
    every malformed request too (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeStacks.html),
    so a stack is missing only when the message is AWS's "Stack with id NAME does not exist"
    for exactly the `stack` asked about.
    """
    code = error_code(exc)
    if code in _NOT_FOUND:
        return True
    if code in _HEAD_NOT_FOUND:
        return getattr(exc, "operation_name", "") in _S3_HEAD
    if code == "ValidationError" and stack is not None:
        return _error_message(exc) == f"Stack with id {stack} does not exist"
    return False


def is_absent_object(exc: BaseException) -> bool:
    """True when HeadObject says the object is not there, or may not be: upload it.

    Without s3:ListBucket on the bucket, S3 answers a missing key with 403 instead of 404
    (https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html), so a 403 on HeadObject
    is read as "absent": the upload that follows either succeeds or fails with its own clear
    AccessDenied, and a deploy role without ListBucket still works.
    """
    if is_not_found(exc):
        return True
    return error_code(exc) == "403" and getattr(exc, "operation_name", "") == "HeadObject"


@dataclass(frozen=True)
class Target:
    """Where a command acts: the stage's stack in an account/region (or a local endpoint)."""

    stage: str
    stack_name: str
    region: str
    profile: str | None = None
    endpoint_url: str | None = None
    production: bool = False
    # Which setting named the profile, for the message when it does not exist.
    profile_source: str = field(default="--profile", compare=False)

    @property
    def names(self) -> StackNames:
        return StackNames(self.stack_name)

    @property
    def partition(self) -> str:
        """The ARN partition of the target's region (aws, aws-cn, aws-us-gov, ...)."""
        return partition(self.region)

    @property
    def local(self) -> bool:
        """True when the endpoint is on this machine (the local platform)."""
        from feedbackctl.local.record import is_local_endpoint

        return is_local_endpoint(self.endpoint_url)


def _one_line(text: object) -> str:
    # botocore's ParamValidationError (and a few others) span several lines.
    return " ".join(str(text).split())


def _hint_for_endpoint(target: Target) -> str:
    if target.endpoint_url:
        return f"is the local platform running at {target.endpoint_url}? `feedbackctl local up`"
    return f"check your network, and that {target.region} is the stage's region (--region)"


def _config_files() -> str:
    config = os.environ.get("AWS_CONFIG_FILE") or "~/.aws/config"
    credentials = os.environ.get("AWS_SHARED_CREDENTIALS_FILE") or "~/.aws/credentials"
    return f"{config} and {credentials}"


def _available_profiles() -> list[str]:
    """The profiles in the AWS config and credentials files (whatever AWS_PROFILE says)."""
    import botocore.session

    try:
        # A bare botocore session reads the files without resolving the selected profile.
        return sorted(botocore.session.Session().available_profiles)
    except Exception:  # noqa: BLE001 - the list is a hint; a broken file must not hide the error
        return []


def _profile_missing(exc: Any, doing: str, target: Target) -> FeedbackctlError:
    name = target.profile or str(getattr(exc, "kwargs", {}).get("profile", ""))
    profiles = _available_profiles()
    if profiles:
        names = ", ".join(profiles)
        hint = f"profiles in {_config_files()}: {names}; use one with --profile or AWS_PROFILE"
    else:
        hint = f"no profiles in {_config_files()}; create one with `aws configure --profile NAME`"
    source = target.profile_source
    return UsageError(
        f"AWS profile {name!r} (from {source}) does not exist", doing=doing, hint=hint
    )


def _sso_login(target: Target) -> str:
    flag = f" --profile {target.profile}" if target.profile else ""
    return f"run `aws sso login{flag}` and retry"


def _whose(target: Target) -> str:
    return f"AWS profile {target.profile!r}" if target.profile else "the default AWS profile"


def _sso_error(exc: BaseException, doing: str, target: Target) -> FeedbackctlError | None:
    from botocore import exceptions as bx

    if isinstance(exc, bx.UnauthorizedSSOTokenError | bx.TokenRetrievalError):
        message = f"the SSO session of {_whose(target)} has expired or is invalid"
        return FeedbackctlError(message, doing=doing, hint=_sso_login(target))
    if isinstance(exc, bx.SSOTokenLoadError):
        message = f"no cached SSO token for {_whose(target)}: it is not logged in"
        return FeedbackctlError(message, doing=doing, hint=_sso_login(target))
    return None


def _credentials_error(exc: BaseException, doing: str, target: Target) -> FeedbackctlError | None:
    from botocore import exceptions as bx

    whose = _whose(target)
    if isinstance(exc, bx.NoCredentialsError):
        if target.profile:
            hint = f"add its credentials in {_config_files()}, or use another --profile"
            return FeedbackctlError(f"{whose} has no credentials", doing=doing, hint=hint)
        return FeedbackctlError(
            "no AWS credentials found",
            doing=doing,
            hint="set AWS_PROFILE or pass --profile, or use --stage local for the local platform",
        )
    if isinstance(exc, bx.PartialCredentialsError):
        hint = (
            "set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or unset them and use --profile"
        )
        return FeedbackctlError(
            f"incomplete AWS credentials: {_one_line(exc)}", doing=doing, hint=hint
        )
    if isinstance(exc, bx.CredentialRetrievalError):
        hint = f"check how {whose} gets its credentials in {_config_files()}"
        return FeedbackctlError(
            f"cannot get AWS credentials: {_one_line(exc)}", doing=doing, hint=hint
        )
    return None


def _setup_error(exc: BaseException, doing: str, target: Target) -> FeedbackctlError | None:
    """Failures of the user's AWS setup: profile, config files, region."""
    from botocore import exceptions as bx

    if isinstance(exc, bx.ProfileNotFound):
        return _profile_missing(exc, doing, target)
    if isinstance(exc, bx.InvalidConfigError | bx.ConfigParseError):
        hint = f"fix the AWS configuration in {_config_files()}"
        return UsageError(f"invalid AWS configuration: {_one_line(exc)}", doing=doing, hint=hint)
    if isinstance(exc, bx.NoRegionError | bx.InvalidRegionError | bx.UnknownRegionError):
        hint = f"pass --region, or set region under [stages.{target.stage}] in feedbackctl.toml"
        return UsageError(f"no usable AWS region: {_one_line(exc)}", doing=doing, hint=hint)
    return None


def translate(exc: BaseException, doing: str, target: Target) -> FeedbackctlError | None:
    """The user-facing error for a botocore failure, or None when it is not one we know."""
    from botocore import exceptions as bx

    known = (
        _sso_error(exc, doing, target)
        or _credentials_error(exc, doing, target)
        or _setup_error(exc, doing, target)
    )
    if known is not None:
        return known
    # Timeouts and refused or dropped connections; ReadTimeoutError is an HTTPClientError.
    if isinstance(exc, bx.ConnectionError | bx.HTTPClientError):
        return FeedbackctlError(
            f"cannot reach AWS: {_one_line(exc)}", doing=doing, hint=_hint_for_endpoint(target)
        )
    if isinstance(exc, bx.ParamValidationError):
        hint = (
            "check the names and values given on the command line; "
            "if they are right, report this as a feedbackctl bug"
        )
        return FeedbackctlError(
            f"AWS would reject the request: {_one_line(exc)}", doing=doing, hint=hint
        )
    if isinstance(exc, bx.ClientError):
        return _client_error(exc, doing, target)
    return None


def _client_error(exc: Any, doing: str, target: Target) -> FeedbackctlError:
    code, message = error_code(exc), _one_line(_error_message(exc))
    said = f"AWS said: {code}: {message}"
    if code in _EXPIRED:
        hint = f"refresh your credentials (e.g. {_sso_login(target).removeprefix('run ')})"
        return FeedbackctlError(f"your AWS session has expired ({code})", doing=doing, hint=hint)
    if code in _DENIED:
        hint = "check the profile's IAM permissions for this stage"
        return FeedbackctlError(said, doing=doing, hint=hint)
    if is_not_found(exc, stack=target.stack_name):
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
            # boto3 reads the profile here: a missing one raises ProfileNotFound.
            with self.errors("connecting to AWS"):
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
            # Callers create clients outside their own `errors` blocks too; creation reads the
            # profile, region and endpoint, so its failures are translated here.
            with self.errors("connecting to AWS"):
                self._clients[service] = self._boto_session().client(service, **kwargs)
        return self._clients[service]

    def open(self) -> Aws:
        """Create the session and resolve its credentials now.

        boto3 resolves credentials on the first request, wherever that happens; resolving them
        here reports a missing profile, no credentials or an expired SSO token as one line
        before the command starts (an SSO profile's token is read and checked at this point).
        """
        from botocore.exceptions import NoCredentialsError

        session = self._boto_session()
        with self.errors("connecting to AWS"):
            credentials = session.get_credentials()
            if credentials is None:
                raise NoCredentialsError()
            credentials.get_frozen_credentials()
        return self

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


def check_endpoint(url: str, source: str) -> None:
    """Refuse an endpoint boto3 cannot use, naming the setting it came from."""
    from urllib.parse import urlsplit

    form = f"use http(s)://host[:port], e.g. {LOCAL_ENDPOINT_EXAMPLE} for the local platform"
    try:
        parts = urlsplit(url)
        valid = bool(parts.hostname) and (parts.port is None or parts.port > 0)
    except ValueError:  # a port that is not a number, or out of range
        valid = False
    if not valid:
        raise UsageError(f"{source} {url!r} is not an endpoint URL", hint=form)
    if parts.scheme not in {"http", "https"}:
        problem = f"{source} {url!r} is not an endpoint URL: the scheme must be http or https"
        raise UsageError(problem, hint=form)


def check_region(region: str, stage: StageConfig, *, from_option: bool) -> None:
    """Refuse a region that no AWS partition has (botocore's partition data decides)."""
    if known_partition(region) is not None:
        return
    if from_option:
        raise UsageError(
            f"--region {region!r} is not an AWS region",
            hint=f"stage {stage.name!r} is in {stage.region}; omit --region to use it",
        )
    raise UsageError(
        f"stage {stage.name!r} names region {region!r}, which is not an AWS region",
        hint=f'set region under [stages.{stage.name}] in {stage.source.name}, e.g. "us-east-1"',
    )


def _running_platform(stage: StageConfig) -> str | None:
    """A local stage's endpoint is where its running platform records it (`local up` may have
    been given other ports); refused when none runs, so a command never lands on whatever else
    holds the default port. Other stages keep their configured endpoint."""
    from feedbackctl.local import record

    if not record.is_local_endpoint(stage.endpoint_url):
        return stage.endpoint_url
    running = record.find(stage)
    if running is None:
        folder = record.state_dir(stage)
        raise FeedbackctlError(
            f"no local platform is running for stage {stage.name!r} (none recorded in {folder})",
            hint=f"start it with `feedbackctl local up --stage {stage.name}`, "
            "or name an endpoint with --endpoint-url",
        )
    return running.endpoint_url


def resolve_target(
    stage_name: str | None,
    *,
    profile: str | None = None,
    region: str | None = None,
    endpoint_url: str | None = None,
) -> Target:
    """The target of a command from its options, feedbackctl.toml and the environment.

    The endpoint and the region are checked here, so a typo is a usage error (exit 2) naming
    the setting that holds it, not a traceback from boto3 or a timeout against a region that
    does not exist.
    """
    from feedbackctl.config import load_config

    stage = load_config().stage(stage_name)
    # A stage names its region on purpose: only --region overrides it, never the environment.
    check_region(region or stage.region, stage, from_option=bool(region))
    env_endpoint = os.environ.get("AWS_ENDPOINT_URL")
    stage_endpoint = stage.endpoint_url
    if endpoint_url:
        check_endpoint(endpoint_url, "--endpoint-url")
    elif env_endpoint:
        check_endpoint(env_endpoint, "AWS_ENDPOINT_URL")
    elif stage_endpoint:
        check_endpoint(stage_endpoint, f"endpoint_url of stage {stage.name!r}")
        stage_endpoint = _running_platform(stage)
    return Target(
        stage=stage.name,
        stack_name=stage.stack_name,
        region=region or stage.region,
        profile=profile or os.environ.get("AWS_PROFILE") or None,
        endpoint_url=endpoint_url or env_endpoint or stage_endpoint,
        production=stage.production,
        profile_source="--profile" if profile else "AWS_PROFILE",
    )
