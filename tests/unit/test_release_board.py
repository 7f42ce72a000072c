"""The deploy's release progress: a live table on a terminal, the plain lines elsewhere."""

from __future__ import annotations

import io

from rich.console import Console

from feedbackctl.cli.commands.deploy.board import ReleaseBoard
from feedbackctl.cli.console import Terminal

HOLD = "create-feedback: canary, 50 s left: v7 3/40 failed (7.5%) vs v6 0/380 (0.0%) [pass]"


def rendered(table) -> str:
    console = Console(file=io.StringIO(), width=140, force_terminal=False)
    console.print(table)
    return console.file.getvalue()


def test_off_a_terminal_every_step_is_one_plain_line(capsys):
    board = ReleaseBoard(Terminal(), ["create-feedback", "health"], live=False)
    with board:
        board("stack: change set applied")
        board("create-feedback: live → 6 + 7@10%")
        board(HOLD)
    assert capsys.readouterr().err.splitlines() == [
        "stack: change set applied",
        "create-feedback: live → 6 + 7@10%",
        HOLD,
    ]


def test_on_a_terminal_each_function_has_a_row_with_its_step_weight_and_evidence():
    now = [100.0]
    term = Terminal()
    screen = io.StringIO()
    term.err = Console(file=screen, force_terminal=True, width=140)
    board = ReleaseBoard(term, ["create-feedback", "health"], live=True, clock=lambda: now[0])
    with board:
        board("stack: no change")  # before any release: no table yet (prompts may follow)
        assert board._live is None
        board("create-feedback: live → 6 + 7@10%")
        assert board._live is not None
        now[0] += 30
        board(HOLD)
        table = rendered(board.table())
    assert "create-feedback  canary, 50 s left: v7 3/40 failed (7.5%) vs v6 0/380" in table
    assert "health           waiting" in table
    assert board._live is None  # the table goes with the releases; the lines stay
    printed = screen.getvalue()
    assert "stack: no change" in printed
    assert HOLD in printed
