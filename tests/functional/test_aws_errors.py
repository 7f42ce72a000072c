"""Every AWS failure a command can meet is one line with what to do, and exit 1 or 2.

Each case runs a real command through CliRunner against a real botocore: the profiles, the
SSO token cache and the credentials are temporary files (AWS_CONFIG_FILE,
AWS_SHARED_CREDENTIALS_FILE, HOME), AWS's answers come from the moto server or botocore's
Stubber. docs/aws-errors.md lists the AWS behaviour each test reproduces.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore import exceptions as bx
from botocore.stub import Stubber
from typer.testing import CliRunner

from feedbackctl.aws import Aws, Target, is_absent_object, is_not_found
from feedbackctl.cli.app import app
from feedbackctl.errors import FeedbackctlError

START_URL = "https://example.awsapps.com/start"
FORM = "use http(s)://host[:port], e.g. http://127.0.0.1:4566 for the local platform"


def run(*args: str, **env: str):
    return CliRunner().invoke(app, list(args), env=env or None, catch_exceptions=False)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    """A user's AWS setup in a temporary HOME: two key profiles, two SSO profiles, a stage."""
    aws_dir = tmp_path / ".aws"
    (aws_dir / "sso" / "cache").mkdir(parents=True)
    config, credentials = aws_dir / "config", aws_dir / "credentials"
    config.write_text(
        "[default]\nregion = eu-west-1\n"
        "[profile ops]\nregion = eu-west-1\n"
        "[profile sso-legacy]\n"
        f"sso_start_url = {START_URL}\nsso_region = us-east-1\n"
        "sso_account_id = 123456789012\nsso_role_name = Deployer\n"
        "[profile sso-dev]\n"
        "sso_session = corp\nsso_account_id = 123456789012\nsso_role_name = Deployer\n"
        f"[sso-session corp]\nsso_start_url = {START_URL}\nsso_region = us-east-1\n"
    )
    credentials.write_text(
        "[default]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = secret\n"
        "[ops]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = secret\n"
    )
    monkeypatch.setenv("HOME", str(tmp_path))
    # botocore expands ~/.aws/sso/cache once, when it is imported (before this HOME was set).
    from botocore.credentials import SSOProvider
    from botocore.tokens import SSOTokenProvider

    for provider in (SSOProvider, SSOTokenProvider):
        monkeypatch.setattr(provider, "_SSO_TOKEN_CACHE_DIR", str(aws_dir / "sso" / "cache"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    stack = f"fb-404-{uuid.uuid4().hex[:6]}"  # "404" in the name: never read as "not found"
    stage = tmp_path / "feedbackctl.toml"
    stage.write_text(
        '[project]\ndefault_stage = "dev"\n'
        f'[stages.dev]\nregion = "eu-west-1"\nstack_name = "{stack}"\n'
    )
    monkeypatch.setenv("FEEDBACKCTL_CONFIG", str(stage))
    return SimpleNamespace(
        config=config,
        credentials=credentials,
        cache=aws_dir / "sso" / "cache",
        stage=stage,
        stack=stack,
        files=f"{config} and {credentials}",
    )


def sso_token(home: SimpleNamespace, key: str, expires: str) -> None:
    """An SSO token in the CLI's cache (file name: SHA-1 of the start URL or session name)."""
    name = hashlib.sha1(key.encode()).hexdigest()
    token = {
        "startUrl": START_URL,
        "region": "us-east-1",
        "accessToken": "token",
        "expiresAt": expires,
    }
    (home.cache / f"{name}.json").write_text(json.dumps(token))


def fails_with(result: Any, line: str, code: int) -> None:
    """The command printed exactly `line` (one line, on stderr) and exited with `code`."""
    assert result.stderr == f"error: {line}\n", result.stderr
    assert result.stdout == ""
    assert result.exit_code == code


# --- profiles ------------------------------------------------------------------------------


def test_a_missing_profile_lists_the_profiles_that_exist(home):
    fails_with(
        run("status", "--stage", "dev", "--profile", "nosuchprofile"),
        "connecting to AWS: AWS profile 'nosuchprofile' (from --profile) does not exist "
        f"(profiles in {home.files}: default, ops, sso-dev, sso-legacy; "
        "use one with --profile or AWS_PROFILE)",
        2,
    )


def test_a_missing_profile_from_aws_profile_names_the_variable(home):
    fails_with(
        run("history", "--stage", "dev", AWS_PROFILE="nosuchprofile"),
        "connecting to AWS: AWS profile 'nosuchprofile' (from AWS_PROFILE) does not exist "
        f"(profiles in {home.files}: default, ops, sso-dev, sso-legacy; "
        "use one with --profile or AWS_PROFILE)",
        2,
    )


def test_a_missing_profile_with_no_profiles_at_all_says_how_to_make_one(home):
    home.config.write_text("")
    home.credentials.write_text("")
    fails_with(
        run("rollback", "-f", "health", "--dry-run", "--profile", "nosuchprofile"),
        "connecting to AWS: AWS profile 'nosuchprofile' (from --profile) does not exist "
        f"(no profiles in {home.files}; create one with `aws configure --profile NAME`)",
        2,
    )


# --- endpoints -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("notaurl", ""),
        ("ftp://x", ": the scheme must be http or https"),
        ("http://127.0.0.1:99999", ""),
        ("http://", ""),
    ],
)
def test_an_endpoint_that_is_not_a_url_is_a_usage_error(home, url, problem):
    fails_with(
        run("status", "--stage", "dev", "--endpoint-url", url),
        f"--endpoint-url {url!r} is not an endpoint URL{problem} ({FORM})",
        2,
    )


