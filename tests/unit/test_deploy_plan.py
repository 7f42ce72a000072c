"""Deploy planning on in-memory facts: no-op, one function changed, template-only, held."""

from __future__ import annotations

from pathlib import Path

import pytest

from feedbackctl.aws.stacks import StackInfo
from feedbackctl.deploy import (
    DeployFacts,
    FunctionFacts,
    config_fingerprint,
    plan_deploy,
    plan_function,
)
from feedbackctl.engine.release import ReleasePolicy, ShiftStep, schedule
from feedbackctl.packaging import Artifact, Manifest

FUNCTIONS = ["create-feedback", "list-feedback"]
POLICY = ReleasePolicy()


def artifact(name: str, sha: str) -> Artifact:
    return Artifact(
        name, Path(f"/build/{name}.zip"), sha.encode().hex().ljust(64, "0")[:64], sha, 1000, 10
    )


MANIFEST = Manifest(
    {
        "create-feedback": artifact("create-feedback", "sha-c2"),
        "list-feedback": artifact("list-feedback", "sha-l1"),
    }
)


def live(name: str, sha: str, version: str = "3", **kw) -> FunctionFacts:
    base = {
        "exists": True,
        "latest_sha": sha,
        "latest_config": "cfg",
        "live_version": version,
        "live_sha": sha,
        "live_config": "cfg",
    }
    return FunctionFacts(name, **{**base, **kw})


def facts(
    functions: dict[str, FunctionFacts], *, changed: bool = False, uploaded=None
) -> DeployFacts:
    keys = (
        frozenset(a.s3_key for a in MANIFEST.artifacts.values()) if uploaded is None else uploaded
    )
    return DeployFacts(
        StackInfo("fb", "UPDATE_COMPLETE", {"CodeBucketName": "b"}), changed, keys, functions
    )


def test_nothing_changed_is_a_no_op():
    plan = plan_deploy(
        facts(
            {
                "create-feedback": live("create-feedback", "sha-c2"),
                "list-feedback": live("list-feedback", "sha-l1"),
            }
        ),
        MANIFEST,
        FUNCTIONS,
        POLICY,
    )
    assert plan.stack_action == "none"
    assert plan.uploads == ()
    assert [r.action for r in plan.releases] == ["unchanged", "unchanged"]
    assert not plan.mutating


def test_one_function_changed():
    plan = plan_deploy(
        facts(
            {
                "create-feedback": live("create-feedback", "sha-c1"),
                "list-feedback": live("list-feedback", "sha-l1"),
            },
            uploaded=frozenset({MANIFEST.artifacts["list-feedback"].s3_key}),
        ),
        MANIFEST,
        FUNCTIONS,
        POLICY,
    )
    assert [(r.function, r.action, r.code_update) for r in plan.releases] == [
        ("create-feedback", "release", True),
        ("list-feedback", "unchanged", False),
    ]
    assert [a.function for a in plan.uploads] == ["create-feedback"]
    assert plan.releases[0].reason == "code changed"


def test_template_only_change_updates_the_stack_and_releases_nothing():
    plan = plan_deploy(
        facts(
            {
                "create-feedback": live("create-feedback", "sha-c2"),
                "list-feedback": live("list-feedback", "sha-l1"),
            },
            changed=True,
        ),
        MANIFEST,
        FUNCTIONS,
        POLICY,
    )
    assert plan.stack_action == "update"
    assert [r.action for r in plan.releases] == ["unchanged", "unchanged"]


def test_configuration_change_publishes_without_a_code_update():
    changed = live("create-feedback", "sha-c2", latest_config="cfg-new")
    plan = plan_deploy(facts({"create-feedback": changed}), MANIFEST, ["create-feedback"], POLICY)
    [release] = plan.releases
    assert (release.action, release.code_update, release.reason) == (
        "release",
        False,
        "configuration changed",
    )


