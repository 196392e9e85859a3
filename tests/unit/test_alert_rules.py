"""Alert rules at the pure level: the /alert grammar, weekly evaluation against
hand-computed values, hysteresis, and the ok/firing state machine with an
injected clock."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest

from kpi.alerts import (
    HYSTERESIS,
    Action,
    Measure,
    RuleError,
    RuleSpec,
    Status,
    decide,
    evaluate,
    evaluation_window,
    expression,
    is_bad,
    latest_complete_week,
    measure,
    parse_rule,
    recent_weeks,
    touches,
)
from kpi.kpis import bounce, cac
from kpi.models import Period, PeriodData

NBSP = "\u00a0"
TODAY = date(2026, 11, 25)  # a Wednesday
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)

# --------------------------------------------------------------------------- grammar


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("bounce > 60%", RuleSpec("bounce", "threshold", ">", 60.0)),
        ("roi < 100%", RuleSpec("roi", "threshold", "<", 100.0)),
        ("cac > 1500", RuleSpec("cac", "threshold", ">", 1500.0)),
        ("cac > 1 500 vk:brand", RuleSpec("cac", "threshold", ">", 1500.0, account="vk:brand")),
        ("cac +25%", RuleSpec("cac", "spike", "+", 25.0)),
        ("reach -30%", RuleSpec("reach", "spike", "-", 30.0)),
        ("CAC −25 %", RuleSpec("cac", "spike", "-", 25.0)),
        ("bounce > 60% vk:brand", RuleSpec("bounce", "threshold", ">", 60.0, account="vk:brand")),
        ("bounce>60%", RuleSpec("bounce", "threshold", ">", 60.0)),
        ("bounce > 60", RuleSpec("bounce", "threshold", ">", 60.0)),
        ("отказы > 60%", RuleSpec("bounce", "threshold", ">", 60.0)),
        ("окупаемость < 100%", RuleSpec("roi", "threshold", "<", 100.0)),
        ("стоимость-клиента +25%", RuleSpec("cac", "spike", "+", 25.0)),
        ("охват -30% ig:brand", RuleSpec("reach", "spike", "-", 30.0, account="ig:brand")),
        ("er > 5,5%", RuleSpec("engagement", "threshold", ">", 5.5)),
        ("ctr < 1,5% min=5000", RuleSpec("ctr", "threshold", "<", 1.5, min_volume=5000.0)),
        ("конверсия < 2% мин=300", RuleSpec("conversion", "threshold", "<", 2.0, min_volume=300.0)),
        ("time-on-page +25%", RuleSpec("time_on_page", "spike", "+", 25.0)),
        ("time < 1:30", RuleSpec("time_on_page", "threshold", "<", 90.0)),
        ("roi < -10%", RuleSpec("roi", "threshold", "<", -10.0)),
        ("mentions +50 site", RuleSpec("mentions", "spike", "+", 50.0, account="site")),
        ("bounce +20% min=500 vk:brand", RuleSpec("bounce", "spike", "+", 20.0, 500.0, "vk:brand")),
    ],
)
def test_parse_rule_forms(text: str, expected: RuleSpec) -> None:
    assert parse_rule(text) == expected


@pytest.mark.parametrize(
    ("text", "code", "token"),
    [
        ("", "empty", ""),
        ("   ", "empty", ""),
        ("foo > 3", "unknown_kpi", "foo"),
        ("лайкосы > 3", "unknown_kpi", "лайкосы"),
        ("hashtags > 3", "not_alertable", "hashtags"),
        ("хэштеги +20%", "not_alertable", "хэштеги"),
        ("bounce", "no_condition", "bounce"),
        ("отказы 60%", "no_condition", "отказы"),
        ("bounce = 60%", "no_condition", "bounce"),
        ("cac > 15%", "percent_unit", "15%"),
        ("reach < 10%", "percent_unit", "10%"),
        ("cac +0%", "bad_spike", "+0%"),
        ("reach -150%", "bad_spike", "-150%"),
        ("cac +5000%", "bad_spike", "+5000%"),
        ("bounce > 60% vk:", "bad_account", "vk:"),
        ("bounce > 60% мусор", "extra", "мусор"),
        ("bounce > 60% vk:a vk:b", "extra", "vk:b"),
        ("bounce > 60 min=abc", "bad_min", "min=abc"),
    ],
)
def test_parse_rule_refuses_bad_forms(text: str, code: str, token: str) -> None:
    with pytest.raises(RuleError) as info:
        parse_rule(text)
    assert (info.value.code, info.value.token) == (code, token)


def test_default_minimum_volumes() -> None:
    mins = {k: RuleSpec(k, "spike", "+", 20).effective_min_volume for k in ("bounce", "cac")}
    assert mins == {"bounce": 100.0, "cac": 3.0}
    assert RuleSpec("conversion", "spike", "+", 1).effective_min_volume == 100.0
    assert RuleSpec("engagement", "spike", "+", 1).effective_min_volume == 1000.0
    assert RuleSpec("ctr", "spike", "+", 1).effective_min_volume == 1000.0
    assert RuleSpec("reach", "spike", "+", 1).effective_min_volume is None
    assert RuleSpec("bounce", "spike", "+", 1, min_volume=5).effective_min_volume == 5


# --------------------------------------------------------------------------- weeks


@pytest.mark.parametrize(
    ("today", "start"),
    [
        (date(2026, 11, 25), date(2026, 11, 16)),  # Wednesday
        (date(2026, 11, 23), date(2026, 11, 16)),  # Monday: last week just ended
        (date(2026, 11, 22), date(2026, 11, 9)),  # Sunday: this week is not complete
        (date(2027, 1, 3), date(2026, 12, 21)),  # across a year
    ],
)
def test_latest_complete_week(today: date, start: date) -> None:
    assert latest_complete_week(today) == Period(start, start + timedelta(days=6))


def test_recent_weeks_and_window() -> None:
    weeks = recent_weeks(TODAY, 12)
    assert len(weeks) == 12
    assert weeks[-1] == Period(date(2026, 11, 16), date(2026, 11, 22))
    assert weeks[0] == Period(date(2026, 8, 31), date(2026, 9, 6))  # 11 weeks before
    assert all(b.start - a.start == timedelta(days=7) for a, b in itertools.pairwise(weeks))
    window = evaluation_window(TODAY)
    assert window == Period(date(2026, 10, 19), date(2026, 11, 22))


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        (date(2026, 11, 24), date(2026, 11, 25), False),  # only the current week
        (date(2026, 10, 1), date(2026, 10, 18), False),  # before the baseline weeks
        (date(2026, 10, 18), date(2026, 10, 19), True),  # first baseline day
        (date(2026, 11, 22), date(2026, 11, 25), True),  # last day of the week judged
        (date(2026, 1, 1), date(2026, 12, 31), True),  # a big import covering it all
    ],
)
def test_touches_only_the_weeks_an_evaluation_reads(
    first: date, last: date, expected: bool
) -> None:
    assert touches(evaluation_window(TODAY), first, last) is expected


def test_measure_volume_per_kpi() -> None:
    week = Period(date(2026, 11, 16), date(2026, 11, 22))
    data = PeriodData(
        week,
        {
            "sessions": 400.0,
            "bounces": 100.0,
            "link_clicks": 50.0,
            "impressions": 10_000.0,
            "conversions": 5.0,
            "ad_spend": 3000.0,
            "new_customers": 2.0,
            "revenue": 9000.0,
        },
    )
    assert measure("bounce", data) == Measure(week, 25.0, 400.0, bounce(data))
    assert (measure("ctr", data).value, measure("ctr", data).volume) == (0.5, 10_000.0)
    assert (measure("conversion", data).value, measure("conversion", data).volume) == (10.0, 50.0)
    assert (measure("cac", data).value, measure("cac", data).volume) == (1500.0, 2.0)
    assert (measure("roi", data).value, measure("roi", data).volume) == (200.0, 3000.0)
    assert (measure("clicks", data).value, measure("clicks", data).volume) == (50.0, 50.0)
    assert measure("reach", data).value is None


# --------------------------------------------------------------------------- evaluation


def history(values: list[float | None], volumes: list[float | None] | None = None) -> list[Measure]:
    weeks = recent_weeks(TODAY, len(values))
    volumes = volumes or [1000.0] * len(values)
    return [Measure(w, v, vol) for w, v, vol in zip(weeks, values, volumes, strict=True)]


SPIKE = RuleSpec("bounce", "spike", "+", 20.0)
OVER_60 = RuleSpec("bounce", "threshold", ">", 60.0)


def test_spike_against_the_median_of_four_weeks() -> None:
    # Baseline weeks 40, 42, 38, 44 → median (40 + 42) / 2 = 41; 50 is +21.95 %.
    ev = evaluate(SPIKE, history([90, 40, 42, 38, 44, 50]))
    assert ev.status is Status.BREACH
    assert ev.baseline == 41.0
    assert ev.change == pytest.approx(9 / 41 * 100)
    assert ev.limit == pytest.approx(49.2)  # 41 × 1.2
    assert ev.recover_limit == pytest.approx(49.2 * (1 - HYSTERESIS))  # 46.74
    assert ev.week == Period(date(2026, 11, 16), date(2026, 11, 22))
    assert len(ev.history) == 6  # the older week is only on the chart


@pytest.mark.parametrize(
    ("latest", "status"),
    [
        (49.2, Status.BREACH),  # exactly +20 %
        (49.0, Status.BAND),  # +19.5 %: under the limit, above the recovery line
        (46.8, Status.BAND),
        (46.74, Status.CLEAR),
        (30.0, Status.CLEAR),  # a fall is not a "+20 %" spike
    ],
)
def test_spike_limit_and_hysteresis_band(latest: float, status: Status) -> None:
    assert evaluate(SPIKE, history([40, 42, 38, 44, latest])).status is status


@pytest.mark.parametrize(
    ("latest", "status"),
    [
        (60.1, Status.BREACH),
        (60.0, Status.BAND),  # not above 60 %
        (57.1, Status.BAND),
        (57.0, Status.CLEAR),  # 60 − 5 % of 60
        (12.0, Status.CLEAR),
    ],
)
def test_threshold_over(latest: float, status: Status) -> None:
    ev = evaluate(OVER_60, history([40, 42, 38, 44, latest]))
    assert ev.status is status
    assert (ev.limit, ev.recover_limit) == (60.0, 57.0)


def test_threshold_under_with_negative_values() -> None:
    rule = RuleSpec("roi", "threshold", "<", -10.0)
    assert evaluate(rule, history([5, 5, 5, 5, -12])).status is Status.BREACH
    assert evaluate(rule, history([5, 5, 5, 5, -10])).status is Status.BAND
    # Recovery needs −10 + 5 % of 10 = −9.5.
    assert evaluate(rule, history([5, 5, 5, 5, -9.5])).status is Status.CLEAR


def test_spike_on_a_negative_baseline_uses_its_magnitude() -> None:
    # ROI median −20 %; "+50 %" means 10 points better: −10 % or higher.
    rule = RuleSpec("roi", "spike", "+", 50.0)
    ev = evaluate(rule, history([-20, -10, -30, -20, -5]))
    assert ev.baseline == -20.0
    assert ev.change == pytest.approx(75.0)
    assert ev.limit == pytest.approx(-10.0)
    assert ev.status is Status.BREACH


def test_fall_on_a_higher_is_better_kpi() -> None:
    rule = RuleSpec("reach", "spike", "-", 30.0)
    # Median of 1000, 1200, 1100, 900 = 1050; 700 is −33.3 %.
    ev = evaluate(rule, history([1000, 1200, 1100, 900, 700]))
    assert ev.status is Status.BREACH
    assert ev.change == pytest.approx(-100 / 3)
    assert is_bad(rule, ev)
    assert evaluate(rule, history([1000, 1200, 1100, 900, 740])).status is Status.BAND


def test_direction_aware_good_and_bad_news() -> None:
    for rule, bad in (
        (RuleSpec("cac", "spike", "+", 25), True),
        (RuleSpec("cac", "spike", "-", 25), False),
        (RuleSpec("reach", "spike", "+", 25), False),
        (RuleSpec("bounce", "threshold", ">", 60), True),
        (RuleSpec("roi", "threshold", "<", 100), True),
        (RuleSpec("roi", "threshold", ">", 300), False),
    ):
        ev = evaluate(rule, history([1, 1, 1, 1, 1]))
        assert is_bad(rule, ev) is bad, rule


def test_minimum_volume_silences_small_weeks_and_leaves_them_out_of_the_baseline() -> None:
    # Latest week: 99 sessions < 100 → not judged, however high the rate.
    ev = evaluate(SPIKE, history([40, 42, 38, 44, 90], [500, 500, 500, 500, 99]))
    assert ev.status is Status.LOW_VOLUME
    # A baseline week with 50 sessions is left out: median of 42, 38, 44 = 42.
    ev = evaluate(SPIKE, history([80, 42, 38, 44, 50], [50, 500, 500, 500, 500]))
    assert ev.baseline == 42.0
    assert ev.status is Status.BAND  # +19 %, over the recovery line 47.88
    # A rule's own minimum overrides the default.
    own = RuleSpec("bounce", "spike", "+", 20.0, min_volume=40)
    assert evaluate(own, history([40, 42, 38, 44, 90], [500] * 4 + [99])).status is Status.BREACH


def test_count_kpis_judge_a_collapse_by_the_baseline_volume() -> None:
    rule = RuleSpec("reach", "spike", "-", 50.0, min_volume=500)
    # Reach fell to 10 from a median of 1000: the volume is the baseline's.
    ev = evaluate(rule, history([1000, 1000, 1000, 1000, 10]))
    assert ev.volume == 1000
    assert ev.status is Status.BREACH


def test_baseline_needs_two_usable_weeks() -> None:
    ev = evaluate(SPIKE, history([None, None, None, 40, 60]))
    assert ev.baseline is None
    assert ev.status is Status.NO_BASELINE
    assert evaluate(SPIKE, history([None, None, 30, 40, 60])).baseline == 35.0
    # A threshold needs no baseline.
    assert evaluate(OVER_60, history([None, None, None, None, 61])).status is Status.BREACH
    # A zero baseline has no relative change.
    assert evaluate(SPIKE, history([0, 0, 0, 0, 5])).status is Status.NO_BASELINE


def test_no_data_in_the_latest_week() -> None:
    ev = evaluate(SPIKE, history([40, 42, 38, 44, None]))
    assert ev.status is Status.NO_DATA
    assert ev.baseline == 41.0


# --------------------------------------------------------------------------- state machine


def run(
    rule: RuleSpec,
    latest_values: list[float],
    *,
    snoozed_until: datetime | None = None,
    enabled: bool = True,
) -> list[Action]:
    """Evaluate a sequence of latest-week values as successive runs, applying each
    transition as storage would."""
    state, actions = "ok", []
    for step, latest in enumerate(latest_values):
        now = NOW + timedelta(hours=step)
        ev = evaluate(rule, history([40, 42, 38, 44, latest]))
        action = decide(state, ev, enabled=enabled, snoozed_until=snoozed_until, now=now)
        if action is Action.FIRE:
            state = "firing"
        elif action in (Action.RECOVER, Action.RECOVER_SILENTLY):
            state = "ok"
        actions.append(action)
    return actions


def test_fires_once_per_breach_and_recovers_once() -> None:
    actions = run(OVER_60, [61, 65, 70, 50, 52, 64])
    assert actions == [
        Action.FIRE,
        Action.NONE,
        Action.NONE,
        Action.RECOVER,
        Action.NONE,
        Action.FIRE,
    ]


def test_flapping_around_the_threshold_does_not_spam() -> None:
    # 61 / 59 / 61 / 58 / 61: inside the 57–60 band the rule keeps its state.
    actions = run(OVER_60, [61, 59, 61, 58, 61, 56.5, 59, 60.5])
    assert actions.count(Action.FIRE) == 2
    assert actions.count(Action.RECOVER) == 1
    assert actions == [
        Action.FIRE,
        Action.NONE,
        Action.NONE,
        Action.NONE,
        Action.NONE,
        Action.RECOVER,  # 56.5 ≤ 57
        Action.NONE,  # 59 is back in the band: not a new breach
        Action.FIRE,
    ]


def test_muted_rule_never_fires() -> None:
    assert run(OVER_60, [61, 80, 99], enabled=False) == [Action.NONE] * 3


def test_snooze_holds_the_alert_until_it_ends() -> None:
    # Runs at NOW, +1 h, +2 h, +3 h; the snooze ends at NOW + 2 h.
    actions = run(OVER_60, [61, 61, 61, 61], snoozed_until=NOW + timedelta(hours=2))
    assert actions == [Action.NONE, Action.NONE, Action.FIRE, Action.NONE]


def test_recovery_during_a_snooze_is_silent() -> None:
    ev_clear = evaluate(OVER_60, history([40, 42, 38, 44, 30]))
    until = NOW + timedelta(days=1)
    assert decide("firing", ev_clear, enabled=True, snoozed_until=until, now=NOW) is (
        Action.RECOVER_SILENTLY
    )
    assert decide("firing", ev_clear, enabled=True, snoozed_until=until, now=until) is (
        Action.RECOVER
    )


@pytest.mark.parametrize("status_values", [[40, 42, 38, 44, None], [None, None, None, None, 61]])
def test_inconclusive_weeks_keep_a_firing_rule_firing(status_values: list[float | None]) -> None:
    ev = evaluate(SPIKE, history(status_values))
    assert ev.status in (Status.NO_DATA, Status.NO_BASELINE)
    assert decide("firing", ev, enabled=True, snoozed_until=None, now=NOW) is Action.NONE


# --------------------------------------------------------------------------- arithmetic


def _week(sums: dict[str, float]) -> PeriodData:
    return PeriodData(Period(date(2026, 11, 16), date(2026, 11, 22)), sums)


def test_expression_shows_the_sums_and_the_value() -> None:
    result = cac(_week({"ad_spend": 42_000, "content_cost": 8_000, "new_customers": 25}))
    assert expression("cac", result, "ru") == (f"(42{NBSP}000 + 8{NBSP}000) / 25 = 2{NBSP}000")
    assert expression("cac", result, "en") == "(42,000 + 8,000) / 25 = 2,000"
    assert (
        expression("cac", result, "ru", "RUB")
        == f"(42{NBSP}000 + 8{NBSP}000) / 25 = 2{NBSP}000{NBSP}₽"
    )
    assert expression("cac", result, "en", "USD") == "(42,000 + 8,000) / 25 = $2,000"
    result = bounce(_week({"bounces": 600, "sessions": 1000}))
    assert expression("bounce", result, "ru") == f"600 / 1{NBSP}000 × 100 = 60{NBSP}%"


def test_expression_for_ctr_and_engagement() -> None:
    data = _week({"link_clicks": 18, "impressions": 100_000, "likes": 300, "comments": 20})
    assert expression("ctr", measure("ctr", data).result, "en") == (  # type: ignore[arg-type]
        "18 / 100,000 × 100 = 0.018%"
    )
    data = _week({"likes": 300, "comments": 20, "reach": 8000})
    result = measure("engagement", data).result
    assert result is not None
    assert expression("engagement", result, "en") == "(300 + 20) / 8,000 × 100 = 4%"
