"""Which days the bot stores and which it lets you ask about: one policy for `/log`,
`/add`, imports and every period argument.

* Data describes days that have happened: from `EARLIEST_DAY` to today (in the
  workspace's time zone). A file row dated 0001-01-01, 9999-12-31 or next month is
  a typo or a day/month swap, and no KPI command could ever ask about it.
* A typed period may name dates up to a year ahead (beyond that it is a typo;
  a period that starts after today is refused as future by kpi/periods.py, and
  one that contains today ends today).
"""

from __future__ import annotations

from datetime import date

EARLIEST_DAY = date(2000, 1, 1)


def latest_data_day(today: date) -> date:
    """The newest day data may be stored for."""
    return today


def latest_typed_day(today: date) -> date:
    """The newest date a typed period may name: a year after today."""
    try:
        return today.replace(year=today.year + 1)
    except ValueError:  # 29 February
        return today.replace(year=today.year + 1, day=28)


def data_day_allowed(day: date, today: date) -> bool:
    return EARLIEST_DAY <= day <= latest_data_day(today)
