"""Lambda verbs the CLI needs beyond the engine's port (feedbackctl.engine.aws_ports, which moves
aliases under a revision and invokes versions): read a function's configuration (None when
absent), update its code from the code bucket or its configuration, wait for an update to
finish, publish a version under a CodeSha256 precondition, create the `live` alias.

Over an injected `lambda` client; names are physical function names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from feedbackctl.aws import is_not_found
from feedbackctl.aws.stacks import Waiter, poll
from feedbackctl.engine.model import ALIAS_NAME


def configuration(client: Any, name: str, qualifier: str | None = None) -> dict[str, Any] | None:
    """GetFunctionConfiguration of `$LATEST` or of `qualifier`; None when there is none."""
    kwargs = {"FunctionName": name} | ({"Qualifier": qualifier} if qualifier else {})
    try:
        config: dict[str, Any] = client.get_function_configuration(**kwargs)
    except Exception as exc:
        if is_not_found(exc):
            return None
        raise
    return config


def update_code(client: Any, name: str, bucket: str, key: str) -> None:
    """Point `$LATEST` at a zip in the code bucket."""
    client.update_function_code(FunctionName=name, S3Bucket=bucket, S3Key=key)


def update_configuration(client: Any, name: str, settings: dict[str, Any]) -> None:
    """UpdateFunctionConfiguration of `$LATEST` with `settings` (Environment, Timeout ...)."""
    client.update_function_configuration(FunctionName=name, **settings)


def wait_updated(client: Any, name: str, waiter: Waiter) -> None:
    """Until `$LATEST` has finished its last update (LastUpdateStatus no longer InProgress):
    publishing during an update fails with ResourceConflictException."""
    poll(
        lambda: client.get_function_configuration(FunctionName=name),
        lambda r: r.get("LastUpdateStatus", "Successful") != "InProgress",
        waiter,
        f"{name} to finish updating",
    )


@dataclass(frozen=True)
class Published:
    version: str
    code_sha256: str


def publish_version(client: Any, name: str, code_sha256: str, description: str) -> Published:
    """Publish `$LATEST` as a version only if its code is `code_sha256` (Lambda refuses with
    PreconditionFailedException otherwise)."""
    published = client.publish_version(
        FunctionName=name, CodeSha256=code_sha256, Description=description[:256]
    )
    return Published(str(published["Version"]), str(published.get("CodeSha256", "")))


def create_alias(client: Any, name: str, version: str) -> None:
    """Create the `live` alias on `version` (a function's first release)."""
    client.create_alias(FunctionName=name, Name=ALIAS_NAME, FunctionVersion=version)


@dataclass(frozen=True)
class Invocation:
    function_error: str  # "" when the handler returned normally
    payload: bytes


def invoke(client: Any, target: str, payload: bytes) -> Invocation:
    """A synchronous invocation of `target` (`name`, `name:alias` or `name:version`)."""
    result = client.invoke(FunctionName=target, Payload=payload)
    return Invocation(str(result.get("FunctionError") or ""), result["Payload"].read())