def test_a_bad_aws_endpoint_url_names_the_variable(home):
    fails_with(
        run("rollback", "-f", "health", "--dry-run", AWS_ENDPOINT_URL="ftp://x"),
        f"AWS_ENDPOINT_URL 'ftp://x' is not an endpoint URL: the scheme must be http or https "
        f"({FORM})",
        2,
    )


# --- regions -------------------------------------------------------------------------------


def test_a_region_no_partition_has_names_the_stages_region(home):
    fails_with(
        run("status", "--stage", "dev", "--region", "mars-north-9"),
        "--region 'mars-north-9' is not an AWS region "
        "(stage 'dev' is in eu-west-1; omit --region to use it)",
        2,
    )
    fails_with(
        run("rollback", "-f", "health", "--dry-run", "--region", "mars-north-9"),
        "--region 'mars-north-9' is not an AWS region "
        "(stage 'dev' is in eu-west-1; omit --region to use it)",
        2,
    )


def test_a_stage_configured_with_a_bogus_region_says_where_to_fix_it(home):
    home.stage.write_text(
        '[project]\ndefault_stage = "dev"\n'
        f'[stages.dev]\nregion = "ma-north-9"\nstack_name = "{home.stack}"\n'
    )
    fails_with(
        run("history"),
        "stage 'dev' names region 'ma-north-9', which is not an AWS region "
        '(set region under [stages.dev] in feedbackctl.toml, e.g. "us-east-1")',
        2,
    )


def test_real_regions_of_every_partition_pass_the_check(home, monkeypatch):
    from feedbackctl.aws import resolve_target

    for region in ("eu-west-1", "cn-north-1", "us-gov-west-1", "ap-southeast-99"):
        assert resolve_target("dev", region=region).region == region


# --- SSO -----------------------------------------------------------------------------------


def test_an_expired_sso_token_says_aws_sso_login(home):
    # The legacy form (sso_start_url in the profile) raises UnauthorizedSSOTokenError.
    sso_token(home, START_URL, "2020-01-01T00:00:00Z")
    fails_with(
        run("rollback", "-f", "health", "--dry-run", "--profile", "sso-legacy"),
        "connecting to AWS: the SSO session of AWS profile 'sso-legacy' has expired or is "
        "invalid (run `aws sso login --profile sso-legacy` and retry)",
        1,
    )


def test_an_expired_sso_session_token_says_aws_sso_login(home):
    sso_token(home, "corp", "2020-01-01T00:00:00Z")
    fails_with(
        run("status", "--stage", "dev", AWS_PROFILE="sso-dev"),
        "connecting to AWS: the SSO session of AWS profile 'sso-dev' has expired or is "
        "invalid (run `aws sso login --profile sso-dev` and retry)",
        1,
    )


def test_an_sso_profile_never_logged_in_says_aws_sso_login(home):
    # No cached token at all: botocore raises SSOTokenLoadError.
    fails_with(
        run("history", "--profile", "sso-legacy"),
        "connecting to AWS: no cached SSO token for AWS profile 'sso-legacy': it is not logged "
        "in (run `aws sso login --profile sso-legacy` and retry)",
        1,
    )


