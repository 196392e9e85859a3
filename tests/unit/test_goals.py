"""Goals: parsing `/goal`, the period a goal covers, progress and pace on hand-computed data."""

from __future__ import annotations

from datetime import date

import pytest

from kpi.goals import (
    GoalError,
    GoalSpec,
    goal_period,
    parse_goal,
    progress,
    progress_bar,
)
from kpi.models import Period

TODAY = date(2026, 11, 20)  # a Friday


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("reach 300000 month", GoalSpec("reach", ">=", 300000, "month")),
        ("reach 300 000", GoalSpec("reach", ">=", 300000, "month")),
        ("reach 1 200 000 month", GoalSpec("reach", ">=", 1200000, "month")),
        ("reach 300 0000", None),  # "0000" is not a group of three, nor a period
        ("cac < 500 quarter vk:ads", GoalSpec("cac", "<", 500, "quarter", account="vk:ads")),
        ("er >= 4% month", GoalSpec("engagement", ">=", 4, "month")),
        ("er >=4%", GoalSpec("engagement", ">=", 4, "month")),
        ("bounce 40%", GoalSpec("bounce", "<=", 40, "month")),
        ("охват 1,5k неделя", GoalSpec("reach", ">=", 1500, "week")),
        ("roi ≥ 150% year ig:brand", GoalSpec("roi", ">=", 150, "year", account="ig:brand")),
        (
            "clicks 900 2026-12",
            GoalSpec("clicks", ">=", 900, "fixed", date(2026, 12, 1), date(2026, 12, 31)),
        ),
        (
            "mentions 50 vk:brand 2026-Q4",
            GoalSpec(
                "mentions", ">=", 50, "fixed", date(2026, 10, 1), date(2026, 12, 31), "vk:brand"
            ),
        ),
    ],
)
def test_parse_goal(args: str, expected: GoalSpec | None) -> None:
    if expected is None:
        with pytest.raises(GoalError) as err:
            parse_goal(args, TODAY)
        assert err.value.code == "period" and err.value.token == "0000"
        return
    assert parse_goal(args, TODAY) == expected


@pytest.mark.parametrize(
    ("args", "code", "token"),
    [
        ("", "usage", ""),
        ("reach", "usage", ""),
        ("reach >=", "usage", ""),
        ("wat 100", "kpi", "wat"),
        ("hashtags 5", "not_a_goal", "hashtags"),
        ("reach lots", "target", "lots"),
        ("reach -5", "negative", "-5"),
        ("reach 100 30d", "rolling", "30d"),
        ("reach 100 month week", "extra", "week"),
        ("reach 100 month vk:a vk:b", "extra", "vk:b"),
    ],
)
def test_parse_goal_errors(args: str, code: str, token: str) -> None:
    with pytest.raises(GoalError) as err:
        parse_goal(args, TODAY)
    assert (err.value.code, err.value.token) == (code, token)


def test_goal_periods() -> None:
    assert goal_period("month", TODAY) == Period(date(2026, 11, 1), date(2026, 11, 30))
    assert goal_period("week", TODAY) == Period(date(2026, 11, 16), date(2026, 11, 22))
    assert goal_period("quarter", TODAY) == Period(date(2026, 10, 1), date(2026, 12, 31))
    assert goal_period("year", TODAY) == Period(date(2026, 1, 1), date(2026, 12, 31))
    assert goal_period("month", date(2024, 2, 10)) == Period(date(2024, 2, 1), date(2024, 2, 29))
    fixed = goal_period("fixed", TODAY, date(2026, 12, 1), date(2026, 12, 31))
    assert fixed == Period(date(2026, 12, 1), date(2026, 12, 31))


NOVEMBER = Period(date(2026, 11, 1), date(2026, 11, 30))


def test_counter_pace_by_hand() -> None:
    # 170 000 reach in the 20 days of November to the 20th: 8 500 a day → 255 000 by the
    # 30th = 85 % of 300 000. 10 of 30 days left: exactly a third, so at risk.
    spec = GoalSpec("reach", ">=", 300000, "month")
    p = progress(spec, NOVEMBER, 170000, TODAY, date(2026, 11, 20))
    assert p.kind == "counter"
    assert p.share == pytest.approx(170000 / 300000 * 100)
    assert p.projected == pytest.approx(255000)
    assert p.projected_share == pytest.approx(85.0)
    assert p.status == "off_track" and p.on_pace is False
    assert p.days_elapsed == 20
    assert p.share_left == pytest.approx(10 / 30)
    assert p.at_risk is True


def test_counter_pace_counts_days_to_the_last_data() -> None:
    # Data only to the 16th: 170 000 / 16 × 30 = 318 750 → on pace, not at risk.
    spec = GoalSpec("reach", ">=", 300000, "month")
    p = progress(spec, NOVEMBER, 170000, TODAY, date(2026, 11, 16))
    assert p.projected == pytest.approx(318750)
    assert p.status == "on_track" and p.on_pace is True and not p.at_risk


def test_counter_goal_met_early_and_missed_after_the_end() -> None:
    spec = GoalSpec("clicks", ">=", 1000, "month")
    assert progress(spec, NOVEMBER, 1200, TODAY, TODAY).status == "met"
    after = progress(spec, NOVEMBER, 900, date(2026, 12, 3), date(2026, 11, 30))
    assert after.status == "missed" and after.share_left == 0.0 and not after.at_risk


def test_counter_cap_broken_early() -> None:
    spec = GoalSpec("mentions", "<=", 100, "month")
    assert progress(spec, NOVEMBER, 120, TODAY, TODAY).status == "missed"
    # 40 in 10 days → 120 projected: off pace for a cap of 100, 20 days left: not yet at risk.
    early = progress(spec, NOVEMBER, 40, date(2026, 11, 10), date(2026, 11, 10))
    assert early.projected == pytest.approx(120) and early.status == "off_track"
    assert not early.at_risk


def test_ratio_on_and_off_track() -> None:
    spec = GoalSpec("cac", "<", 500, "month")
    p = progress(spec, NOVEMBER, 480.0, TODAY, TODAY)
    assert p.kind == "ratio" and p.status == "on_track" and p.projected is None
    late = progress(spec, NOVEMBER, 520.0, date(2026, 11, 25), date(2026, 11, 25))
    assert late.status == "off_track" and late.at_risk
    assert progress(spec, NOVEMBER, 500.0, TODAY, TODAY).status == "off_track"  # strict <
    le = GoalSpec("cac", "<=", 500, "month")
    assert progress(le, NOVEMBER, 500.0, TODAY, TODAY).status == "on_track"


def test_no_data() -> None:
    spec = GoalSpec("engagement", ">=", 4, "month")
    p = progress(spec, NOVEMBER, None, TODAY, None)
    assert p.status == "no_data" and p.value is None and not p.at_risk
    assert progress(spec, NOVEMBER, None, date(2026, 12, 2), None).status == "missed"


def test_progress_bar() -> None:
    assert progress_bar(0) == "░" * 10
    assert progress_bar(62) == "▓" * 6 + "░" * 4
    assert progress_bar(150) == "▓" * 10
    assert progress_bar(-5) == "░" * 10