def test_code_of_a_rolled_back_version_is_held():
    rolled_back = live(
        "create-feedback", "sha-c1", version="2", latest_sha="sha-c2", bad_shas={"sha-c2": "3"}
    )
    plan = plan_deploy(
        facts({"create-feedback": rolled_back}), MANIFEST, ["create-feedback"], POLICY
    )
    [release] = plan.releases
    assert release.action == "held"
    assert "identical to version 3, which was rolled back" in release.reason
    allowed = plan_deploy(
        facts({"create-feedback": rolled_back}),
        MANIFEST,
        ["create-feedback"],
        POLICY,
        allow_rolled_back=True,
    )
    assert allowed.releases[0].action == "release"


def test_a_template_change_after_a_rollback_still_holds_the_bad_code():
    rolled_back = live(
        "create-feedback",
        "sha-c1",
        version="2",
        latest_sha="sha-c2",
        latest_config="cfg-new",
        bad_shas={"sha-c2": "3"},
    )
    plan = plan_deploy(
        facts({"create-feedback": rolled_back}, changed=True), MANIFEST, ["create-feedback"], POLICY
    )
    assert plan.stack_action == "update"
    assert plan.releases[0].action == "held"


def test_new_stack_creates_then_releases_everything():
    plan = plan_deploy(DeployFacts(None, True, frozenset(), {}), MANIFEST, FUNCTIONS, POLICY)
    assert plan.stack_action == "create"
    assert len(plan.uploads) == 2
    assert all(r.action == "release" and r.code_update for r in plan.releases)


def test_an_unfinished_shift_is_completed():
    shifting = live("create-feedback", "sha-c2", routing={"4": 0.1})
    assert (
        plan_deploy(facts({"create-feedback": shifting}), MANIFEST, ["create-feedback"], POLICY)
        .releases[0]
        .action
        == "release"
    )


@pytest.mark.parametrize(
    ("policy", "weights"),
    [
        (ReleasePolicy("all-at-once"), [1.0]),
        (ReleasePolicy("canary", 10), [0.1, 1.0]),
        (ReleasePolicy("linear", 25), [0.25, 0.5, 0.75, 1.0]),
        (ReleasePolicy("linear", 30), [0.3, 0.6, 0.9, 1.0]),
    ],
)
def test_strategy_schedules(policy, weights):
    steps = schedule(policy)
    assert [s.weight for s in steps] == weights
    assert steps[-1] == ShiftStep(1.0, policy.bake_s)


def test_fingerprint_ignores_code_and_metadata_but_not_environment():
    base = {
        "Runtime": "python3.12",
        "MemorySize": 256,
        "Environment": {"Variables": {"A": "1"}},
        "CodeSha256": "x",
    }
    assert config_fingerprint(base) == config_fingerprint(
        {**base, "CodeSha256": "y", "LastModified": "now"}
    )
    assert config_fingerprint(base) != config_fingerprint(
        {**base, "Environment": {"Variables": {"A": "2"}}}
    )


def test_a_release_plan_is_the_list_of_steps_the_executor_runs():
    from feedbackctl.releasing import Hold, PreTraffic, Publish, Record, Shift, describe_steps

    facts = DeployFacts(
        StackInfo("s", "UPDATE_COMPLETE", {}),
        False,
        frozenset(),
        {"create-feedback": live("create-feedback", "sha-c1")},
    )
    canary = ReleasePolicy("canary", 10, step_s=360, bake_s=360, poll_s=30)
    smoke = ("POST /feedback 201 {}", "GET /health 200")
    [release] = plan_deploy(
        facts, MANIFEST, ["create-feedback"], canary, smoke_tests=smoke
    ).releases
    assert release.steps == (
        Publish("create-feedback", True, MANIFEST.artifacts["create-feedback"].s3_key, "sha-c2"),
        PreTraffic("create-feedback", ("POST /feedback 201 {}",)),  # only its own route's test
        Shift("create-feedback", 0.1),
        Hold("create-feedback", 360, "10% of traffic"),
        Shift("create-feedback", 1.0),
        Record("create-feedback"),
        Hold("create-feedback", 360, "bake at 100%"),
    )
    assert describe_steps(release.steps)[1:4] == [
        "pretraffic: invoke the new version with the health event and 1 smoke test(s); "
        "any failure stops here",
        "shift: route 10% of live's traffic to the new version",
        "hold: hold 360 s (10% of traffic), judging per-version evidence",
    ]


