"""One workspace can never read, change, export, undo or press buttons on another's
data, and in groups only administrators write. Generic over the command registry
(bot.texts.COMMANDS), the routers really registered and the buttons the bot really
sends, so features added later are covered without editing this file."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from tests.dispatcher.conftest import Harness
from tests.faults.tools import (
    ADMIN,
    GROUP,
    MEMBER,
    POSTS_WITHOUT_DATES_CSV,
    db_snapshot,
    diff,
    last_days,
    live_commands,
    open_harness,
    read_commands,
    replies,
    seed_days,
    upload_supported,
    views_csv,
    write_examples,
)

A, B = 3001, 3002  # two private chats (each user is the owner of their own chat)
SECRET_REACH = 987_654  # A's distinctive numbers: they must never show up in B
SECRET_LIKES = 43_219
REFUSAL = "Only chat administrators can change this."


def digits(text: str) -> str:
    return re.sub(r"[\s\u00a0\u202f,.']", "", text)


@pytest.fixture
async def two(db_url: str) -> AsyncIterator[Harness]:
    async with open_harness(db_url) as h:
        yesterday = datetime.now(UTC).date() - timedelta(days=1)
        await h.say("/start", chat_id=A, language_code="en")
        await h.say(
            f"/log {yesterday.isoformat()} vk:secret reach={SECRET_REACH} likes={SECRET_LIKES} "
            "link_clicks=777 sessions=555 bounces=111 revenue=99999 ad_spend=12345",
            chat_id=A,
            language_code="en",
        )
        await h.say("/alert bounce > 60%", chat_id=A, language_code="en")
        await seed_days(h.storage, B, last_days(30))
        yield h


def a_buttons(h: Harness) -> list[tuple[int, str]]:
    """(message id, callback_data) of every button the bot sent in chat A."""
    out = []
    for call in h.session.sent(chat_id=A):
        for data in call.callback_data:
            out.append((call.message_id or 1, data))
    return out


async def test_buttons_of_chat_a_pressed_in_chat_b_change_nothing_and_are_answered(
    two: Harness,
) -> None:
    h = two
    # Every command of the registry without arguments, plus the ones that show buttons.
    for command in live_commands():
        await h.say(f"/{command}", chat_id=A, language_code="en")
        await h.say("/cancel", chat_id=A, language_code="en")
    await h.say("/delete_all", chat_id=A, language_code="en")
    await h.say("/digest", chat_id=A, language_code="en")
    await h.say("/alerts", chat_id=A, language_code="en")
    await h.say("/add", chat_id=A, language_code="en")
    if await upload_supported(h):
        data = POSTS_WITHOUT_DATES_CSV  # no dates: the bot asks for the day with buttons
        await h.feed(h.fake.document(A, "nodates", "posts.csv", data=data, push=False))
    buttons = a_buttons(h)
    prefixes = {data.split(":", 1)[0] for _, data in buttons}
    assert {"delall", "dg", "al"} <= prefixes, prefixes  # the real buttons were collected
    # B's own first message may record B's user's language in B's workspace.
    await h.say("/help", chat_id=B, language_code="en")
    before = await db_snapshot(h.storage)
    for message_id, data in buttons:
        await h.say("/help", chat_id=B, language_code="en")  # a message of B's to press under
        calls = await h.press(B, message_id, data, language_code="en")
        answers = [c for c in calls if c.method == "answerCallbackQuery"]
        assert len(answers) == 1, f"button {data!r} of chat A, pressed in B: {answers}"
        shown = digits("\n".join(c.visible_text or "" for c in calls) + str(answers[0].params))
        assert str(SECRET_REACH) not in shown and str(SECRET_LIKES) not in shown, data
        changed = diff(before, await db_snapshot(h.storage))
        assert not changed, f"button {data!r} of chat A pressed in chat B changed {changed}"


async def test_forged_account_names_and_data_commands_never_reach_another_chat(
    two: Harness,
) -> None:
    h = two
    before = await db_snapshot(h.storage)
    seen_in_b: list[str] = []
    for command in read_commands():
        for args in ("", "vk:secret", "30d vk:secret", "all vk:secret"):
            calls = await h.say(f"/{command} {args}".strip(), chat_id=B, language_code="en")
            assert replies(calls, B), f"/{command} {args}: no answer"
            for call in calls:
                seen_in_b.append(call.visible_text or "")
                for part in call.files.values():  # /export's CSV, charts
                    seen_in_b.append(part.data.decode("utf-8", errors="replace"))
    text = digits("\n".join(seen_in_b))
    assert str(SECRET_REACH) not in text
    assert str(SECRET_LIKES) not in text
    assert "99999" not in text
    # Writes in B never touch A: undo, delete, rename of A's account name.
    for command, args in (
        ("undo", ""),
        ("account", "delete vk:secret"),
        ("account", "rename vk:secret vk:stolen"),
        ("delete_all", ""),
    ):
        if command in {c for c, _ in write_examples()}:
            await h.say(f"/{command} {args}".strip(), chat_id=B, language_code="en")
    after = await db_snapshot(h.storage)
    a_ws = await h.storage.workspaces.get_by_chat(A)
    assert a_ws is not None
    for table, rows in before.items():
        mine = [r for r in rows if _belongs_to(table, r, a_ws.id)]
        assert mine == [r for r in after[table] if _belongs_to(table, r, a_ws.id)], table
    assert await h.storage.workspaces.find_account(a_ws.id, "vk:secret") is not None


def _belongs_to(table: str, row: tuple[object, ...], ws_id: int) -> bool:
    """Rows of workspace ws_id: its own row, or rows whose workspace_id column is it."""
    from storage.schema import metadata

    t = metadata.tables[table]
    names = [c.name for c in t.columns]
    if table == "workspaces":
        return row[names.index("id")] == ws_id
    if "workspace_id" in names:
        return row[names.index("workspace_id")] == ws_id
    return True  # child tables without the column (compared whole)


@pytest.fixture
async def group(db_url: str) -> AsyncIterator[Harness]:
    async with open_harness(db_url) as h:
        h.fake.set_chat_member(GROUP, ADMIN, "administrator")
        h.fake.set_chat_member(GROUP, MEMBER, "member")
        await h.say("/start", chat_id=GROUP, user_id=ADMIN, language_code="en")
        await seed_days(h.storage, GROUP, last_days(30))
        await h.say("/account add vk:brand", chat_id=GROUP, user_id=ADMIN, language_code="en")
        await h.say("/log reach=5", chat_id=GROUP, user_id=ADMIN, language_code="en")
        yield h


WRITES = write_examples()


@pytest.mark.parametrize(("command", "args"), WRITES, ids=[f"{c} {a}" for c, a in WRITES])
async def test_in_groups_members_are_refused_every_write_and_admins_are_not(
    group: Harness, command: str, args: str
) -> None:
    h = group
    text = f"/{command} {args}".strip()
    before = await db_snapshot(h.storage)
    calls = await h.say(text, chat_id=GROUP, user_id=MEMBER, language_code="en")
    shown = "\n".join(c.visible_text or "" for c in replies(calls, GROUP))
    assert shown.startswith(REFUSAL), f"{text}: {shown[:200]!r}"
    assert not diff(before, await db_snapshot(h.storage)), text
    # The same command from an administrator passes the gate (so the refusal above was
    # about permissions, not about the input).
    calls = await h.say(text, chat_id=GROUP, user_id=ADMIN, language_code="en")
    shown = "\n".join(c.visible_text or "" for c in replies(calls, GROUP))
    assert shown and REFUSAL not in shown, f"{text}: {shown[:200]!r}"


async def test_in_groups_members_read_every_kpi(group: Harness) -> None:
    h = group
    before = await db_snapshot(h.storage)
    for command in read_commands():
        calls = await h.say(f"/{command}", chat_id=GROUP, user_id=MEMBER, language_code="en")
        shown = "\n".join(c.visible_text or "" for c in replies(calls, GROUP))
        assert replies(calls, GROUP) and REFUSAL not in shown, command
    assert not diff(before, await db_snapshot(h.storage))


async def test_in_groups_members_cannot_press_admin_buttons(group: Harness) -> None:
    h = group
    for command in ("delete_all", "digest", "alerts"):
        await h.say(f"/{command}", chat_id=GROUP, user_id=ADMIN, language_code="en")
    buttons = [
        (c.message_id or 1, d) for c in h.session.sent(chat_id=GROUP) for d in c.callback_data
    ]
    before = await db_snapshot(h.storage)
    for message_id, data in buttons:
        calls = await h.press(GROUP, message_id, data, user_id=MEMBER, language_code="en")
        assert [c for c in calls if c.method == "answerCallbackQuery"], data
        changed = diff(before, await db_snapshot(h.storage))
        assert not changed, f"a member pressing {data!r} changed {changed}"


async def test_in_groups_members_cannot_import_files(group: Harness) -> None:
    h = group
    if not await upload_supported(h):
        pytest.skip("no router imports documents yet (file upload handler not registered)")
    data = views_csv()
    before = await db_snapshot(h.storage)
    calls = await h.feed(
        h.fake.document(GROUP, "m1", "views.csv", data=data, user_id=MEMBER, push=False,
                        language_code="en")
    )  # fmt: skip
    shown = "\n".join(c.visible_text or "" for c in replies(calls, GROUP))
    assert shown.startswith(REFUSAL), shown[:200]
    assert not diff(before, await db_snapshot(h.storage))
    calls = await h.feed(
        h.fake.document(GROUP, "a1", "views.csv", data=data, user_id=ADMIN, push=False,
                        language_code="en")
    )  # fmt: skip
    assert "Imported" in "\n".join(c.visible_text or "" for c in replies(calls, GROUP))
