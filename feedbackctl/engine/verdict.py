"""Release verdicts from per-version evidence (pure): the rules, one check, and the analysis.

A check compares the new version with the stable one on the same clock: invocations, errors
(AWS/Lambda `Errors`, which count crashes, timeouts, import errors and OOM kills, plus our own
logged errors), throttles and p99 duration. Errors the stable version shares never fail the new
one: only the excess of the new version's error rate over the stable version's counts. Too
little traffic is "inconclusive", never a pass. The analysis turns a sequence of checks into a
decision (continue, roll back, extend the hold, promote), as Flagger's analysis does with its
`threshold` of failed checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

DECISIVE_FAILURES = 3  # never judge on fewer failures than this before min_invocations
CheckStatus = Literal["pass", "fail", "inconclusive"]
Decision = Literal["continue", "rollback", "promote", "extend", "inconclusive"]


@dataclass(frozen=True)
class VerdictRules:
    """The stage's thresholds (`[stages.S.release]` in feedbackctl.toml)."""

    min_invocations: int = 20
    max_error_rate_increase: float = 0.05
    max_p99_ratio: float = 2.0
    p99_floor_ms: float = 100.0
    # Below this many invocations a p99 is the slowest one or two, which for a new version are
    # its cold starts (the stable version is warm): a latency verdict needs a real tail.
    p99_min_invocations: int = 200
    failed_checks: int = 2
    inconclusive_extensions: int = 2
    on_inconclusive: Literal["promote", "rollback"] = "promote"

    @classmethod
    def from_settings(cls, settings: Any) -> VerdictRules:
        """From a config.ReleaseSettings (duck-typed: the engine imports no CLI-side module)."""
        return cls(
            min_invocations=int(settings.min_invocations),
            max_error_rate_increase=float(settings.max_error_rate_increase),
            max_p99_ratio=float(settings.max_p99_ratio),
            p99_floor_ms=float(settings.p99_floor_ms),
            p99_min_invocations=int(settings.p99_min_invocations),
            failed_checks=int(settings.failed_checks),
            inconclusive_extensions=int(settings.inconclusive_extensions),
            on_inconclusive=settings.on_inconclusive,
        )


@dataclass(frozen=True)
class VersionEvidence:
    """What one version did in one window."""

    version: str
    invocations: float = 0.0
    errors: float = 0.0  # AWS/Lambda Errors: the function failed (crash, timeout, import, OOM)
    logged_errors: float = 0.0  # our ERROR log lines (handled failures answered with a 500)
    throttles: float = 0.0
    p99_ms: float | None = None

    @property
    def failures(self) -> float:
        """Failed invocations: an invocation counts once even if it both logged and crashed."""
        return min(self.errors + self.logged_errors, max(self.invocations, 0.0))

    @property
    def error_rate(self) -> float:
        return self.failures / self.invocations if self.invocations else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "invocations": int(self.invocations),
            "errors": int(self.errors),
            "loggedErrors": int(self.logged_errors),
            "throttles": int(self.throttles),
            "errorRate": round(self.error_rate, 4),
            "p99Ms": None if self.p99_ms is None else round(self.p99_ms, 1),
        }


@dataclass(frozen=True)
class Check:
    """One comparison of the new version with the stable one."""

    status: CheckStatus
    reasons: tuple[str, ...]
    new: VersionEvidence
    stable: VersionEvidence | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "reasons": list(self.reasons),
            "new": self.new.as_dict(),
            "stable": self.stable.as_dict() if self.stable else None,
        }

    def summary(self) -> str:
        """One line for progress output: `v7 3/40 failed (7.5%) vs v6 0/380 (0.0%)`."""
        text = _describe(self.new)
        if self.stable is not None:
            text += f" vs {_describe(self.stable)}"
        return text


def _describe(evidence: VersionEvidence) -> str:
    p99 = "" if evidence.p99_ms is None else f", p99 {evidence.p99_ms:.0f} ms"
    return (
        f"v{evidence.version} {int(evidence.failures)}/{int(evidence.invocations)} failed "
        f"({evidence.error_rate:.1%}{p99})"
    )


