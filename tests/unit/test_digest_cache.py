"""The disk cache of pre-rendered digest dashboards (bot/services/digest_cache.py, issue #16)."""

from __future__ import annotations

from pathlib import Path

import pytest

import bot.services.digest_cache as digest_cache
from bot.services.digest_cache import DigestCache, cache_directory
from kpi.charts import DashboardSpec, DashboardTile


def spec(i: int) -> DashboardSpec:
    return DashboardSpec(f"Team {i}", "week 48", (DashboardTile("Reach", str(i)),))


def test_pictures_are_files_under_the_cap_and_go_when_taken(tmp_path: Path) -> None:
    cache = DigestCache(max_bytes=1000, directory=tmp_path)
    assert cache.put(spec(1), b"a" * 400) and cache.put(spec(2), b"b" * 400)
    assert not cache.put(spec(3), b"c" * 400)  # over the cap: refused, not written
    assert cache.size == 800 and sorted(p.stat().st_size for p in tmp_path.iterdir()) == [400, 400]
    assert not cache.has_room(reserve=201) and cache.has_room(reserve=200)
    assert cache.take(spec(1)) == b"a" * 400
    assert cache.size == 400 and [p.read_bytes() for p in tmp_path.iterdir()] == [b"b" * 400]
    assert cache.put(spec(3), b"c" * 400)  # room again


def test_an_identical_picture_is_kept_until_every_digest_took_it(tmp_path: Path) -> None:
    cache = DigestCache(directory=tmp_path)
    assert not cache.want(spec(1))  # not cached: nothing to count
    assert cache.put(spec(1), b"png")
    assert cache.want(spec(1)) and cache.put(spec(1), b"png")  # three digests want it
    assert cache.take(spec(1)) == b"png" and cache.take(spec(1)) == b"png"
    assert len(list(tmp_path.iterdir())) == 1
    cache.release(spec(1))  # the third went by file_id
    assert list(tmp_path.iterdir()) == [] and len(cache) == 0 and cache.size == 0
    assert cache.take(spec(1)) is None


def test_files_of_an_earlier_process_are_removed_on_open(tmp_path: Path) -> None:
    (tmp_path / "0123abcd.png").write_bytes(b"old")
    (tmp_path / "4567.png.part").write_bytes(b"half")
    (tmp_path / "keep.txt").write_text("not ours")
    cache = DigestCache(directory=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]
    assert len(cache) == 0


def test_a_write_that_fails_is_a_miss_not_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    cache = DigestCache(directory=tmp_path)

    def full(self: Path, data: bytes) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", full)
    assert not cache.put(spec(1), b"png")
    assert len(cache) == 0 and cache.size == 0 and list(tmp_path.iterdir()) == []
    assert "No space left on device" in caplog.text


def test_a_file_deleted_behind_its_back_is_a_miss(tmp_path: Path) -> None:
    cache = DigestCache(directory=tmp_path)
    cache.put(spec(1), b"png")
    for path in tmp_path.iterdir():
        path.unlink()
    assert cache.take(spec(1)) is None and len(cache) == 0 and cache.size == 0


def test_without_a_directory_a_temporary_one_is_used_and_removed(tmp_path: Path) -> None:
    cache = DigestCache()
    directory = cache.directory
    cache.put(spec(1), b"png")
    assert directory.is_dir() and len(list(directory.iterdir())) == 1
    del cache
    import gc

    gc.collect()
    assert not directory.exists()


def test_the_directory_is_beside_the_sqlite_database(tmp_path: Path) -> None:
    db = tmp_path / "data" / "kpibot.sqlite3"
    assert cache_directory(f"sqlite+aiosqlite:///{db}") == db.parent / "digest-cache"
    assert cache_directory("sqlite+aiosqlite:///:memory:") is None
    assert cache_directory("postgresql+asyncpg://u:p@db/kpi") is None


def test_file_ids_are_bounded_and_least_recently_used_go_first(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(digest_cache, "FILE_IDS", 2)
    cache = DigestCache(directory=tmp_path)
    cache.remember_file_id(spec(1), "f1")
    cache.remember_file_id(spec(2), "f2")
    assert cache.file_id(spec(1)) == "f1"  # used: now the newest
    cache.remember_file_id(spec(3), "f3")
    assert [cache.file_id(spec(i)) for i in (1, 2, 3)] == ["f1", None, "f3"]
    cache.forget_file_id(spec(1))
    assert cache.file_id(spec(1)) is None


def test_render_rate_ignores_tiny_batches(tmp_path: Path) -> None:
    cache = DigestCache(directory=tmp_path)
    cache.note_render_rate(2, 0.1)
    assert cache.render_rate is None
    cache.note_render_rate(100, 10.0)
    cache.note_render_rate(300, 10.0)
    assert cache.render_rate == 20.0
