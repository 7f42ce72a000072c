"""The deploy flow: render, package, read, plan, show, confirm, execute, summarise."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import asdict, dataclass, replace
from typing import Any

import typer

from feedbackctl.aws import Aws, stacks
from feedbackctl.cli import options
from feedbackctl.cli.commands.deploy.site import publish_web_app
from feedbackctl.cli.commands.deploy.views import (
    FAILED_OUTCOMES,
    plan_dict,
    show_outcomes,
    show_plan,
)
from feedbackctl.cli.commands.doctor import preflight
from feedbackctl.cli.console import Terminal
from feedbackctl.deploy import (
    LOCAL_PLATFORM,
    DeployClients,
    DeployContext,
    Deployer,
    DeployPlan,
    FunctionOutcome,
    plan_deploy,
    read_facts,
)
from feedbackctl.engine.ledger import DynamoLedger
from feedbackctl.engine.release import ReleasePolicy, Strategy
from feedbackctl.engine.verdict import VerdictRules, WindowTooShortError, windows
from feedbackctl.errors import EXIT_FAILED, EXIT_REFUSED, RefusedError, UsageError
from feedbackctl.operations import engine_ports
from feedbackctl.releasing import Judging


def git_commit() -> str:
    """The short commit of the working tree, `-dirty` when it has changes; "" outside git."""
    git = shutil.which("git")
    if git is None:
        return ""

    def run(*args: str) -> str:
        done = subprocess.run([git, *args], capture_output=True, text=True, check=True)  # noqa: S603
        return done.stdout.strip()

    try:
        sha, dirty = run("rev-parse", "--short=12", "HEAD"), run("status", "--porcelain")
    except (OSError, subprocess.CalledProcessError):
        return ""
    return sha + ("-dirty" if dirty else "")


def clients_for(aws: Aws) -> DeployClients:
    names = aws.target.names
    return DeployClients(
        cfn=aws.client("cloudformation"),
        s3=aws.client("s3"),
        lambda_=aws.client("lambda"),
        cloudwatch=aws.client("cloudwatch"),
        ledger=DynamoLedger(aws.client("dynamodb"), names.ledger_table),
        names=names,
        engine=engine_ports(aws),
        dynamodb=aws.client("dynamodb"),
        logs=aws.client("logs"),
    )


@dataclass(frozen=True)
class Prepared:
    """Everything read and decided before anything changes."""

    stage: Any
    template: str
    bootstrap: str
    clients: DeployClients
    facts: Any
    plan: DeployPlan
    judging: Judging
    local: Any = None  # the local platform's stack (feedbackctl.local.changes.LocalStack)
    local_changes: tuple[Any, ...] = ()


@dataclass(frozen=True)
class PolicyRequest:
    """The release options as typed; windows left out default from the stage's alarms."""

    strategy: Strategy = "all-at-once"
    percent: int = 10
    step_s: float | None = None
    bake_s: float | None = None


def resolve_policy(stage: Any, request: PolicyRequest) -> tuple[ReleasePolicy, Judging]:
    """Windows from the stage's alarm period, evaluation periods and metric delay; a window too
    short to see one datapoint is refused with the minimum that would work."""
    alarms, release = stage.alarms, stage.release
    try:
        w = windows(
            alarms.period_seconds,
            alarms.evaluation_periods,
            release.metric_delay_seconds,
            step_s=request.step_s,
            bake_s=request.bake_s,
        )
    except WindowTooShortError as exc:
        raise UsageError(str(exc)) from None
    if request.step_s == 0 and request.strategy != "all-at-once":
        # 0 means "no bake" after 100 %; a canary or linear step that holds nothing is no step.
        raise UsageError(
            f"--step-seconds 0 leaves a {request.strategy} release no time to judge a step; "
            f"use at least {w.minimum_s:g} s, or --strategy all-at-once"
        )
    policy = ReleasePolicy(request.strategy, request.percent, w.step_s, w.bake_s, w.poll_s)
    judging = Judging(
        rules=VerdictRules.from_settings(release),
        period_s=min(alarms.period_seconds, 60),
        metric_delay_s=release.metric_delay_seconds,
        smoke_tests=release.smoke_tests,
    )
    return policy, judging


