"""feedbackctl.toml: the project's own file loads; every mistake is one exact, actionable line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from feedbackctl.config import (
    FUNCTION_DEFAULTS,
    ConfigError,
    config_keys,
    find_config,
    load_config,
)
from feedbackctl.functions import FUNCTION_NAMES

ROOT = Path(__file__).resolve().parents[2]

MINIMAL = """
[project]
default_stage = "dev"

[stages.dev]
region = "eu-west-1"
stack_name = "feedback-dev"
"""


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Work in an empty directory so messages name `feedbackctl.toml` relative to it."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FEEDBACKCTL_CONFIG", raising=False)
    return tmp_path


def write(directory: Path, text: str) -> Path:
    path = directory / "feedbackctl.toml"
    path.write_text(text, encoding="utf-8")
    return path


def error_of(directory: Path, text: str) -> str:
    write(directory, text)
    with pytest.raises(ConfigError) as caught:
        load_config()
    message = str(caught.value)
    assert "\n" not in message
    return message


# --- the project's own file ----------------------------------------------------------------


def test_project_file_has_local_dev_and_prod() -> None:
    config = load_config(ROOT / "feedbackctl.toml")
    assert config.stage_names == ["dev", "local", "prod"]
    assert config.default_stage == "dev"
    assert config.stage().name == "dev"


def test_local_stage_points_at_the_local_platform_with_short_alarm_periods() -> None:
    local = load_config(ROOT / "feedbackctl.toml").stage("local")
    assert local.region == "us-east-1"
    assert local.endpoint_url == "http://127.0.0.1:4566"
    assert local.api_url == "http://127.0.0.1:8000"
    assert local.alarms.period_seconds == 10
    assert not local.production


def test_prod_is_marked_production() -> None:
    prod = load_config(ROOT / "feedbackctl.toml").stage("prod")
    assert prod.production
    assert prod.functions["create-feedback"].memory == 512


def test_function_defaults_are_the_seeds(in_tmp: Path) -> None:
    write(in_tmp, MINIMAL)
    stage = load_config().stage("dev")
    assert tuple(stage.functions) == FUNCTION_NAMES
    sizes = {name: (f.memory, f.timeout) for name, f in stage.functions.items()}
    assert sizes == {
        "create-feedback": (256, 10),
        "list-feedback": (256, 10),
        "get-analytics": (128, 5),
        "health": (256, 10),
        "stream-aggregator": (256, 30),
        "rollback-orchestrator": (256, 60),
    }
    assert dict(FUNCTION_DEFAULTS) == sizes


def test_defaults_fill_every_section(in_tmp: Path) -> None:
    write(in_tmp, MINIMAL)
    stage = load_config().stage("dev")
    assert stage.alarms.function_errors == 5
    assert stage.alarms.period_seconds == 300
    assert stage.stream.max_retry_attempts == 3
    assert stage.stream.max_record_age_seconds == 3600
    assert stage.stream.batching_window_seconds == 1
    assert stage.kms_key_arn is None
    assert stage.cors_origins == ()
    assert stage.error_threshold("health") == 5


def test_a_function_table_overrides_only_its_keys(in_tmp: Path) -> None:
    write(
        in_tmp,
        MINIMAL
        + """
