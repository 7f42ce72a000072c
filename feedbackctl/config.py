"""Stage configuration: `feedbackctl.toml` read into frozen dataclasses, or a clear refusal.

Owns the file's schema (every key with its type, default and bounds, declared once on the
dataclasses below), finding the file (FEEDBACKCTL_CONFIG, else walking up from the working
directory) and choosing the stage. Every mistake in the file is a ConfigError that names the
file, the dotted key or the line, and what to write instead.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any

from feedbackctl.errors import ConfigError
from feedbackctl.functions import FUNCTION_NAMES

CONFIG_FILENAME = "feedbackctl.toml"
CONFIG_ENV = "FEEDBACKCTL_CONFIG"

# Functions API Gateway invokes; its integration timeout is 29 s, so theirs may not exceed it.
API_FUNCTIONS = ("create-feedback", "list-feedback", "get-analytics", "health")
API_INTEGRATION_TIMEOUT = 29

# (memory MB, timeout s) per function when the stage does not say otherwise.
FUNCTION_DEFAULTS: Mapping[str, tuple[int, int]] = types.MappingProxyType(
    {
        "create-feedback": (256, 10),
        "list-feedback": (256, 10),
        "get-analytics": (128, 5),
        "health": (256, 10),
        "stream-aggregator": (256, 30),
        "rollback-orchestrator": (256, 60),
    }
)

# The only values CloudWatch Logs accepts for RetentionInDays.
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")

Check = Callable[[Any], str | None]
# A smoke test: `POST /feedback 201 {"name": ...}` (method, path, expected status, optional body).
SMOKE_TEST = r"(GET|POST|OPTIONS|PUT|DELETE) /\S* [1-5][0-9][0-9]( \{.*\})?"


# --- value checks: each returns what is wrong, or None ------------------------------------


def _between(low: float, high: float) -> Check:
    def check(value: Any) -> str | None:
        return None if low <= value <= high else f"must be between {low} and {high}"

    return check


def _matches(pattern: str, what: str) -> Check:
    compiled = re.compile(pattern)

    def check(value: Any) -> str | None:
        return None if compiled.fullmatch(value) else f"must be {what}"

    return check


def _one_of(choices: tuple[Any, ...]) -> Check:
    def check(value: Any) -> str | None:
        listed = ", ".join(str(c) for c in choices)
        return None if value in choices else f"must be one of {listed}"

    return check


def _each(check: Check) -> Check:
    def check_all(values: Any) -> str | None:
        for value in values:
            problem = check(value)
            if problem:
                return f"entry {value!r} {problem}"
        return None

    return check_all


def _alarm_period(value: Any) -> str | None:
    # CloudWatch accepts 10 and 30 (high resolution) or any multiple of 60 up to a day.
    if value in (10, 30) or (value % 60 == 0 and 60 <= value <= 86400):
        return None
    return "must be 10, 30 or a multiple of 60 up to 86400"


def _spec(default: Any = MISSING, check: Check | None = None, doc: str = "") -> Any:
    """Declare a config key: its default (MISSING = required), a value check and a doc line."""
    return field(default=default, metadata={"check": check, "doc": doc})


_ORIGIN = r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?"
_KMS_ARN = r"arn:aws[a-z-]*:kms:([a-z0-9-]+):[0-9]{12}:key/[A-Za-z0-9-]+"
# A Secrets Manager secret's full ARN (as describe-secret prints it, random suffix included), or
# its name: the characters Secrets Manager allows in a name.
_SECRETSMANAGER_ARN = (
    r"arn:aws[a-z-]*:secretsmanager:([a-z0-9-]+):[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+"
)
_SECRETSMANAGER_ID = rf"{_SECRETSMANAGER_ARN}|[A-Za-z0-9/_+=.@-]{{1,512}}"
# What AWS::Chatbot::SlackChannelConfiguration accepts for SlackWorkspaceId and SlackChannelId.
_SLACK_WORKSPACE = r"[0-9A-Z]{1,255}"
_SLACK_CHANNEL = r"[A-Za-z0-9]{1,256}"


# --- the schema ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Throttling:
    """Stage-wide API Gateway throttling (method settings on `/*/*`)."""

    burst_limit: int = _spec(100, _between(1, 5000), "requests in a burst")
    rate_limit: float = _spec(50.0, _between(0.1, 10000), "steady requests per second")


@dataclass(frozen=True)
class UsagePlan:
    """Limits for external clients identified by the stack's API key."""

    burst_limit: int = _spec(20, _between(1, 5000), "requests in a burst per key")
    rate_limit: float = _spec(10.0, _between(0.1, 10000), "steady requests per second per key")
    quota_per_day: int = _spec(10000, _between(1, 10**9), "requests per day per key")


