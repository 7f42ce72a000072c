"""Help that reads like a manual: every option's value named for what it is (`STAGE`,
`FUNCTION`, `SECONDS`), never for its Python type (`<str>`, `<int range>`), and the choices of
an option that has a fixed set listed in its help.

Applied to each command when it loads (feedbackctl.cli.app.load_command), so the command
modules declare options plainly and the names stay one table, here.
"""

from __future__ import annotations

from typing import Any

from feedbackctl.cli.completion import FAULTS, STRATEGIES

# By parameter name: what its value is. Anything not named here is named after its option
# (`--request-id` → REQUEST_ID).
METAVARS = {
    "stage": "STAGE",
    "profile": "PROFILE",
    "region": "REGION",
    "endpoint_url": "URL",
    "function": "FUNCTION",
    "functions": "FUNCTION",
    "timeout": "SECONDS",
    "seconds": "SECONDS",
    "limit": "N",
    "count": "N",
    "pattern": "PATTERN",
    "email": "ADDRESS",
    "out": "DIR",
    "out_dir": "DIR",
    "state_dir": "DIR",
    "site_dir": "DIR",
}
# By parameter name: the fixed set of values, each with its one-line meaning (completion.py).
CHOICES = {"strategy": STRATEGIES, "fault": FAULTS}


def _metavar(param: Any) -> str:
    name = str(param.name or "")
    if name in METAVARS:
        return METAVARS[name]
    type_name = getattr(param.type, "name", "")
    if type_name in ("integer", "integer range") and "port" in name:
        return "PORT"
    if type_name in ("integer", "integer range", "float", "float range"):
        return "N"
    return name.upper()


def apply(command: Any) -> None:
    """Name `command`'s (and its subcommands') option values and list their choices."""
    for param in command.params:
        if getattr(param, "is_flag", False) or param.param_type_name != "option":
            continue
        if param.metavar is None:
            param.metavar = _metavar(param)
        choices = CHOICES.get(str(param.name or ""))
        if choices and "Choices:" not in (param.help or ""):
            listed = ", ".join(value for value, _meaning in choices)
            param.help = f"{param.help or ''} Choices: {listed}.".strip()
    for sub in getattr(command, "commands", {}).values():
        apply(sub)
