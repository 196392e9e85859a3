"""Every button factory, with a number too large for a database column in each of its
fields, pressed by a member and by an admin (the private chat's user): answered once,
no error logged, nothing stored. A hand-picked case of the random button fuzz, which
once found `al:r:<2**70>` overflowing in SQLite."""

from __future__ import annotations

import pytest
from aiogram.filters.callback_data import CallbackData

from tests.dispatcher.conftest import Harness
from tests.faults.tools import GROUP, MEMBER, db_snapshot, diff
from tests.fuzz.conftest import PRIVATE
from tests.fuzz.test_fuzz_commands import FACTORIES, Errors

HUGE = (str(2**70), str(-(2**70)))


def _presses(cls: type[CallbackData]) -> list[str]:
    names = list(cls.model_fields)
    out = []
    for pos in range(len(names)):
        for huge in HUGE:
            values = ["1"] * len(names)
            values[pos] = huge
            out.append(cls.__separator__.join([cls.__prefix__, *values]).encode()[:64].decode())
    return out


@pytest.mark.parametrize("cls", FACTORIES, ids=lambda c: c.__prefix__)
async def test_huge_numbers_in_any_button_are_answered_and_change_nothing(
    fz: Harness, caplog: pytest.LogCaptureFixture, cls: type[CallbackData]
) -> None:
    errors = Errors(caplog)
    for data in _presses(cls):
        for chat, user in ((GROUP, MEMBER), (PRIVATE, PRIVATE)):
            before = await db_snapshot(fz.storage)
            calls = await fz.press(chat, 1, data, user_id=user, language_code="en")
            errors.check(data)
            assert len([c for c in calls if c.method == "answerCallbackQuery"]) == 1, data
            assert diff(before, await db_snapshot(fz.storage)) == {}, data
