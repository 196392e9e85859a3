"""The scenarios of cluster mode (README "Cluster mode"), in order on one cluster of
three processes: start-up, shared settings, one FSM transition, a 429 that pauses every
process, 2,000 digests due at once, and kill -9 of the leader in the middle of a run."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select, update

from bot.services.digest import SEND_CONCURRENCY
from storage import Storage
from storage.schema import accounts, daily_metrics, digest_log, workspaces
from tests.cluster.conftest import Cluster, needs_services
from tests.fakeapi.core import Call

pytestmark = [needs_services, pytest.mark.cluster, pytest.mark.asyncio(loop_scope="module")]

FLOOR = 30.0  # Telegram's broadcast limit, messages per second
DIGESTS = 2000
KILL_RUN = 300
SENDS = ("sendMessage", "sendPhoto")


def visible(calls: list[Call]) -> list[str]:
    return [c.visible_text or "" for c in calls]


async def say(cluster: Cluster, node: int, chat: int, text: str, lang: str = "ru") -> int:
    return await cluster.nodes[node].post(
        cluster.api.message(chat, text, language_code=lang, push=False)
    )


async def replies(cluster: Cluster, chat: int, count: int, timeout: float = 15) -> list[Call]:  # noqa: ASYNC109
    return await cluster.api.wait_for("sendMessage", chat_id=chat, count=count, timeout=timeout)


async def test_one_leader_sets_the_webhook_once(cluster: Cluster) -> None:
    leader = await cluster.leader()
    (hook,) = await cluster.api.wait_for("setWebhook")
    assert hook.params["secret_token"] and "message" in hook.params["allowed_updates"]
    await asyncio.sleep(2)  # several leader checks later: still one leader, one call
    assert [n for n in cluster.nodes if n.leader] == [leader]
    assert len(cluster.api.sent("setWebhook")) == 1
    assert len(cluster.api.sent("setMyCommands")) == 3  # ru, en, default: one process


async def test_updates_are_spread_round_robin(cluster: Cluster) -> None:
    api = cluster.api
    chats = list(range(6001, 6007))
    for chat in chats:
        api.message(chat, "/start", language_code="en")
    for chat in chats:
        (reply,) = await replies(cluster, chat, 1)
        assert (reply.visible_text or "").startswith("Hi! I count your SMM KPIs.")
    ports = Counter(url for url, _id, status in api.webhook_posts if status == 200)
    assert sorted(ports.values()) == [2, 2, 2], ports


async def test_a_settings_change_is_seen_by_the_others_at_once(cluster: Cluster) -> None:
    chat = 7001
    # Every process reads (and caches) the workspace first: Russian.
    for node in range(3):
        assert await say(cluster, node, chat, "/start") == 200
        assert visible(await replies(cluster, chat, node + 1))[-1].startswith("Привет!")
    assert await say(cluster, 0, chat, "/lang en") == 200
    await replies(cluster, chat, 4)
    started = time.monotonic()
    for node in (1, 2):
        assert await say(cluster, node, chat, "/start") == 200
        text = visible(await replies(cluster, chat, 5 + node - 1))[-1]
        assert text.startswith("Hi! I count your SMM KPIs."), (node, text)
    assert time.monotonic() - started < 5


async def test_the_same_chat_at_two_processes_makes_one_fsm_transition(cluster: Cluster) -> None:
    api, chat = cluster.api, 7002
    assert await say(cluster, 0, chat, "/add", lang="en") == 200
    (panel,) = await replies(cluster, chat, 1)
    assert "Step 1 of 3" in (panel.visible_text or "")
    data = next(d for d in panel.callback_data if ":acc:" in d)
    assert panel.message_id is not None
    before = len(api.calls)
    presses = [api.callback(chat, panel.message_id, data, language_code="en", push=False)
               for _ in range(2)]  # fmt: skip
    # The double press reaches two processes at the same moment.
    statuses = await asyncio.gather(cluster.nodes[1].post(presses[0]),
                                    cluster.nodes[2].post(presses[1]))  # fmt: skip
    assert statuses == [200, 200]
    await api.wait_for("answerCallbackQuery", count=2, timeout=15)
    await asyncio.sleep(1)
    later = [c for c in api.calls[before:] if c.chat_id == chat and c.ok]
    step2 = [c for c in later if "Step 2 of 3" in (c.visible_text or "")]
    assert len(step2) == 1, [(c.method, c.visible_text) for c in later]


async def test_a_429_pauses_every_process(cluster: Cluster) -> None:
    api = cluster.api
    retry_after = 3
    api.fail_next("sendMessage", status=429, retry_after=retry_after, chat_id=7003)
    assert await say(cluster, 0, 7003, "/start") == 200
    (hit,) = await api.wait_for(
        lambda c: c.method == "sendMessage" and c.chat_id == 7003 and c.status == 429,
        include_failed=True, timeout=15,
    )  # fmt: skip
    # Another process answers another chat right after the 429: it waits too.
    assert await say(cluster, 1, 7004, "/start") == 200
    assert await say(cluster, 2, 7005, "/start") == 200
    for chat in (7003, 7004, 7005):
        (reply,) = await replies(cluster, chat, 1, timeout=20)
        waited = reply.timestamp - hit.timestamp
        assert waited >= retry_after - 0.25, (chat, waited)
    sends = [c for c in api.calls if c.method in SENDS and c.ok
             and hit.timestamp < c.timestamp < hit.timestamp + retry_after - 0.25]  # fmt: skip
    assert sends == [], [(c.chat_id, c.timestamp - hit.timestamp) for c in sends]


# ------------------------------------------------------------------------- digests


async def seed(db_url: str, first_chat: int, count: int) -> list[int]:
    """`count` private chats whose digest is on and has 12 weeks of numbers, written in
    bulk (one statement per table: seeding 2,000 one by one takes longer than sending
    them). The same numbers and title everywhere: one dashboard picture, rendered once
    and re-sent by file_id (rendering 2,000 distinct ones takes minutes on two cores)."""
    chats = [first_chat + i for i in range(count)]
    today = datetime.now(UTC).date()
    sunday = today - timedelta(days=today.isoweekday())  # the last full week's end
    days = [sunday - timedelta(days=d) for d in range(0, 7 * 12, 7)]
    old = datetime(2026, 1, 1, tzinfo=UTC)
    storage = await Storage.open(db_url)
    try:
        async with storage.engine.begin() as conn:
            # Due this week since 00:00 UTC today, once `next_digest_at` says so.
            made = await conn.execute(
                insert(workspaces).returning(workspaces.c.id),
                [{"chat_id": chat, "chat_type": "private", "title": "Team", "timezone": "UTC",
                  "active": True, "margin": 1.0, "digest_enabled": True,
                  "digest_weekday": today.weekday(), "digest_time": "00:00",
                  "created_at": old, "next_digest_at": None} for chat in chats],
            )  # fmt: skip
            ids = [int(r.id) for r in made.all()]
            made = await conn.execute(
                insert(accounts).returning(accounts.c.id, accounts.c.workspace_id),
                [{"workspace_id": ws, "name": "main", "is_default": True, "created_at": old}
                 for ws in ids],
            )  # fmt: skip
            rows = [{"workspace_id": r.workspace_id, "account_id": r.id, "day": day,
                     "reach": 10_000.0 + 400 * k, "likes": 300.0 + 3 * k, "comments": 20.0 + k}
                    for r in made.all() for k, day in enumerate(days)]  # fmt: skip
            await conn.execute(insert(daily_metrics), rows)
    finally:
        await storage.close()
    return chats


async def make_due(db_url: str, chats: list[int], at: datetime) -> None:
    storage = await Storage.open(db_url)
    try:
        async with storage.engine.begin() as conn:
            await conn.execute(
                update(workspaces).where(workspaces.c.chat_id.in_(chats)).values(next_digest_at=at)
            )
    finally:
        await storage.close()


async def log_rows(db_url: str, chats: list[int]) -> dict[int, str]:
    storage = await Storage.open(db_url)
    try:
        async with storage.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(workspaces.c.chat_id, digest_log.c.status)
                    .join(digest_log, digest_log.c.workspace_id == workspaces.c.id)
                    .where(workspaces.c.chat_id.in_(chats))
                )
            ).all()
    finally:
        await storage.close()
    return {int(r.chat_id): str(r.status) for r in rows}


def delivered(cluster: Cluster, chats: set[int]) -> Counter[int]:
    return Counter(c.chat_id for c in cluster.api.calls
                   if c.method in SENDS and c.ok and c.chat_id in chats)  # type: ignore[misc]  # fmt: skip


async def wait_delivered(cluster: Cluster, chats: set[int], count: int, timeout: float) -> None:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while len(delivered(cluster, chats)) < count:
        assert time.monotonic() < deadline, (len(delivered(cluster, chats)), cluster.logs()[-4000:])
        await asyncio.sleep(0.2)


async def test_2000_digests_due_at_once_go_out_exactly_once(
    cluster: Cluster, record_property: Any
) -> None:
    chats = await seed(cluster.db_url, 1_000_000, DIGESTS)
    wanted = set(chats)
    # Due in a few seconds: the ticks before pre-render the dashboard.
    await make_due(cluster.db_url, chats, datetime.now(UTC) + timedelta(seconds=4))
    cpu = [n.cpu_seconds() for n in cluster.nodes]
    here = time.process_time()
    await wait_delivered(cluster, wanted, DIGESTS, timeout=DIGESTS / FLOOR * 2 + 30)
    cpu = [round(n.cpu_seconds() - c, 1) for n, c in zip(cluster.nodes, cpu, strict=True)]
    print(
        f"\ncluster: CPU seconds during the run: bots {cpu}, "
        f"test process (fake Bot API) {time.process_time() - here:.1f}"
    )
    await asyncio.sleep(2)  # anything sent twice would show by now
    per_chat = delivered(cluster, wanted)
    assert set(per_chat) == wanted
    assert [c for c, n in per_chat.items() if n != 1] == []  # one message each, once
    times = sorted(c.timestamp for c in cluster.api.calls
                   if c.method in SENDS and c.ok and c.chat_id in wanted)  # fmt: skip
    rate = (len(times) - 1) / (times[-1] - times[0])
    per_second = Counter(int(t - times[0]) for t in times)
    seconds = [per_second.get(k, 0) for k in range(int(times[-1] - times[0]) + 1)]
    print(f"\ncluster: sends per second {seconds}")
    record_property("digest_rate", round(rate, 2))
    print(f"\ncluster: {DIGESTS} digests in {times[-1] - times[0]:.1f}s = {rate:.1f} msg/s, "
          f"429s: {len(cluster.api.flood_hits)}")  # fmt: skip
    # Speed targets live in bench/ (bench/bench_cluster.py: >= 0.9 x 30 msg/s on a quiet
    # machine); here the run must merely keep a pace no serial or stalled sender reaches.
    assert rate >= 0.5 * FLOOR, rate
    rows = await log_rows(cluster.db_url, chats)
    assert Counter(rows.values()) == {"sent": DIGESTS}


async def test_kill_9_of_the_leader_mid_run_another_takes_over(cluster: Cluster) -> None:
    chats = await seed(cluster.db_url, 2_000_000, KILL_RUN)
    wanted = set(chats)
    old = await cluster.leader()
    await make_due(cluster.db_url, chats, datetime.now(UTC))
    await wait_delivered(cluster, wanted, KILL_RUN // 4, timeout=60)
    assert old.proc is not None
    old.kill()
    killed_at = time.monotonic()
    await old.proc.wait()
    new = await cluster.leader(timeout=15)
    takeover = time.monotonic() - killed_at
    print(f"\ncluster: leader {old.name} killed, {new.name} leads after {takeover:.1f}s")
    assert new is not old and takeover <= 5, takeover
    deadline = time.monotonic() + KILL_RUN / FLOOR * 2 + 30
    while True:  # until each digest is delivered or claimed by the dead leader
        rows, sent = await log_rows(cluster.db_url, chats), delivered(cluster, wanted)
        if len(rows) == KILL_RUN and all(c in sent or rows[c] == "claimed" for c in wanted):
            break
        assert time.monotonic() < deadline, (len(rows), len(sent), cluster.logs()[-4000:])
        await asyncio.sleep(0.5)
    await asyncio.sleep(2)
    per_chat = delivered(cluster, wanted)
    rows = await log_rows(cluster.db_url, chats)
    duplicates = [c for c, n in per_chat.items() if n > 1]
    lost = sorted(wanted - set(per_chat))
    print(f"cluster: after the kill {len(per_chat)} of {KILL_RUN} delivered, "
          f"{len(lost)} lost in the at-most-once window, {len(duplicates)} duplicates")  # fmt: skip
    assert duplicates == []
    assert set(rows) == wanted  # every digest was claimed: none forgotten
    # The only loss allowed: claimed by the killed process, its request on the wire or
    # waiting for its send slot; at most the digests it had in flight.
    assert all(rows[c] == "claimed" for c in lost), {c: rows[c] for c in lost}
    assert len(lost) <= SEND_CONCURRENCY, lost
