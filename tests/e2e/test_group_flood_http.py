"""A busy group over real HTTP: `python -m bot` against the fake Bot API enforcing
Telegram's flood limits (30/s overall, 1/s per chat, at most 20 sends in any minute
per group). Forty commands within a minute must all be answered, in order, without
a single apology and without one request refused by the flood control."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from handlers.kpi_texts import format_period
from kpi.models import Period
from tests.dispatcher.conftest import APOLOGY_MARKERS
from tests.e2e.conftest import BotProcess
from tests.fakeapi.server import FakeBotAPI

pytestmark = pytest.mark.e2e

GROUP = -100_4040
COMMANDS = 40


def _expected_header(days: int) -> str:
    today = datetime.now(ZoneInfo("Europe/Moscow")).date()
    return format_period(Period(today - timedelta(days=days - 1), today), "ru")


async def test_forty_commands_in_a_minute_get_forty_answers_in_order(
    api: FakeBotAPI, bot_process: BotProcess
) -> None:
    api.rate_limit(per_second=30, per_chat_per_second=1, per_group_per_minute=20)
    await bot_process.start()
    loop = asyncio.get_running_loop()
    started = loop.time()
    for n in range(1, COMMANDS + 1):
        api.message(GROUP, f"/reach {n}d", user_id=7001, chat_type="supergroup")
        await asyncio.sleep(1.4)  # 40 commands in 56 s
    assert loop.time() - started < 60

    def answers() -> list[str]:
        texts = [c.visible_text or "" for c in api.sent("sendMessage", chat_id=GROUP)]
        return [part for text in texts for part in text.split("\n\n") if part.strip()]

    deadline = loop.time() + 90
    # The bot is another process: poll what the fake received, within a deadline.
    while len(answers()) < COMMANDS and loop.time() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.5)
    got = answers()
    sent = api.sent("sendMessage", chat_id=GROUP)

    if any(m in text for text in got for m in APOLOGY_MARKERS):
        await bot_process.stop()
        raise AssertionError(bot_process.stderr.decode()[-5000:])
    headers = [text.splitlines()[0] for text in got]
    assert len(headers) == COMMANDS, headers
    for n, header in enumerate(headers, start=1):
        assert _expected_header(n) in header, (n, header)
    # The fake refused nothing: the bot kept within the limits instead of retrying,
    # and combined answers when the group's minute was full.
    assert api.flood_hits == []
    assert len(sent) < COMMANDS
    times = [c.timestamp for c in sent]
    for t in times:
        assert sum(1 for u in times if t <= u < t + 60) <= 20