def prepare(
    aws: Aws, names: list[str] | None, request: PolicyRequest, *, allow_rolled_back: bool
) -> Prepared:
    """Render, package, read the stage (read-only) and plan."""
    from feedbackctl.config import load_config
    from feedbackctl.packaging import PROJECT_ROOT, default_out_dir, package_all
    from feedbackctl.templating import render_bootstrap, render_stack

    functions = options.selected_functions(names)
    stage = load_config().stage(aws.target.stage)
    policy, judging = resolve_policy(stage, request)
    template, bootstrap = render_stack(stage), render_bootstrap(stage)
    manifest = package_all(PROJECT_ROOT, default_out_dir(stage.name), only=functions)
    clients = clients_for(aws)
    with aws.errors(f"reading stage {stage.name}"):
        facts = read_facts(clients, template, manifest, functions, local_platform=aws.target.local)
    local, changes = None, ()
    if facts.stack is not None and facts.stack.status == LOCAL_PLATFORM:
        local, changes = _local_stack(aws, facts.stack.outputs["CodeBucketName"], template)
        facts = replace(facts, template_changed=bool(changes))
    elif facts.stack is None and aws.target.local:
        _refuse_destroyed_local_stack(stage)
    plan = plan_deploy(
        facts,
        manifest,
        functions,
        policy,
        allow_rolled_back=allow_rolled_back,
        smoke_tests=judging.smoke_tests,
    )
    return Prepared(stage, template, bootstrap, clients, facts, plan, judging, local, changes)


def _refuse_destroyed_local_stack(stage: Any) -> None:
    """A running local platform without its stack (`destroy` tore it down) cannot be deployed
    to: a stack is provisioned by `local up` when it starts, never into a running data plane."""
    from feedbackctl.local import record

    running = record.find(stage)
    if running is not None:
        raise RefusedError(
            f"the local platform (pid {running.pid}) serves no stack {stage.stack_name}: "
            "`feedbackctl destroy` tore it down, and a deploy cannot provision it into a running "
            "platform (nothing was changed)",
            doing=f"deploying stage {stage.name}",
            hint=f"stop the platform (Ctrl-C) and start `feedbackctl local up --stage {stage.name}`"
            ": it provisions the stack afresh and keeps the tables and buckets destroy retained",
        )


def _local_stack(aws: Aws, bucket: str, template: str) -> tuple[Any, tuple[Any, ...]]:
    """The running local platform's stack and how the rendered template differs from it."""
    from feedbackctl.cfnyaml import load
    from feedbackctl.local.changes import LocalStack

    services = ("s3", "logs", "cloudwatch", "lambda", "dynamodb", "secretsmanager")
    with aws.errors("reading the local platform's stack"):
        local = LocalStack(
            {s: aws.client(s) for s in services},
            bucket,
            stack=aws.target.stack_name,
            region=aws.target.region,
        )
        return local, tuple(local.changes(load(template)))


def execute(
    aws: Aws, prepared: Prepared, term: Terminal, *, yes: bool, adopt_retained: bool = False
) -> list[FunctionOutcome]:
    """Confirm, then run the plan; the stack as it stands afterwards is re-read by the caller."""
    stage, plan = prepared.stage, prepared.plan
    if plan.stack_action == "none":
        options.confirm(f"Release to stage {stage.name}?", yes=yes, production=stage.production)
    else:
        options.require_answerable(yes=yes)  # fail before the first change set, not after

    def confirm(question: str) -> bool:
        term.status(question)
        try:
            options.confirm("Proceed?", yes=yes, production=stage.production)
        except typer.Abort:  # a "no": the deployer cleans up and says what to run instead
            return False
        return True

    from feedbackctl.cli.commands.deploy.board import ReleaseBoard

    board = ReleaseBoard(term, [r.function for r in plan.releases if r.action != "held"])
    context = DeployContext(
        aws.caller(),
        git_commit(),
        prepared.template,
        prepared.bootstrap,
        confirm,
        board,
        judging=prepared.judging,
        adopt_retained=adopt_retained,
        stage=stage.name,
    )
    if prepared.local is not None:
        from feedbackctl.cfnyaml import load

        local = prepared.local

        def apply_local() -> None:
            local.apply(load(prepared.template), lambda line: term.status(f"local stack: {line}"))
            local.wait_served()  # the running gateway serves the new API before releases start

        context.apply_local = apply_local
    stack = prepared.facts.stack
    local_stack = stack if stack is not None and stack.status == LOCAL_PLATFORM else None
    with aws.errors(f"deploying stage {stage.name}"), board:
        return Deployer(prepared.clients, context, local_stack=local_stack).run(plan)