def check(new: VersionEvidence, stable: VersionEvidence | None, rules: VerdictRules) -> Check:
    """Judge `new` against `stable` (None: no baseline, an error-free one is assumed)."""
    failures: list[str] = []
    baseline = stable.error_rate if stable is not None and stable.invocations else 0.0
    excess = new.error_rate - baseline
    # A failing version is obvious before min_invocations: failures that would exceed the limit
    # even if every remaining invocation up to min_invocations succeeded are decisive.
    decisive = new.failures >= DECISIVE_FAILURES and (
        new.failures / rules.min_invocations - baseline > rules.max_error_rate_increase
    )
    if new.invocations < rules.min_invocations and not decisive:
        return Check(
            "inconclusive",
            (
                f"too little traffic: {int(new.invocations)} of {rules.min_invocations} "
                f"invocations of version {new.version}",
            ),
            new,
            stable,
        )
    if excess > rules.max_error_rate_increase:
        failures.append(
            f"error rate {new.error_rate:.1%} exceeds the stable version's {baseline:.1%} "
            f"by more than {rules.max_error_rate_increase:.1%}"
        )
    if new.throttles and (stable is None or new.throttles > stable.throttles * 2):
        share = new.throttles / (new.invocations + new.throttles)
        if share > rules.max_error_rate_increase:
            failures.append(f"{int(new.throttles)} throttled invocations ({share:.1%})")
    if (
        new.p99_ms is not None
        and stable is not None
        and stable.p99_ms
        and new.invocations >= rules.p99_min_invocations
        and new.p99_ms > rules.p99_floor_ms
        and new.p99_ms > stable.p99_ms * rules.max_p99_ratio
    ):
        failures.append(
            f"p99 {new.p99_ms:.0f} ms is more than {rules.max_p99_ratio:g}× "
            f"the stable version's {stable.p99_ms:.0f} ms"
        )
    if failures:
        return Check("fail", tuple(failures), new, stable)
    return Check("pass", ("within the rules",), new, stable)


@dataclass(frozen=True)
class Analysis:
    """The state of one release's analysis across its checks (immutable; `after` advances)."""

    rules: VerdictRules
    failed_in_row: int = 0
    extensions: int = 0
    checks: tuple[Check, ...] = field(default=())

    @property
    def last(self) -> Check | None:
        return self.checks[-1] if self.checks else None

    def after(self, result: Check) -> tuple[Analysis, Decision]:
        """Record a check made while a step holds; roll back after enough failures in a row."""
        failed = self.failed_in_row + 1 if result.status == "fail" else 0
        state = replace(self, failed_in_row=failed, checks=(*self.checks, result))
        if failed >= self.rules.failed_checks:
            return state, "rollback"
        return state, "continue"

    def at_end_of_hold(self) -> tuple[Analysis, Decision]:
        """The step's window is over: promote, extend an inconclusive hold, or give up."""
        last = self.last
        if last is None or last.status == "inconclusive":
            if self.extensions < self.rules.inconclusive_extensions:
                return replace(self, extensions=self.extensions + 1), "extend"
            return self, "inconclusive"
        if last.status == "fail":
            # A failure that has not yet been confirmed by `failed_checks` in a row: one more
            # window decides, within the same extension budget.
            if self.extensions < self.rules.inconclusive_extensions:
                return replace(self, extensions=self.extensions + 1), "extend"
            return self, "rollback"
        return self, "promote"

    def next_step(self) -> Analysis:
        """A new traffic step starts: the failure streak and extensions start again."""
        return replace(self, failed_in_row=0, extensions=0)


@dataclass(frozen=True)
class Windows:
    """How long each phase of a release holds, derived from the stage's alarms."""

    step_s: float
    bake_s: float
    poll_s: float
    minimum_s: float
    metric_delay_s: float
    drill_timeout_s: float

    def as_dict(self) -> dict[str, float]:
        return {
            "stepSeconds": self.step_s,
            "bakeSeconds": self.bake_s,
            "pollSeconds": self.poll_s,
            "minimumSeconds": self.minimum_s,
            "metricDelaySeconds": self.metric_delay_s,
            "drillTimeoutSeconds": self.drill_timeout_s,
        }


class WindowTooShortError(ValueError):
    """A requested window cannot see a single datapoint of the stage's metrics."""

    def __init__(self, what: str, seconds: float, minimum: float) -> None:
        super().__init__(
            f"{what} of {seconds:g} s is too short to see one datapoint on this stage "
            f"(alarm period + metric delay); use at least {minimum:g} s"
        )
        self.minimum = minimum


def windows(
    period_s: int,
    evaluation_periods: int,
    metric_delay_s: float,
    *,
    step_s: float | None = None,
    bake_s: float | None = None,
) -> Windows:
    """Default and check the windows: one datapoint needs a whole period plus the metric delay;
    the defaults cover the alarm's whole evaluation window plus the delay, so a failure the
    alarm would see is seen by the release too."""
    minimum = float(period_s + metric_delay_s)
    default = float(period_s * evaluation_periods + metric_delay_s)
    chosen_step = default if step_s is None else float(step_s)
    chosen_bake = default if bake_s is None else float(bake_s)
    for what, value in (("the step window", chosen_step), ("the bake window", chosen_bake)):
        if 0 < value < minimum:
            raise WindowTooShortError(what, value, minimum)
    poll = max(1.0, min(float(period_s), 60.0) / 2)
    drill = max(2 * default, default + 120.0) + period_s
    return Windows(chosen_step, chosen_bake, poll, minimum, float(metric_delay_s), drill)
