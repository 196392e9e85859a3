"""Self-written fixture data (not third-party): for tests and benches that need *a*
file of a known shape, not the real one in ../shared/data."""

from __future__ import annotations

from datetime import date, timedelta


def views_csv(days: int = 60, start: date = date(2024, 3, 1)) -> bytes:
    """A daily page-views export (``Date,Views``, dd/mm/yyyy, CRLF, like a blog's counter)."""
    lines = ["Date,Views"]
    for i in range(days):
        lines.append(f"{start + timedelta(days=i):%d/%m/%Y},{100 + (i * 37) % 90}")
    return ("\r\n".join(lines) + "\r\n").encode()


# A posts table without a date column: the bot asks for the day.
POSTS_WITHOUT_DATES_CSV = (
    "USERNAME,Caption,Followers,Hashtags,Likes\n"
    "brand,Новая коллекция,1200,#sale #new,34\n"
    "brand,Backstage,1210,#backstage #new,51\n"
    "brand,Опрос недели,1215,#poll,12\n"
).encode()
