"""Rows of monthly figures (`2026-10`, `ноябрь 2026`) count on the month's last day; the
month that is still running is left out and named, not refused as a day "after today"."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import pytest

from bot.i18n import create_i18n
from handlers.import_texts import _skip_reason
from kpi.importing import ImportFailure, parse_table

MSK = ZoneInfo("Europe/Moscow")
TODAY = date(2026, 12, 1)


def _parse(text: str, today: date = TODAY):  # type: ignore[no-untyped-def]
    return parse_table(text.encode(), "monthly.csv", tz=MSK, caption="vk:shop", today=today)


@pytest.mark.parametrize(
    ("months", "last"),
    [
        (("2026-10", "2026-11", "2026-12"), "2026-12"),
        (("октябрь 2026", "ноябрь 2026", "декабрь 2026"), "декабрь 2026"),
        (("Oct 2026", "Nov 2026", "Dec 2026"), "Dec 2026"),
    ],
)
def test_the_running_month_is_left_out_and_the_finished_ones_stored(
    months: tuple[str, ...], last: str
) -> None:
    rows = "\n".join(f"{m},{1000 * (i + 1)}" for i, m in enumerate(months))
    r = _parse("Month,Reach\n" + rows + "\n")
    assert r.values == {
        ("vk:shop", date(2026, 10, 31)): {"reach": 1000},
        ("vk:shop", date(2026, 11, 30)): {"reach": 2000},
    }
    assert r.rows_skipped == {"month_not_over": 1}
    assert all(type(day) is date for _, day in r.values)  # plain dates go to storage


def test_the_same_file_after_the_month_ends_stores_it() -> None:
    r = _parse("Month,Reach\n2026-11,2000\n2026-12,3000\n", today=date(2027, 1, 1))
    assert r.values[("vk:shop", date(2026, 12, 31))] == {"reach": 3000}
    assert not r.rows_skipped


def test_a_month_still_ahead_is_still_refused() -> None:
    with pytest.raises(ImportFailure) as e:
        _parse("Month,Reach\n2026-11,2000\n2027-02,3000\n")
    assert e.value.code == "day_out_of_range"


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("en", "the current month, not over yet: send it again when it ends"),
        ("ru", "текущий месяц, он ещё не закончился: пришлите файл снова, когда он закончится"),
    ],
)
def test_the_summary_names_why(lang: str, text: str) -> None:
    with create_i18n(lang).context() as i18n, i18n.use_locale(lang):
        assert _skip_reason("month_not_over") == text