# --- credentials and configuration ---------------------------------------------------------


def _no_env_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    # A real (non-local) target: the local platform accepts made-up keys.
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)


def test_no_credentials_at_all(home, monkeypatch):
    _no_env_credentials(monkeypatch)
    home.credentials.write_text("")
    fails_with(
        run("status"),
        "connecting to AWS: no AWS credentials found (set AWS_PROFILE or pass --profile, "
        "or use --stage local for the local platform)",
        1,
    )


def test_a_profile_without_credentials(home, monkeypatch):
    _no_env_credentials(monkeypatch)
    home.credentials.write_text("")
    fails_with(
        run("status", "--profile", "ops"),
        f"connecting to AWS: AWS profile 'ops' has no credentials (add its credentials in "
        f"{home.files}, or use another --profile)",
        1,
    )


def test_partial_credentials_in_the_environment(home, monkeypatch):
    _no_env_credentials(monkeypatch)
    home.credentials.write_text("")
    fails_with(
        run("status", AWS_ACCESS_KEY_ID="AKIDEXAMPLE"),
        "connecting to AWS: incomplete AWS credentials: Partial credentials found in env, "
        "missing: AWS_SECRET_ACCESS_KEY (set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
        "or unset them and use --profile)",
        1,
    )


def test_a_profile_whose_source_profile_is_missing_is_invalid_config(home):
    home.config.write_text(
        "[profile deployer]\nrole_arn = arn:aws:iam::123456789012:role/deploy\n"
        "source_profile = ghost\n"
    )
    fails_with(
        run("status", "--profile", "deployer"),
        'connecting to AWS: invalid AWS configuration: The source_profile "ghost" referenced '
        f'in the profile "deployer" does not exist. (fix the AWS configuration in {home.files})',
        2,
    )


def test_an_unparsable_config_file(home):
    home.config.write_text("[profile ops\nregion = eu-west-1\n")
    fails_with(
        run("status", "--profile", "ops"),
        f"connecting to AWS: invalid AWS configuration: Unable to parse config file: "
        f"{home.config} (fix the AWS configuration in {home.files})",
        2,
    )


# --- connections, timeouts, malformed requests ---------------------------------------------


def test_an_endpoint_nobody_listens_on(home):
    # Port 9 (discard) is closed on the test machines: connection refused, after retries.
    fails_with(
        run("status", "--endpoint-url", "http://127.0.0.1:9"),
        "reading the stage's status: cannot reach AWS: Could not connect to the endpoint URL: "
        '"http://127.0.0.1:9/" (is the local platform running at http://127.0.0.1:9? '
        "`feedbackctl local up`)",
        1,
    )


def _aws(region: str = "eu-west-1", endpoint: str | None = None) -> Aws:
    return Aws(Target("dev", "fb-dev", region, endpoint_url=endpoint))


@pytest.mark.parametrize(
    ("raised", "said"),
    [
        (
            bx.ConnectTimeoutError(endpoint_url="https://lambda.eu-west-1.amazonaws.com/"),
            'Connect timeout on endpoint URL: "https://lambda.eu-west-1.amazonaws.com/"',
        ),
        (
            bx.ReadTimeoutError(endpoint_url="https://lambda.eu-west-1.amazonaws.com/"),
            'Read timeout on endpoint URL: "https://lambda.eu-west-1.amazonaws.com/"',
        ),
        (
            bx.EndpointConnectionError(endpoint_url="https://lambda.eu-west-1.amazonaws.com/"),
            'Could not connect to the endpoint URL: "https://lambda.eu-west-1.amazonaws.com/"',
        ),
    ],
)
def test_timeouts_and_refused_connections_name_the_region(raised, said):
    # botocore retries these itself; what reaches us after the last attempt is this exception.
    with pytest.raises(FeedbackctlError) as caught, _aws().errors("reading the alias"):
        raise raised
    assert str(caught.value) == (
        f"reading the alias: cannot reach AWS: {said} "
        "(check your network, and that eu-west-1 is the stage's region (--region))"
    )
    assert caught.value.exit_code == 1


