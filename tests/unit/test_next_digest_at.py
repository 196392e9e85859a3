"""`kpi.schedule.next_digest_at`: the stored UTC moment of the next digest (issue #16).

The expected values are written out by hand from the zones' rules: Berlin is
UTC+1 in winter and UTC+2 from the last Sunday of March 01:00 UTC to the last
Sunday of October 01:00 UTC; New York is UTC-5 / UTC-4 from the second Sunday of
March 07:00 UTC to the first Sunday of November 06:00 UTC; Moscow, Kolkata and
Tokyo have no DST (+3, +5:30, +9).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kpi.schedule import first_digest_at, next_digest_at


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


MON, TUE, WED, THU, FRI, SAT, SUN = range(7)

CASES = [
    # after (UTC), weekday, time, zone -> next slot (UTC)
    # Berlin, winter: Monday 10:00 CET = 09:00 UTC.
    (utc(2026, 3, 16, 8, 59), MON, "10:00", "Europe/Berlin", utc(2026, 3, 16, 9, 0)),
    # Exactly at the slot: strictly after, so next week's.
    (utc(2026, 3, 16, 9, 0), MON, "10:00", "Europe/Berlin", utc(2026, 3, 23, 9, 0)),
    # Across the spring change (Sun 2026-03-29): the next Monday 10:00 is CEST = 08:00 UTC.
    (utc(2026, 3, 23, 9, 0), MON, "10:00", "Europe/Berlin", utc(2026, 3, 30, 8, 0)),
    # Sunday 02:30 does not exist on 2026-03-29 in Berlin: read with the offset
    # before the jump (CET), 02:30+01:00 = 01:30 UTC (= 03:30 CEST).
    (utc(2026, 3, 28, 12, 0), SUN, "02:30", "Europe/Berlin", utc(2026, 3, 29, 1, 30)),
    # Sunday 02:30 on the autumn night (2026-10-25) happens twice: the first (CEST).
    (utc(2026, 10, 24, 12, 0), SUN, "02:30", "Europe/Berlin", utc(2026, 10, 25, 0, 30)),
    # Across the autumn change: Monday 10:00 back on CET.
    (utc(2026, 10, 19, 8, 0), MON, "10:00", "Europe/Berlin", utc(2026, 10, 26, 9, 0)),
    # New York, winter: Monday 10:00 EST = 15:00 UTC; after the change (Sun 2026-03-08) EDT.
    (utc(2026, 3, 2, 14, 59), MON, "10:00", "America/New_York", utc(2026, 3, 2, 15, 0)),
    (utc(2026, 3, 2, 15, 0), MON, "10:00", "America/New_York", utc(2026, 3, 9, 14, 0)),
    # New York's Sunday 02:30 does not exist on 2026-03-08: 02:30 EST = 07:30 UTC.
    (utc(2026, 3, 7, 0, 0), SUN, "02:30", "America/New_York", utc(2026, 3, 8, 7, 30)),
    # Back to EST on Sun 2026-11-01: Monday 10:00 = 15:00 UTC again.
    (utc(2026, 10, 26, 14, 0), MON, "10:00", "America/New_York", utc(2026, 11, 2, 15, 0)),
    # Friday 18:00 in New York is Friday 22:00 UTC in summer...
    (utc(2026, 7, 1, 0, 0), FRI, "18:00", "America/New_York", utc(2026, 7, 3, 22, 0)),
    # ...and a local Sunday 21:00 is Monday 01:00 UTC (the UTC day differs).
    (utc(2026, 7, 5, 0, 0), SUN, "21:00", "America/New_York", utc(2026, 7, 6, 1, 0)),
    # Zones without DST: the same UTC hour all year.
    (utc(2026, 3, 29, 0, 0), MON, "10:00", "Europe/Moscow", utc(2026, 3, 30, 7, 0)),
    (utc(2026, 10, 25, 0, 0), MON, "10:00", "Europe/Moscow", utc(2026, 10, 26, 7, 0)),
    (utc(2026, 11, 30, 7, 0), MON, "10:00", "Europe/Moscow", utc(2026, 12, 7, 7, 0)),
    (utc(2026, 6, 1, 0, 0), WED, "09:00", "Asia/Kolkata", utc(2026, 6, 3, 3, 30)),
    # Tokyo's Monday 08:00 is Sunday 23:00 UTC: "after" on a UTC Sunday morning.
    (utc(2026, 12, 6, 10, 0), MON, "08:00", "Asia/Tokyo", utc(2026, 12, 6, 23, 0)),
    (utc(2026, 12, 6, 23, 0), MON, "08:00", "Asia/Tokyo", utc(2026, 12, 13, 23, 0)),
    # The ISO year boundary: Monday 2026-12-28, then Monday 2027-01-04.
    (utc(2026, 12, 28, 7, 0), MON, "10:00", "Europe/Moscow", utc(2027, 1, 4, 7, 0)),
    (utc(2026, 12, 1, 0, 0), MON, "10:00", "UTC", utc(2026, 12, 7, 10, 0)),
]


@pytest.mark.parametrize(("after", "weekday", "hhmm", "tz", "expected"), CASES)
def test_next_digest_at(
    after: datetime, weekday: int, hhmm: str, tz: str, expected: datetime
) -> None:
    got = next_digest_at(after, weekday, hhmm, tz)
    assert got == expected
    assert got.utcoffset() is not None and got > after


@pytest.mark.parametrize(("after", "weekday", "hhmm", "tz", "expected"), CASES)
def test_consecutive_slots_are_a_week_apart_in_local_time(
    after: datetime, weekday: int, hhmm: str, tz: str, expected: datetime
) -> None:
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(tz)
    slot = next_digest_at(after, weekday, hhmm, tz)
    following = next_digest_at(slot, weekday, hhmm, tz)
    a, b = slot.astimezone(zone), following.astimezone(zone)
    assert (b.date() - a.date()).days == 7 and a.weekday() == b.weekday() == weekday
    # Wall times differ only where the first or second one fell into a gap.
    if (a.hour, a.minute) == (b.hour, b.minute):
        assert f"{a:%H:%M}" == hhmm or f"{b:%H:%M}" == hhmm


def test_first_digest_never_before_the_workspace_was_created() -> None:
    # Created on Wednesday: Monday's slot of that week has passed, the next Monday is first.
    created = utc(2026, 12, 2, 12, 0)
    assert first_digest_at(utc(2026, 11, 23), MON, "10:00", "Europe/Moscow", created) == utc(
        2026, 12, 7, 7, 0
    )
    # `now` later than the creation: counted from now.
    assert first_digest_at(utc(2026, 12, 8), MON, "10:00", "Europe/Moscow", created) == utc(
        2026, 12, 14, 7, 0
    )


@pytest.mark.parametrize("tz", ["Mars/Olympus", "", "../etc/passwd"])
def test_a_zone_that_does_not_load_raises(tz: str) -> None:
    with pytest.raises((KeyError, ValueError)):
        next_digest_at(utc(2026, 12, 1), MON, "10:00", tz)
