"""One period, one scope, one figure: `/<kpi>`, `/report`, the last `/chart` point, the
digest tile and the alert's week give the same value (issue #12), on the October
files (several accounts, a stale channel, unpaired site and Instagram rows)."""

from __future__ import annotations

import math
import re
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime
from typing import Any, TypeVar

import pytest

from bot.app import create_bot, create_dispatcher
from bot.config import Settings
from bot.services.digest import load_digest_data
from bot.services.rendering import ChartRenderer
from kpi.charts import LineChartSpec
from kpi.models import Period
from kpi.numbers import format_value
from kpi.registry import KPIS
from storage import Storage
from tests.dispatcher.conftest import Harness
from tests.fakeapi.recording import RecordingSession
from tests.kpi_engine.october import stored_values

S = TypeVar("S")
CHAT = 5151
# Monday Nov 2, 12:00 in Moscow: the latest complete ISO week is Oct 26 – Nov 1.
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
WEEK = Period(date(2026, 10, 26), date(2026, 11, 1))
KPIS_SEEN = ("growth", "engagement", "bounce", "reach")
# A rule per KPI that fires on the week, so its message and chart carry the value.
RULES = {"growth": "growth > 0%", "engagement": "er > 1%", "bounce": "bounce > 10%",
         "reach": "reach > 100"}  # fmt: skip


class Recorder(ChartRenderer):
    """The real thread renderer that also keeps every spec it was asked to draw."""

    def __init__(self) -> None:
        base = ChartRenderer.threads()
        super().__init__(base._executor)
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
    await storage.metrics.apply_import(ws.id, source="t", user_id=None, values=stored_values())
    yield Harness(dp, bot, session, storage, settings), recorder
    await bot.session.close()
    recorder.close()


def _value_of(line: str) -> str:
    return re.sub(r"</?b>", "", line)


@pytest.mark.parametrize("kpi", KPIS_SEEN)
async def test_command_report_chart_digest_and_alert_agree(
    h: tuple[Harness, Recorder], kpi: str
) -> None:
    harness, recorder = h
    unit = KPIS[kpi].unit
    command = KPIS[kpi].commands[0]
    # The KPI command for the week.
    answer = (
        await harness.say_text(f"/{command} 2026-10-26..2026-11-01", CHAT, language_code="en")
    ).split("\n")
    shown = _value_of(answer[1])
    # /report for the same week and scope.
    report = await harness.say_text("/report 2026-10-26..2026-11-01", CHAT, language_code="en")
    name = {"growth": "Audience growth", "engagement": "Engagement (ERR)",
            "bounce": "Bounce rate", "reach": "Reach"}[kpi]  # fmt: skip
    line = next(x for x in report.split("\n") if x.startswith(f"• {name}: "))
    assert _value_of(line).split(": ", 1)[1].split(" ")[0] == shown.split(" ")[0], line
    # The last point of a weekly /chart that ends with that week.
    recorder.specs.clear()
    await harness.say(f"/chart {kpi} 2026-08-03..2026-11-01", CHAT, language_code="en")
    (chart,) = [s for s in recorder.specs if isinstance(s, LineChartSpec)]
    last_day, last_value = chart.points[-1]
    assert last_day == WEEK.start and last_value is not None
    assert format_value(last_value, unit, "en") == shown
    # The digest tile of that week.
    workspace = await harness.storage.workspaces.get_by_chat(CHAT)
    assert workspace is not None
    digest = await load_digest_data(harness.storage, workspace, WEEK)
    tile = next(t for t in digest.tiles if t.kpi == kpi)
    assert tile.value is not None and math.isclose(tile.value, last_value)
    assert tile.spark[-1] is not None and math.isclose(tile.spark[-1], last_value)
    # The alert's week: a rule that fires draws the weekly series, the week last.
    recorder.specs.clear()
    calls = await harness.say(f"/alert {RULES[kpi]}", CHAT, language_code="en")
    fired = [s for s in recorder.specs if isinstance(s, LineChartSpec)]
    assert fired, [c.visible_text for c in calls]
    week_day, week_value = fired[-1].points[-1]
    assert week_day == WEEK.start and week_value is not None
    assert math.isclose(week_value, last_value)
    texts = " ".join(c.visible_text or "" for c in calls)
    assert shown in texts
