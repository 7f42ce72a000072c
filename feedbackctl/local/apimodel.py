"""The local gateway's reading of a rendered stack's API definition: routes and the functions
behind them, request models and validators, MOCK (CORS preflight) answers, gateway responses,
the stage's method throttling and its usage plans and keys.

Pure: it takes the parsed template (feedbackctl.cfnyaml) and resolves the few intrinsics the API
resources use (Ref, GetAtt, Sub); a resource it cannot read is a FeedbackctlError naming it.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from feedbackctl.errors import FeedbackctlError

ROOT = "/"
QUOTA_PERIOD_SECONDS = {"DAY": 86_400, "WEEK": 7 * 86_400, "MONTH": 30 * 86_400}

# Gateway responses API Gateway answers itself: default status, message, x-amzn-ErrorType.
DEFAULT_RESPONSES: Mapping[str, tuple[int, str, str]] = {
    "MISSING_AUTHENTICATION_TOKEN": (
        403,
        "Missing Authentication Token",
        "MissingAuthenticationTokenException",
    ),
    "INVALID_API_KEY": (403, "Forbidden", "ForbiddenException"),
    "THROTTLED": (429, "Too Many Requests", "TooManyRequestsException"),
    "QUOTA_EXCEEDED": (429, "Limit Exceeded", "LimitExceededException"),
    "BAD_REQUEST_BODY": (400, "Invalid request body", "BadRequestException"),
    "BAD_REQUEST_PARAMETERS": (400, "Missing required request parameters", "BadRequestException"),
    "REQUEST_TOO_LARGE": (413, "Request Too Long", ""),
    "INTEGRATION_TIMEOUT": (504, "Endpoint request timed out", ""),
    "INTEGRATION_FAILURE": (504, "Internal server error", ""),
    "API_CONFIGURATION_ERROR": (500, "Internal server error", "InternalServerErrorException"),
    # A function error or a malformed proxy response has no type of its own: it is a 502
    # answered through DEFAULT_5XX.
    "DEFAULT_5XX": (502, "Internal server error", "InternalServerErrorException"),
    "DEFAULT_4XX": (400, "Bad Request", ""),
}

_URI_FUNCTION = re.compile(r"/functions/(?P<function>.+)/invocations$")
_SUB_REF = re.compile(r"\$\{(?P<logical>[A-Za-z0-9]+)(?:\.Arn)?\}")
_LAMBDA_ARN = re.compile(
    r"arn:[^:]+:lambda:[^:]*:[^:]*:function:(?P<name>[^:]+)(?::(?P<qualifier>[^:]+))?"
)
_ORIGIN_TEST = re.compile(r'"\$!?\{?origin\}?"\s*==\s*"(?P<origin>[^"]*)"')
_ORIGIN_OVERRIDE = "responseOverride.header.Access-Control-Allow-Origin"
_PARAMETER = re.compile(
    r"method\.request\.(?P<where>header|querystring|path|multivalueheader|multivaluequerystring)"
    r"\.(?P<name>.+)"
)


@dataclass(frozen=True)
class Throttle:
    """A token bucket: `rate_limit` requests per second, bursts of up to `burst_limit`."""

    rate_limit: float
    burst_limit: int


@dataclass(frozen=True)
class Quota:
    """A usage plan's request allowance per period (DAY, WEEK or MONTH)."""

    limit: int
    period: str = "DAY"
    offset: int = 0

    @property
    def period_seconds(self) -> int:
        return QUOTA_PERIOD_SECONDS[self.period]


@dataclass(frozen=True)
class UsagePlan:
    """A usage plan bound to the stage, with the logical ids of its API keys."""

    logical_id: str
    name: str
    throttle: Throttle | None
    quota: Quota | None
    key_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class ApiKey:
    """An API key resource; `value` only when the template states it (else AWS generates it)."""

    logical_id: str
    name: str
    enabled: bool = True
    value: str | None = None


