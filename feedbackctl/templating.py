"""Renders one stage's CloudFormation stack from the Jinja templates in `templates/`.

The adapter between a StageConfig and the templates: it builds the render context (functions,
API routes, the POST /feedback model, the bootstrap code, the dashboard), renders it the same
way every time (same input, same bytes), and turns a broken template into a ConfigError naming
the template file and line. It reads no AWS state and imports no linter.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import jinja2

from feedbackctl.config import API_FUNCTIONS, StageConfig
from feedbackctl.errors import ConfigError
from feedbackctl.functions import FUNCTION_NAMES
from lambdas.common.validation import feedback_json_schema

TEMPLATES_ENV = "FEEDBACKCTL_TEMPLATES_DIR"
# The templates live beside the package in the source tree; that holds for an editable install
# (the supported way to run feedbackctl), and FEEDBACKCTL_TEMPLATES_DIR overrides it.
DEFAULT_TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
STACK_TEMPLATE = "stack.yaml.j2"
API_TEMPLATE = "_api.yaml.j2"
BOOTSTRAP_TEMPLATE = "bootstrap.yaml.j2"
APIGATEWAY_ACCOUNT_TEMPLATE = "apigateway_account.yaml.j2"
BOOTSTRAP_FILE = "bootstrap_handler.py"
# The chat notifier's whole code, inlined by _notifier.yaml.j2 (docs/notifications.md).
CHAT_NOTIFIER_FILE = (
    Path(__file__).resolve().parents[1] / "lambdas" / "chat_notifier" / "handler.py"
)
ALIAS_NAME = "live"
ZIPFILE_LIMIT = 4096  # CloudFormation's limit for inline Lambda code

_DESCRIPTIONS = {
    "create-feedback": "POST /feedback: validates and stores one submission",
    "list-feedback": "GET /feedback: newest feedback first, one page per call",
    "get-analytics": "GET /analytics: rating and sentiment aggregates",
    "health": "GET /health: version and dependency reachability",
    "stream-aggregator": "Feedback table stream to analytics aggregates",
    "rollback-orchestrator": "Alarm to rollback of the failing function's live alias",
}


@dataclass(frozen=True)
class FunctionView:
    """One function as the templates see it."""

    seed: str
    logical: str
    name: str
    description: str
    memory: int
    timeout: int
    reserved_concurrency: int | None
    error_threshold: int
    api: bool


@dataclass(frozen=True)
class Route:
    """One proxied API method: the function behind it and how the edge guards it."""

    method: str
    path: str
    seed: str
    key_required: bool
    validated: bool

    @property
    def resource(self) -> str:
        return f"{self.path.strip('/').capitalize()}Resource"

    @property
    def logical(self) -> str:
        return f"{self.path.strip('/').capitalize()}{self.method.capitalize()}Method"


def logical_id(seed: str) -> str:
    """`create-feedback` → `CreateFeedback`: the prefix of a function's logical IDs."""
    return "".join(part.capitalize() for part in seed.split("-"))


def templates_dir() -> Path:
    override = os.environ.get(TEMPLATES_ENV)
    return Path(override) if override else DEFAULT_TEMPLATES


def render_stack(stage: StageConfig, *, templates: Path | None = None) -> str:
    """The stage's CloudFormation template as YAML text."""

    def render(env: jinja2.Environment, context: dict[str, Any]) -> str:
        api_definition = env.get_template(API_TEMPLATE).render(context)
        digest = hashlib.sha256(api_definition.encode()).hexdigest()[:12]
        return env.get_template(STACK_TEMPLATE).render(
            context,
            api_definition=api_definition,
            api_deployment=f"ApiDeployment{digest}",
            api_members=api_members(api_definition),
        )

    return _rendered(stage, templates, render)


# A top-level resource of a rendered partial: its logical id line, then its Type line.
_RESOURCE = re.compile(r"^  ([A-Za-z0-9]+):\n    Type: (AWS::[A-Za-z0-9]+::[A-Za-z0-9]+)$", re.M)


def api_members(api_definition: str) -> list[str]:
    """Every API Gateway resource of the rendered API definition except the RestApi itself.

    The deployment depends on all of them. Read from the rendered text rather than listed by
    hand, so a resource added to `_api.yaml.j2` later is waited for without anyone remembering
    to add it (the RestApi is already waited for through the deployment's `RestApiId`).
    """
    return [
        logical
        for logical, kind in _RESOURCE.findall(api_definition)
        if kind.startswith("AWS::ApiGateway::") and kind != "AWS::ApiGateway::RestApi"
    ]


