"""The history renderers: the ledger's events as a table (who, why, the evidence behind each),
printed so that each row stays one grep-able line when piped.
"""

from __future__ import annotations

import re
from typing import Any

from rich.table import Table

from feedbackctl.cli.console import Terminal
from feedbackctl.engine.model import LedgerEvent, human_duration

# Raw float seconds as some writers put them in a reason ("detect 10.809128095999995s").
_RAW_SECONDS = re.compile(r"\b(\d+\.\d{3,})\s?s\b")


def _readable(text: str) -> str:
    return _RAW_SECONDS.sub(lambda m: human_duration(float(m.group(1))), text)


def _change(event: LedgerEvent) -> str:
    if event.previous_version and event.version:
        return f"{event.previous_version} → {event.version}"
    if event.previous_version:  # refused before a target was chosen
        return f"from {event.previous_version}"
    return event.version or "-"


def _figures(version: dict[str, Any], *, label: str = "") -> str:
    invocations = int(version.get("invocations") or 0)
    failed = min(
        int(version.get("errors") or 0) + int(version.get("loggedErrors") or 0), invocations
    )
    text = f"v{version.get('version')} {failed}/{invocations}{label}"
    if version.get("throttles"):
        text += f", {int(version['throttles'])} throttled"
    return text


def check_line(check: dict[str, Any]) -> str:
    """One check (verdict.Check.as_dict) as `v7 12/40 failed vs v6 0/380`."""
    new, stable = check.get("new") or {}, check.get("stable")
    text = _figures(new, label=" failed")
    if stable:
        text += f" vs {_figures(stable)}"
    if any("p99" in r for r in check.get("reasons") or []) and new.get("p99Ms") is not None:
        text += f"; p99 {new['p99Ms']:.0f} ms"
        if stable and stable.get("p99Ms") is not None:
            text += f" vs {stable['p99Ms']:.0f} ms"
    return text


def _last_check(verdict: dict[str, Any]) -> dict[str, Any] | None:
    checks = verdict.get("checks")
    if isinstance(checks, list) and checks and isinstance(checks[-1], dict):
        return checks[-1]
    last = verdict.get("last")  # the deploy writes the decisive check here, `checks` a count
    return last if isinstance(last, dict) else None


def evidence_line(event: LedgerEvent) -> str:
    """The figures behind an event, compact: a release verdict's or the orchestrator's check,
    or a drill's timings. "" when the event carries none (--json has all of it)."""
    details = event.details
    verdict, evidence = details.get("verdict"), details.get("evidence")
    if isinstance(verdict, dict):
        check = _last_check(verdict)
        decision = verdict.get("decision") or verdict.get("status") or ""
        if check is None:
            return str(decision)
        return f"{decision}: {check_line(check)}" if decision else check_line(check)
    if isinstance(evidence, dict) and isinstance(evidence.get("new"), dict):
        return f"{evidence.get('status', '')}: {check_line(evidence)}".lstrip(": ")
    timings = [
        f"{label} {human_duration(float(details[key]))}"
        for key, label in (("detectSeconds", "detected in"), ("recoverSeconds", "healed in"))
        if isinstance(details.get(key), int | float)
    ]
    return ", ".join(timings)


def _why(event: LedgerEvent) -> str:
    lines = [_readable(event.reason)]
    message = event.details.get("message")
    if message and event.outcome != "done":
        lines.append(f"→ {_readable(str(message))}")
    overrides = event.details.get("overrides")
    if overrides:
        lines.append("[overrides: " + ", ".join(str(o) for o in overrides) + "]")
    return " ".join(lines)  # one line per event, so `history | grep` finds the whole why


def history_table(events: list[LedgerEvent]) -> Table:
    """Newest first; the outcome names the rule behind a refusal or skip."""
    table = Table("at", "function", "kind", "outcome", "versions", "actor", box=None)
    table.add_column("why", overflow="fold")
    table.add_column("evidence", overflow="fold")
    for column in table.columns[:6]:
        column.no_wrap = True
    for e in events:
        outcome = f"{e.outcome} ({e.rule})" if e.rule else e.outcome
        table.add_row(
            e.at, e.function, e.kind, outcome, _change(e), e.actor, _why(e), evidence_line(e) or "-"
        )
    return table


def print_table(term: Terminal, table: Table) -> None:
    """A table on stdout; when piped, wide enough that each row stays one grep-able line
    (a pipe has no width; rich would assume 80 columns and cut every cell)."""
    if not term.out.is_terminal:
        term.out.width = max(term.out.width, 240)
    term.out.print(table)