@dataclass(frozen=True)
class HeaderMapping:
    """Response headers: static values, and headers copied from the request (`echo`)."""

    static: Mapping[str, str] = field(default_factory=dict)
    echo: Mapping[str, str] = field(default_factory=dict)  # response header → request header


@dataclass(frozen=True)
class Route:
    """An AWS_PROXY method: the function it invokes and how the edge guards it."""

    method: str
    path: str  # the resource path, e.g. "/feedback" or "/items/{id}"
    logical_id: str  # the AWS::ApiGateway::Method
    resource_id: str  # the AWS::ApiGateway::Resource ("" for the API's root)
    function_target: str  # "<function name>:<alias>", as Invoker.invoke takes it
    api_key_required: bool = False
    validate_body: bool = False
    validate_params: bool = False
    models: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # content type → schema
    required_query: tuple[str, ...] = ()
    required_headers: tuple[str, ...] = ()

    @property
    def model_schema(self) -> Mapping[str, Any] | None:
        return self.models.get("application/json") or self.models.get("$default")

    def model_for(self, content_type: str | None) -> Mapping[str, Any] | None:
        """The schema API Gateway validates a body of this Content-Type against, if any.

        No Content-Type means application/json; a type with no model of its own takes the
        `$default` model, and without one the body is not validated (as in API Gateway).
        """
        return self.models.get(media_type(content_type)) or self.models.get("$default")


@dataclass(frozen=True)
class MockResponse:
    """A MOCK method (the CORS preflights): answered by the gateway without a function."""

    method: str
    path: str
    logical_id: str
    resource_id: str
    status: int
    headers: HeaderMapping
    # Origins the response template echoes as Access-Control-Allow-Origin (its
    # `"$!origin" == "..."` tests); the template itself is not evaluated.
    allowed_origins: tuple[str, ...] = ()
    api_key_required: bool = False


@dataclass(frozen=True)
class GatewayResponse:
    """An AWS::ApiGateway::GatewayResponse: how one kind of gateway error is answered."""

    response_type: str
    status: int | None
    headers: HeaderMapping
    templates: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class MethodThrottle:
    """One stage MethodSettings entry with throttling; "*" matches any path or method."""

    path: str
    method: str
    throttle: Throttle


@dataclass(frozen=True)
class Match:
    """A request matched to a method, with its path parameters."""

    target: Route | MockResponse
    path_parameters: Mapping[str, str]


