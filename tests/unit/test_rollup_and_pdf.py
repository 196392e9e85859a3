"""kpi/rollup.py (what needs attention first, pages) and kpi/pdfreport.py (the PDF itself)."""

from __future__ import annotations

import io
from datetime import date, timedelta

import numpy as np
import pypdfium2
import pytest
from PIL import Image
from pypdf import PdfReader

from kpi.charts import DashboardSpec, DashboardTile, render_dashboard
from kpi.pdfreport import (
    Cell,
    LogoError,
    ReportSpec,
    Section,
    Table,
    downscale_logo,
    printable,
    render_report_pdf,
)
from kpi.rollup import STALE_DAYS, ClientFigures, page_count, page_of, rollup

TODAY = date(2026, 11, 20)


def client(name: str, **kw: object) -> ClientFigures:
    kw.setdefault("last_day", TODAY)
    return ClientFigures(name=name, title=None, kpis=(), **kw)  # type: ignore[arg-type]


def test_attention_order_alerts_then_goals_then_stale_data() -> None:
    rows = rollup(
        [
            client("fine"),
            client("stale", last_day=TODAY - timedelta(days=STALE_DAYS)),
            client("older", last_day=TODAY - timedelta(days=30)),
            client("never", last_day=None),
            client("off", goals=2, goals_off_track=1),
            client("risk", goals=1, goals_at_risk=1),
            client("alert", firing=("bounce",)),
            client("two-alerts", firing=("bounce", "cac")),
            client("almost", last_day=TODAY - timedelta(days=STALE_DAYS - 1)),
        ],
        TODAY,
    )
    names = [r.figures.name for r in rows]
    assert names == [
        "two-alerts", "alert", "risk", "off", "never", "older", "stale", "almost", "fine",
    ]  # fmt: skip
    by_name = {r.figures.name: r for r in rows}
    assert by_name["stale"].stale and by_name["stale"].days_since_data == STALE_DAYS
    assert not by_name["almost"].stale and not by_name["almost"].needs_attention
    assert by_name["never"].days_since_data is None and by_name["never"].stale


def test_pages_hold_every_client_once() -> None:
    rows = rollup([client(f"c{i:02d}") for i in range(13)], TODAY)
    assert page_count(len(rows)) == 3 and page_count(0) == 1
    pages = [page_of(rows, p) for p in range(3)]
    assert [len(p) for p in pages] == [6, 6, 1]
    assert [r for page in pages for r in page] == rows
    assert page_of(rows, 99) == pages[-1] and page_of(rows, -1) == pages[0]


def test_printable_drops_what_the_font_lacks_but_keeps_no_break_spaces() -> None:
    assert printable("↑ +12 % 🟢") == "↑ +12 %"
    assert printable("53\u00a0979 ⚠️") == "53\u00a0979 ⚠"
    assert printable("Охват\n  за  май") == "Охват за май"


def test_logos_are_downscaled_and_bad_pictures_refused() -> None:
    raw = io.BytesIO()
    Image.new("RGB", (2000, 500), (10, 20, 30)).save(raw, format="JPEG")
    small = downscale_logo(raw.getvalue())
    with Image.open(io.BytesIO(small)) as img:
        assert img.format == "PNG" and img.size == (256, 64)
    with pytest.raises(LogoError):
        downscale_logo(b"GIF89a not really")


def _png(colour: tuple[int, int, int], size: tuple[int, int] = (1200, 675)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format="PNG")
    return out.getvalue()


def test_the_pdf_has_a4_pages_a_text_layer_and_pictures() -> None:
    dashboard = render_dashboard(
        DashboardSpec(
            title="Кофейня «Зерно»",
            subtitle="12 недель",
            tiles=(DashboardTile("Охват", "53 979", "+28 %", True, "up", (1.0, 2.0, 3.0)),),
            brand="Агентство Альфа",
            brand_colour="#aa3377",
        )
    )
    spec = ReportSpec(
        title="Отчёт по KPI",
        client="Кофейня «Зерно»",
        period="22 окт – 20 ноя 2026",
        prepared_by="Подготовлено: Агентство Альфа",
        cover_lines=("Аккаунты: все аккаунты",),
        logo_png=_png((37, 99, 235), (256, 256)),
        colour="#aa3377",
        footer="Зерно",
        sections=(
            Section(
                "Главные цифры",
                ("Данные за 25 из 30 дней, $120 — не формула",),
                table=Table(
                    ("KPI", "Значение", "Раньше", "Изменение"),
                    tuple(
                        (Cell(f"KPI {i}"), Cell(f"{i}\u00a0000"), Cell("—"), Cell("↑ 5 %", True))
                        for i in range(40)  # more rows than one page holds
                    ),
                ),
            ),
            Section("Дашборд", images=(dashboard,)),
            Section("Графики", images=(_png((200, 0, 0)), _png((0, 200, 0)), _png((0, 0, 200)))),
        ),
    )
    data = render_report_pdf(spec)
    reader = PdfReader(io.BytesIO(data))
    texts = [p.extract_text() for p in reader.pages]
    # cover; the table over two pages; the dashboard; three charts over two pages
    assert len(reader.pages) == 6
    assert "Кофейня «Зерно»" in texts[0] and "Подготовлено: Агентство Альфа" in texts[0]
    assert "KPI 0" in texts[1] and "KPI 39" in texts[2] and "39\u00a0000" in texts[2]
    assert "$120" in texts[1]
    for page in reader.pages:
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        assert abs(width - 595.4) < 1 and abs(height - 841.7) < 1  # A4 in points
    doc = pypdfium2.PdfDocument(data)
    try:
        chart_page = np.asarray(doc[5].render(scale=0.5).to_pil().convert("RGB")).astype(int)
        blue = (chart_page[:, :, 2] > 150) & (chart_page[:, :, 0] < 60)
        assert blue.sum() > 5000  # the third chart (pure blue) is drawn on the last page
    finally:
        doc.close()
