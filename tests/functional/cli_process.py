"""Run feedbackctl in a fresh interpreter, as a shell runs it, and see which modules it loaded.

The process imports the console script's entry point and runs it on the given arguments; when
it ends (however it ends) it appends the sorted names in sys.modules to stderr after a marker,
which `run_feedbackctl` splits off again.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

MARK = "--- modules loaded: "
PROBE = f"""
import sys
sys.argv = ["feedbackctl", *sys.argv[1:]]
from feedbackctl.cli.entry import main
try:
    main()
finally:
    sys.stderr.write("\\n{MARK}" + repr(sorted(sys.modules)) + "\\n")
"""
ROOT = Path(__file__).resolve().parents[2]
# The interpreter's scripts folder, where the `feedbackctl` console script is installed.
SCRIPTS = Path(sys.executable).parent


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str
    modules: frozenset[str]

    def packages(self, *names: str) -> set[str]:
        """Which of these top-level packages the process imported."""
        return {name for name in names if any(m.split(".")[0] == name for m in self.modules)}

    def loaded(self, prefix: str) -> set[str]:
        """The loaded modules under `prefix` (a package name with its trailing dot)."""
        return {m for m in self.modules if m.startswith(prefix)}


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without a completion request, at 80 columns, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("_FEEDBACKCTL_COMPLETE")}
    return {**env, "COLUMNS": "80", **extra}


def run_feedbackctl(*args: str, cwd: Path = ROOT, **extra_env: str) -> Run:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        cwd=cwd,
        env=clean_env(**extra_env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    stderr, _, modules = done.stderr.rpartition(f"\n{MARK}")
    assert modules, f"the process ended before reporting its modules: {done.stderr}"
    return Run(done.returncode, done.stdout, stderr, frozenset(ast.literal_eval(modules)))
