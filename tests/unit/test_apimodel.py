"""The local gateway's reading of the API definition (feedbackctl.local.apimodel), pure: on the
rendered templates of the project's stages and on small broken templates."""

from __future__ import annotations

import copy
import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft4Validator

from feedbackctl.config import load_config
from feedbackctl.errors import FeedbackctlError
from feedbackctl.local.apimodel import ApiModel, MockResponse, Route, Throttle
from feedbackctl.templating import render_stack
from lambdas.common.validation import UNPAIRED_SURROGATE, feedback_json_schema, validate_feedback
from tests.cfn_yaml import load

ROOT = Path(__file__).resolve().parents[2]
CONFIG = load_config(ROOT / "feedbackctl.toml")
SITE = "https://${SiteDistribution.DomainName}"


def model_of(stage: str, **changes: Any) -> ApiModel:
    config = dataclasses.replace(CONFIG.stage(stage), **changes)
    return ApiModel.from_template(load(render_stack(config)))


@pytest.fixture(scope="module")
def local() -> ApiModel:
    return model_of("local")


def route(model: ApiModel, method: str, path: str) -> Route:
    match = model.match(method, path)
    assert match is not None, f"{method} {path} is not routed"
    assert isinstance(match.target, Route)
    return match.target


# --- the real local template ----------------------------------------------------------------


def test_routes_invoke_the_live_alias_by_physical_name(local: ApiModel) -> None:
    assert {(r.method, r.path, r.function_target) for r in local.routes} == {
        ("POST", "/feedback", "feedback-local-create-feedback:live"),
        ("GET", "/feedback", "feedback-local-list-feedback:live"),
        ("GET", "/analytics", "feedback-local-get-analytics:live"),
        ("GET", "/health", "feedback-local-health:live"),
    }
    assert local.stage_name == "local"
    assert local.api_name == "feedback-local-api"


def test_post_feedback_validates_its_body_against_the_shared_model(local: ApiModel) -> None:
    post = route(local, "POST", "/feedback")
    assert (post.validate_body, post.validate_params) == (True, False)
    assert post.model_schema == feedback_json_schema()
    assert post.model_for("application/json; charset=utf-8") == feedback_json_schema()
    assert post.model_for(None) == feedback_json_schema()
    assert post.model_for("text/plain") is None  # no model for it: API Gateway skips validation
    listing = route(local, "GET", "/feedback")
    assert (listing.validate_body, listing.model_schema) == (False, None)
    assert (listing.required_query, listing.required_headers) == ((), ())


def test_no_route_needs_a_key_by_default_and_health_never_does() -> None:
    assert not any(r.api_key_required for r in model_of("local").routes)
    keyed = model_of("local", api_key_required=True)
    assert {(r.method, r.path) for r in keyed.routes if r.api_key_required} == {
        ("POST", "/feedback"),
        ("GET", "/feedback"),
        ("GET", "/analytics"),
    }


def test_preflights_come_from_the_mock_options_methods(local: ApiModel) -> None:
    match = local.match("OPTIONS", "/feedback")
    assert match is not None
    preflight = match.target
    assert isinstance(preflight, MockResponse)
    assert preflight.status == 204
    assert preflight.headers.static == {
        "Access-Control-Allow-Headers": "Content-Type,Idempotency-Key,X-Api-Key",
        "Access-Control-Allow-Methods": "POST,GET,OPTIONS",
        "Access-Control-Max-Age": "600",
        "Vary": "Origin",
    }
    assert preflight.allowed_origins == (SITE, *CONFIG.stage("local").cors_origins)
    health = local.match("OPTIONS", "/health")
    assert health is not None
    assert isinstance(health.target, MockResponse)
    assert health.target.headers.static["Access-Control-Allow-Methods"] == "GET,OPTIONS"