@dataclass(frozen=True)
class ApiModel:
    """One REST API and the stage the local gateway serves."""

    api_logical_id: str
    api_name: str
    stage_name: str
    routes: tuple[Route, ...]
    mocks: tuple[MockResponse, ...] = ()
    gateway_responses: Mapping[str, GatewayResponse] = field(default_factory=dict)
    method_throttles: tuple[MethodThrottle, ...] = ()
    usage_plans: Mapping[str, UsagePlan] = field(default_factory=dict)
    api_keys: Mapping[str, ApiKey] = field(default_factory=dict)
    stage_variables: Mapping[str, str] = field(default_factory=dict)
    # The site's CloudFront origin as the template spells it (`https://${Dist.DomainName}`);
    # locally the gateway serves the site, so it substitutes its own origin.
    site_origins: tuple[str, ...] = ()

    @classmethod
    def from_template(cls, template: Mapping[str, Any], *, stage: str | None = None) -> ApiModel:
        """Read the API from a parsed template; `stage` picks one when the API has several."""
        return _Reader(template).model(stage)

    def match(self, method: str, path: str) -> Match | None:
        """The method serving `method path` (a resource path: no stage, no query), if any."""
        exact = self._exact.get((method, path)) or self._exact.get(("ANY", path))
        if exact is not None:
            return Match(exact, {})
        parts = _segments(path)
        for pattern, target in self._patterns:
            if target.method not in (method, "ANY"):
                continue
            params = _match_segments(pattern, parts)
            if params is not None:
                return Match(target, params)
        return None

    def method_throttle(self, method: str, path: str) -> Throttle | None:
        """The stage throttle for one method: the most specific MethodSettings entry wins."""
        best: tuple[int, Throttle] | None = None
        for entry in self.method_throttles:
            if entry.path not in ("*", path) or entry.method not in ("*", method):
                continue
            rank = (entry.path != "*") * 2 + (entry.method != "*")
            if best is None or rank > best[0]:
                best = (rank, entry.throttle)
        return best[1] if best else None

    def usage_plan(self, logical_id: str) -> UsagePlan | None:
        return self.usage_plans.get(logical_id)

    def gateway_response(self, response_type: str) -> GatewayResponse:
        """The template's response for this type, else its DEFAULT_4XX/5XX, else API Gateway's."""
        own = self.gateway_responses.get(response_type)
        if own is not None:
            return own
        default_status = DEFAULT_RESPONSES.get(response_type, (500, "", ""))[0]
        family = "DEFAULT_5XX" if default_status >= 500 else "DEFAULT_4XX"
        fallback = self.gateway_responses.get(family)
        if fallback is None:
            return GatewayResponse(response_type, None, HeaderMapping())
        return replace(fallback, response_type=response_type)

    def with_site_origin(self, origin: str) -> ApiModel:
        """This model with the site's CloudFront origin replaced by `origin` everywhere."""
        if not self.site_origins:
            return self

        def swap(text: str) -> str:
            for placeholder in self.site_origins:
                text = text.replace(placeholder, origin)
            return text

        def swap_headers(headers: HeaderMapping) -> HeaderMapping:
            return replace(headers, static={k: swap(v) for k, v in headers.static.items()})

        mocks = tuple(
            replace(
                m,
                headers=swap_headers(m.headers),
                allowed_origins=tuple(dict.fromkeys(swap(o) for o in m.allowed_origins)),
            )
            for m in self.mocks
        )
        responses = {
            k: replace(r, headers=swap_headers(r.headers))
            for k, r in self.gateway_responses.items()
        }
        return replace(self, mocks=mocks, gateway_responses=responses, site_origins=())

    @functools.cached_property
    def _exact(self) -> dict[tuple[str, str], Route | MockResponse]:
        targets: list[Route | MockResponse] = [*self.routes, *self.mocks]
        return {(t.method, t.path): t for t in targets if "{" not in t.path}

    @functools.cached_property
    def _patterns(self) -> list[tuple[tuple[str, ...], Route | MockResponse]]:
        targets: list[Route | MockResponse] = [*self.routes, *self.mocks]
        patterns = [(_segments(t.path), t) for t in targets if "{" in t.path]
        # API Gateway prefers a literal part to a {param}, and a {param} to a greedy {param+}.
        patterns.sort(key=lambda p: [_segment_rank(s) for s in p[0]])
        return patterns


def media_type(content_type: str | None) -> str:
    """`application/json; charset=utf-8` → `application/json`; none means application/json."""
    return (content_type or "application/json").split(";", 1)[0].strip().lower()


def _segments(path: str) -> tuple[str, ...]:
    return tuple(part for part in path.split("/") if part)


def _segment_rank(segment: str) -> int:
    if segment.endswith("+}"):
        return 2
    return 1 if segment.startswith("{") else 0


def _match_segments(pattern: tuple[str, ...], parts: tuple[str, ...]) -> dict[str, str] | None:
    params: dict[str, str] = {}
    for index, segment in enumerate(pattern):
        if segment.startswith("{") and segment.endswith("+}"):
            if index >= len(parts):
                return None
            params[segment[1:-2]] = "/".join(parts[index:])
            return params
        if index >= len(parts):
            return None
        if segment.startswith("{") and segment.endswith("}"):
            params[segment[1:-1]] = parts[index]
        elif segment != parts[index]:
            return None
    return params if len(parts) == len(pattern) else None


def malformed(logical_id: str, problem: str) -> FeedbackctlError:
    """The error for a template resource the local gateway cannot read."""
    return FeedbackctlError(
        f"template resource {logical_id} is malformed: {problem}",
        doing="reading the API definition",
        hint="check the API resources in templates/_api.yaml.j2 and templates/_api_stage.yaml.j2, "
        "then run `feedbackctl validate --stage local`",
    )


