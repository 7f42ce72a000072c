"""benchmarks/score_set.py: the command that prints a set's "scored once" figures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "benchmarks" / "score_set.py"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, check=False
    )


def test_it_prints_the_figures_by_length_and_by_id_range(tmp_path):
    data = tmp_path / "set.tsv"
    long = "The export has failed every night this week and " + "nobody answers " * 10
    data.write_text(
        "# a set\n"
        "1\tnegative\tN-fault\tThe app crashes constantly.\n"
        "2\tneutral\tU-request\tPlease add an export to PDF\n"
        f"3\tnegative\tN-fault\t{long.strip()}.\n"
        "4\tpositive\tP-praise\tSupport sorted it out in ten minutes, brilliant.\n",
        encoding="utf-8",
    )

    out = _run(str(data), "--parts", "1-2,3-4")

    assert out.returncode == 0, out.stderr
    lines = {line.split("  ")[0].strip(): line.split() for line in out.stdout.splitlines()}
    assert lines["all"][1:] == ["4", "accuracy", "1.000", "negative", "recall", "1.000"]
    assert lines["short"][1] == "3"
    assert lines["long"][1] == "1"
    assert lines["ids 1-2"][2:6] == ["2", "accuracy", "1.000", "negative"]


def test_a_bad_range_is_one_line_and_no_traceback(tmp_path):
    data = tmp_path / "set.tsv"
    data.write_text("1\tnegative\tN-fault\tThe app crashes constantly.\n", encoding="utf-8")

    out = _run(str(data), "--parts", "1..4")

    assert out.returncode == 2
    assert out.stderr == "error: not an id range: '1..4' (write first-last)\n"
