"""The watch flow: start the guard, print what it sees and does, stop cleanly on Ctrl-C."""

from __future__ import annotations

import json

from feedbackctl.aws import Aws
from feedbackctl.cli.console import Terminal
from feedbackctl.cli.views import result_dict, show_result
from feedbackctl.operations import engine_ports
from feedbackctl.watch import guard


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
        ports, actor = engine_ports(aws), f"watch:{aws.caller()}"
    stage = aws.target.stage
    term.status(
        f"watching {len(functions)} function(s) on stage {stage} every {interval:g}s; Ctrl-C stops"
    )
    events = guard(
        aws.client("cloudwatch"),
        ports,
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
                elif event.kind == "rollback" and event.result is not None:
                    if as_json:
                        term.data(json.dumps(result_dict(event.result)))
                    else:
                        show_result(term, event.result)
    except KeyboardInterrupt:
        term.status("stopped watching")