def test_a_request_botocore_refuses_to_send_is_one_line(home):
    aws = _aws(endpoint="http://127.0.0.1:9")
    with pytest.raises(FeedbackctlError) as caught, aws.errors("reading the alias"):
        aws.client("lambda").get_alias(FunctionName="", Name="live")
    assert str(caught.value) == (
        "reading the alias: AWS would reject the request: Parameter validation failed: "
        "Invalid length for parameter FunctionName, value: 0, valid min length: 1 "
        "(check the names and values given on the command line; if they are right, report "
        "this as a feedbackctl bug)"
    )
    assert "\n" not in str(caught.value)


def test_no_region_is_a_usage_error(home, monkeypatch):
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    home.config.write_text("")
    aws = Aws(Target("dev", "fb-dev", None, endpoint_url=None))  # type: ignore[arg-type]
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with pytest.raises(FeedbackctlError) as caught:
        aws.client("lambda")
    assert str(caught.value) == (
        "connecting to AWS: no usable AWS region: You must specify a region. "
        "(pass --region, or set region under [stages.dev] in feedbackctl.toml)"
    )
    assert caught.value.exit_code == 2


# --- errors classified by code, never by wording -------------------------------------------


def _stubbed(service: str) -> tuple[Any, Stubber]:
    client = boto3.client(service, region_name="eu-west-1", endpoint_url="http://127.0.0.1:9")
    return client, Stubber(client)


def _raised(call: Any) -> Exception:
    try:
        call()
    except Exception as exc:  # noqa: BLE001 - the exception is what the test inspects
        return exc
    raise AssertionError("the call did not fail")


def test_a_missing_stack_is_cloudformations_documented_validation_error():
    cfn, stub = _stubbed("cloudformation")
    denied = (
        "User: arn:aws:iam::123456789012:user/ops is not authorized to perform: "
        "cloudformation:DescribeStacks on resource: "
        "arn:aws:cloudformation:eu-west-1:123456789012:stack/fb-404/*"
    )
    stub.add_client_error(
        "describe_stacks", "ValidationError", "Stack with id fb-404 does not exist"
    )
    stub.add_client_error("describe_stacks", "AccessDenied", denied, http_status_code=403)
    stub.add_client_error(
        "describe_stacks", "ValidationError", "Stack with id other does not exist"
    )
    stub.add_client_error("describe_stacks", "ValidationError", "1 validation error detected")
    with stub:
        missing, denied_, other, invalid = (
            _raised(lambda: cfn.describe_stacks(StackName="fb-404")) for _ in range(4)
        )
    assert is_not_found(missing, stack="fb-404")
    assert not is_not_found(missing)  # CloudFormation's code alone proves nothing
    assert not is_not_found(denied_, stack="fb-404")
    assert not is_not_found(other, stack="fb-404")
    assert not is_not_found(invalid, stack="fb-404")


def test_lambda_not_found_is_its_code_and_access_denied_never_is():
    lam, stub = _stubbed("lambda")
    stub.add_client_error(
        "get_alias",
        "ResourceNotFoundException",
        "Function not found: arn:aws:lambda:eu-west-1:123456789012:function:fb-404-health",
        http_status_code=404,
    )
    stub.add_client_error(
        "get_alias",
        "AccessDeniedException",
        "User is not authorized to perform: lambda:GetAlias on fb-404-health (404 Not Found)",
        http_status_code=403,
    )
    with stub:
        missing, denied = (
            _raised(lambda: lam.get_alias(FunctionName="fb-404-health", Name="live"))
            for _ in range(2)
        )
    assert is_not_found(missing)
    assert not is_not_found(denied)


def test_s3_dynamodb_and_logs_not_found_on_moto(moto_endpoint):
    s3 = boto3.client("s3", endpoint_url=moto_endpoint)
    bucket = f"fb-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    # HEAD has no body: botocore sets the code to the HTTP status, "404".
    head = _raised(lambda: s3.head_object(Bucket=bucket, Key="missing"))
    assert is_not_found(head)
    assert is_absent_object(head)
    assert is_not_found(_raised(lambda: s3.head_bucket(Bucket=f"{bucket}-none")))
    assert is_not_found(_raised(lambda: s3.get_object(Bucket=bucket, Key="missing")))
    ddb = boto3.client("dynamodb", endpoint_url=moto_endpoint)
    assert is_not_found(_raised(lambda: ddb.describe_table(TableName=f"{bucket}-none")))
    logs = boto3.client("logs", endpoint_url=moto_endpoint)
    missing_group = f"/aws/lambda/{bucket}-none"
    assert is_not_found(_raised(lambda: logs.filter_log_events(logGroupName=missing_group)))


