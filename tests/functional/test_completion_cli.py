"""Shell completion as the shells drive it: the scripts for bash, zsh and fish, the install,
and what `--stage`, `--function`, `--strategy`, `--fault` and command names complete to.

Each shell's script calls feedbackctl back with `_FEEDBACKCTL_COMPLETE=complete_<shell>` and
the words typed so far; these tests make the same calls (bash for real, through its script) in
a fresh interpreter and read the answer in the shell's own format. Completing loads none of
boto3, botocore, rich or pydantic.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from feedbackctl.functions import FUNCTION_NAMES
from tests.functional.cli_process import SCRIPTS, clean_env, run_feedbackctl

pytestmark = pytest.mark.slow

HEAVY = ("boto3", "botocore", "rich", "pydantic")
CONFIG = """
[project]
default_stage = "alpha"

[stages.alpha]
region = "eu-west-1"
stack_name = "feedback-alpha"

[stages.beta]
region = "us-east-1"
stack_name = "feedback-beta"
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder whose feedbackctl.toml has the stages alpha and beta."""
    (tmp_path / "feedbackctl.toml").write_text(CONFIG, encoding="utf-8")
    return tmp_path


def complete(shell: str, line: str, cwd: Path, **env: str):
    """feedbackctl's answer to `shell` completing `line` (words typed so far, last one partial)."""
    if shell == "bash":
        words = line.split(" ")
        env = {**env, "COMP_WORDS": "\n".join(words), "COMP_CWORD": str(len(words) - 1)}
    else:
        env = {**env, "_TYPER_COMPLETE_ARGS": line, "_TYPER_COMPLETE_FISH_ACTION": "get-args"}
    return run_feedbackctl(cwd=cwd, _FEEDBACKCTL_COMPLETE=f"complete_{shell}", **env)


