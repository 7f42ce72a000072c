"""The deploy flow: render, package, read, plan, show, confirm, execute, summarise."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from typing import Any

import typer
from rich.table import Table

from feedbackctl import cfn
from feedbackctl.aws import Aws
from feedbackctl.cli import options
from feedbackctl.cli.console import Terminal
from feedbackctl.cli.site_flow import publish_web_app
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
from feedbackctl.engine.release import ReleasePolicy
from feedbackctl.errors import EXIT_FAILED, UsageError
from feedbackctl.functions import FUNCTION_NAMES, UnknownFunctionError
from feedbackctl.functions import function as lookup
from feedbackctl.operations import engine_ports

FAILED_OUTCOMES = {"rolled-back", "failed", "interrupted"}


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
    )


def selected_functions(names: list[str] | None) -> list[str]:
    try:
        return [lookup(n).name for n in names] if names else list(FUNCTION_NAMES)
    except UnknownFunctionError as exc:
        raise UsageError(str(exc)) from None


def plan_dict(plan: DeployPlan) -> dict[str, Any]:
    return {
        "stack": plan.stack_action,
        "uploads": [a.s3_key for a in plan.uploads],
        "releases": [
            {
                "function": r.function,
                "action": r.action,
                "reason": r.reason,
                "codeUpdate": r.code_update,
                "from": r.from_version,
            }
            for r in plan.releases
        ],
        "strategy": plan.policy.strategy,
    }


def show_plan(term: Terminal, plan: DeployPlan) -> None:
    stack = {
        "create": "create the stack",
        "update": "update the stack (change set)",
        "none": "stack unchanged",
    }
    term.data(
        f"Plan: {stack[plan.stack_action]}; {len(plan.uploads)} artifact(s) to upload; "
        f"strategy {plan.policy.strategy}"
    )
    for r in plan.releases:
        term.data(f"  {r.function:<22} {r.action:<9} {r.reason}")


def summary_table(outcomes: list[FunctionOutcome]) -> Table:
    table = Table("function", "version", "code size", "outcome", "detail", box=None)
    for o in outcomes:
        change = (
            f"{o.from_version or '-'} → {o.to_version or '-'}"
            if o.from_version != o.to_version
            else (o.to_version or "-")
        )
        table.add_row(o.function, change, f"{o.size / 1024:.1f} KB", o.outcome, o.detail)
    return table


@dataclass(frozen=True)
class Prepared:
    """Everything read and decided before anything changes."""

    stage: Any
    template: str
    bootstrap: str
    clients: DeployClients
    facts: Any
    plan: DeployPlan


def prepare(
    aws: Aws, names: list[str] | None, policy: ReleasePolicy, *, allow_rolled_back: bool
) -> Prepared:
    """Render, package, read the stage (read-only) and plan."""
    from feedbackctl.config import load_config
    from feedbackctl.packaging import PROJECT_ROOT, default_out_dir, package_all
    from feedbackctl.templating import render_bootstrap, render_stack

    functions = selected_functions(names)
    stage = load_config().stage(aws.target.stage)
    template, bootstrap = render_stack(stage), render_bootstrap(stage)
    manifest = package_all(PROJECT_ROOT, default_out_dir(stage.name), only=functions)
    clients = clients_for(aws)
    with aws.errors(f"reading stage {stage.name}"):
        facts = read_facts(clients, template, manifest, functions, local_platform=aws.target.local)
    plan = plan_deploy(facts, manifest, functions, policy, allow_rolled_back=allow_rolled_back)
    return Prepared(stage, template, bootstrap, clients, facts, plan)


def execute(aws: Aws, prepared: Prepared, term: Terminal, *, yes: bool) -> list[FunctionOutcome]:
    """Confirm, then run the plan; the stack as it stands afterwards is re-read by the caller."""
    stage, plan = prepared.stage, prepared.plan
    if plan.stack_action == "none":
        options.confirm(f"Release to stage {stage.name}?", yes=yes, production=stage.production)
    else:
        options.require_answerable(yes=yes)  # fail before the first change set, not after

    def confirm(question: str) -> bool:
        term.status(question)
        options.confirm("Proceed?", yes=yes, production=stage.production)
        return True

    context = DeployContext(
        aws.caller(), git_commit(), prepared.template, prepared.bootstrap, confirm, term.status
    )
    stack = prepared.facts.stack
    local_stack = stack if stack is not None and stack.status == LOCAL_PLATFORM else None
    with aws.errors(f"deploying stage {stage.name}"):
        return Deployer(prepared.clients, context, local_stack=local_stack).run(plan)


def run_deploy(
    aws: Aws,
    names: list[str] | None,
    policy: ReleasePolicy,
    *,
    dry_run: bool,
    yes: bool,
    as_json: bool,
    allow_rolled_back: bool,
) -> None:
    term = Terminal()
    prepared = prepare(aws, names, policy, allow_rolled_back=allow_rolled_back)
    plan, stack = prepared.plan, prepared.facts.stack
    if not as_json:
        show_plan(term, plan)
    outcomes: list[FunctionOutcome] = []
    if dry_run or not plan.mutating:
        # Nothing to release (or only looking); the web app may still have changed on its own.
        site = publish_web_app(aws, prepared.stage, term, stack, dry_run=dry_run)
        if not dry_run and not as_json:
            term.success("nothing to release: every function runs this code")
    else:
        outcomes = execute(aws, prepared, term, yes=yes)
        site = None
        if not any(o.outcome in FAILED_OUTCOMES for o in outcomes):
            if plan.stack_action != "none":  # created or changed: its outputs may be new
                with aws.errors(f"reading the outputs of stage {prepared.stage.name}"):
                    stack = cfn.describe_stack(prepared.clients.cfn, aws.target.stack_name)
            site = publish_web_app(aws, prepared.stage, term, stack, dry_run=False)
    if as_json:
        report: dict[str, Any] = {"plan": plan_dict(plan), "site": site.as_dict() if site else None}
        report.update(
            {"dryRun": True} if dry_run else {"outcomes": [o.as_dict() for o in outcomes]}
        )
        term.json(report)
    elif outcomes:
        term.out.print(summary_table(outcomes))
    if any(o.outcome in FAILED_OUTCOMES for o in outcomes):
        raise typer.Exit(EXIT_FAILED)
