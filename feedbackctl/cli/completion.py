"""Shell completion's values and formats: what a parameter completes to, chosen by its name
(`stage`, `function`/`functions`, `strategy`, `fault`) on every command as it is loaded, and the
zsh and fish formats with their descriptions as plain text.

Typer writes the scripts (`--install-completion`, `--show-completion`) and runs the protocol
(`_FEEDBACKCTL_COMPLETE=complete_bash|complete_zsh|complete_fish`); its own zsh and fish formats
pass each description through rich, which this CLI's plain help does not need, so completing
never imports rich. Stage names come from feedbackctl.toml (none outside a project); function
names from feedbackctl.functions.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from typer._click.shell_completion import CompletionItem, add_completion_class
from typer._completion_classes import FishComplete, ZshComplete

# `feedbackctl deploy --strategy`: how the live alias moves (feedbackctl.engine.release).
STRATEGIES: tuple[tuple[str, str], ...] = (
    ("all-at-once", "all traffic to the new version, then the bake window"),
    ("canary", "--percent of the traffic for one step, then all of it"),
    ("linear", "--percent more of the traffic at each step"),
)
# `feedbackctl drill --fault`: how the drill version misbehaves (lambdas.common.runtime.Fault).
FAULTS: tuple[tuple[str, str], ...] = (
    ("exception", "an exception escapes the handler"),
    ("timeout", "runs past the function's timeout"),
    ("import-error", "the handler module fails to import"),
    ("crash", "the process exits without an answer"),
    ("memory", "allocates until the memory limit stops it"),
    ("latency", "slow but correct: latency:<ms> (default 3000)"),
    ("error", "a logged ERROR and a 500"),
)

_WHITESPACE = re.compile(r"\s")

Completer = Callable[[Any, Any, str], list[CompletionItem]]


def stages(_ctx: Any, _param: Any, incomplete: str) -> list[CompletionItem]:
    """The stages of the nearest feedbackctl.toml, each with its region and stack."""
    from feedbackctl.config import load_config
    from feedbackctl.errors import ConfigError

    try:
        config = load_config()
    except ConfigError:
        return []
    return [
        CompletionItem(name, help=f"{stage.region}, stack {stage.stack_name}")
        for name, stage in sorted(config.stages.items())
        if name.startswith(incomplete)
    ]


def functions(_ctx: Any, _param: Any, incomplete: str) -> list[CompletionItem]:
    """The platform's functions, each API function with its route."""
    from feedbackctl.functions import FUNCTIONS

    return [
        CompletionItem(spec.name, help=" ".join(spec.route) if spec.route else None)
        for spec in FUNCTIONS
        if spec.name.startswith(incomplete)
    ]


def _choices(table: tuple[tuple[str, str], ...]) -> Completer:
    def complete(_ctx: Any, _param: Any, incomplete: str) -> list[CompletionItem]:
        return [CompletionItem(v, help=h) for v, h in table if v.startswith(incomplete)]

    return complete


# A parameter completes by its name, whichever command declares it.
COMPLETERS: dict[str, Completer] = {
    "stage": stages,
    "function": functions,
    "functions": functions,
    "strategy": _choices(STRATEGIES),
    "fault": _choices(FAULTS),
}


def attach(command: Any) -> None:
    """Give `command`'s (and its subcommands') parameters their completer, unless they have one."""
    for param in command.params:
        completer = COMPLETERS.get(param.name or "")
        if completer is not None and param._custom_shell_complete is None:
            param._custom_shell_complete = completer
    for sub in getattr(command, "commands", {}).values():
        attach(sub)


class PlainZshComplete(ZshComplete):
    """Typer's zsh format, descriptions as they are written (escaped as values are)."""

    def format_completion(self, item: CompletionItem) -> str:
        value = super().format_completion(CompletionItem(item.value))
        if not item.help:
            return value
        return f"{value}:{super().format_completion(CompletionItem(item.help))}"


class PlainFishComplete(FishComplete):
    """Typer's fish format, descriptions as they are written (on one line)."""

    def format_completion(self, item: CompletionItem) -> str:
        if not item.help:
            return str(item.value)
        return f"{item.value}\t{_WHITESPACE.sub(' ', item.help)}"


def use_plain_formats() -> None:
    """Answer zsh and fish with the plain formats (Typer registers its own when it builds)."""
    add_completion_class(PlainZshComplete, "zsh")
    add_completion_class(PlainFishComplete, "fish")