def test_gateway_responses_carry_the_sites_cors_headers(local: ApiModel) -> None:
    bad_body = local.gateway_response("BAD_REQUEST_BODY")
    assert bad_body.status == 400
    assert bad_body.headers.static == {"Access-Control-Allow-Origin": SITE, "Vary": "Origin"}
    assert "$context.error.validationErrorString" in bad_body.templates["application/json"]
    # A type the template leaves alone falls back to its DEFAULT_4XX / DEFAULT_5XX.
    forbidden = local.gateway_response("INVALID_API_KEY")
    assert (forbidden.response_type, forbidden.status, forbidden.templates) == (
        "INVALID_API_KEY",
        None,
        {},
    )
    assert forbidden.headers.static["Access-Control-Allow-Origin"] == SITE
    assert local.gateway_response("INTEGRATION_TIMEOUT").headers.static["Vary"] == "Origin"


def test_the_site_origin_becomes_the_gateways_own(local: ApiModel) -> None:
    assert local.site_origins == (SITE,)
    served = local.with_site_origin("http://127.0.0.1:8000")
    origin = served.gateway_response("DEFAULT_4XX").headers.static["Access-Control-Allow-Origin"]
    assert origin == "http://127.0.0.1:8000"
    match = served.match("OPTIONS", "/analytics")
    assert match is not None
    assert isinstance(match.target, MockResponse)
    # The local stage already allows that origin: it is listed once.
    assert match.target.allowed_origins == CONFIG.stage("local").cors_origins


def test_stage_throttling_usage_plan_and_key(local: ApiModel) -> None:
    stage = CONFIG.stage("local")
    throttle = Throttle(stage.throttling.rate_limit, stage.throttling.burst_limit)
    assert local.method_throttle("POST", "/feedback") == throttle
    assert local.method_throttle("GET", "/health") == throttle
    (plan,) = local.usage_plans.values()
    assert plan.name == "feedback-local-external"
    assert plan.throttle == Throttle(stage.usage_plan.rate_limit, stage.usage_plan.burst_limit)
    assert plan.quota is not None
    assert (plan.quota.limit, plan.quota.period) == (stage.usage_plan.quota_per_day, "DAY")
    assert plan.key_ids == ("ApiKey",)
    assert local.api_keys["ApiKey"].enabled
    assert local.api_keys["ApiKey"].value is None  # generated by API Gateway, not the template


def test_prod_reads_the_same_way() -> None:
    prod = model_of("prod")
    assert route(prod, "GET", "/analytics").function_target == "feedback-prod-get-analytics:live"
    assert prod.stage_name == "prod"
    assert prod.method_throttle("GET", "/feedback") == Throttle(100.0, 200)


def test_unknown_routes_and_methods_do_not_match(local: ApiModel) -> None:
    assert local.match("GET", "/nope") is None
    assert local.match("DELETE", "/feedback") is None
    assert local.match("GET", "/") is None


# --- small templates ------------------------------------------------------------------------


