"""A KPI whose formula differs between two periods (ERR by reach now, by impressions
before) gives no change, says why, and makes no alert baseline: the two figures are
of different kinds. Values computed by hand from the sums below."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from bot.i18n import create_i18n
from handlers import kpi_texts
from kpi.alerts import Measure, RuleSpec, evaluate, measure
from kpi.kpis import compare, engagement
from kpi.models import Period, PeriodData

MAY = Period(date(2024, 5, 1), date(2024, 5, 31))
APRIL = Period(date(2024, 4, 1), date(2024, 4, 30))


def _data(period: Period, sums: dict[str, float]) -> PeriodData:
    days = period.days
    return PeriodData(
        period=period,
        sums=sums,
        days_with_data=days,
        metric_days={name: days for name in sums},
        pair_days={key: days for key in ("err_reach", "err_impressions")},
    )


# May: 400 likes over 10 000 reach = 4 % (ERR by reach).
# April: 300 likes over 20 000 impressions = 1.5 % (ERR by impressions) — lower by
# construction, not because engagement fell or rose.
NOW = {"likes": 400.0, "reach": 10_000.0}
BEFORE = {"likes": 300.0, "impressions": 20_000.0}


def test_engagement_by_another_formula_gives_no_change() -> None:
    now, before = engagement(_data(MAY, NOW)), engagement(_data(APRIL, BEFORE))
    assert now.value == pytest.approx(4.0) and now.formula == "err_reach"
    assert before.value == pytest.approx(1.5) and before.formula == "err_impressions"
    change = compare(now, before)
    assert change.basis_changed
    assert (change.absolute, change.relative, change.better) == (None, None, None)
    assert (change.current, change.previous) == (now.value, before.value)


def test_the_same_formula_still_compares() -> None:
    # April by reach: 300 / 10 000 × 100 = 3 %; May 4 %: +1 p.p., +33.3 %
    now = engagement(_data(MAY, NOW))
    before = engagement(_data(APRIL, {"likes": 300.0, "reach": 10_000.0}))
    change = compare(now, before)
    assert not change.basis_changed
    assert change.absolute == pytest.approx(1.0)
    assert change.relative == pytest.approx(100 / 3)
    assert change.better is True


@pytest.mark.parametrize(
    ("lang", "line", "compact"),
    [
        (
            "en",
            "⚠️ No change shown: the previous period was computed by another formula "
            "(ERR = Σ interactions / Σ impressions × 100), so the two figures are not "
            "comparable.",
            "not comparable: the previous period used another formula",
        ),
        (
            "ru",
            "⚠️ Изменение не показано: прошлый период посчитан по другой формуле (ERR = "
            "Σ взаимодействий / Σ показов × 100), эти два числа нельзя сравнивать.",
            "не сравнить: прошлый период посчитан по другой формуле",
        ),
    ],
)
def test_the_answer_says_why_there_is_no_change(lang: str, line: str, compact: str) -> None:
    now, before = engagement(_data(MAY, NOW)), engagement(_data(APRIL, BEFORE))
    change = compare(now, before)
    with create_i18n(lang).context() as i18n, i18n.use_locale(lang):
        text = kpi_texts.previous_line(now, before, change, APRIL, lang)
        short = kpi_texts.compact_change(change, now.unit, lang)
    assert text.splitlines()[-1] == line
    assert short == compact
    assert "↑" not in text and "↓" not in text


def _weeks(count: int) -> list[Period]:
    start = date(2024, 4, 1)  # a Monday
    return [
        Period(start + timedelta(weeks=i), start + timedelta(weeks=i, days=6)) for i in range(count)
    ]


def test_weeks_by_another_formula_make_no_alert_baseline() -> None:
    # Four weeks by impressions (1.5 % each), then a week by reach at 4 %: against the
    # impressions weeks it would look like +167 %; it has no baseline instead.
    weeks = _weeks(5)
    history = [measure("engagement", _data(w, BEFORE)) for w in weeks[:4]]
    history.append(measure("engagement", _data(weeks[4], NOW)))
    rule = RuleSpec("engagement", "spike", "+", 50, min_volume=0)
    result = evaluate(rule, history)
    assert result.baseline is None
    assert result.change is None


def test_the_baseline_is_the_median_of_the_weeks_with_the_same_formula() -> None:
    # Weeks by reach at 2 %, 3 % (100·k / 5 000), two by impressions in between:
    # baseline = median(2, 3) = 2.5 %; latest 4 % is +60 % of it.
    weeks = _weeks(5)
    sums = [
        {"likes": 100.0, "reach": 5_000.0},
        BEFORE,
        {"likes": 150.0, "reach": 5_000.0},
        BEFORE,
    ]
    history: list[Measure] = [
        measure("engagement", _data(w, s)) for w, s in zip(weeks, sums, strict=False)
    ]
    history.append(measure("engagement", _data(weeks[4], NOW)))
    result = evaluate(RuleSpec("engagement", "spike", "+", 50, min_volume=0), history)
    assert result.baseline == pytest.approx(2.5)
    assert result.change == pytest.approx(60.0)