@dataclass(frozen=True)
class Alarms:
    """Alarm thresholds and evaluation windows."""

    period_seconds: int = _spec(300, _alarm_period, "evaluation period of every alarm")
    evaluation_periods: int = _spec(1, _between(1, 1440), "periods evaluated")
    datapoints_to_alarm: int = _spec(1, _between(1, 1440), "breaching periods that alarm")
    function_errors: int = _spec(5, _between(0, 10**6), "alarm when ERROR log lines exceed this")
    api_5xx_errors: int = _spec(5, _between(0, 10**6), "alarm when API 5XX responses exceed this")
    api_latency_p99_ms: int = _spec(3000, _between(1, 29000), "alarm when p99 latency exceeds")
    throttles: int = _spec(0, _between(0, 10**6), "alarm when a function's throttles exceed this")
    table_throttles: int = _spec(
        0, _between(0, 10**6), "alarm when a table's read or write throttle events exceed this"
    )
    cold_start_percent: int = _spec(
        25, _between(1, 100), "alarm when an API function's cold starts exceed this share (%)"
    )


@dataclass(frozen=True)
class ReleaseSettings:
    """How a release is judged: the verdict rules and the windows (docs/release.md)."""

    min_invocations: int = _spec(20, _between(1, 10**6), "new-version invocations before judging")
    max_error_rate_increase: float = _spec(
        0.05, _between(0, 1), "error-rate excess over the stable version that fails a check"
    )
    max_p99_ratio: float = _spec(2.0, _between(1, 100), "p99 duration ratio that fails a check")
    p99_floor_ms: int = _spec(100, _between(0, 900000), "p99 below this never fails a check")
    p99_min_invocations: int = _spec(
        200, _between(1, 10**6), "invocations of the new version before its p99 is compared"
    )
    failed_checks: int = _spec(2, _between(1, 100), "consecutive failed checks that roll back")
    inconclusive_extensions: int = _spec(
        2, _between(0, 100), "extra windows a step holds when it saw too little traffic"
    )
    on_inconclusive: str = _spec(
        "promote", _one_of(("promote", "rollback")), "what ends a release that stays inconclusive"
    )
    metric_delay_seconds: int = _spec(
        60, _between(0, 3600), "how late AWS/Lambda datapoints arrive (window padding)"
    )
    smoke_tests: tuple[str, ...] = _spec(
        (),
        _each(_matches(SMOKE_TEST, "METHOD /path STATUS [JSON body]")),
        "requests run against the new version before any traffic moves",
    )


@dataclass(frozen=True)
class StreamSettings:
    """The feedback stream → aggregator event-source mapping."""

    batching_window_seconds: int = _spec(1, _between(0, 300), "MaximumBatchingWindowInSeconds")
    max_retry_attempts: int = _spec(3, _between(0, 10000), "MaximumRetryAttempts")
    max_record_age_seconds: int = _spec(3600, _between(60, 604800), "MaximumRecordAgeInSeconds")


@dataclass(frozen=True)
class FunctionSettings:
    """Per-function sizing; defaults come from FUNCTION_DEFAULTS."""

    memory: int = _spec(MISSING, _between(128, 10240), "MemorySize in MB")
    timeout: int = _spec(MISSING, _between(1, 900), "Timeout in seconds")
    reserved_concurrency: int | None = _spec(None, _between(1, 10000), "reserved executions")
    error_threshold: int | None = _spec(None, _between(0, 10**6), "replaces alarms.function_errors")


