"""/export through the real dispatcher: an XLSX workbook by default (real number and
date cells, headers in the workspace's language, one sheet per kind of data), CSV on
request with the language's delimiter and decimal mark; formulas never run."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

import pytest
from openpyxl import load_workbook

from kpi.models import AudienceBucket, Period, PostRecord
from storage.metrics import AudienceRow
from tests.dispatcher.conftest import Harness
from tests.fakeapi.core import Call

CHAT = 1001
EN = {"language_code": "en"}
RU = {"language_code": "ru"}
MAY = "2024-05-01..2024-05-31"


@pytest.fixture
def h(harness: Harness) -> Harness:
    return harness


async def seed(h: Harness, lang: dict[str, str]) -> None:
    await h.say("/start", **lang)
    ws = await h.storage.workspaces.get_by_chat(CHAT)
    assert ws is not None
    values = {
        ("vk:brand", date(2024, 5, 1)): {"reach": 1200.0, "likes": 30.0, "revenue": 1500.5},
        ("vk:brand", date(2024, 5, 2)): {"reach": 1300.0},
        ('=HYPERLINK("http://x")', date(2024, 5, 2)): {"reach": 7.0, "likes": 1.0},
    }
    post = PostRecord("vk:brand", date(2024, 5, 2), "p1", "video", ("sale", "may"), "=1+1", 900)
    audience = [
        AudienceRow("vk:brand", date(2024, 5, 31), AudienceBucket("age", "18-24", 31.5, True)),
        AudienceRow("vk:brand", date(2024, 5, 31), AudienceBucket("city", "Москва", 420, False)),
    ]
    await h.storage.metrics.apply_import(
        ws.id, source="test", user_id=None, values=values, posts_in=[post], audience_in=audience
    )


def document(calls: list[Call]) -> Call:
    (doc,) = [c for c in calls if c.method == "sendDocument"]
    return doc


def documents(calls: list[Call]) -> dict[str, Call]:
    """`/export csv`'s files by name."""
    return {c.files["document"].filename: c for c in calls if c.method == "sendDocument"}


def read_csv(doc: Call, delimiter: str) -> list[list[str]]:
    raw = doc.files["document"].data
    assert raw.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline=""), delimiter=delimiter))


def cells(sheet) -> list[list[object]]:
    return [[c.value for c in row] for row in sheet.iter_rows()]


async def test_export_is_an_excel_workbook_with_real_cells_in_russian(h: Harness) -> None:
    # Before: a comma-separated CSV with decimal points and English headers, one column
    # in a Russian Excel.
    await seed(h, RU)
    doc = document(await h.say(f"/export {MAY}", **RU))
    assert doc.visible_text == (
        "Данные за 1–31 мая 2024 (все аккаунты): 3 строки (аккаунт за день), "
        "3 метрики, 2 аккаунта. Книга Excel: метрики по дням, публикации (1), аудитория (2). "
        "Нужен CSV: /export csv"
    )
    upload = doc.files["document"]
    assert upload.filename == "kpi_2024-05-01_2024-05-31.xlsx"
    book = load_workbook(io.BytesIO(upload.data))
    assert book.sheetnames == ["Метрики по дням", "Публикации", "Аудитория"]
    daily = book["Метрики по дням"]
    assert cells(daily) == [
        ["Аккаунт", "Дата", "Охват", "Лайки", "Выручка, ₽"],
        ["vk:brand", datetime(2024, 5, 1), 1200, 30, 1500.5],
        ['=HYPERLINK("http://x")', datetime(2024, 5, 2), 7, 1, None],
        ["vk:brand", datetime(2024, 5, 2), 1300, None, None],
    ]
    # Real cells: a date and numbers, and the formula-looking name stays text.
    assert daily["B2"].is_date and daily["B2"].number_format == "DD.MM.YYYY"
    assert daily["C2"].data_type == "n" and daily["E2"].data_type == "n"
    assert daily["A3"].data_type == "s"
    posts = book["Публикации"]
    assert cells(posts)[0][:7] == [
        "Аккаунт", "Дата", "Публикация", "Формат", "Хэштеги", "Текст", "Охват",
    ]  # fmt: skip
    assert cells(posts)[1][:7] == ["vk:brand", datetime(2024, 5, 2), "p1", "video", "#sale #may",
                                   "=1+1", 900]  # fmt: skip
    assert posts["F2"].data_type == "s"
    assert cells(book["Аудитория"]) == [
        ["Аккаунт", "Дата", "Разрез", "Группа", "Значение", "Единица"],
        ["vk:brand", datetime(2024, 5, 31), "возраст", "18-24", 31.5, "%"],
        ["vk:brand", datetime(2024, 5, 31), "город", "Москва", 420, "человек"],
    ]