def render_apigateway_account(*, templates: Path | None = None) -> str:
    """The stack of API Gateway's CloudWatch Logs role, one per account and region.

    It takes no stage: the setting belongs to the account and region, not to any stage, and
    the same bytes deploy in every region (names come from `${AWS::Region}`).
    """
    where = (templates or templates_dir()).resolve()
    try:
        return _environment(where).get_template(APIGATEWAY_ACCOUNT_TEMPLATE).render()
    except jinja2.TemplateNotFound as exc:
        raise ConfigError(
            f"no {APIGATEWAY_ACCOUNT_TEMPLATE} in {where}",
            hint=f"run from a source checkout or point {TEMPLATES_ENV} at the templates",
        ) from exc
    except jinja2.TemplateError as exc:
        raise ConfigError(
            f"{_template_frame(exc.__traceback__, where)}: template error: {exc.message or exc}",
            hint="fix the template at that line",
        ) from exc


def render_bootstrap(stage: StageConfig, *, templates: Path | None = None) -> str:
    """The stage's first, buckets-only stack (the full template goes through the code bucket).

    Its resources render from the same partial as the full stack's, byte for byte, so
    updating the bootstrap stack to the full template leaves them unchanged.
    """

    def render(env: jinja2.Environment, context: dict[str, Any]) -> str:
        return env.get_template(BOOTSTRAP_TEMPLATE).render(context)

    return _rendered(stage, templates, render)


def _rendered(
    stage: StageConfig,
    templates: Path | None,
    render: Callable[[jinja2.Environment, dict[str, Any]], str],
) -> str:
    where = (templates or templates_dir()).resolve()
    if not (where / STACK_TEMPLATE).is_file():
        raise ConfigError(
            f"no {STACK_TEMPLATE} in {where}",
            hint=f"run from a source checkout or point {TEMPLATES_ENV} at the templates",
        )
    try:
        return render(_environment(where), _context(stage, where))
    except jinja2.TemplateSyntaxError as exc:
        shown = _shown(exc.filename or exc.name or "?", where)
        raise ConfigError(
            f"{shown}:{exc.lineno}: template syntax error: {exc.message}",
            hint="fix the template at that line",
        ) from exc
    except jinja2.TemplateError as exc:
        located = _template_frame(exc.__traceback__, where)
        raise ConfigError(
            f"{located}: template error: {exc.message or exc}",
            hint="fix the template at that line",
        ) from exc


@functools.lru_cache(maxsize=4)
def _environment(where: Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(where)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # noqa: S701 - the output is YAML, not HTML
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["q"] = _quote
    env.filters["b"] = _boolean
    env.filters["json_block"] = _json_block
    return env


def _context(stage: StageConfig, where: Path) -> dict[str, Any]:
    functions = [_function_view(stage, seed) for seed in FUNCTION_NAMES]
    key = stage.api_key_required
    routes = [
        Route("POST", "/feedback", "create-feedback", key_required=key, validated=True),
        Route("GET", "/feedback", "list-feedback", key_required=key, validated=False),
        Route("GET", "/analytics", "get-analytics", key_required=key, validated=False),
        # Health probes (load balancers, uptime checks) carry no key.
        Route("GET", "/health", "health", key_required=False, validated=False),
    ]
    return {
        "stage": stage,
        "stack": stage.stack_name,
        "kms": stage.kms_key_arn,
        "alias": ALIAS_NAME,
        "functions": functions,
        "fn": {f.seed: f for f in functions},
        "routes": routes,
        "resources": sorted({r.path for r in routes}),
        "feedback_schema": feedback_json_schema(),
        "bootstrap_source": _bootstrap_source(where),
        "chat_notifier_source": _chat_notifier_source(stage),
        "access_log_format": json.dumps(_ACCESS_LOG_FORMAT, separators=(",", ":")),
        "dashboard_body": json.dumps(_dashboard(stage, functions), indent=2, sort_keys=True),
    }


def _function_view(stage: StageConfig, seed: str) -> FunctionView:
    settings = stage.function(seed)
    return FunctionView(
        seed=seed,
        logical=logical_id(seed),
        name=f"{stage.stack_name}-{seed}",
        description=_DESCRIPTIONS[seed],
        memory=settings.memory,
        timeout=settings.timeout,
        reserved_concurrency=settings.reserved_concurrency,
        error_threshold=stage.error_threshold(seed),
        api=seed in API_FUNCTIONS,
    )


def _bootstrap_source(where: Path) -> str:
    path = where / BOOTSTRAP_FILE
    try:
        source = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc}", hint="restore the file") from exc
    if len(source.encode()) > ZIPFILE_LIMIT:
        raise ConfigError(
            f"{path} is {len(source.encode())} bytes; inline Lambda code is limited to "
            f"{ZIPFILE_LIMIT}",
            hint="shorten the bootstrap handler",
        )
    return source


