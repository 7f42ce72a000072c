"""The verdict rules (pure): inconclusive, thresholds over the stable version, p99, throttles,
consecutive failures and extensions, and the windows derived from a stage's alarms."""

from __future__ import annotations

import pytest

from feedbackctl.engine.verdict import (
    Analysis,
    VerdictRules,
    VersionEvidence,
    WindowTooShortError,
    check,
    windows,
)

RULES = VerdictRules(min_invocations=20, max_error_rate_increase=0.05, failed_checks=2)


def ev(
    version: str, invocations: float, errors: float = 0, logged: float = 0, **kw
) -> VersionEvidence:
    return VersionEvidence(version, invocations, errors, logged, **kw)


def test_too_little_traffic_is_inconclusive_never_a_pass():
    result = check(ev("7", 5), ev("6", 500), RULES)
    assert result.status == "inconclusive"
    assert result.reasons == ("too little traffic: 5 of 20 invocations of version 7",)


def test_a_version_failing_every_request_is_decided_before_min_invocations():
    result = check(ev("7", 4, errors=4), ev("6", 40), RULES)
    assert result.status == "fail"
    assert "error rate 100.0% exceeds the stable version's 0.0% by more than 5.0%" in result.reasons


def test_two_failures_are_never_decisive_on_their_own():
    assert check(ev("7", 2, errors=2), ev("6", 40), RULES).status == "inconclusive"


def test_errors_the_stable_version_shares_do_not_fail_the_new_one():
    result = check(ev("7", 100, errors=20), ev("6", 900, errors=180), RULES)
    assert result.status == "pass"


def test_an_excess_over_the_stable_rate_fails():
    result = check(ev("7", 100, errors=28), ev("6", 900, errors=180), RULES)
    assert result.status == "fail"
    assert result.reasons[0].startswith("error rate 28.0% exceeds the stable version's 20.0%")


def test_logged_errors_count_with_lambda_errors_but_an_invocation_counts_once():
    evidence = ev("7", 10, errors=8, logged=8)
    assert evidence.failures == 10
    assert evidence.error_rate == 1.0


def test_without_a_baseline_an_error_free_stable_version_is_assumed():
    assert check(ev("7", 40, errors=4), None, RULES).status == "fail"
    assert check(ev("7", 40, errors=1), None, RULES).status == "pass"


def test_p99_regression_fails_only_above_the_floor_and_the_ratio():
    slow = check(ev("7", 250, p99_ms=900), ev("6", 250, p99_ms=300), RULES)
    assert slow.status == "fail"
    assert slow.reasons == ("p99 900 ms is more than 2× the stable version's 300 ms",)
    assert check(ev("7", 250, p99_ms=90), ev("6", 250, p99_ms=10), RULES).status == "pass"
    assert check(ev("7", 250, p99_ms=500), ev("6", 250, p99_ms=300), RULES).status == "pass"


def test_a_p99_of_a_few_invocations_is_cold_starts_and_never_fails_a_release():
    # Reproduced on the local platform: a healthy canary's first 39 invocations had a p99 of
    # 305 ms (its cold starts) against the warm stable version's 43 ms.
    assert check(ev("3", 39, p99_ms=305), ev("2", 84, p99_ms=43), RULES).status == "pass"


def test_throttles_of_the_new_version_alone_fail():
    result = check(ev("7", 50, throttles=20), ev("6", 50), RULES)
    assert result.status == "fail"
    assert "20 throttled invocations (28.6%)" in result.reasons


def test_a_rollback_needs_consecutive_failed_checks():
    failing = check(ev("7", 40, errors=40), None, RULES)
    passing = check(ev("7", 40), None, RULES)
    analysis, decision = Analysis(RULES).after(failing)
    assert decision == "continue"
    analysis, decision = analysis.after(passing)  # the streak is broken
    assert (decision, analysis.failed_in_row) == ("continue", 0)
    analysis, _ = analysis.after(failing)
    analysis, decision = analysis.after(failing)
    assert decision == "rollback"


def test_an_inconclusive_hold_is_extended_up_to_the_limit_then_said():
    rules = VerdictRules(inconclusive_extensions=2)
    quiet = check(ev("7", 1), None, rules)
    analysis, _ = Analysis(rules).after(quiet)
    decisions = []
    for _ in range(3):
        analysis, decision = analysis.at_end_of_hold()
        decisions.append(decision)
    assert decisions == ["extend", "extend", "inconclusive"]


def test_a_passing_hold_promotes_and_the_next_step_starts_afresh():
    analysis, _ = Analysis(RULES).after(check(ev("7", 40), None, RULES))
    assert analysis.at_end_of_hold()[1] == "promote"
    assert analysis.next_step().failed_in_row == 0


def test_an_unconfirmed_failure_at_the_end_of_a_hold_gets_one_more_window():
    analysis, _ = Analysis(RULES).after(check(ev("7", 40, errors=40), None, RULES))
    assert analysis.at_end_of_hold()[1] == "extend"
    exhausted = Analysis(VerdictRules(inconclusive_extensions=0))
    exhausted, _ = exhausted.after(check(ev("7", 40, errors=40), None, RULES))
    assert exhausted.at_end_of_hold()[1] == "rollback"


def test_windows_default_from_the_alarm_window_plus_the_metric_delay():
    prod = windows(300, 1, 60)
    assert (prod.step_s, prod.bake_s, prod.minimum_s) == (360.0, 360.0, 360.0)
    assert prod.drill_timeout_s == 1020.0  # two whole windows and the period: AWS can see it
    local = windows(10, 1, 2)
    assert (local.step_s, local.bake_s, local.poll_s) == (12.0, 12.0, 5.0)


def test_a_window_too_short_to_see_one_datapoint_is_refused_with_the_minimum():
    with pytest.raises(WindowTooShortError) as refused:
        windows(300, 1, 60, bake_s=60)
    assert str(refused.value) == (
        "the bake window of 60 s is too short to see one datapoint on this stage "
        "(alarm period + metric delay); use at least 360 s"
    )
    assert windows(300, 1, 60, bake_s=0).bake_s == 0  # 0: no bake, said as "not judged"