def tiny() -> dict[str, Any]:
    """One API, a stage, GET /items/{id} and ANY /files/{path+} on an alias of a function."""
    integration = {
        "Type": "AWS_PROXY",
        "Uri": {
            "Fn::Sub": "arn:aws:apigateway:r:lambda:path/2015-03-31/functions/${Alias}/invocations"
        },
    }
    root = {"Fn::GetAtt": ["Api", "RootResourceId"]}
    api = {"Ref": "Api"}
    return {
        "Resources": {
            "Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": "tiny"}},
            "Items": {
                "Type": "AWS::ApiGateway::Resource",
                "Properties": {"RestApiId": api, "ParentId": root, "PathPart": "items"},
            },
            "Item": {
                "Type": "AWS::ApiGateway::Resource",
                "Properties": {"RestApiId": api, "ParentId": {"Ref": "Items"}, "PathPart": "{id}"},
            },
            "Mine": {
                "Type": "AWS::ApiGateway::Resource",
                "Properties": {"RestApiId": api, "ParentId": {"Ref": "Items"}, "PathPart": "mine"},
            },
            "Files": {
                "Type": "AWS::ApiGateway::Resource",
                "Properties": {"RestApiId": api, "ParentId": root, "PathPart": "{path+}"},
            },
            "GetItem": {
                "Type": "AWS::ApiGateway::Method",
                "Properties": {
                    "RestApiId": api,
                    "ResourceId": {"Ref": "Item"},
                    "HttpMethod": "GET",
                    "ApiKeyRequired": "true",
                    "RequestParameters": {"method.request.querystring.q": True},
                    "Integration": integration,
                },
            },
            "GetMine": {
                "Type": "AWS::ApiGateway::Method",
                "Properties": {
                    "RestApiId": api,
                    "ResourceId": {"Ref": "Mine"},
                    "HttpMethod": "GET",
                    "Integration": {
                        "Type": "AWS_PROXY",
                        "Uri": "arn:aws:apigateway:r:lambda:path/2015-03-31/functions/"
                        "arn:aws:lambda:r:1:function:other:blue/invocations",
                    },
                },
            },
            "AnyFile": {
                "Type": "AWS::ApiGateway::Method",
                "Properties": {
                    "RestApiId": api,
                    "ResourceId": {"Ref": "Files"},
                    "HttpMethod": "ANY",
                    "Integration": integration,
                },
            },
            "Fn": {"Type": "AWS::Lambda::Function", "Properties": {"FunctionName": "tiny-fn"}},
            "Alias": {
                "Type": "AWS::Lambda::Alias",
                "Properties": {"FunctionName": {"Ref": "Fn"}, "Name": "live"},
            },
            "Stage": {
                "Type": "AWS::ApiGateway::Stage",
                "Properties": {
                    "RestApiId": api,
                    "StageName": "v1",
                    "Variables": {"color": "blue"},
                    "MethodSettings": [
                        {
                            "ResourcePath": "/*",
                            "HttpMethod": "*",
                            "ThrottlingRateLimit": 10,
                            "ThrottlingBurstLimit": 5,
                        },
                        {
                            "ResourcePath": "/~1items~1{id}",
                            "HttpMethod": "GET",
                            "ThrottlingRateLimit": "1.5",
                            "ThrottlingBurstLimit": 2,
                        },
                        {"ResourcePath": "/*", "HttpMethod": "*", "MetricsEnabled": True},
                    ],
                },
            },
        }
    }


def test_paths_params_and_greedy_paths_match_most_specific_first() -> None:
    model = ApiModel.from_template(tiny())
    item = model.match("GET", "/items/42")
    assert item is not None
    assert (item.target.logical_id, dict(item.path_parameters)) == ("GetItem", {"id": "42"})
    mine = model.match("GET", "/items/mine")
    assert mine is not None
    assert mine.target.logical_id == "GetMine"  # a literal part beats {id}
    files = model.match("DELETE", "/a/b/c")
    assert files is not None
    assert (files.target.logical_id, dict(files.path_parameters)) == ("AnyFile", {"path": "a/b/c"})
    assert model.match("GET", "/") is None  # a greedy part needs at least one segment


def test_targets_parameters_and_stage_settings_of_a_small_template() -> None:
    model = ApiModel.from_template(tiny())
    get_item = route(model, "GET", "/items/1")
    assert get_item.function_target == "tiny-fn:live"
    assert get_item.api_key_required is True
    assert get_item.required_query == ("q",)
    assert route(model, "GET", "/items/mine").function_target == "other:blue"
    assert model.stage_variables == {"color": "blue"}
    assert model.method_throttle("GET", "/items/{id}") == Throttle(1.5, 2)
    assert model.method_throttle("PUT", "/items/{id}") == Throttle(10.0, 5)
    assert model.usage_plans == {}
    assert model.gateway_response("THROTTLED").headers.static == {}