@dataclass(frozen=True)
class StageConfig:
    """Everything the templates and commands need to know about one stage."""

    name: str
    source: Path
    region: str = _spec(check=_matches(r"[a-z]{2}(-[a-z]+)+-[0-9]", "an AWS region like eu-west-1"))
    stack_name: str = _spec(
        check=_matches(r"[a-z][a-z0-9-]{0,38}[a-z0-9]", "2-40 lowercase letters, digits, hyphens")
    )
    production: bool = _spec(False, doc="commands ask for explicit confirmation")
    log_level: str = _spec("INFO", _one_of(LOG_LEVELS), "LOG_LEVEL of every function")
    log_retention_days: int = _spec(30, _one_of(LOG_RETENTION_DAYS), "log groups and access logs")
    feedback_retention_days: int = _spec(365, _between(1, 3650), "RETENTION_DAYS (item TTL)")
    log_archive_days: int = _spec(
        365, _between(1, 3650), "days the compressed log archive in S3 keeps each object"
    )
    backup_retention_days: int = _spec(
        35, _between(7, 36500), "days AWS Backup keeps each weekly backup of the tables"
    )
    cors_origins: tuple[str, ...] = _spec((), _each(_matches(_ORIGIN, "scheme://host[:port]")))
    api_key_required: bool = _spec(False, doc="feedback and analytics routes require the API key")
    kms_key_arn: str | None = _spec(None, _matches(_KMS_ARN, "a KMS key ARN"), "CMK for all data")
    alarm_email: str | None = _spec(
        None, _matches(r"[^@\s]+@[^@\s]+\.[^@\s]+", "an email address"), "notifications subscriber"
    )
    chat_webhook_secret: str | None = _spec(
        None,
        _matches(_SECRETSMANAGER_ID, "a Secrets Manager secret's name or full ARN"),
        "secret holding the chat's incoming-webhook URL: the chat notifier posts there",
    )
    chatbot_slack_workspace_id: str | None = _spec(
        None,
        _matches(_SLACK_WORKSPACE, "a Slack workspace ID (capital letters and digits)"),
        "AWS Chatbot: the Slack workspace the notifications go to",
    )
    chatbot_slack_channel_id: str | None = _spec(
        None,
        _matches(_SLACK_CHANNEL, "a Slack channel ID (letters and digits)"),
        "AWS Chatbot: the Slack channel the notifications go to",
    )
    endpoint_url: str | None = _spec(None, _matches(r"https?://\S+", "an http(s) URL"))
    api_url: str | None = _spec(None, _matches(r"https?://\S+", "an http(s) URL"))
    # The stage stacks no longer declare the account setting (one per account and region):
    # this now says whether `feedbackctl setup-account` may own it in this stage's account.
    manage_api_gateway_account: bool = _spec(
        True, doc="`setup-account` may own the account's API Gateway log role"
    )
    throttling: Throttling = field(default_factory=Throttling)
    usage_plan: UsagePlan = field(default_factory=UsagePlan)
    alarms: Alarms = field(default_factory=Alarms)
    release: ReleaseSettings = field(default_factory=ReleaseSettings)
    stream: StreamSettings = field(default_factory=StreamSettings)
    functions: Mapping[str, FunctionSettings] = field(default_factory=dict)

    def function(self, seed_name: str) -> FunctionSettings:
        return self.functions[seed_name]

    def error_threshold(self, seed_name: str) -> int:
        override = self.functions[seed_name].error_threshold
        return self.alarms.function_errors if override is None else override


