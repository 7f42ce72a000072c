"""Start-up as a shell sees it: `feedbackctl`, `--help`, `--version` and every command's
`--help` in a fresh interpreter, what they print and which modules they load.

None of them loads boto3, botocore, rich or pydantic; the root help and the version load not
even typer; a command's help loads that command's module (of a command package, its
`__init__` only: not the flow or renderers beside it) and no other command's, nor any
implementation beyond the shared options. The root help is the catalog's, whichever path
prints it.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from feedbackctl import __version__
from feedbackctl.cli import catalog
from feedbackctl.cli.app import app
from tests.functional.cli_process import run_feedbackctl

pytestmark = pytest.mark.slow

HEAVY = ("boto3", "botocore", "rich", "pydantic")
COMMANDS = "feedbackctl.cli.commands."
# What any command's help may load of the project besides its own module.
SHARED = {
    "feedbackctl",
    "feedbackctl.errors",
    "feedbackctl.cli",
    "feedbackctl.cli.app",
    "feedbackctl.cli.catalog",
    "feedbackctl.cli.completion",
    "feedbackctl.cli.manual",
    "feedbackctl.cli.entry",
    "feedbackctl.cli.options",
    "feedbackctl.cli.commands",
}
# validate takes its --stage option from render's module.
ALSO_LOADS = {"validate": {"render"}}
HELP_OF = [name for name, _module, _summary in catalog.COMMANDS] + [
    "analytics verify",
    "local up",
    "local reset",
]


def test_root_help_prints_every_command_and_loads_no_command():
    run = run_feedbackctl("--help")

    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("Usage: feedbackctl [OPTIONS] COMMAND [ARGS]...\n")
    flat = " ".join(run.stdout.split())
    for name, _module, summary in catalog.COMMANDS:
        assert f" {name} {summary}" in flat, f"{name}: whole summary missing from the root help"
    assert run.packages(*HEAVY, "typer", "click") == set()
    assert run.loaded("feedbackctl") == {
        "feedbackctl",
        "feedbackctl.cli",
        "feedbackctl.cli.catalog",
        "feedbackctl.cli.entry",
    }


def test_root_help_is_the_catalogs_through_the_shell_and_the_typer_app():
    shell = run_feedbackctl("--help")  # 80 columns: click's help width is 78
    runner = CliRunner().invoke(app, ["--help"])  # CliRunner forces click's width to 80

    assert shell.stdout == catalog.root_help("feedbackctl", 78) + "\n"
    assert runner.exit_code == 0
    assert runner.stdout == catalog.root_help("feedbackctl", 80) + "\n"


def test_no_arguments_print_the_root_help_on_stderr_and_exit_2():
    run = run_feedbackctl()

    assert run.returncode == 2
    assert run.stdout == ""
    assert run.stderr == run_feedbackctl("--help").stdout
    assert run.packages(*HEAVY, "typer") == set()


def test_version_loads_nothing_else():
    run = run_feedbackctl("--version")

    assert (run.returncode, run.stdout) == (0, f"feedbackctl {__version__}\n")
    assert run.packages(*HEAVY, "typer") == set()


@pytest.mark.parametrize("command", HELP_OF)
def test_a_command_help_loads_that_command_only(command):
    run = run_feedbackctl(*command.split(), "--help")

    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith(f"Usage: feedbackctl {command} [OPTIONS]")
    assert run.packages(*HEAVY) == set()
    module = catalog.module_of(command.split()[0])
    # A command package's flow and renderers (e.g. deploy.run, deploy.views) load only to run.
    expected = {module, *ALSO_LOADS.get(module, set())}
    assert {m.removeprefix(COMMANDS) for m in run.loaded(COMMANDS)} == expected
    assert run.loaded("feedbackctl") - run.loaded(COMMANDS) <= SHARED


def test_an_unknown_command_is_refused_with_the_near_names():
    run = run_feedbackctl("deplo")

    assert run.returncode == 2
    assert run.stderr.endswith("Error: No such command 'deplo'. Did you mean 'deploy', 'demo'?\n")
    assert run.loaded(COMMANDS) == set()
    assert run.packages(*HEAVY) == set()


def test_a_bad_option_value_is_a_plain_usage_error():
    run = run_feedbackctl("deploy", "--percent", "0")

    assert run.returncode == 2
    assert run.stderr.startswith("Usage: feedbackctl deploy [OPTIONS]\n")
    assert "Invalid value for '--percent'" in run.stderr
    assert run.packages(*HEAVY) == set()
