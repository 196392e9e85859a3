"""The report's one `ℹ️ left out` block: each account and reason once, by account,
whichever KPIs left the data out; and the alert names read from the registry."""

from __future__ import annotations

from datetime import date

import pytest

from bot.i18n import create_i18n
from handlers import alerts, kpi_texts
from kpi.alerts import ALERT_KPIS
from kpi.kpis import KpiResult
from kpi.models import LeftOut

LP = LeftOut("site:lp", "unpaired", days=31, have="sessions", lacking="bounces")
TG = LeftOut("tg:channel", "stale", day=date(2026, 9, 10))
IG = LeftOut("ig:brand", "unpaired", days=12, have="interactions", lacking="reach")


def _result(kpi: str, *left: LeftOut) -> KpiResult:
    return KpiResult(kpi, 1.0, "percent", kpi, left_out=left)


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("en", [
            "ℹ️ left out:",
            "• ig:brand — 12 days of interactions without reach",
            "• site:lp — 31 days of sessions without bounces",
            "• tg:channel — no follower count in the period (the last is from Sep 10, 2026)",
        ]),
        ("ru", [
            "ℹ️ не учтено:",
            "• ig:brand — 12 дней с данными «взаимодействия» без «охват»",
            "• site:lp — 31 день с данными «визиты» без «число отказов»",
            "• tg:channel — нет числа подписчиков в периоде (последнее — 10 сент. 2026)",
        ]),
    ],
)  # fmt: skip
def test_each_account_and_reason_once(lang: str, expected: list[str]) -> None:
    results = [
        _result("bounce", LP, TG),
        _result("growth", TG),  # the same account and reason from another KPI
        _result("engagement", IG, LP),
    ]
    with create_i18n("ru").context() as i18n, i18n.use_locale(lang):
        assert kpi_texts.left_out_block(results, lang) == expected


def test_nothing_left_out_is_no_block() -> None:
    with create_i18n("ru").context() as i18n, i18n.use_locale("en"):
        assert kpi_texts.left_out_block([_result("reach"), _result("bounce")], "en") == []


def test_alert_names_cover_the_registry_and_keep_their_short_words() -> None:
    with create_i18n("ru").context() as i18n, i18n.use_locale("en"):
        names = {k: alerts.kpi_name(k) for k in ALERT_KPIS}
        with pytest.raises(KeyError):
            alerts.kpi_name("hashtags")  # no period figure: no rule can watch it
    assert names == {
        "reach": "Reach", "engagement": "ERR", "conversion": "Conversion rate",
        "growth": "Audience growth", "clicks": "Link clicks", "bounce": "Bounce rate",
        "visitors": "New visitors' share", "time_on_page": "Time on page", "cac": "CAC",
        "mentions": "Brand mentions", "roi": "ROI", "ctr": "CTR", "unfollows": "Unfollows",
    }  # fmt: skip