@dataclass(frozen=True)
class ProjectConfig:
    """The whole file: where it is, its stages and the stage used when none is named."""

    path: Path
    stages: Mapping[str, StageConfig]
    default_stage: str | None = None

    @property
    def stage_names(self) -> list[str]:
        return sorted(self.stages)

    def stage(self, name: str | None = None) -> StageConfig:
        """The named stage, or the default one; ConfigError when neither resolves."""
        shown = _display(self.path)
        listed = ", ".join(self.stage_names)
        if name is None:
            if self.default_stage is None:
                raise ConfigError(
                    f"no stage given and {shown} sets no [project] default_stage",
                    hint=f"pass --stage with one of: {listed}",
                )
            name = self.default_stage
        if name not in self.stages:
            raise ConfigError(
                f"{shown}: unknown stage {name!r}",
                hint=f"pick one of: {listed}; or add [stages.{name}]",
            )
        return self.stages[name]


# --- loading ------------------------------------------------------------------------------


def find_config(start: Path | None = None) -> Path:
    """FEEDBACKCTL_CONFIG when set, else the nearest feedbackctl.toml at or above `start`."""
    env = os.environ.get(CONFIG_ENV)
    if env:
        path = Path(env)
        if not path.is_file():
            raise ConfigError(
                f"{CONFIG_ENV} points at {env}, which is not a file",
                hint=f"fix or unset {CONFIG_ENV}",
            )
        return path
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        candidate = directory / CONFIG_FILENAME
        if candidate.is_file():
            return candidate
    raise ConfigError(
        f"no {CONFIG_FILENAME} in {here} or any parent directory",
        hint=f"run from the project root or set {CONFIG_ENV}",
    )


def load_config(path: Path | None = None) -> ProjectConfig:
    """Read and check the whole file; every stage is validated, not only the one used."""
    path = path or find_config()
    shown = _display(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {shown}: {exc}", hint="check the file") from exc
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _syntax_error(shown, exc) from exc
    return _parse_project(raw, path)


def _syntax_error(shown: str, exc: tomllib.TOMLDecodeError) -> ConfigError:
    message = str(exc)
    found = re.search(r"\(at line (\d+), column (\d+)\)", message)
    problem = message[: found.start()].strip() if found else message
    where = f"{shown}:{found.group(1)}" if found else shown
    column = f", column {found.group(2)}" if found else ""
    return ConfigError(
        f"{where}: malformed TOML{column}: {problem}", hint="fix the syntax at that line"
    )


def _parse_project(raw: dict[str, Any], path: Path) -> ProjectConfig:
    shown = _display(path)
    _reject_unknown(shown, raw, ("project", "stages"), "")
    project = _table(shown, raw.get("project", {}), "project")
    _reject_unknown(shown, project, ("default_stage",), "project")
    stages_raw = _table(shown, raw.get("stages"), "stages")
    if not stages_raw:
        raise ConfigError(f"{shown}: no stages defined", hint="add a [stages.dev] table")
    stages: dict[str, StageConfig] = {}
    for name, table in stages_raw.items():
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,31}", name):
            raise ConfigError(
                f"{shown}: stage name {name!r} is not allowed",
                hint="use lowercase letters, digits and underscores, starting with a letter",
            )
        stages[name] = _parse_stage(shown, path, name, _table(shown, table, f"stages.{name}"))
    default = project.get("default_stage")
    if default is not None:
        if not isinstance(default, str):
            raise _type_error(shown, "project.default_stage", default, str, "dev")
        if default not in stages:
            raise ConfigError(
                f"{shown}: project.default_stage names {default!r}, which is not a stage",
                hint=f"use one of: {', '.join(sorted(stages))}",
            )
    return ProjectConfig(path=path, stages=types.MappingProxyType(stages), default_stage=default)


def _parse_stage(shown: str, path: Path, name: str, table: dict[str, Any]) -> StageConfig:
    prefix = f"stages.{name}"
    table = dict(table)
    functions_raw = _table(shown, table.pop("functions", {}), f"{prefix}.functions")
    values = _build_values(shown, StageConfig, table, prefix, skip=("name", "source", "functions"))
    stage = StageConfig(
        name=name,
        source=path,
        functions=_parse_functions(shown, functions_raw, f"{prefix}.functions"),
        **values,
    )
    _cross_check(shown, stage, prefix)
    return stage