[stages.dev.functions.get-analytics]
memory = 512
error_threshold = 2
""",
    )
    stage = load_config().stage("dev")
    assert (stage.function("get-analytics").memory, stage.function("get-analytics").timeout) == (
        512,
        5,
    )
    assert stage.error_threshold("get-analytics") == 2
    assert stage.error_threshold("create-feedback") == 5


def test_an_integer_is_accepted_for_a_rate(in_tmp: Path) -> None:
    write(in_tmp, MINIMAL + "[stages.dev.throttling]\nrate_limit = 20\n")
    assert load_config().stage("dev").throttling.rate_limit == 20.0


# --- finding the file ----------------------------------------------------------------------


def test_found_walking_up_from_a_subdirectory(
    in_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(in_tmp, MINIMAL)
    nested = in_tmp / "a" / "b"
    nested.mkdir(parents=True)
    monkeypatch.chdir(nested)
    assert find_config() == path.resolve()


def test_env_variable_wins(in_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = in_tmp / "elsewhere.toml"
    other.write_text(MINIMAL.replace("feedback-dev", "other-dev"), encoding="utf-8")
    write(in_tmp, MINIMAL)
    monkeypatch.setenv("FEEDBACKCTL_CONFIG", str(other))
    assert load_config().stage("dev").stack_name == "other-dev"


def test_env_variable_naming_a_missing_file(in_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEEDBACKCTL_CONFIG", "/nonexistent/feedbackctl.toml")
    with pytest.raises(ConfigError) as caught:
        load_config()
    assert str(caught.value) == (
        "FEEDBACKCTL_CONFIG points at /nonexistent/feedbackctl.toml, which is not a file "
        "(fix or unset FEEDBACKCTL_CONFIG)"
    )


def test_no_file_anywhere(in_tmp: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        find_config(Path("/"))
    assert str(caught.value) == (
        "no feedbackctl.toml in / or any parent directory "
        "(run from the project root or set FEEDBACKCTL_CONFIG)"
    )


# --- choosing a stage ----------------------------------------------------------------------


def test_unknown_stage_lists_the_stages(in_tmp: Path) -> None:
    write(in_tmp, MINIMAL)
    with pytest.raises(ConfigError) as caught:
        load_config().stage("qa")
    assert str(caught.value) == (
        "feedbackctl.toml: unknown stage 'qa' (pick one of: dev; or add [stages.qa])"
    )


def test_missing_stage_without_a_default(in_tmp: Path) -> None:
    write(in_tmp, MINIMAL.replace('[project]\ndefault_stage = "dev"\n', ""))
    with pytest.raises(ConfigError) as caught:
        load_config().stage(None)
    assert str(caught.value) == (
        "no stage given and feedbackctl.toml sets no [project] default_stage "
        "(pass --stage with one of: dev)"
    )


def test_default_stage_must_exist(in_tmp: Path) -> None:
    assert error_of(in_tmp, MINIMAL.replace('default_stage = "dev"', 'default_stage = "qa"')) == (
        "feedbackctl.toml: project.default_stage names 'qa', which is not a stage (use one of: dev)"
    )


# --- mistakes in the file: one line each, naming file, key or line, and the fix --------------


def test_malformed_toml_names_the_line(in_tmp: Path) -> None:
    assert error_of(in_tmp, MINIMAL + "[stages.dev.alarms]\nfunction_errors = = 5\n") == (
        "feedbackctl.toml:9: malformed TOML, column 19: Invalid value (fix the syntax at that line)"
    )


def test_threshold_of_the_wrong_type(in_tmp: Path) -> None:
    assert error_of(in_tmp, MINIMAL + '[stages.dev.alarms]\nfunction_errors = "5"\n') == (
        "feedbackctl.toml: stages.dev.alarms.function_errors must be an integer, "
        "got a string ('5') (write an integer, e.g. function_errors = 5)"
    )


def test_a_boolean_is_not_an_integer(in_tmp: Path) -> None:
    assert error_of(in_tmp, MINIMAL + "[stages.dev.alarms]\nthrottles = true\n") == (
        "feedbackctl.toml: stages.dev.alarms.throttles must be an integer, "
        "got a boolean (true) (write an integer, e.g. throttles = 0)"
    )


def test_wrong_type_for_a_list(in_tmp: Path) -> None:
    message = error_of(in_tmp, MINIMAL + 'cors_origins = "https://example.com"\n')
    assert message == (
        "feedbackctl.toml: stages.dev.cors_origins must be a list of strings, got a string "
        "('https://example.com') (write a list of strings, e.g. cors_origins = [])"
    )


def test_wrong_type_for_a_section(in_tmp: Path) -> None:
    assert error_of(in_tmp, MINIMAL + "alarms = 5\n") == (
        "feedbackctl.toml: stages.dev.alarms must be a table, got an integer (5) "
        "(write it as a [stages.dev.alarms] section)"
    )


def test_unknown_key_suggests_the_close_one(in_tmp: Path) -> None:
    text = MINIMAL + "[stages.dev.functions.health]\nmemroy = 512\n"
    assert error_of(in_tmp, text) == (
        "feedbackctl.toml: unknown key stages.dev.functions.health.memroy (did you mean "
        "'memory'? known keys here: memory, timeout, reserved_concurrency, error_threshold)"
    )


def test_unknown_top_level_key(in_tmp: Path) -> None:
    assert error_of(in_tmp, "stagez = 1\n" + MINIMAL).startswith(
        "feedbackctl.toml: unknown key stagez (did you mean 'stages'?"
    )


def test_unknown_function_name(in_tmp: Path) -> None:
    message = error_of(in_tmp, MINIMAL + "[stages.dev.functions.create_feedback]\nmemory = 512\n")
    assert message == (
        "feedbackctl.toml: unknown key stages.dev.functions.create_feedback (did you mean "
        "'create-feedback'? known keys here: create-feedback, list-feedback, get-analytics, "
        "health, stream-aggregator, rollback-orchestrator)"
    )


def test_missing_required_key(in_tmp: Path) -> None:
    assert error_of(in_tmp, MINIMAL.replace('region = "eu-west-1"\n', "")) == (
        "feedbackctl.toml: stages.dev.region is required (add region = ... to [stages.dev])"
    )


def test_no_stages(in_tmp: Path) -> None:
    assert error_of(in_tmp, "[project]\n") == (
        "feedbackctl.toml: no stages defined (add a [stages.dev] table)"
    )


@pytest.mark.parametrize(
    ("addition", "expected"),
    [
        (
            "log_retention_days = 10\n",
            "stages.dev.log_retention_days must be one of 1, 3, 5, 7, 14, 30, 60,",
        ),
        ("[stages.dev.alarms]\nperiod_seconds = 45\n", "period_seconds must be 10, 30 or"),
        ("[stages.dev.functions.health]\nmemory = 64\n", "memory must be between 128 and 10240"),
        ('log_level = "LOUD"\n', "log_level must be one of DEBUG, INFO, WARNING, ERROR"),
        ('cors_origins = ["https://x.example/app"]\n', "entry 'https://x.example/app' must be"),
        ('alarm_email = "ops"\n', "alarm_email must be an email address"),
        ('kms_key_arn = "alias/mine"\n', "kms_key_arn must be a KMS key ARN"),
        ("[stages.dev.stream]\nmax_record_age_seconds = 10\n", "between 60 and 604800"),
    ],
)
def test_values_out_of_bounds(in_tmp: Path, addition: str, expected: str) -> None:
    message = error_of(in_tmp, MINIMAL + addition)
    assert message.startswith("feedbackctl.toml: stages.dev.")
    assert expected in message
    assert message.endswith("in feedbackctl.toml)")


def test_stack_name_must_be_lowercase(in_tmp: Path) -> None:
    assert error_of(in_tmp, MINIMAL.replace("feedback-dev", "Feedback_Dev")) == (
        "feedbackctl.toml: stages.dev.stack_name must be 2-40 lowercase letters, digits, "
        "hyphens (fix stages.dev.stack_name in feedbackctl.toml)"
    )


def test_stage_names_are_restricted(in_tmp: Path) -> None:
    assert error_of(in_tmp, MINIMAL.replace("[stages.dev]", '[stages."Dev Env"]')).startswith(
        "feedbackctl.toml: stage name 'Dev Env' is not allowed"
    )


def test_api_function_timeout_cannot_outlast_api_gateway(in_tmp: Path) -> None:
    assert error_of(in_tmp, MINIMAL + "[stages.dev.functions.list-feedback]\ntimeout = 30\n") == (
        "feedbackctl.toml: stages.dev.functions.list-feedback.timeout must be at most 29 "
        "(API Gateway stops waiting after 29 s) (set timeout to 29 or less)"
    )


def test_datapoints_cannot_exceed_periods(in_tmp: Path) -> None:
    text = MINIMAL + "[stages.dev.alarms]\nevaluation_periods = 2\ndatapoints_to_alarm = 3\n"
    assert error_of(in_tmp, text) == (
        "feedbackctl.toml: stages.dev.alarms.datapoints_to_alarm (3) exceeds "
        "evaluation_periods (2) (lower datapoints_to_alarm or raise evaluation_periods)"
    )


def test_kms_key_must_be_in_the_stage_region(in_tmp: Path) -> None:
    key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    assert error_of(in_tmp, MINIMAL + f'kms_key_arn = "{key}"\n') == (
        "feedbackctl.toml: stages.dev.kms_key_arn is in us-east-1, the stage is in eu-west-1 "
        "(use a key (or a multi-Region replica) in the stage's region)"
    )


def test_every_stage_is_checked_not_only_the_one_used(in_tmp: Path) -> None:
    text = MINIMAL + '[stages.prod]\nregion = "eu-west-1"\nstack_name = 7\n'
    assert error_of(in_tmp, text).startswith(
        "feedbackctl.toml: stages.prod.stack_name must be a string, got an integer (7)"
    )


def test_every_key_is_documented() -> None:
    docs = (ROOT / "docs" / "templates.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"`([a-z0-9_<>.-]+)`", docs))
    missing = [key for key in config_keys() if key not in documented]
    assert not missing, f"keys missing from docs/templates.md: {missing}"