def bash(script: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run `script` in a non-interactive bash that finds the installed console script first."""
    path = f"{SCRIPTS}:{clean_env()['PATH']}"
    return subprocess.run(
        ["bash", "--norc", "-c", script],
        cwd=cwd,
        env=clean_env(PATH=path, **env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("shell", "wiring"),
    [
        (
            "bash",
            [
                "_FEEDBACKCTL_COMPLETE=complete_bash $1",
                "complete -o default -F _feedbackctl_completion feedbackctl",
            ],
        ),
        (
            "zsh",
            [
                "#compdef feedbackctl",
                "_FEEDBACKCTL_COMPLETE=complete_zsh feedbackctl",
                "compdef _feedbackctl_completion feedbackctl",
            ],
        ),
        (
            "fish",
            [
                "complete --command feedbackctl --no-files",
                "env _FEEDBACKCTL_COMPLETE=complete_fish _TYPER_COMPLETE_FISH_ACTION=get-args",
            ],
        ),
    ],
)
def test_each_shell_gets_a_script_that_calls_feedbackctl_back(shell, wiring, tmp_path):
    run = run_feedbackctl(cwd=tmp_path, _FEEDBACKCTL_COMPLETE=f"source_{shell}")

    assert run.returncode == 0, run.stderr
    for line in wiring:
        assert line in run.stdout
    assert run.packages(*HEAVY) == set()


def test_show_completion_prints_the_script_of_the_shell_it_runs_in(tmp_path):
    shown = bash('feedbackctl --show-completion; echo "exit $?"', tmp_path)
    sourced = run_feedbackctl(cwd=tmp_path, _FEEDBACKCTL_COMPLETE="source_bash")

    assert shown.stdout == sourced.stdout.strip() + "\nexit 0\n"
    assert bash(f"bash -n <<'EOF'\n{sourced.stdout}\nEOF", tmp_path).returncode == 0


def test_install_completion_writes_the_script_and_sources_it_from_bashrc(tmp_path):
    installed = bash("feedbackctl --install-completion; true", tmp_path, HOME=str(tmp_path))
    script = tmp_path / ".bash_completions" / "feedbackctl.sh"

    assert installed.stdout.startswith(f"bash completion installed in {script}\n")
    assert "complete -o default -F _feedbackctl_completion feedbackctl" in script.read_text()
    assert f"source '{script}'" in (tmp_path / ".bashrc").read_text().splitlines()


def test_bash_completes_stage_names_from_feedbackctl_toml_through_its_script(project):
    done = bash(
        "source <(_FEEDBACKCTL_COMPLETE=source_bash feedbackctl)\n"
        'COMP_WORDS=(feedbackctl deploy --stage ""); COMP_CWORD=3\n'
        "_feedbackctl_completion feedbackctl\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n',
        project,
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["alpha", "beta"]


def test_stage_names_come_from_the_project_the_shell_is_in(project, tmp_path):
    assert complete("bash", "feedbackctl status --stage b", project).stdout == "beta\n"
    assert complete("bash", "feedbackctl local up -s ", project).stdout == "alpha\nbeta\n"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    config = str(project / "feedbackctl.toml")
    pointed = complete("bash", "feedbackctl render --stage ", elsewhere, FEEDBACKCTL_CONFIG=config)
    assert pointed.stdout == "alpha\nbeta\n"


def test_outside_a_project_stage_completes_to_nothing(tmp_path):
    run = complete("bash", "feedbackctl deploy --stage ", tmp_path)

    assert (run.returncode, run.stdout, run.stderr) == (0, "\n", "")


def test_zsh_completes_stages_with_region_and_stack(project):
    run = complete("zsh", "feedbackctl deploy --stage ", project)

    assert run.stdout == (
        "_arguments '*: :(("
        '"alpha":"eu-west-1, stack feedback-alpha"\n'
        '"beta":"us-east-1, stack feedback-beta"'
        "))'\n"
    )
    assert run.packages(*HEAVY) == set()


@pytest.mark.parametrize(
    "line",
    [
        "feedbackctl deploy --function ",
        "feedbackctl rollback -f ",
        "feedbackctl history --function ",
        "feedbackctl watch -f ",
        "feedbackctl drill --function ",
        "feedbackctl package -f ",
        "feedbackctl logs ",
    ],
)
def test_function_options_complete_the_platforms_functions(line, project):
    assert complete("bash", line, project).stdout.splitlines() == list(FUNCTION_NAMES)


def test_fish_completes_functions_with_their_routes(project):
    run = complete("fish", "feedbackctl rollback --function h", project)

    assert run.stdout == "health\tGET /health\n"
    assert run.packages(*HEAVY) == set()


def test_strategies_and_fault_kinds(project):
    strategies = complete("bash", "feedbackctl deploy --strategy ", project)
    faults = complete("bash", "feedbackctl drill --fault ", project)

    assert strategies.stdout.splitlines() == ["all-at-once", "canary", "linear"]
    assert faults.stdout.splitlines() == [
        "exception",
        "timeout",
        "import-error",
        "crash",
        "memory",
        "latency",
        "error",
    ]


def test_command_names_complete_with_their_summaries_without_loading_commands(project):
    run = complete("fish", "feedbackctl d", project)

    assert run.stdout.splitlines() == [
        "demo\tRun every handler for real against moto on 127.0.0.1: submit, aggregate, list.",
        "deploy\tRender, package, apply the stack through a change set, and release changed "
        "functions.",
        "destroy\tDelete the stage's stack after confirmation; tables and buckets survive it by "
        "default.",
        "doctor\tPreflight checks of a stage, each with a fix: credentials, region, stack state, "
        "code bucket, retained tables, API Gateway's logging role, template size, alarm topic.",
        "drill\tPublish a faulty version of the live code, shift to it, drive traffic, and report "
        "detect/recover times.",
    ]
    assert run.loaded("feedbackctl.cli.commands.") == set()
    assert run.packages(*HEAVY) == set()


def test_options_complete_too(project):
    run = complete("bash", "feedbackctl deploy --st", project)

    assert run.stdout.splitlines() == ["--strategy", "--step-seconds", "--stage"]