def test_head_object_403_without_list_bucket_means_upload_it():
    from feedbackctl.deploy import _uploaded

    s3, stub = _stubbed("s3")
    stub.add_client_error("head_object", "403", "Forbidden", http_status_code=403)
    stub.add_client_error("head_object", "403", "Forbidden", http_status_code=403)
    manifest = SimpleNamespace(artifacts={"health": SimpleNamespace(s3_key="artifacts/h.zip")})
    with stub:
        assert _uploaded(SimpleNamespace(s3=s3), "code", manifest, ["health"]) == frozenset()  # type: ignore[arg-type]
        forbidden = _raised(lambda: s3.head_object(Bucket="code", Key="artifacts/h.zip"))
    assert is_absent_object(forbidden)
    assert not is_not_found(forbidden)  # absent for the upload; not "does not exist"


def test_a_403_on_a_bucket_is_an_error_not_absence():
    s3, stub = _stubbed("s3")
    stub.add_client_error("head_bucket", "403", "Forbidden", http_status_code=403)
    with stub:
        forbidden = _raised(lambda: s3.head_bucket(Bucket="code"))
    assert not is_absent_object(forbidden)


def test_deploy_reads_access_denied_on_a_404_named_function_as_an_error():
    from feedbackctl.deploy import read_function
    from feedbackctl.naming import StackNames

    lam, stub = _stubbed("lambda")
    stub.add_client_error(
        "get_function_configuration",
        "AccessDeniedException",
        "not authorized to perform: lambda:GetFunctionConfiguration on fb-404-health",
        http_status_code=403,
    )
    stub.add_client_error(
        "get_function_configuration", "ResourceNotFoundException", "Function not found", 404
    )
    clients = SimpleNamespace(lambda_=lam, names=StackNames("fb-404"))
    with stub:
        with pytest.raises(bx.ClientError, match="AccessDeniedException"):
            read_function(clients, "health")  # type: ignore[arg-type]
        assert not read_function(clients, "health").exists  # type: ignore[arg-type]


# --- through the status command ------------------------------------------------------------


def _deny(monkeypatch: pytest.MonkeyPatch, event: str, code: str, message: str) -> None:
    """AWS answers `event` (service.Operation) with `code`, for the CLI's own clients."""
    original = Aws.client

    def answer(**_: Any) -> tuple[Any, dict[str, Any]]:
        body = {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {}}
        return SimpleNamespace(status_code=403, headers={}), body

    def client(self: Aws, service: str) -> Any:
        made = original(self, service)
        made.meta.events.register(f"before-call.{event}", answer, unique_id="deny")
        return made

    monkeypatch.setattr(Aws, "client", client)


def test_status_on_a_404_named_stack_it_may_not_read_is_access_denied(
    home, moto_endpoint, monkeypatch
):
    message = (
        "User: arn:aws:iam::123456789012:user/ops is not authorized to perform: "
        f"cloudformation:DescribeStacks on resource: {home.stack} (404)"
    )
    _deny(monkeypatch, "cloudformation.DescribeStacks", "AccessDenied", message)
    fails_with(
        run("status"),
        f"reading the stage's status: AWS said: AccessDenied: {message} "
        "(check the profile's IAM permissions for this stage)",
        1,
    )


def test_status_of_a_stage_never_deployed_says_deploy_it(home, moto_endpoint):
    # No stack (CloudFormation's ValidationError for this exact name), no aliases, no ledger
    # table (DynamoDB's ResourceNotFoundException): the first miss that is the command's own.
    fails_with(
        run("status"),
        "reading the stage's status: AWS said: ResourceNotFoundException: Requested resource "
        "not found (is stage 'dev' deployed? try `feedbackctl deploy --stage dev`)",
        1,
    )


def test_status_does_not_call_access_denied_on_an_alias_a_missing_alias(
    home, moto_endpoint, monkeypatch
):
    message = "User is not authorized to perform: lambda:GetAlias"
    _deny(monkeypatch, "lambda.GetAlias", "AccessDeniedException", message)
    fails_with(
        run("status"),
        f"reading the stage's status: AWS said: AccessDeniedException: {message} "
        "(check the profile's IAM permissions for this stage)",
        1,
    )
