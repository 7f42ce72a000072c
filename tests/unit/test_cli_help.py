"""Every command's help reads like a manual: values named for what they are, never Python or
click type names; fixed sets listed; one meaning per short flag across all commands."""

from __future__ import annotations

import re
from typing import Any

import pytest
from typer.testing import CliRunner

from feedbackctl.cli import catalog
from feedbackctl.cli.app import app, load_command

TYPE_NAMES = re.compile(r"<(str|int|float|bool|list|path)[^>]*>|\b(TEXT|INTEGER|FLOAT|BOOLEAN)\b")


def commands() -> list[tuple[list[str], Any]]:
    found = []
    for name, _module, _summary in catalog.COMMANDS:
        command = load_command(name)
        found.append(([name], command))
        for sub_name, sub in getattr(command, "commands", {}).items():
            found.append(([name, sub_name], sub))
    return found


@pytest.mark.parametrize(
    ("path", "command"), commands(), ids=lambda v: " ".join(v) if isinstance(v, list) else ""
)
def test_help_names_values_not_types(path, command):
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    assert not TYPE_NAMES.search(result.output), TYPE_NAMES.search(result.output)


def test_the_fixed_sets_are_listed():
    deploy = CliRunner().invoke(app, ["deploy", "--help"], env={"COLUMNS": "200"}).output
    drill = CliRunner().invoke(app, ["drill", "--help"], env={"COLUMNS": "200"}).output
    assert "Choices: all-at-once, canary, linear." in " ".join(deploy.split())
    assert "Choices: exception, timeout," in " ".join(drill.split())


def test_each_short_flag_means_one_option_everywhere():
    meanings: dict[str, set[str]] = {}
    for _path, command in commands():
        for param in command.params:
            longs = [o for o in [*param.opts, *param.secondary_opts] if o.startswith("--")]
            for short in (o for o in param.opts if re.fullmatch(r"-[A-Za-z]", o)):
                meanings.setdefault(short, set()).add(longs[0] if longs else short)
    assert {s: m for s, m in meanings.items() if len(m) > 1} == {}
    assert meanings["-f"] == {"--function"}
    assert meanings["-s"] == {"--stage"}
