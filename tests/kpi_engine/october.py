"""The October scenario of issue #12, built by hand: six small daily files for
Aug–Oct 2026 as a team would send them.

* `vk:brand`, `vk:shop`: VK communities with reach, likes, comments, shares and
  followers every day (12 008 → 13 568 and 8 000 → 8 180 over October);
* `tg:channel`: a Telegram channel whose numbers stop on Sep 10 (15 409 followers);
* `site`: a site counter with sessions and a bounce rate of 41 % (bounces are
  stored as rate × sessions, as the importer does);
* `site:lp`: a landing-page counter with sessions only;
* `ig:brand`: Instagram likes and comments without reach.

Every figure the tests expect is computed from these rows in the tests.
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

FIRST = date(2026, 8, 1)
LAST = date(2026, 10, 31)
OCTOBER = (date(2026, 10, 1), date(2026, 10, 31))


def days(first: date = FIRST, last: date = LAST) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _followers(day: date, sep30: float, oct31: float, per_day_before: float) -> float:
    """A straight line through the Sep 30 and Oct 31 values (whole numbers)."""
    if day <= date(2026, 9, 30):
        return sep30 - per_day_before * (date(2026, 9, 30) - day).days
    return round(sep30 + (oct31 - sep30) * (day - date(2026, 9, 30)).days / 31)


def vk(seed: int, sep30: float, oct31: float) -> list[dict[str, str]]:
    rows = []
    for i, day in enumerate(days()):
        rows.append(
            {
                "date": day.isoformat(),
                "reach": str(3000 + seed * 700 + (i * 37 % 400)),
                "likes": str(90 + seed * 20 + (i * 13 % 50)),
                "comments": str(4 + (i * 7 % 9)),
                "shares": str(i % 3),
                "followers": str(int(_followers(day, sep30, oct31, 10 + seed))),
            }
        )
    return rows


def tg() -> list[dict[str, str]]:
    last = date(2026, 9, 10)
    return [
        {
            "date": day.isoformat(),
            "reach": str(5000 + i * 11),
            "followers": str(15409 - (last - day).days * 3),
        }
        for i, day in enumerate(days(FIRST, last))
    ]


def site() -> list[dict[str, str]]:
    return [
        {
            "date": day.isoformat(),
            "sessions": str(1500 + (i * 53 % 300)),
            "bounce rate": "41%" if i % 2 else "40.5%",
        }
        for i, day in enumerate(days())
    ]


def landing() -> list[dict[str, str]]:
    return [
        {"date": day.isoformat(), "sessions": str(1200 + (i * 31 % 200))}
        for i, day in enumerate(days())
    ]


def instagram() -> list[dict[str, str]]:
    return [
        {
            "date": day.isoformat(),
            "likes": str(2000 + (i * 41 % 500)),
            "comments": str(60 + i % 20),
        }
        for i, day in enumerate(days())
    ]


FILES: dict[str, list[dict[str, str]]] = {
    "vk:brand": vk(1, 12008, 13568),
    "vk:shop": vk(0, 8000, 8180),
    "tg:channel": tg(),
    "site": site(),
    "site:lp": landing(),
    "ig:brand": instagram(),
}


def as_csv(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def stored_values() -> dict[tuple[str, date], dict[str, float]]:
    """The rows as the importer stores them (bounces = rate × sessions)."""
    values: dict[tuple[str, date], dict[str, float]] = {}
    for account, rows in FILES.items():
        for row in rows:
            day = date.fromisoformat(row["date"])
            stored: dict[str, float] = {}
            for k, v in row.items():
                if k == "date":
                    continue
                if k == "bounce rate":
                    stored["bounces"] = float(v.rstrip("%")) / 100 * float(row["sessions"])
                else:
                    stored[k] = float(v)
            values[(account, day)] = stored
    return values
