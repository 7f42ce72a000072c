"""CloudWatch Logs verbs: one page of filtered events, log groups by exact name or prefix, and
deleting log groups (a group already gone is not an error).

Over an injected `logs` client.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from feedbackctl.aws import error_code


def filter_events(client: Any, request: dict[str, Any]) -> dict[str, Any]:
    """One FilterLogEvents page (`events`, and `nextToken` while there are more)."""
    page: dict[str, Any] = client.filter_log_events(**request)
    return page


def log_groups(client: Any, exact: Iterable[str] = (), prefixes: Iterable[str] = ()) -> list[str]:
    """The names of the log groups that exist: those named in `exact`, and every group whose
    name starts with one of `prefixes`."""
    paginator = client.get_paginator("describe_log_groups")
    wanted = [(n, True) for n in exact] + [(p, False) for p in prefixes]
    found: list[str] = []
    for prefix, whole in wanted:
        for page in paginator.paginate(logGroupNamePrefix=prefix):
            found += [
                g["logGroupName"]
                for g in page.get("logGroups", [])
                if not whole or g["logGroupName"] == prefix
            ]
    return found


def delete_log_groups(client: Any, names: Iterable[str]) -> list[str]:
    """Delete each group; the names of those this call deleted."""
    deleted = []
    for name in names:
        try:
            client.delete_log_group(logGroupName=name)
        except Exception as exc:
            if error_code(exc) != "ResourceNotFoundException":
                raise
            continue
        deleted.append(name)
    return deleted
