"""Agency mode: the roll-up of 200 clients and a 10-page client PDF, through the dispatcher.

Rows:
- `/clients 30d` in an agency chat with 200 linked clients (3 accounts × 90 days of 8
  metrics each, the two default alert rules, a goal for every fifth client), fed with
  `feed_update` through `create_dispatcher(...)`. Baseline, same run: the least such a
  roll-up must do — `period_pair` (both periods, one grouped query) for each of the 200
  clients, nothing else. Target: under 2 s.
- `/report pdf 30d` for one client with six key KPIs (cover, KPI table, goals, the
  dashboard, six charts, why, content, formulas, data notes: 10 pages), the whole path:
  data, seven chart renders, the PDF. Baseline, same run: a 10-page PdfPages file with
  one line of text per page. Target: under 5 s.

Run: `python -m bench.bench_agency [--quick]` or `python -m bench`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from io import BytesIO
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiogram import Bot
from aiogram.types import Update
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from bot.app import create_bot, create_dispatcher
from bot.config import Settings
from kpi.goals import parse_goal
from kpi.models import Period, PostRecord
from storage import Storage
from tests.conftest import TEST_TOKEN
from tests.fakeapi.recording import RecordingSession

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
AGENCY = -100_100_000
ROLLUP_TARGET_S = 2.0
PDF_TARGET_S = 5.0


def _values(k: float, days: int) -> dict[tuple[str, date], dict[str, float]]:
    out: dict[tuple[str, date], dict[str, float]] = {}
    for account, share in (("main", 1.0), ("vk:brand", 0.6), ("site", 0.3)):
        for i in range(days):
            if (i + int(k)) % 11 == 0:
                continue  # gaps
            day = NOW.date() - timedelta(days=i)
            out[(account, day)] = {
                "reach": 9_000 * share * k + i, "likes": 300 * share, "comments": 30 * share,
                "link_clicks": 200 * share, "conversions": 7 * share, "followers": 40_000 * k + i,
                "revenue": 60_000 * share, "ad_spend": 15_000 * share,
            }  # fmt: skip
    return out


async def _seed(storage: Storage, clients: int, days: int) -> None:
    agency, _ = await storage.workspaces.ensure(AGENCY, "supergroup", "Agency", "Europe/Moscow")
    for n in range(clients):
        ws, _ = await storage.workspaces.ensure(
            AGENCY - 1 - n, "supergroup", f"Client {n:03d}", "Europe/Moscow"
        )
        await storage.metrics.apply_import(
            ws.id, source="bench", user_id=None, values=_values(1 + n % 7, days)
        )
        if n % 5 == 0:
            spec = parse_goal("reach 900000 month", NOW.date())
            await storage.goals.add_goal(ws.id, spec, None, NOW)
        code = await storage.agency.issue_code(agency.id, NOW)
        await storage.agency.redeem_code(code, ws, NOW)


def _posts(day: date, n: int) -> list[PostRecord]:
    formats = ("photo", "video", "reel", "text")
    return [
        PostRecord(
            account="main",
            day=day - timedelta(days=i % 28),
            post_id=f"p{i}",
            format=formats[i % 4],
            hashtags=(("sale", "coffee", "new")[i % 3],),
            reach=1000.0 + 37 * (i % 13),
            likes=40.0 + i % 9,
            comments=3.0,
            shares=1.0,
            saves=2.0,
        )
        for i in range(n)
    ]


def _minimal_pdf(pages: int) -> bytes:
    out = BytesIO()
    with PdfPages(out) as pdf:
        for i in range(pages):
            fig = Figure(figsize=(8.27, 11.69))
            fig.text(0.1, 0.9, f"page {i + 1}")
            pdf.savefig(fig)  # type: ignore[no-untyped-call]
    return out.getvalue()


async def _measure(quick: bool) -> list[dict[str, Any]]:
    clients = 40 if quick else 200
    runs = 2 if quick else 5
    with tempfile.TemporaryDirectory(prefix="kpibot-agency-") as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/bench.sqlite3"
        storage = await Storage.open(url)
        settings = Settings(
            bot_token=TEST_TOKEN,  # type: ignore[arg-type]
            database_url=url,
            bot_api_url="http://127.0.0.1:9",
            _env_file=None,  # type: ignore[call-arg]
        )
        try:
            await _seed(storage, clients, 90)
            first = await storage.workspaces.get_by_chat(AGENCY - 1)
            assert first is not None
            await storage.metrics.apply_import(
                first.id, source="bench", user_id=None, values={},
                posts_in=_posts(NOW.date(), 60),
            )  # fmt: skip
            agency = await storage.workspaces.get_by_chat(AGENCY)
            assert agency is not None
            kpis = ("reach", "engagement", "conversion", "growth", "clicks", "roi")
            await storage.agency.set_brand(agency.id, NOW, name="Agency", rollup_kpis=kpis)
            session = RecordingSession()
            bot: Bot = create_bot(settings, session=session)
            dp = create_dispatcher(storage, settings, clock=lambda: NOW)
            fake = session.fake

            async def feed(text: str) -> float:
                update = Update.model_validate(
                    fake.message(AGENCY, text, push=False, language_code="en", title="Agency"),
                    context={"bot": bot},
                )
                started = time.perf_counter()
                await dp.feed_update(bot, update)
                return time.perf_counter() - started

            period = Period(NOW.date() - timedelta(days=29), NOW.date())
            linked = await storage.agency.clients(agency.id)

            async def baseline() -> float:
                started = time.perf_counter()
                for c in linked:
                    await storage.metrics.period_pair(c.workspace.id, period, margin=1.0)
                return time.perf_counter() - started

            await feed("/clients 30d")  # warm-up
            await baseline()
            rollup_s, base_s = [], []
            for _ in range(runs):
                rollup_s.append(await feed("/clients 30d"))
                base_s.append(await baseline())
            answer = session.sent("sendMessage", chat_id=AGENCY)[-1].visible_text or ""
            assert "Clients" in answer, answer[:200]

            pdf_s, min_s, pages = [], [], 0
            await feed("/client client-000 report pdf 30d")  # warm-up: fonts, caches
            for _ in range(runs):
                pdf_s.append(await feed("/client client-000 report pdf 30d"))
                started = time.perf_counter()
                _minimal_pdf(10)
                min_s.append(time.perf_counter() - started)
            doc = session.sent("sendDocument", chat_id=AGENCY)[-1].files["document"].data
            pages = doc.count(b"/Type /Page\n") or doc.count(b"/Type /Page ")
            await bot.session.close()
        finally:
            await storage.close()
    rollup, base = statistics.median(rollup_s), statistics.median(base_s)
    pdf, minimal = statistics.median(pdf_s), statistics.median(min_s)
    return [
        {
            "bench": f"agency:/clients 30d, {clients} clients",
            "baseline": f"period_pair × {clients} (both periods, nothing else)",
            "baseline_s": base,
            "subject_s": rollup,
            "ratio": rollup / base,
            "target": f"< {ROLLUP_TARGET_S:.0f} s",
            "notes": f"median of {runs}; {'ok' if rollup < ROLLUP_TARGET_S else 'OVER TARGET'}",
        },
        {
            "bench": "agency:/report pdf 30d (via /client)",
            "baseline": "10-page PdfPages, one text line a page",
            "baseline_s": minimal,
            "subject_s": pdf,
            "ratio": pdf / minimal,
            "target": f"< {PDF_TARGET_S:.0f} s",
            "notes": f"{pages} pages; median of {runs}; "
            f"{'ok' if pdf < PDF_TARGET_S else 'OVER TARGET'}",
        },
    ]


def main(quick: bool) -> list[dict[str, Any]]:
    return asyncio.run(_measure(quick))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    for row in main(parser.parse_args().quick):
        print(json.dumps(row, ensure_ascii=False))
