"""What a row may store, checked once per stored (account, day): the date policy
(kpi/datepolicy.py) and the account-name rule (kpi/accounts.py) that `/log` and
`/account` follow too. A row that breaks them refuses the whole file, naming the row."""

from __future__ import annotations

from datetime import date

from kpi.accounts import MAX_ACCOUNT_LENGTH, normalize_account
from kpi.datepolicy import EARLIEST_DAY, latest_data_day
from kpi.importing import errors as E
from kpi.importing.errors import ImportFailure


class RowPolicy:
    """`today` None: only the lower date bound is checked (callers without a clock)."""

    def __init__(self, today: date | None = None) -> None:
        self.latest = latest_data_day(today) if today is not None else date.max
        self._accounts: set[str] = set()

    def check(self, row: int | None, account: str | None, day: date | None) -> None:
        if day is not None and (day < EARLIEST_DAY or day > self.latest):
            when = "in the future" if day > self.latest else f"before {EARLIEST_DAY.isoformat()}"
            raise ImportFailure(E.DAY_OUT_OF_RANGE, row, None, day.isoformat(), when)
        if account is None or account in self._accounts:
            return
        if normalize_account(account) != account:
            raise ImportFailure(
                E.BAD_ACCOUNT,
                row,
                None,
                account.encode("unicode_escape").decode("ascii"),
                f"an account is platform:handle, latin letters, digits, _ . - "
                f"(at most {MAX_ACCOUNT_LENGTH} characters)",
            )
        if len(self._accounts) < 10_000:
            self._accounts.add(account)
