"""The channel's default alert rule: unfollows +50 % over the median of 4 weeks."""

from __future__ import annotations

from datetime import date, timedelta

from kpi.alerts import Status, evaluate, higher_is_better, measure, parse_rule
from kpi.models import Period, PeriodData
from kpi.registry import CHANNEL_ALERTS


def _week(monday: date, unfollows: float | None) -> PeriodData:
    sums = {} if unfollows is None else {"unfollows": unfollows}
    return PeriodData(period=Period(monday, monday + timedelta(days=6)), sums=sums)


def _history(values: list[float | None]) -> list:
    first = date(2026, 10, 26)
    return [
        measure("unfollows", _week(first + timedelta(weeks=i), v)) for i, v in enumerate(values)
    ]


def test_the_channel_rule_is_a_spike_on_unfollows() -> None:
    (text,) = CHANNEL_ALERTS
    rule = parse_rule(text)
    assert (rule.kpi, rule.kind, rule.op, rule.value) == ("unfollows", "spike", "+", 50.0)
    assert parse_rule("отписки +50%").kpi == "unfollows"
    assert not higher_is_better("unfollows")


def test_unfollows_spike_fires_at_half_again_the_median() -> None:
    rule = parse_rule("unfollows +50%")
    # baseline = median(10, 12, 8, 10) = 10; limit = 10 × 1.5 = 15
    fired = evaluate(rule, _history([10, 12, 8, 10, 15]))
    assert (fired.status, fired.baseline, fired.limit, fired.change) == (
        Status.BREACH, 10, 15, 50,
    )  # fmt: skip
    # recovery limit = 15 − 5 % × 15 = 14.25: 14 is clear, 14.5 is in the band
    calm = evaluate(rule, _history([10, 12, 8, 10, 14]))
    assert (calm.status, calm.change, calm.recover_limit) == (Status.CLEAR, 40, 14.25)
    assert evaluate(rule, _history([10, 12, 8, 10, 14.5])).status is Status.BAND


def test_a_week_without_unfollows_is_no_data_and_one_week_is_no_baseline() -> None:
    rule = parse_rule("unfollows +50%")
    assert evaluate(rule, _history([10, 12, 8, 10, None])).status is Status.NO_DATA
    assert evaluate(rule, _history([None, None, None, 10, 30])).status is Status.NO_BASELINE