def test_a_first_release_is_health_checked_then_made_live_without_a_hold():
    from feedbackctl.releasing import PreTraffic, Record, Shift

    facts = DeployFacts(StackInfo("s", "UPDATE_COMPLETE", {}), False, frozenset(), {})
    [release] = plan_deploy(facts, MANIFEST, ["create-feedback"], POLICY).releases
    assert release.steps[1:] == (
        PreTraffic("create-feedback", ()),
        Shift("create-feedback", 1.0),
        Record("create-feedback"),
    )


def test_unchanged_and_held_functions_have_no_steps():
    facts = DeployFacts(
        StackInfo("s", "UPDATE_COMPLETE", {}),
        False,
        frozenset(),
        {"list-feedback": live("list-feedback", "sha-l1")},
    )
    [release] = plan_deploy(facts, MANIFEST, ["list-feedback"], POLICY).releases
    assert (release.action, release.steps) == ("unchanged", ())


def test_a_deploy_that_held_a_function_exits_3_and_says_why(capsys):
    import typer

    from feedbackctl.cli.commands.deploy.run import exit_for
    from feedbackctl.cli.console import Terminal
    from feedbackctl.releasing import FunctionOutcome

    facts = DeployFacts(
        StackInfo("s", "UPDATE_COMPLETE", {}),
        False,
        frozenset(),
        {"create-feedback": live("create-feedback", "sha-c1", bad_shas={"sha-c2": "4"})},
    )
    plan = plan_deploy(facts, MANIFEST, ["create-feedback"], POLICY)
    held = [FunctionOutcome("create-feedback", "held", "3", "3", 1000, "")]
    with pytest.raises(typer.Exit) as stopped:
        exit_for(Terminal(no_color=True), plan, held, dry_run=False)
    assert stopped.value.exit_code == 3
    assert (
        "create-feedback held: code is identical to version 4, which was rolled back"
        in capsys.readouterr().err
    )


def test_a_configuration_change_made_by_the_stack_update_is_released_in_the_same_deploy():
    from feedbackctl.deploy import replan_releases

    before = DeployFacts(
        StackInfo("s", "UPDATE_COMPLETE", {}),
        True,
        frozenset(),
        {"list-feedback": live("list-feedback", "sha-l1")},
    )
    plan = plan_deploy(before, MANIFEST, ["list-feedback"], POLICY)
    assert plan.releases[0].action == "unchanged"  # before the update: nothing to release
    # The update raised the memory: $LATEST's configuration no longer matches the live version.
    after = {"list-feedback": live("list-feedback", "sha-l1", latest_config="cfg-512mb")}
    [release] = replan_releases(plan, after).releases
    assert (release.action, release.reason, release.code_update) == (
        "release",
        "configuration changed",
        False,
    )
    assert [type(s).__name__ for s in release.steps][:2] == ["Publish", "PreTraffic"]


def test_the_fix_for_a_configuration_rollback_is_not_held():
    # Version 5 ran this code with a bad configuration and was rolled back; the template now
    # fixes the configuration: same code as live, new configuration, released.
    facts = live("create-feedback", "sha-c2", latest_config="cfg-fixed", bad_shas={"sha-c2": "5"})
    release = plan_function(facts, MANIFEST.artifacts["create-feedback"], allow_rolled_back=False)
    assert (release.action, release.reason) == ("release", "configuration changed")