def _mock_options(resources: dict[str, Any]) -> None:
    resources["Options"] = {
        "Type": "AWS::ApiGateway::Method",
        "Properties": {
            "RestApiId": {"Ref": "Api"},
            "ResourceId": {"Ref": "Items"},
            "HttpMethod": "OPTIONS",
            "Integration": {
                "Type": "MOCK",
                "IntegrationResponses": [
                    {
                        "StatusCode": "200",
                        "ResponseParameters": {"method.response.header.X-Id": "context.requestId"},
                    }
                ],
            },
        },
    }


def _bad_model(resources: dict[str, Any]) -> None:
    resources["Model"] = {
        "Type": "AWS::ApiGateway::Model",
        "Properties": {"RestApiId": {"Ref": "Api"}, "Schema": {"type": 5}},
    }
    resources["GetItem"]["Properties"]["RequestModels"] = {"application/json": {"Ref": "Model"}}


BREAKAGES: dict[str, Any] = {
    "alias missing": lambda r: r.pop("Alias"),
    "alias of nothing": lambda r: r["Alias"]["Properties"].update(FunctionName={"Ref": "Stage"}),
    "function unnamed": lambda r: r["Fn"]["Properties"].pop("FunctionName"),
    "uri without function": lambda r: r["GetItem"]["Properties"]["Integration"].update(
        Uri="arn:aws:apigateway:r:s3:path/b"
    ),
    "integration missing": lambda r: r["GetItem"]["Properties"].pop("Integration"),
    "integration http": lambda r: r["GetItem"]["Properties"]["Integration"].update(Type="HTTP"),
    "key required maybe": lambda r: r["GetItem"]["Properties"].update(ApiKeyRequired="maybe"),
    "parent loop": lambda r: r["Items"]["Properties"].update(ParentId={"Ref": "Item"}),
    "path part missing": lambda r: r["Mine"]["Properties"].pop("PathPart"),
    "rate not a number": lambda r: r["Stage"]["Properties"]["MethodSettings"][0].update(
        ThrottlingRateLimit="fast"
    ),
    "bad model": _bad_model,
    "bad pattern": lambda r: (
        _bad_model(r),
        r["Model"]["Properties"].update(Schema={"not": {"allOf": [{"pattern": "[a-"}]}}),
    ),
    "mapped header": _mock_options,
}


def broken(change: str) -> dict[str, Any]:
    template = copy.deepcopy(tiny())
    BREAKAGES[change](template["Resources"])
    return template


@pytest.mark.parametrize(
    ("change", "named", "problem"),
    [
        ("alias missing", "GetItem", "refers to Alias, which is not a function or alias"),
        ("alias of nothing", "Alias", "is not a function of the template"),
        ("function unnamed", "Fn", "FunctionName must be the function's name"),
        ("uri without function", "GetItem", "Integration.Uri names no Lambda function"),
        ("integration missing", "GetItem", "Integration must be a mapping"),
        ("integration http", "GetItem", "integration type 'HTTP' is not served locally"),
        ("key required maybe", "GetItem", "ApiKeyRequired must be true or false"),
        ("parent loop", "Item", "ParentId chain loops back"),
        ("path part missing", "Mine", "PathPart must be a non-empty string"),
        ("rate not a number", "Stage", "ThrottlingRateLimit must be a number"),
        ("bad model", "Model", "Schema is not a valid draft 4 JSON Schema"),
        ("bad pattern", "Model", "Schema is not a valid draft 4 JSON Schema ('[a-' is"),
        ("mapped header", "Options", "static values and method.request.header.* only"),
    ],
)
def test_a_malformed_resource_is_named(change: str, named: str, problem: str) -> None:
    with pytest.raises(FeedbackctlError) as caught:
        ApiModel.from_template(broken(change))
    message = str(caught.value)
    assert message.startswith(f"reading the API definition: template resource {named} is malformed")
    assert problem in message
    assert caught.value.hint is not None