def run_deploy(
    aws: Aws,
    names: list[str] | None,
    policy: PolicyRequest,
    *,
    dry_run: bool,
    yes: bool,
    as_json: bool,
    allow_rolled_back: bool,
    adopt_retained: bool = False,
    watch: bool = False,
) -> None:
    term = Terminal()
    # The doctor's checks first: a stage that cannot be deployed stops here, with the fix.
    preflight(aws, term, adopt_retained=adopt_retained)
    prepared = prepare(aws, names, policy, allow_rolled_back=allow_rolled_back)
    _check_watchable(aws, prepared, watch=watch)  # before anything changes
    plan, stack = prepared.plan, prepared.facts.stack
    if not as_json:
        show_plan(term, plan)
        for change in prepared.local_changes:
            marker = " " if change.applicable else "!"
            term.data(f"  {marker} local stack: {change.line()}")
    outcomes: list[FunctionOutcome] = []
    if dry_run or not plan.mutating:
        # Nothing to release (or only looking); the web app may still have changed on its own.
        site = publish_web_app(aws, prepared.stage, term, stack, dry_run=dry_run)
        if not dry_run and not as_json and not any(r.action == "held" for r in plan.releases):
            term.success("nothing to release: every function runs this code")
    else:
        outcomes = execute(aws, prepared, term, yes=yes, adopt_retained=adopt_retained)
        site = None
        if not any(o.outcome in FAILED_OUTCOMES for o in outcomes):
            if plan.stack_action != "none" and prepared.local is None:  # outputs may be new
                with aws.errors(f"reading the outputs of stage {prepared.stage.name}"):
                    stack = stacks.describe_stack(prepared.clients.cfn, aws.target.stack_name)
            site = publish_web_app(aws, prepared.stage, term, stack, dry_run=False)
    if as_json:
        report: dict[str, Any] = {"plan": plan_dict(plan), "site": site.as_dict() if site else None}
        if prepared.local is not None:
            report["localStackChanges"] = [asdict(c) for c in prepared.local_changes]
        report.update(
            {"dryRun": True} if dry_run else {"outcomes": [o.as_dict() for o in outcomes]}
        )
        term.json(report)
    elif outcomes:
        show_outcomes(term, outcomes)
    _watch_then_exit(aws, prepared, term, outcomes, watch=watch, dry_run=dry_run)


def _check_watchable(aws: Aws, prepared: Prepared, *, watch: bool) -> None:
    if watch and prepared.local is None:
        raise UsageError(
            f"--watch releases into a running local platform, and {aws.target.endpoint_url} "
            f"holds no stack {aws.target.stack_name} provisioned by `feedbackctl local up`"
        )


def _watch_then_exit(
    aws: Aws,
    prepared: Prepared,
    term: Terminal,
    outcomes: list[FunctionOutcome],
    *,
    watch: bool,
    dry_run: bool,
) -> None:
    """With --watch, after a deploy that failed nothing, release saved code changes until
    Ctrl-C; then exit as the deploy decided."""
    if watch and any(o.outcome in FAILED_OUTCOMES for o in outcomes):
        term.status("not watching: the deploy failed")
    elif watch:
        from feedbackctl.cli.commands.deploy.watch import watch_after_deploy

        watch_after_deploy(aws, prepared.local.bucket, term)
    exit_for(term, prepared.plan, outcomes, dry_run=dry_run)


def exit_for(
    term: Terminal, plan: DeployPlan, outcomes: list[FunctionOutcome], *, dry_run: bool
) -> None:
    """1 when a release failed; 3 when a safety rule held a function (it said why); else 0."""
    if any(o.outcome in FAILED_OUTCOMES for o in outcomes):
        raise typer.Exit(EXIT_FAILED)
    held = [r for r in plan.releases if r.action == "held"]
    if held and not dry_run:
        for release in held:
            term.error(f"{release.function} held: {release.reason}")
        raise typer.Exit(EXIT_REFUSED)
