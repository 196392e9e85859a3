"""When a workspace's next weekly digest is due, as one UTC moment (`next_digest_at`).

Pure: no I/O, no clock. Storage keeps the result in `workspaces.next_digest_at`
(indexed), so the minute tick reads `WHERE next_digest_at <= now` instead of
evaluating every workspace's time zone in Python (issue #16).

The slot of a local ISO week is `kpi.digest.local_send_time`: the weekday and
wall time in the workspace's zone, converted for that very week, so a Monday
10:00 in New York is 15:00 UTC in winter and 14:00 UTC in summer. A wall time
the clocks skip (02:30 on the spring-forward night) comes an hour later that
week; an ambiguous one (the autumn night) is the first of the two.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from kpi.digest import local_send_time, week_start


def next_digest_at(after: datetime, weekday: int, hhmm: str, tz: str) -> datetime:
    """The first digest slot strictly after `after` (aware UTC).

    Strictly: the value stored right after a schedule change or a send is never
    `now` itself, so neither sends a digest at once.
    """
    monday = week_start(after.astimezone(ZoneInfo(tz)).date())
    # The slot of the week containing `after`, else the next week's. Two weeks
    # ahead covers the one case where the next week's slot is still not after
    # `after` (never with a real zone, but cheap to be sure of).
    for weeks in range(3):
        due = local_send_time(monday + timedelta(days=7 * weeks), weekday, hhmm, tz)
        if due > after:
            return due
    raise AssertionError("unreachable: a weekly slot two weeks ahead is in the future")


def first_digest_at(
    now: datetime, weekday: int, hhmm: str, tz: str, created_at: datetime | None = None
) -> datetime:
    """A workspace's next slot counted from `now`, never one before it was created.

    A chat that adds the bot on Wednesday gets its first digest next week (see
    `kpi.digest.is_due`).
    """
    start = now if created_at is None or created_at <= now else created_at
    return next_digest_at(start, weekday, hhmm, tz)


__all__ = ["first_digest_at", "next_digest_at"]