async def test_export_workbook_in_english_has_english_headers_and_dollars(h: Harness) -> None:
    await seed(h, EN)
    doc = document(await h.say(f"/export xlsx {MAY} vk:brand", **EN))
    assert doc.visible_text == (
        "Data for May 1–31, 2024 (vk:brand): 2 account-day rows, 3 metrics, "
        "1 account. Excel workbook: daily metrics, posts (1), audience (2). "
        "CSV instead: /export csv"
    )
    book = load_workbook(io.BytesIO(doc.files["document"].data))
    assert book.sheetnames == ["Daily metrics", "Posts", "Audience"]
    daily = book["Daily metrics"]
    assert cells(daily)[0] == ["Account", "Date", "Reach", "Likes", "Revenue, $"]
    assert daily["B2"].number_format == "YYYY-MM-DD"


async def test_csv_in_russian_uses_semicolons_and_decimal_commas(h: Harness) -> None:
    await seed(h, RU)
    files = documents(await h.say(f"/export csv {MAY}", **RU))
    assert list(files) == [
        "kpi_2024-05-01_2024-05-31.csv",
        "kpi_2024-05-01_2024-05-31_posts.csv",
        "kpi_2024-05-01_2024-05-31_audience.csv",
    ]
    doc = files["kpi_2024-05-01_2024-05-31.csv"]
    assert doc.visible_text.endswith(
        "CSV для Excel: точка с запятой между полями, десятичная запятая. По файлу на каждый "
        "вид данных: метрики по дням, публикации (1), аудитория (2)."
    )
    raw = doc.files["document"].data
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline=""), delimiter=";"))
    assert rows == [
        ["Аккаунт", "Дата", "Охват", "Лайки", "Выручка, ₽"],
        ["vk:brand", "01.05.2024", "1200", "30", "1500,5"],
        ['\'=HYPERLINK("http://x")', "02.05.2024", "7", "1", ""],
        ["vk:brand", "02.05.2024", "1300", "", ""],
    ]


async def test_csv_in_english_uses_commas_and_points(h: Harness) -> None:
    await seed(h, EN)
    files = documents(await h.say(f"/export csv {MAY} vk:brand", **EN))
    doc = files["kpi_2024-05-01_2024-05-31_vk-brand.csv"]
    body = doc.files["document"].data.decode("utf-8-sig")
    assert body.splitlines() == [
        'Account,Date,Reach,Likes,"Revenue, $"',
        "vk:brand,2024-05-01,1200,30,1500.5",
        "vk:brand,2024-05-02,1300,,",
    ]


async def test_nothing_to_export_is_said_in_text(h: Harness) -> None:
    await h.say("/start", **RU)
    assert await h.say_text("/export 2020-01", **RU) == (
        "Нет данных за 1–31 янв. 2020 (все аккаунты). "
        "Пришлите файл или используйте /log, потом снова /export."
    )