def test_a_template_without_an_api_or_a_stage_says_so() -> None:
    with pytest.raises(FeedbackctlError, match="the template defines 0 REST APIs"):
        ApiModel.from_template({"Resources": {}})
    no_stage = tiny()
    del no_stage["Resources"]["Stage"]
    with pytest.raises(FeedbackctlError, match="the API Api has 0 matching stages"):
        ApiModel.from_template(no_stage)
    with pytest.raises(FeedbackctlError, match="has no Resources section"):
        ApiModel.from_template({})


# --- the edge model on hostile text -----------------------------------------------------------

HOSTILE_TEXT = [
    # (case, name, accepted by the handler)
    ("unpaired high surrogate", "x \ud800", False),
    ("unpaired low surrogate", "\udc00x", False),
    ("surrogates in the wrong order", "\udc00\ud800", False),
    ("zero-width space only", "\u200b", False),
    ("zero-width joiners and spaces", " \u200c\u200d \u2060", False),
    ("byte order mark only", "\ufeff", False),
    ("braille blank only", "\u2800", False),
    ("right-to-left override", "Ada\u202eecalevol", False),
    ("first strong isolate", "\u2068Ada\u2069", False),
    ("noncharacter U+FFFF", "Ada\uffff", False),
    ("noncharacter U+FDD0", "Ada\ufdd0", False),
    ("emoji (a surrogate pair in UTF-16)", "Zoë 🎉", True),
    ("emoji with zero-width joiner", "👩\u200d💻", True),
    ("Persian with zero-width non-joiner", "می\u200cخواهم", True),
    ("Hebrew with a right-to-left mark", "\u200fשלום", True),
    ("flag tag sequence", "🏴\U000e0067\U000e0062\U000e007f", True),
]

# What a draft 4 pattern cannot state portably over UTF-16 strings: the edge lets it through and
# the handler rejects it (lambdas/common/validation.py says so; docs/api.md lists it).
HANDLER_ONLY = [
    ("astral noncharacter U+1FFFE", "Ada\U0001fffe"),
    ("astral noncharacter U+10FFFF", "Ada\U0010ffff"),
    ("tag characters only", "\U000e0041\U000e007f"),
]


def _submission(name: str) -> dict[str, Any]:
    return {"name": name, "email": "ada@example.com", "rating": 5, "message": name}


@pytest.mark.parametrize(
    ("name", "accepted"), [pytest.param(n, a, id=c) for c, n, a in HOSTILE_TEXT]
)
def test_the_edge_model_and_the_handler_agree_on_hostile_text(
    local: ApiModel, name: str, accepted: bool
) -> None:
    schema = route(local, "POST", "/feedback").model_schema
    feedback, errors = validate_feedback(_submission(name))
    assert (feedback is not None) == accepted, errors
    assert Draft4Validator(schema).is_valid(_submission(name)) == accepted


@pytest.mark.parametrize("name", [pytest.param(n, id=c) for c, n in HANDLER_ONLY])
def test_what_the_edge_cannot_state_the_handler_rejects(local: ApiModel, name: str) -> None:
    schema = route(local, "POST", "/feedback").model_schema
    assert Draft4Validator(schema).is_valid(_submission(name))
    assert validate_feedback(_submission(name))[0] is None


def test_the_surrogate_pattern_is_written_for_utf16_strings() -> None:
    """API Gateway and the browser see UTF-16: the halves of a valid pair must not match, a
    half on its own must (checked here on the UTF-16 code units spelled out as code points)."""
    pattern = re.compile(UNPAIRED_SURROGATE)
    assert not pattern.search("Zo\ud83c\udf89")  # 🎉 as two UTF-16 code units
    assert pattern.search("\ud83c")
    assert pattern.search("x\udf89")
    assert pattern.search("\udf89\ud83c")
