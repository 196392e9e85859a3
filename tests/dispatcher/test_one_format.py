"""One `format_value` and one `format_day` (issue #14): a value and a period read the
same in `/report`, on the `/chart` label, in the digest (text and tile) and in
`/export`'s caption and headers, in Russian and in English."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

import pytest
from openpyxl import load_workbook

from bot.app import create_bot, create_dispatcher
from bot.config import Settings
from bot.i18n import create_i18n, use_currency
from bot.services.digest import compose_digest, load_digest_data
from bot.services.rendering import ChartRenderer
from kpi.charts import LineChartSpec, value_label
from kpi.models import Period
from storage import Storage
from tests.dispatcher.conftest import Harness
from tests.fakeapi.recording import RecordingSession

S = TypeVar("S")
CHAT = 5252
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # Monday: the last full week is Oct 26 – Nov 1
WEEK = Period(date(2026, 10, 26), date(2026, 11, 1))
FIRST = date(2026, 8, 3)
NB = "\u00a0"
CASES = {
    # CAC = 7 × 12 345.6 / 7 × 10 = 1 234.56; bounce = 123 / 1 000 = 12.3 %.
    "ru": {"cac": f"1{NB}234,56{NB}₽", "bounce": f"12,3{NB}%", "period": "26 окт. – 1 нояб. 2026",
           "report": "Отчёт", "cac_name": "CAC", "bounce_name": "Показатель отказов",
           "spend": "Расход на рекламу, ₽", "data_for": "Данные за"},
    "en": {"cac": "$1,234.56", "bounce": "12.3%", "period": "Oct 26 – Nov 1, 2026",
           "report": "Report", "cac_name": "CAC", "bounce_name": "Bounce rate",
           "spend": "Ad spend, $", "data_for": "Data for"},
}  # fmt: skip


class Recorder(ChartRenderer):
    def __init__(self) -> None:
        super().__init__(ChartRenderer.threads()._executor)
        self.specs: list[Any] = []

    async def render(self, func: Callable[[S], bytes], spec: S) -> bytes:
        self.specs.append(spec)
        return await super().render(func, spec)


@pytest.fixture
async def h(storage: Storage, settings: Settings) -> AsyncIterator[tuple[Harness, Recorder]]:
    recorder = Recorder()
    session = RecordingSession()
    bot = create_bot(settings, session=session)
    dp = create_dispatcher(storage, settings, renderer=recorder, clock=lambda: NOW)
    ws, _ = await storage.workspaces.ensure(CHAT, "private", None, "Europe/Moscow")
    values = {
        ("vk:brand", FIRST + timedelta(days=i)): {
            "ad_spend": 12345.6, "new_customers": 10.0, "bounces": 123.0, "sessions": 1000.0,
        }
        for i in range((WEEK.end - FIRST).days + 1)
    }  # fmt: skip
    await storage.metrics.apply_import(ws.id, source="t", user_id=None, values=values)
    yield Harness(dp, bot, session, storage, settings), recorder
    await bot.session.close()
    recorder.close()


def _plain(text: str) -> str:
    return re.sub(r"</?[a-z]+>", "", text)


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_a_value_and_a_period_read_the_same_everywhere(
    h: tuple[Harness, Recorder], lang: str
) -> None:
    harness, recorder = h
    case = CASES[lang]
    week = f"{WEEK.start.isoformat()}..{WEEK.end.isoformat()}"
    report = _plain(await harness.say_text(f"/report {week}", CHAT, language_code=lang))
    lines = report.split("\n")
    assert lines[0] == f"{case['report']} · {case['period']} · " + (
        "все аккаунты" if lang == "ru" else "all accounts"
    )
    assert any(x.startswith(f"• {case['cac_name']}: {case['cac']}") for x in lines), report
    assert any(x.startswith(f"• {case['bounce_name']}: {case['bounce']}") for x in lines), report

    # /chart over the week: its legend names the period as the report does; a weekly
    # chart ending with that week labels its last point with the report's value.
    for kpi in ("cac", "bounce"):
        recorder.specs.clear()
        await harness.say(f"/chart {kpi} {week}", CHAT, language_code=lang)
        (daily,) = [s for s in recorder.specs if isinstance(s, LineChartSpec)]
        assert daily.current_label == case["period"]
        recorder.specs.clear()
        await harness.say(f"/chart {kpi} {FIRST.isoformat()}..{WEEK.end}", CHAT, language_code=lang)
        (weekly,) = [s for s in recorder.specs if isinstance(s, LineChartSpec)]
        assert weekly.granularity == "week" and weekly.points[-1][0] == WEEK.start
        assert value_label(weekly) == case[kpi]

    # The digest of that week: the text line and the picture's tile.
    workspace = await harness.storage.workspaces.get_by_chat(CHAT)
    assert workspace is not None
    data = await load_digest_data(harness.storage, workspace, WEEK)
    with create_i18n("ru").context() as i18n, i18n.use_locale(lang), use_currency(None):
        digest = compose_digest(workspace, data, lang)
    assert digest.spec is not None
    tiles = {t.name: t.value_text for t in digest.spec.tiles}
    assert tiles[case["cac_name"]] == case["cac"]
    assert tiles[case["bounce_name"]] == case["bounce"]
    assert case["period"] in digest.spec.subtitle
    text = _plain("\n".join((digest.caption, *digest.details, *digest.text)))
    assert case["cac"] in text and case["bounce"] in text and case["period"] in text

    # /export: the caption's period, and the money header's currency sign.
    calls = await harness.say(f"/export {week}", CHAT, language_code=lang)
    (doc,) = [c for c in calls if c.method == "sendDocument"]
    assert (doc.visible_text or "").startswith(f"{case['data_for']} {case['period']} (")

    book = load_workbook(io.BytesIO(doc.files["document"].data))
    headers = [c.value for c in next(book.worksheets[0].iter_rows())]
    assert case["spend"] in headers
