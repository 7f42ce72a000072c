"""The status renderer: one row per function (live version and weights, ledger, drift, alarm,
last release, notes).
"""

from __future__ import annotations

from rich.table import Table

from feedbackctl.operations import StageStatus


def status_table(status: StageStatus) -> Table:
    table = Table("function", "live", "ledger", "drift", "alarm", "last release", "notes", box=None)
    for f in status.functions:
        live = f.live_version or "-"
        if f.routing:
            live += " + " + ", ".join(f"{v}@{w:.0%}" for v, w in f.routing.items())
        release = f"{f.last_release.version} at {f.last_release.at}" if f.last_release else "-"
        notes = "; ".join(
            x
            for x in (
                f.problem,
                f"shifting: {f.shifting}" if f.shifting else "",
                "latched" if f.latched else "",
                f"bad: {', '.join(f.bad_versions)}" if f.bad_versions else "",
            )
            if x
        )
        table.add_row(
            f.function,
            live,
            f.ledger_version or "-",
            f.drift or "-",
            f.alarm_state,
            release,
            notes or "-",
        )
    return table