async def test_the_russian_csv_reads_back_into_the_bot(h: Harness) -> None:
    await seed(h, RU)
    raw = documents(await h.say(f"/export csv {MAY}", **RU))["kpi_2024-05-01_2024-05-31.csv"]
    raw = raw.files["document"].data
    other = CHAT + 1
    await h.say("/start", chat_id=other, **RU)
    # The legacy formula-looking account name (stored before the account-name rule) is
    # refused on the way back in, naming its row; nothing of that file is stored …
    update = h.fake.document(other, "back", "kpi.csv", None, data=raw, push=False, **RU)
    refused = [c.visible_text or "" for c in await h.feed(update) if c.method == "sendMessage"]
    assert refused[-1].startswith(
        "Ничего не импортировано из «kpi.csv».\nВ строке указан аккаунт с недопустимым названием."
    )
    # … and the file without that row reads back exactly.
    kept = b"\n".join(line for line in raw.split(b"\n") if b"HYPERLINK" not in line)
    update = h.fake.document(other, "back2", "kpi2.csv", None, data=kept, push=False, **RU)
    await h.feed(update)
    source = await h.storage.workspaces.get_by_chat(CHAT)
    copy = await h.storage.workspaces.get_by_chat(other)
    assert source is not None and copy is not None
    may = Period(date(2024, 5, 1), date(2024, 5, 31))
    expected = await h.storage.metrics.export_rows(source.id, may)
    back = await h.storage.metrics.export_rows(copy.id, may)
    assert back == [r for r in expected if not r[0].startswith("=")]
    assert len(back) == 2 and len(expected) == 3


@pytest.mark.parametrize(
    ("lang", "delimiter", "posts_header", "audience_header"),
    [
        (RU, ";", ["Аккаунт", "Дата", "Публикация", "Формат", "Хэштеги", "Текст", "Охват",
                   "Показы", "Лайки", "Комментарии", "Репосты", "Сохранения", "Клики"],
         ["Аккаунт", "Дата", "Разрез", "Группа", "Значение", "Единица"]),
        (EN, ",", ["Account", "Date", "Post", "Format", "Hashtags", "Text", "Reach",
                   "Impressions", "Likes", "Comments", "Shares", "Saves", "Link clicks"],
         ["Account", "Date", "Breakdown", "Group", "Value", "Unit"]),
    ],
)  # fmt: skip
async def test_csv_has_a_file_per_kind_and_each_matches_the_database(
    h: Harness,
    lang: dict[str, str],
    delimiter: str,
    posts_header: list[str],
    audience_header: list[str],
) -> None:
    await seed(h, lang)
    files = documents(await h.say(f"/export csv {MAY}", **lang))
    ws = await h.storage.workspaces.get_by_chat(CHAT)
    assert ws is not None
    may = Period(date(2024, 5, 1), date(2024, 5, 31))
    ru = delimiter == ";"

    def day(d: date) -> str:
        return d.strftime("%d.%m.%Y") if ru else d.isoformat()

    def number(x: float | None) -> str:
        if x is None:
            return ""
        text = str(int(x)) if float(x).is_integer() else repr(float(x))
        return text.replace(".", ",") if ru else text

    posts = await h.storage.metrics.posts_in_period(ws.id, may)
    rows = read_csv(files["kpi_2024-05-01_2024-05-31_posts.csv"], delimiter)
    assert rows[0] == posts_header
    counters = ("reach", "impressions", "likes", "comments", "shares", "saves", "link_clicks")
    assert rows[1:] == [
        [p.account, day(p.day), p.post_id, p.format, " ".join(f"#{t}" for t in p.hashtags),
         "'" + p.text if p.text.startswith("=") else p.text,
         *(number(getattr(p, c)) for c in counters)]
        for p in posts
    ]  # fmt: skip
    assert rows[1][5] == "'=1+1"  # the formula-looking text stays text
    audience = list(await h.storage.metrics.audience_rows(ws.id, may))
    rows = read_csv(files["kpi_2024-05-01_2024-05-31_audience.csv"], delimiter)
    assert rows[0] == audience_header
    assert [r[:5] for r in rows[1:]] == [
        [a.account, day(a.day), r[2], a.bucket.bucket, number(a.bucket.value)]
        for a, r in zip(audience, rows[1:], strict=True)
    ]
    assert [(r[2], r[5]) for r in rows[1:]] == (
        [("возраст", "%"), ("город", "человек")] if ru else [("age", "%"), ("city", "people")]
    )
    assert [r[4] for r in rows[1:]] == (["31,5", "420"] if ru else ["31.5", "420"])
    # Every file but the first says what it holds.
    captions = [c.visible_text for c in files.values()][1:]
    assert captions == (
        ["Публикации, 1–31 мая 2024.", "Аудитория, 1–31 мая 2024."]
        if ru
        else ["Posts, May 1–31, 2024.", "Audience, May 1–31, 2024."]
    )
