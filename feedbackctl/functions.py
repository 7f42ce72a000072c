"""The platform's functions: seed names (what users type), Python packages, and what each zip holds.

The one list every layer reads: config validation, rendering, packaging, releases and rollbacks.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FunctionSpec:
    """One Lambda function of the platform."""

    name: str  # the seed name users type: create-feedback
    package: str  # the Python package under lambdas/: create_feedback
    ships_engine: bool = False  # the orchestrator also carries the rollback engine
    route: tuple[str, str] | None = None  # (method, path) of the API route it serves

    @property
    def handler_module(self) -> str:
        return f"lambdas.{self.package}.handler"


FUNCTIONS: tuple[FunctionSpec, ...] = (
    FunctionSpec("create-feedback", "create_feedback", route=("POST", "/feedback")),
    FunctionSpec("list-feedback", "list_feedback", route=("GET", "/feedback")),
    FunctionSpec("get-analytics", "get_analytics", route=("GET", "/analytics")),
    FunctionSpec("health", "health", route=("GET", "/health")),
    FunctionSpec("stream-aggregator", "stream_aggregator"),
    FunctionSpec("rollback-orchestrator", "rollback_orchestrator", ships_engine=True),
)
FUNCTION_NAMES: tuple[str, ...] = tuple(f.name for f in FUNCTIONS)
_BY_NAME = {f.name: f for f in FUNCTIONS}


class UnknownFunctionError(KeyError):
    """A function name that is not one of the platform's six."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name

    def __str__(self) -> str:
        return f"unknown function {self.name!r}; valid names: {', '.join(FUNCTION_NAMES)}"


def function(name: str) -> FunctionSpec:
    """The spec for a seed name; UnknownFunctionError lists the valid names."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise UnknownFunctionError(name) from None
