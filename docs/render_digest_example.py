"""Render the README's digest screenshot through the real bot.

Runs the real dispatcher with a recording session and a fixed clock: uploads a
real public file (a blog's daily page views, ../shared/data/smm), types twelve
weeks of demo numbers with `/log` (seeded pseudo-random, marked as demo in the
README), asks `/digest now` and saves the photo the bot sent.
Usage: `.venv/bin/python docs/render_digest_example.py`.
"""

from __future__ import annotations

import asyncio
import random
import sys
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from aiogram.types import Update

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.app import create_bot, create_dispatcher  # noqa: E402
from bot.config import Settings  # noqa: E402
from storage import Storage  # noqa: E402
from tests.fakeapi.recording import RecordingSession  # noqa: E402
from tests.shareddata import SMM_DATA  # noqa: E402

SMM = SMM_DATA
CHAT = 4242
NEEDS = ("website_daily_views.csv",)


def check_shared_data() -> None:
    """The screenshot shows a real public file: without ../shared/data say so and stop."""
    missing = [name for name in NEEDS if not (SMM / name).is_file()]
    if missing:
        sys.exit(
            f"render_digest_example: needs ../shared/data/smm/{missing[0]} beside the checkout "
            "(third-party data, not in the repository; README 'Shared data'); not found"
        )


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/demo.sqlite3"
        storage = await Storage.open(url)
        settings = Settings(bot_token="123456:" + "A" * 35, database_url=url, _env_file=None)  # type: ignore[arg-type,call-arg]
        session = RecordingSession()
        bot = create_bot(settings, session=session)
        dp = create_dispatcher(
            storage, settings, clock=lambda: datetime(2022, 6, 27, 9, 0, tzinfo=UTC)
        )
        fake = session.fake

        async def feed(update: dict) -> None:
            await dp.feed_update(bot, Update.model_validate(update, context={"bot": bot}))

        await feed(fake.message(CHAT, "/start", push=False))
        for name, caption in (("website_daily_views.csv", "site"),):
            data = (SMM / name).read_bytes()
            fake.add_file(name, data)
            await feed(fake.document(CHAT, name, name, caption=caption, data=data, push=False))
        rng = random.Random(7)
        day = date(2022, 4, 4)
        followers = 18_000.0
        while day <= date(2022, 6, 26):
            trend = 1 + (day - date(2022, 4, 4)).days / 200
            reach = rng.randint(9_000, 14_000) * trend
            sessions = rng.randint(700, 1_100)
            followers += rng.randint(5, 60)
            values = {
                "reach": reach,
                "impressions": reach * rng.uniform(1.3, 1.6),
                "likes": reach * rng.uniform(0.03, 0.05),
                "comments": reach * 0.004,
                "shares": reach * 0.003,
                "link_clicks": reach * rng.uniform(0.008, 0.014),
                "sessions": sessions,
                "bounces": sessions * rng.uniform(0.35, 0.5),
                "conversions": sessions * rng.uniform(0.02, 0.04),
                "new_customers": rng.randint(1, 6),
                "ad_spend": rng.randint(4_000, 7_000),
                "revenue": rng.randint(8_000, 20_000),
                "followers": followers,
                "mentions": rng.randint(3, 25),
            }
            args = " ".join(f"{k}={round(v)}" for k, v in values.items())
            await feed(fake.message(CHAT, f"/log {day.isoformat()} vk:brand {args}", push=False))
            day += timedelta(days=1)
        session.calls.clear()
        await feed(fake.message(CHAT, "/digest now", push=False))
        photos = [c for c in session.calls if c.method == "sendPhoto"]
        if not photos:
            raise SystemExit("no digest photo was sent: " + str([c.method for c in session.calls]))
        out = REPO / "docs" / "digest.png"
        out.write_bytes(next(iter(photos[-1].files.values())).data)
        print("caption:\n" + str(photos[-1].params.get("caption")))
        print(f"saved {out}")
        await bot.session.close()
        await storage.close()


if __name__ == "__main__":
    check_shared_data()
    asyncio.run(main())