def _parse_functions(
    shown: str, raw: dict[str, Any], prefix: str
) -> Mapping[str, FunctionSettings]:
    _reject_unknown(shown, raw, FUNCTION_NAMES, prefix)
    result: dict[str, FunctionSettings] = {}
    for seed in FUNCTION_NAMES:
        memory, timeout = FUNCTION_DEFAULTS[seed]
        table = {"memory": memory, "timeout": timeout}
        table.update(_table(shown, raw.get(seed, {}), f"{prefix}.{seed}"))
        result[seed] = FunctionSettings(
            **_build_values(shown, FunctionSettings, table, f"{prefix}.{seed}")
        )
    return types.MappingProxyType(result)


def _cross_check(shown: str, stage: StageConfig, prefix: str) -> None:
    """Rules that involve more than one key."""
    alarms = stage.alarms
    if alarms.datapoints_to_alarm > alarms.evaluation_periods:
        raise ConfigError(
            f"{shown}: {prefix}.alarms.datapoints_to_alarm ({alarms.datapoints_to_alarm}) "
            f"exceeds evaluation_periods ({alarms.evaluation_periods})",
            hint="lower datapoints_to_alarm or raise evaluation_periods",
        )
    if alarms.period_seconds * alarms.evaluation_periods > 86400:
        raise ConfigError(
            f"{shown}: {prefix}.alarms: period_seconds × evaluation_periods exceeds one day",
            hint="CloudWatch evaluates at most 86400 seconds; shorten the window",
        )
    for seed in API_FUNCTIONS:
        if stage.functions[seed].timeout > API_INTEGRATION_TIMEOUT:
            raise ConfigError(
                f"{shown}: {prefix}.functions.{seed}.timeout must be at most "
                f"{API_INTEGRATION_TIMEOUT} (API Gateway stops waiting after 29 s)",
                hint=f"set timeout to {API_INTEGRATION_TIMEOUT} or less",
            )
    _check_chat(shown, stage, prefix)
    if stage.kms_key_arn:
        key_region = re.fullmatch(_KMS_ARN, stage.kms_key_arn)
        if key_region and key_region.group(1) != stage.region:
            raise ConfigError(
                f"{shown}: {prefix}.kms_key_arn is in {key_region.group(1)}, "
                f"the stage is in {stage.region}",
                hint="use a key (or a multi-Region replica) in the stage's region",
            )


def _check_chat(shown: str, stage: StageConfig, prefix: str) -> None:
    """AWS Chatbot needs both Slack IDs; the webhook's secret must be readable from the stage."""
    workspace, channel = stage.chatbot_slack_workspace_id, stage.chatbot_slack_channel_id
    if (workspace is None) != (channel is None):
        given, missing = (
            ("chatbot_slack_workspace_id", "chatbot_slack_channel_id")
            if channel is None
            else ("chatbot_slack_channel_id", "chatbot_slack_workspace_id")
        )
        raise ConfigError(
            f"{shown}: {prefix}.{given} is set but {prefix}.{missing} is not; "
            "AWS Chatbot needs both",
            hint=f"add {missing} (Slack: channel details) or remove {given}",
        )
    secret = stage.chat_webhook_secret
    arn = re.fullmatch(_SECRETSMANAGER_ARN, secret) if secret else None
    if arn and arn.group(1) != stage.region:
        raise ConfigError(
            f"{shown}: {prefix}.chat_webhook_secret is in {arn.group(1)}, "
            f"the stage is in {stage.region}",
            hint="create the secret (or a replica) in the stage's region and name that one",
        )


# --- generic table → dataclass values -----------------------------------------------------


def _build_values(
    shown: str, cls: type, table: dict[str, Any], prefix: str, skip: tuple[str, ...] = ()
) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    declared = [f for f in fields(cls) if f.name not in skip]
    _reject_unknown(shown, table, tuple(f.name for f in declared), prefix)
    values: dict[str, Any] = {}
    for spec in declared:
        dotted = f"{prefix}.{spec.name}"
        if spec.name not in table:
            if spec.default is MISSING and spec.default_factory is MISSING:
                raise ConfigError(
                    f"{shown}: {dotted} is required",
                    hint=f"add {spec.name} = ... to [{prefix}]",
                )
            continue
        values[spec.name] = _convert(shown, dotted, table[spec.name], hints[spec.name], spec)
    return values


