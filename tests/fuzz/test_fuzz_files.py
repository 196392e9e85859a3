"""The real exports of ../shared/data/smm (and a self-written one), mutated (bytes
flipped, truncated, lines dropped or doubled, re-encoded, turned into a broken XLSX)
and sent as documents.

Every document in a private chat gets an answer; nothing crashes or logs an ERROR;
an import is all or nothing: the database is unchanged, or exactly one import batch
was added and the answer says what was imported.
"""

from __future__ import annotations

import functools
import io
import logging
import random

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.dispatcher.conftest import Harness
from tests.faults.tools import (
    GROUP,
    MEMBER,
    db_snapshot,
    diff,
    error_lines,
    real_files,
    replies,
    upload_supported,
    views_csv,
)
from tests.fuzz.conftest import PRIVATE


@functools.cache
def real_prefixes() -> dict[str, bytes]:
    """name -> the first 60 kB of each real file (fast); read inside marked tests only."""
    return {p.name: p.read_bytes()[:60_000] for p in real_files()}


# The names of the real files (../shared/data/README.md), so that collection reads nothing.
REAL_NAMES = (
    "apple_brand_mentions_tweets.csv",
    "ifood_marketing_campaign.csv",
    "instagram_posts_hashtags_likes.csv",
    "telegram_stats_graphs_2019.json",
    "uci_facebook_metrics.csv",
    "uci_online_shoppers_intention.csv",
    "website_daily_views.csv",
)
MUTATIONS = (
    "flip", "truncate", "drop_lines", "double_lines", "cp1251", "crlf", "cr",
    "semicolon", "garbage_cell", "xlsx", "broken_xlsx", "empty", "header_only",
)  # fmt: skip

FILE_FUZZ = settings(
    deadline=None,
    max_examples=40,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)


def to_xlsx(data: bytes) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    for line in data.decode("utf-8", errors="replace").splitlines()[:300]:
        ws.append(line.split(","))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def mutate(data: bytes, kind: str, seed: int) -> tuple[bytes, str]:
    """(mutated bytes, file extension)"""
    rnd = random.Random(seed)
    lines = data.splitlines(keepends=True)
    if kind == "flip":
        buf = bytearray(data)
        for _ in range(rnd.randint(1, 20)):
            i = rnd.randrange(len(buf))
            buf[i] ^= 1 << rnd.randrange(8)
        return bytes(buf), ".csv"
    if kind == "truncate":
        return data[: rnd.randrange(len(data))], ".csv"
    if kind == "drop_lines":
        return b"".join(ln for ln in lines if rnd.random() > 0.3), ".csv"
    if kind == "double_lines":
        return b"".join(ln * rnd.choice((1, 2)) for ln in lines), ".csv"
    if kind == "cp1251":
        return data.decode("utf-8", errors="replace").encode("cp1251", errors="replace"), ".csv"
    if kind == "crlf":
        return data.replace(b"\n", b"\r\n"), ".csv"
    if kind == "cr":
        return data.replace(b"\n", b"\r"), ".csv"
    if kind == "semicolon":
        return data.replace(b",", b";"), ".csv"
    if kind == "garbage_cell":
        if len(lines) < 3:
            return data, ".csv"
        i = rnd.randrange(1, len(lines))
        cells = lines[i].split(b",")
        cells[rnd.randrange(len(cells))] = rnd.choice(
            [b"NaN", b"inf", b"1e309", b"-5", b"<b>", b"=cmd|' /C calc'!A0", b"\xff\xfe", b""]
        )
        lines[i] = b",".join(cells)
        return b"".join(lines), ".csv"
    if kind == "xlsx":
        return to_xlsx(data), ".xlsx"
    if kind == "broken_xlsx":
        x = bytearray(to_xlsx(data))
        for _ in range(rnd.randint(1, 30)):
            i = rnd.randrange(len(x))
            x[i] = rnd.randrange(256)
        return bytes(x[: rnd.randrange(len(x) // 2, len(x) + 1)]), ".xlsx"
    if kind == "empty":
        return b"", ".csv"
    if kind == "header_only":
        return lines[0] if lines else b"", ".csv"
    raise AssertionError(kind)


@pytest.fixture
async def uploads(fz: Harness) -> Harness:
    if not await upload_supported(fz):
        pytest.skip("no router imports documents yet (file upload handler not registered)")
    return fz


@pytest.mark.shared_data
@FILE_FUZZ
@given(
    name=st.sampled_from(REAL_NAMES),
    kind=st.sampled_from(MUTATIONS),
    seed=st.integers(0, 2**32),
    caption=st.sampled_from([None, "2024-05-31", "vk:brand", "<b>", "9999-99-99", "a" * 1024]),
)
async def test_mutated_real_files_are_answered_and_import_all_or_nothing(
    uploads: Harness,
    caplog: pytest.LogCaptureFixture,
    name: str,
    kind: str,
    seed: int,
    caption: str | None,
) -> None:
    h = uploads
    assert sorted(real_prefixes()) == sorted(REAL_NAMES)  # the folder holds what we think
    data, ext = mutate(real_prefixes()[name], kind, seed)
    file_name = name.rsplit(".", 1)[0] + ext
    seen = len(caplog.records)
    await h.say("/cancel", chat_id=PRIVATE)  # no question of an earlier file pending
    before = await db_snapshot(h.storage)
    calls = await h.feed(
        h.fake.document(PRIVATE, f"f{seed}", file_name, caption=caption, data=data,
                        push=False, language_code="en")
    )  # fmt: skip
    shown = "\n".join(c.visible_text or "" for c in replies(calls, PRIVATE))
    assert shown, f"no answer to {kind} {file_name}"
    errors = [r for r in caplog.records[seen:] if r.levelno >= logging.ERROR]
    assert not errors, error_lines(errors)
    changed = diff(before, await db_snapshot(h.storage))
    event(f"{kind}: {'imported' if changed else 'refused or asked'}")
    if changed:
        assert "import_batches" in changed and changed["import_batches"].startswith("+1 -0"), (
            changed
        )
        assert "Imported" in shown, shown[:500]
    else:
        assert "Imported" not in shown.split("\n", 1)[0], shown[:500]


@FILE_FUZZ
@given(kind=st.sampled_from(MUTATIONS), seed=st.integers(0, 2**32))
async def test_files_from_group_members_who_are_not_admins_store_nothing(
    uploads: Harness, caplog: pytest.LogCaptureFixture, kind: str, seed: int
) -> None:
    h = uploads
    data, ext = mutate(views_csv(), kind, seed)
    seen = len(caplog.records)
    before = await db_snapshot(h.storage)
    await h.feed(
        h.fake.document(GROUP, f"g{seed}", f"views{ext}", data=data, user_id=MEMBER,
                        push=False, language_code="en")
    )  # fmt: skip
    errors = [r for r in caplog.records[seen:] if r.levelno >= logging.ERROR]
    assert not errors, error_lines(errors)
    assert not diff(before, await db_snapshot(h.storage))