def _chat_notifier_source(stage: StageConfig) -> str:
    """The chat notifier's code when the stage has a webhook (read only then)."""
    if not stage.chat_webhook_secret:
        return ""
    try:
        return CHAT_NOTIFIER_FILE.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"cannot read {CHAT_NOTIFIER_FILE}: {exc}", hint="restore the file"
        ) from exc


# API Gateway access log line (JSON); $context variables are filled per request.
_ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId",
    "requestTime": "$context.requestTime",
    "httpMethod": "$context.httpMethod",
    "resourcePath": "$context.resourcePath",
    "status": "$context.status",
    "protocol": "$context.protocol",
    "responseLength": "$context.responseLength",
    "responseLatency": "$context.responseLatency",
    "integrationLatency": "$context.integrationLatency",
    "integrationStatus": "$context.integrationStatus",
    "errorMessage": "$context.error.message",
    "sourceIp": "$context.identity.sourceIp",
    "userAgent": "$context.identity.userAgent",
    "apiKeyId": "$context.identity.apiKeyId",
    "xrayTraceId": "$context.xrayTraceId",
}


def _dashboard(stage: StageConfig, functions: list[FunctionView]) -> dict[str, Any]:
    """The CloudWatch dashboard: API, each function, the stream and the failure queues."""
    stack = stage.stack_name
    api = ["ApiName", f"{stack}-api", "Stage", stage.name]
    # Standard-resolution metrics have one datapoint a minute; a shorter period shows gaps.
    period = max(60, stage.alarms.period_seconds)

    def widget(title: str, metrics: list[list[str]], stat: str = "Sum") -> dict[str, Any]:
        properties = {
            "title": title,
            "region": stage.region,
            "stat": stat,
            "period": period,
            "view": "timeSeries",
            "metrics": metrics,
        }
        return {"type": "metric", "width": 12, "height": 6, "properties": properties}

    widgets = [
        widget("API requests and errors", [["AWS/ApiGateway", m, *api] for m in _API_METRICS]),
        widget("API latency p99 (ms)", [["AWS/ApiGateway", "Latency", *api]], stat="p99"),
    ]
    for fn in functions:
        lambda_metrics = [["AWS/Lambda", m, "FunctionName", fn.name] for m in _LAMBDA_METRICS]
        logged = [f"Feedbackctl/{stack}", "LoggedErrors", "Function", fn.seed]
        widgets.append(widget(f"{fn.seed}: invocations, errors", [*lambda_metrics, logged]))
    aggregator = ["FunctionName", f"{stack}-stream-aggregator"]
    queues = [f"{stack}-stream-failures", f"{stack}-orchestrator-dlq"]
    widgets += [
        widget("Stream iterator age (ms)", [["AWS/Lambda", "IteratorAge", *aggregator]], "Maximum"),
        widget(
            "Unprocessed stream batches and alarm events",
            [["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", q] for q in queues],
            "Maximum",
        ),
    ]
    # Two columns, rows in declaration order.
    for index, item in enumerate(widgets):
        item["x"], item["y"] = 12 * (index % 2), 6 * (index // 2)
    return {"widgets": widgets}


_API_METRICS = ("Count", "4XXError", "5XXError")
_LAMBDA_METRICS = ("Invocations", "Errors", "Throttles")


# --- filters and error locations -----------------------------------------------------------


def _quote(value: Any) -> str:
    """A YAML double-quoted scalar (JSON string syntax is valid YAML)."""
    return json.dumps(str(value))


def _boolean(value: Any) -> str:
    return "true" if value else "false"


def _json_block(value: Any, indent: int) -> str:
    """JSON as a YAML flow value whose continuation lines sit `indent` spaces deep."""
    text = json.dumps(value, indent=2, sort_keys=True)
    return text.replace("\n", "\n" + " " * indent)


def _shown(filename: str, where: Path) -> str:
    try:
        return str(Path(filename).resolve().relative_to(where.parent))
    except ValueError:
        return filename


def _template_frame(tb: TracebackType | None, where: Path) -> str:
    """`templates/_api.yaml.j2:42` for the innermost template frame of a render error."""
    located = "templates"
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith(".j2"):
            located = f"{_shown(filename, where)}:{tb.tb_lineno}"
        tb = tb.tb_next
    return located