def _convert(shown: str, dotted: str, value: Any, hint: Any, spec: Any) -> Any:
    kind = _unwrap_optional(hint)
    if isinstance(kind, type) and hasattr(kind, "__dataclass_fields__"):
        table = _table(shown, value, dotted)
        return kind(**_build_values(shown, kind, table, dotted))
    if kind is tuple or typing.get_origin(kind) is tuple:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise _type_error(shown, dotted, value, tuple, spec.default)
        value = tuple(value)
    elif not _is_instance(value, kind):
        raise _type_error(shown, dotted, value, kind, spec.default)
    elif kind is float:
        value = float(value)
    check: Check | None = spec.metadata.get("check")
    problem = check(value) if check else None
    if problem:
        raise ConfigError(f"{shown}: {dotted} {problem}", hint=f"fix {dotted} in {shown}")
    return value


def _unwrap_optional(hint: Any) -> Any:
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) in (types.UnionType, typing.Union) and len(args) == 1:
        return args[0]
    return hint


def _is_instance(value: Any, kind: Any) -> bool:
    # TOML booleans are Python bools, which are ints too; never accept one for the other.
    if kind is bool:
        return isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, kind)


_EXPECTED = {
    int: "an integer",
    float: "a number",
    bool: "true or false",
    str: "a string",
    tuple: "a list of strings",
    dict: "a table",
}


def _describe(value: Any) -> str:
    """What the file holds, in TOML's words: `a string ('5')`, `a boolean (true)`."""
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    shown = {
        str: f"a string ({value!r})",
        int: f"an integer ({value})",
        float: f"a number ({value})",
        list: "a list",
        dict: "a table",
    }
    return shown.get(type(value), f"a {type(value).__name__}")


def _example(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, tuple):
        return "[" + ", ".join(f'"{v}"' for v in value) + "]"
    return str(value)


def _type_error(shown: str, dotted: str, value: Any, kind: Any, default: Any) -> ConfigError:
    expected = _EXPECTED.get(kind, "a table")
    key = dotted.rsplit(".", 1)[-1]
    if default is MISSING or default is None or hasattr(default, "__dataclass_fields__"):
        hint = f"write {expected} for {key}"
    else:
        hint = f"write {expected}, e.g. {key} = {_example(default)}"
    return ConfigError(f"{shown}: {dotted} must be {expected}, got {_describe(value)}", hint=hint)


def _table(shown: str, value: Any, dotted: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(
            f"{shown}: {dotted} must be a table, got {_describe(value)}",
            hint=f"write it as a [{dotted}] section",
        )
    return value


def _reject_unknown(shown: str, table: dict[str, Any], known: tuple[str, ...], prefix: str) -> None:
    for key in table:
        if key in known:
            continue
        dotted = f"{prefix}.{key}" if prefix else key
        close = difflib.get_close_matches(key, known, n=1)
        guess = f"did you mean {close[0]!r}? " if close else ""
        raise ConfigError(
            f"{shown}: unknown key {dotted}",
            hint=f"{guess}known keys here: {', '.join(known)}",
        )


def _display(path: Path) -> str:
    """The path as the user would type it: relative to the working directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def config_keys() -> list[str]:
    """Every dotted key a stage accepts (under `stages.<name>.`), for docs and tests."""
    keys: list[str] = []

    def walk(cls: type, prefix: str) -> None:
        hints = typing.get_type_hints(cls)
        for spec in fields(cls):
            if spec.name in ("name", "source", "functions"):
                continue
            kind = _unwrap_optional(hints[spec.name])
            if isinstance(kind, type) and hasattr(kind, "__dataclass_fields__"):
                walk(kind, f"{prefix}{spec.name}.")
            else:
                keys.append(f"{prefix}{spec.name}")

    walk(StageConfig, "")
    keys += [f"functions.<name>.{spec.name}" for spec in fields(FunctionSettings)]
    return keys
