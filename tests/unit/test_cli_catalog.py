"""The command catalog agrees with the command modules, the root help renders it whole, and
the completion tables agree with what the drill and the release engine accept."""

from __future__ import annotations

import importlib
import pkgutil

import typer

from feedbackctl.cli import catalog, commands, completion
from feedbackctl.cli.app import app, load_command
from feedbackctl.drill import FAULT_KINDS
from feedbackctl.engine.release import STRATEGIES


def _registered() -> dict[str, tuple[str, str]]:
    """Every command the modules register: name -> (module, first sentence of its help)."""
    found = {}
    for info in pkgutil.iter_modules(commands.__path__):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        holder = typer.Typer()
        module.register(holder)
        for name, command in typer.main.get_group(holder).commands.items():
            found[name] = (info.name, command.get_short_help_str(limit=10_000))
    return found


def test_the_catalog_is_what_the_command_modules_register():
    listed = {name: (module, summary) for name, module, summary in catalog.COMMANDS}

    assert listed == _registered(), (
        "feedbackctl/cli/catalog.py COMMANDS must list each command, its module and the first "
        "sentence of its help"
    )


def test_the_catalog_is_sorted_and_each_name_loads_its_command():
    names = [name for name, _module, _summary in catalog.COMMANDS]

    assert names == sorted(names)
    assert load_command("local").name == "local"
    assert sorted(load_command("analytics").commands) == ["verify"]


def test_the_root_options_are_the_apps():
    root = typer.main.get_command(app)
    ctx = root.make_context("feedbackctl", [], resilient_parsing=True)
    options = [(param.opts[0], param.help) for param in root.get_params(ctx)]

    assert options == list(catalog.OPTIONS)


def test_root_help_wraps_whole_summaries_under_their_column():
    text = catalog.root_help("feedbackctl", 60)
    lines = text.splitlines()

    assert max(len(line) for line in lines) <= 60
    assert lines[0] == "Usage: feedbackctl [OPTIONS] COMMAND [ARGS]..."
    start = lines.index("  setup-account  Create the account's API Gateway logging")
    assert lines[start + 1 : start + 4] == [
        "                 role (one stack per account and region) and",
        "                 point API Gateway's setting at it, retrying",
        "                 while the new role propagates.",
    ]
    assert "..." not in text.replace("[ARGS]...", "")


def test_help_width_follows_columns_up_to_80(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    assert catalog.help_width() == 78
    monkeypatch.setenv("COLUMNS", "64")
    assert catalog.help_width() == 62
    monkeypatch.setenv("COLUMNS", "20")
    assert catalog.help_width() == 50


def test_completion_tables_match_what_the_commands_accept():
    assert [value for value, _help in completion.STRATEGIES] == list(STRATEGIES)
    assert sorted(value for value, _help in completion.FAULTS) == sorted(FAULT_KINDS)


def test_every_command_is_in_exactly_one_group_of_the_root_help():
    grouped = [name for _title, names in catalog.GROUPS for name in names]
    assert sorted(grouped) == sorted(name for name, _module, _summary in catalog.COMMANDS)
    text = catalog.root_help(width=100)
    titles = [line for line in text.splitlines() if line.endswith(" commands:")]
    assert titles == [
        "Release commands:",
        "Observe commands:",
        "Local commands:",
        "Templates commands:",
        "Data and account commands:",
    ]
    release = text.split("Release commands:")[1].split("Observe commands:")[0]
    assert [
        line.split()[0]
        for line in release.splitlines()
        if line.startswith("  ") and not line.startswith("    ")
    ] == list(catalog.GROUPS[0][1])