def _ref(value: Any) -> str | None:
    if isinstance(value, dict) and len(value) == 1 and isinstance(value.get("Ref"), str):
        ref: str = value["Ref"]
        return ref
    return None


def _getatt(value: Any) -> tuple[str, str] | None:
    if isinstance(value, dict) and len(value) == 1:
        att = value.get("Fn::GetAtt")
        if isinstance(att, list) and len(att) == 2 and all(isinstance(a, str) for a in att):
            return att[0], att[1]
    return None


def _text(value: Any) -> str | None:
    """A plain string, or the text of a Fn::Sub (its `${...}` references left as they are)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1 and "Fn::Sub" in value:
        sub = value["Fn::Sub"]
        if isinstance(sub, list) and sub and isinstance(sub[0], str):
            return sub[0]
        if isinstance(sub, str):
            return sub
    return None


class _Reader:
    """Walks one template's resources; every helper names the resource it failed on."""

    def __init__(self, template: Mapping[str, Any]) -> None:
        resources = template.get("Resources") if isinstance(template, Mapping) else None
        if not isinstance(resources, dict):
            raise FeedbackctlError(
                "the template has no Resources section",
                doing="reading the API definition",
                hint="render it with `feedbackctl render --stage local`",
            )
        self.resources: dict[str, Any] = resources
        self.api = ""

    # --- generic access ---------------------------------------------------------------------

    def of_type(self, kind: str) -> list[str]:
        return [
            lid
            for lid, res in self.resources.items()
            if isinstance(res, dict) and res.get("Type") == kind
        ]

    def props(self, logical_id: str) -> dict[str, Any]:
        resource = self.resources.get(logical_id)
        if not isinstance(resource, dict):
            raise malformed(logical_id, "no such resource")
        props = resource.get("Properties", {})
        if not isinstance(props, dict):
            raise malformed(logical_id, "Properties is not a mapping")
        return props

    def of_api(self, kind: str) -> list[str]:
        """Resources of `kind` whose RestApiId is this API."""
        return [
            lid for lid in self.of_type(kind) if _ref(self.props(lid).get("RestApiId")) == self.api
        ]

    def string(self, logical_id: str, props: Mapping[str, Any], key: str) -> str:
        value = props.get(key)
        if not isinstance(value, str) or not value:
            raise malformed(logical_id, f"{key} must be a non-empty string")
        return value

    def boolean(self, logical_id: str, props: Mapping[str, Any], key: str) -> bool:
        value = props.get(key, False)
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if not isinstance(value, bool):
            raise malformed(logical_id, f"{key} must be true or false")
        return value

    def number(self, logical_id: str, value: Any, key: str) -> float:
        if isinstance(value, bool):
            raise malformed(logical_id, f"{key} must be a number")
        try:
            return float(value)
        except (TypeError, ValueError):
            raise malformed(logical_id, f"{key} must be a number") from None

    def integer(self, logical_id: str, value: Any, key: str) -> int:
        number = self.number(logical_id, value, key)
        if number != int(number):
            raise malformed(logical_id, f"{key} must be a whole number")
        return int(number)

    # --- the model --------------------------------------------------------------------------

    def model(self, stage: str | None) -> ApiModel:
        apis = self.of_type("AWS::ApiGateway::RestApi")
        if len(apis) != 1:
            raise FeedbackctlError(
                f"the template defines {len(apis)} REST APIs ({', '.join(apis) or 'none'}); "
                "the local gateway serves exactly one",
                doing="reading the API definition",
                hint="render the stack with `feedbackctl render --stage local`",
            )
        self.api = apis[0]
        api_name = self.props(self.api).get("Name")
        stage_id, stage_props = self.stage(stage)
        routes: list[Route] = []
        mocks: list[MockResponse] = []
        for lid in self.of_api("AWS::ApiGateway::Method"):
            target = self.method(lid)
            if isinstance(target, Route):
                routes.append(target)
            else:
                mocks.append(target)
        return ApiModel(
            api_logical_id=self.api,
            api_name=api_name if isinstance(api_name, str) else self.api,
            stage_name=self.string(stage_id, stage_props, "StageName"),
            routes=tuple(routes),
            mocks=tuple(mocks),
            gateway_responses=self.gateway_responses(),
            method_throttles=self.method_throttles(stage_id, stage_props),
            usage_plans=self.usage_plans(stage_id, stage_props),
            api_keys=self.api_keys(),
            stage_variables=self.stage_variables(stage_id, stage_props),
            site_origins=tuple(
                f"https://${{{lid}.DomainName}}"
                for lid in self.of_type("AWS::CloudFront::Distribution")
            ),
        )

    def stage(self, wanted: str | None) -> tuple[str, dict[str, Any]]:
        stages = {lid: self.props(lid) for lid in self.of_api("AWS::ApiGateway::Stage")}
        if wanted is not None:
            stages = {lid: p for lid, p in stages.items() if p.get("StageName") == wanted}
        if len(stages) != 1:
            names = ", ".join(str(p.get("StageName")) for p in stages.values()) or "none"
            raise FeedbackctlError(
                f"the API {self.api} has {len(stages)} matching stages ({names}); "
                "the local gateway serves exactly one",
                doing="reading the API definition",
                hint="name the stage to serve",
            )
        ((lid, props),) = stages.items()
        return lid, props

    def stage_variables(self, stage_id: str, props: Mapping[str, Any]) -> dict[str, str]:
        variables = props.get("Variables", {})
        if not isinstance(variables, dict) or not all(
            isinstance(v, str) for v in variables.values()
        ):
            raise malformed(stage_id, "Variables must map names to strings")
        return {str(k): v for k, v in variables.items()}

    # --- paths and methods ------------------------------------------------------------------

    def resource_path(self, owner: str, ref: Any, seen: tuple[str, ...] = ()) -> str:
        """The path of a ResourceId/ParentId value: the API root or a Resource, recursively."""
        if _getatt(ref) == (self.api, "RootResourceId"):
            return ROOT
        lid = _ref(ref)
        if lid is None or lid not in self.of_api("AWS::ApiGateway::Resource"):
            raise malformed(owner, f"refers to {ref!r}, which is not a resource of {self.api}")
        if lid in seen:
            raise malformed(lid, "its ParentId chain loops back to itself")
        props = self.props(lid)
        part = self.string(lid, props, "PathPart")
        parent = self.resource_path(lid, props.get("ParentId"), (*seen, lid))
        return f"{parent.rstrip('/')}/{part}"

    def method(self, lid: str) -> Route | MockResponse:
        props = self.props(lid)
        http_method = self.string(lid, props, "HttpMethod").upper()
        resource_ref = props.get("ResourceId")
        path = self.resource_path(lid, resource_ref)
        resource_id = _ref(resource_ref) or ""
        integration = props.get("Integration")
        if not isinstance(integration, dict):
            raise malformed(lid, "Integration must be a mapping")
        kind = integration.get("Type")
        key_required = self.boolean(lid, props, "ApiKeyRequired")
        if kind == "MOCK":
            status, headers, origins = self.mock_response(lid, integration)
            return MockResponse(
                http_method, path, lid, resource_id, status, headers, origins, key_required
            )
        if kind != "AWS_PROXY":
            raise malformed(
                lid, f"integration type {kind!r} is not served locally (AWS_PROXY and MOCK are)"
            )
        body, params = self.validator(lid, props.get("RequestValidatorId"))
        required = self.required_parameters(lid, props.get("RequestParameters", {}))
        return Route(
            method=http_method,
            path=path,
            logical_id=lid,
            resource_id=resource_id,
            function_target=self.function_target(lid, integration.get("Uri")),
            api_key_required=key_required,
            validate_body=body,
            validate_params=params,
            models=self.request_models(lid, props.get("RequestModels", {})),
            required_query=tuple(n for w, n in required if w == "querystring"),
            required_headers=tuple(n for w, n in required if w == "header"),
        )

    def validator(self, owner: str, ref: Any) -> tuple[bool, bool]:
        if ref is None:
            return False, False
        lid = _ref(ref)
        if lid is None or lid not in self.of_type("AWS::ApiGateway::RequestValidator"):
            raise malformed(owner, f"RequestValidatorId {ref!r} is not a RequestValidator")
        props = self.props(lid)
        return (
            self.boolean(lid, props, "ValidateRequestBody"),
            self.boolean(lid, props, "ValidateRequestParameters"),
        )

    def request_models(self, owner: str, models: Any) -> dict[str, Mapping[str, Any]]:
        if not isinstance(models, dict):
            raise malformed(owner, "RequestModels must map content types to models")
        by_name = {
            self.props(lid).get("Name"): lid for lid in self.of_api("AWS::ApiGateway::Model")
        }
        schemas: dict[str, Mapping[str, Any]] = {}
        for content_type, ref in models.items():
            lid = _ref(ref) or (by_name.get(ref) if isinstance(ref, str) else None)
            if lid is None or lid not in self.of_type("AWS::ApiGateway::Model"):
                raise malformed(owner, f"RequestModels names {ref!r}, which is not a Model")
            schemas[str(content_type).lower()] = self.schema(lid)
        return schemas

    def schema(self, lid: str) -> Mapping[str, Any]:
        from jsonschema import Draft4Validator
        from jsonschema.exceptions import SchemaError

        schema = self.props(lid).get("Schema")
        if isinstance(schema, str):
            try:
                schema = json.loads(schema)
            except ValueError as exc:
                raise malformed(lid, f"Schema is not valid JSON ({exc})") from None
        if not isinstance(schema, dict):
            raise malformed(lid, "Schema must be a JSON Schema object")
        try:
            Draft4Validator.check_schema(schema)
        except SchemaError as exc:
            raise malformed(
                lid, f"Schema is not a valid draft 4 JSON Schema ({exc.message})"
            ) from None
        return schema

    def required_parameters(self, owner: str, params: Any) -> list[tuple[str, str]]:
        if not isinstance(params, dict):
            raise malformed(owner, "RequestParameters must map parameters to true or false")
        required: list[tuple[str, str]] = []
        for key, value in params.items():
            found = _PARAMETER.fullmatch(str(key))
            if found is None:
                raise malformed(owner, f"RequestParameters has an unknown parameter {key!r}")
            if self.boolean(owner, {key: value}, key):
                where = found["where"].removeprefix("multivalue")
                required.append((where, found["name"]))
        return required

    # --- integrations -----------------------------------------------------------------------

    def function_target(self, owner: str, uri: Any) -> str:
        """`name:alias` from an AWS_PROXY Uri naming an alias (or a function) of the template."""
        text = _text(uri)
        found = _URI_FUNCTION.search(text or "")
        if found is None:
            raise malformed(owner, "Integration.Uri names no Lambda function")
        function = found["function"]
        ref = _SUB_REF.fullmatch(function)
        if ref is not None:
            return self.function_of(owner, ref["logical"])
        arn = _LAMBDA_ARN.fullmatch(function)
        if arn is not None:
            return f"{arn['name']}:{arn['qualifier']}" if arn["qualifier"] else arn["name"]
        raise malformed(owner, f"Integration.Uri names {function!r}, not a function or alias")

    def function_of(self, owner: str, lid: str) -> str:
        kind = (
            self.resources.get(lid, {}).get("Type")
            if isinstance(self.resources.get(lid), dict)
            else None
        )
        if kind == "AWS::Lambda::Alias":
            props = self.props(lid)
            name = self.string(lid, props, "Name")
            return f"{self.function_name(lid, props.get('FunctionName'))}:{name}"
        if kind == "AWS::Lambda::Function":
            return self.function_name(owner, {"Ref": lid})
        raise malformed(owner, f"its integration refers to {lid}, which is not a function or alias")

    def function_name(self, owner: str, value: Any) -> str:
        """The physical name behind a FunctionName value (a name, an ARN, or a Ref)."""
        if isinstance(value, str) and value:
            arn = _LAMBDA_ARN.fullmatch(value)
            return arn["name"] if arn else value
        lid = _ref(value)
        resource = self.resources.get(lid or "")
        if (
            lid is None
            or not isinstance(resource, dict)
            or resource.get("Type") != "AWS::Lambda::Function"
        ):
            raise malformed(owner, f"FunctionName {value!r} is not a function of the template")
        name = self.props(lid).get("FunctionName")
        if not isinstance(name, str) or not name:
            raise malformed(lid, "FunctionName must be the function's name (a string)")
        return name

    def mock_response(
        self, lid: str, integration: Mapping[str, Any]
    ) -> tuple[int, HeaderMapping, tuple[str, ...]]:
        responses = integration.get("IntegrationResponses", [])
        if not isinstance(responses, list) or not all(isinstance(r, dict) for r in responses):
            raise malformed(lid, "IntegrationResponses must be a list of mappings")
        # The response without a SelectionPattern is the one a MOCK integration selects.
        chosen = next((r for r in responses if not r.get("SelectionPattern")), None)
        if chosen is None:
            return 200, HeaderMapping(), ()
        status = self.integer(lid, chosen.get("StatusCode", 200), "StatusCode")
        headers = self.header_mapping(lid, chosen.get("ResponseParameters", {}), "method.response")
        origins: list[str] = []
        templates = chosen.get("ResponseTemplates", {})
        for template in templates.values() if isinstance(templates, dict) else ():
            text = _text(template) or ""
            if _ORIGIN_OVERRIDE in text:
                # `"$!origin" == ""` is the template's test for a missing Origin, not an origin.
                origins += [m["origin"] for m in _ORIGIN_TEST.finditer(text) if m["origin"]]
        return status, headers, tuple(dict.fromkeys(origins))

    def header_mapping(self, owner: str, params: Any, prefix: str) -> HeaderMapping:
        """Response headers from `<prefix>.header.X` parameters: 'static' or a request header."""
        if not isinstance(params, dict):
            raise malformed(owner, "ResponseParameters must be a mapping")
        static: dict[str, str] = {}
        echo: dict[str, str] = {}
        for key, raw in params.items():
            name = str(key).removeprefix(f"{prefix}.header.")
            value = _text(raw)
            if name == key or value is None:
                raise malformed(owner, f"ResponseParameters entry {key!r} is not a header mapping")
            if len(value) >= 2 and value[0] == value[-1] == "'":
                static[name] = value[1:-1]
            elif value.startswith("method.request.header."):
                echo[name] = value.removeprefix("method.request.header.")
            else:
                raise malformed(
                    owner,
                    f"header {name} maps {value!r}; the local gateway serves static values "
                    "and method.request.header.* only",
                )
        return HeaderMapping(static, echo)

    # --- gateway responses, throttling, plans and keys --------------------------------------

    def gateway_responses(self) -> dict[str, GatewayResponse]:
        responses: dict[str, GatewayResponse] = {}
        for lid in self.of_api("AWS::ApiGateway::GatewayResponse"):
            props = self.props(lid)
            kind = self.string(lid, props, "ResponseType")
            status = props.get("StatusCode")
            templates = props.get("ResponseTemplates", {})
            if not isinstance(templates, dict) or not all(
                _text(t) is not None for t in templates.values()
            ):
                raise malformed(lid, "ResponseTemplates must map content types to strings")
            responses[kind] = GatewayResponse(
                response_type=kind,
                status=None if status is None else self.integer(lid, status, "StatusCode"),
                headers=self.header_mapping(
                    lid, props.get("ResponseParameters", {}), "gatewayresponse"
                ),
                templates={str(k).lower(): _text(v) or "" for k, v in templates.items()},
            )
        return responses

    def throttle(self, owner: str, spec: Mapping[str, Any], rate: str, burst: str) -> Throttle:
        return Throttle(
            rate_limit=self.number(owner, spec.get(rate), rate),
            burst_limit=self.integer(owner, spec.get(burst), burst),
        )

    def method_throttles(
        self, stage_id: str, props: Mapping[str, Any]
    ) -> tuple[MethodThrottle, ...]:
        settings = props.get("MethodSettings", [])
        if not isinstance(settings, list) or not all(isinstance(s, dict) for s in settings):
            raise malformed(stage_id, "MethodSettings must be a list of mappings")
        throttles: list[MethodThrottle] = []
        for entry in settings:
            if "ThrottlingRateLimit" not in entry and "ThrottlingBurstLimit" not in entry:
                continue
            path = str(entry.get("ResourcePath", "/*"))
            # CloudFormation spells "/a/b" as "/~1a~1b"; "/*" is every resource.
            path = "*" if path == "/*" else path[1:].replace("~1", "/") or ROOT
            throttles.append(
                MethodThrottle(
                    path=path,
                    method=str(entry.get("HttpMethod", "*")).upper(),
                    throttle=self.throttle(
                        stage_id, entry, "ThrottlingRateLimit", "ThrottlingBurstLimit"
                    ),
                )
            )
        return tuple(throttles)

    def usage_plans(self, stage_id: str, stage_props: Mapping[str, Any]) -> dict[str, UsagePlan]:
        keys: dict[str, list[str]] = {}
        for lid in self.of_type("AWS::ApiGateway::UsagePlanKey"):
            props = self.props(lid)
            plan, key = _ref(props.get("UsagePlanId")), _ref(props.get("KeyId"))
            if plan is None or key is None:
                raise malformed(lid, "UsagePlanId and KeyId must be Refs to a plan and a key")
            keys.setdefault(plan, []).append(key)
        plans: dict[str, UsagePlan] = {}
        for lid in self.of_type("AWS::ApiGateway::UsagePlan"):
            props = self.props(lid)
            if not self.plan_covers(lid, props, stage_id, stage_props):
                continue
            throttle = props.get("Throttle")
            quota = props.get("Quota")
            if not isinstance(throttle, dict | None) or not isinstance(quota, dict | None):
                raise malformed(lid, "Throttle and Quota must be mappings")
            plans[lid] = UsagePlan(
                logical_id=lid,
                name=str(props.get("UsagePlanName", lid)),
                throttle=self.throttle(lid, throttle, "RateLimit", "BurstLimit")
                if throttle
                else None,
                quota=self.quota(lid, quota) if quota else None,
                key_ids=tuple(keys.get(lid, ())),
            )
        return plans

    def plan_covers(
        self, lid: str, props: Mapping[str, Any], stage_id: str, stage_props: Mapping[str, Any]
    ) -> bool:
        stages = props.get("ApiStages", [])
        if not isinstance(stages, list) or not all(isinstance(s, dict) for s in stages):
            raise malformed(lid, "ApiStages must be a list of mappings")
        return any(
            _ref(s.get("ApiId")) == self.api
            and (_ref(s.get("Stage")) == stage_id or s.get("Stage") == stage_props.get("StageName"))
            for s in stages
        )

    def quota(self, lid: str, spec: Mapping[str, Any]) -> Quota:
        period = str(spec.get("Period", "DAY")).upper()
        if period not in QUOTA_PERIOD_SECONDS:
            raise malformed(lid, f"Quota.Period must be DAY, WEEK or MONTH, not {period!r}")
        return Quota(
            limit=self.integer(lid, spec.get("Limit"), "Quota.Limit"),
            period=period,
            offset=self.integer(lid, spec.get("Offset", 0), "Quota.Offset"),
        )

    def api_keys(self) -> dict[str, ApiKey]:
        keys: dict[str, ApiKey] = {}
        for lid in self.of_type("AWS::ApiGateway::ApiKey"):
            props = self.props(lid)
            value = props.get("Value")
            keys[lid] = ApiKey(
                logical_id=lid,
                name=str(props.get("Name", lid)),
                enabled=self.boolean(lid, {"Enabled": props.get("Enabled", False)}, "Enabled"),
                value=value if isinstance(value, str) else None,
            )
        return keys
