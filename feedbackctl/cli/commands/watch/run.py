"""The watch flow: build the guard's responder (the engine's ports, a CloudWatch evidence
reader, the stage's verdict rules), print what it sees and does, stop cleanly on Ctrl-C."""

from __future__ import annotations

import json

from feedbackctl.aws import Aws
from feedbackctl.cli.console import Terminal
from feedbackctl.cli.views import result_dict, show_result
from feedbackctl.engine.incident import Responder, metrics_evidence
from feedbackctl.engine.verdict import VerdictRules
from feedbackctl.operations import engine_ports
from feedbackctl.watch import guard


def responder(aws: Aws) -> Responder:
    """The same inputs the orchestrator has: ports, evidence, and this stage's release rules."""
    from feedbackctl.config import load_config

    rules = VerdictRules.from_settings(load_config().stage(aws.target.stage).release)
    evidence = metrics_evidence(aws.client("cloudwatch"), aws.target.stack_name)
    return Responder(engine_ports(aws), evidence, rules)


def run_watch(
    aws: Aws,
    functions: list[str],
    interval: float,
    *,
    force: bool,
    as_json: bool,
    ignore_cooldown: bool = False,
) -> None:
    term = Terminal()
    with aws.errors("starting the guard"):
        acting, actor = responder(aws), f"watch:{aws.caller()}"
    stage = aws.target.stage
    term.status(
        f"watching {len(functions)} function(s) on stage {stage} every {interval:g}s; Ctrl-C stops"
    )
    events = guard(
        aws.client("cloudwatch"),
        acting,
        aws.target.names,
        functions,
        actor,
        interval=interval,
        force=force,
        ignore_cooldown=ignore_cooldown,
    )
    try:
        with aws.errors("watching the alarms"):
            for event in events:
                if event.kind == "alarm":
                    term.warn(f"{event.function}: {event.detail}")
                elif event.kind == "ignored":
                    term.warn(event.detail)
                elif event.kind == "rollback" and event.result is not None:
                    if as_json:
                        term.data(json.dumps(result_dict(event.result)))
                    else:
                        show_result(term, event.result)
    except KeyboardInterrupt:
        term.status("stopped watching")
