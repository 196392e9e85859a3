"""Period and account from a command's arguments, and the one reply when a word is neither.

Every command that takes `[period] [account]` (the KPI commands, `/export`, `/chart`)
reads them here, so `/reach вчера vk:shop`, `/reach май` and `/roi banana` are
understood, or answered, the same way everywhere: a word that is neither a period
nor an account of this chat gets one reply that says so and lists both.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import date

from aiogram.utils.i18n import gettext as _

from bot.texts import code
from kpi.accounts import normalize_account
from kpi.models import Period
from kpi.periods import ACCEPTED_FORMS, PeriodError, default_period, split_period_words
from storage import Storage
from storage.records import Account, Workspace

_TOKEN_CHARS = 64


@dataclass(frozen=True, slots=True)
class PeriodAccount:
    """What the arguments asked for, or the reply explaining why they can't be used."""

    period: Period
    account: Account | None
    error: str | None = None


def spoken_forms() -> str:
    """Periods as people write them, in the reply's language (each one parses: tested)."""
    return _(
        "today, yesterday, May, May 2024, 05.2024, 31.05.24, May 1–15, last 7 days, "
        "last quarter, this year"
    )


def period_forms() -> str:
    """Every accepted period form for a reply: the spoken ones, then the short ones."""
    short = ", ".join(code(f) for f in ACCEPTED_FORMS)
    return _("Periods: {forms}.").format(forms=f"{spoken_forms()}, {short}")


def accounts_line(accounts: list[Account]) -> str:
    names = ", ".join(code(a.name) for a in accounts)
    return _("Accounts: {names}. Add one: /account add vk:brand").format(names=names)


def example_line(command: str) -> str:
    return _(
        "Example: <code>/{command} 30d vk:brand</code> (period and account in any order)."
    ).format(command=command)


def period_error_text(exc: PeriodError, command: str) -> str:
    token = html.escape(exc.token[:_TOKEN_CHARS])
    reasons = {
        "unknown": _("“{token}” is not a period."),
        "bad_date": _("“{token}”: there is no such date."),
        "reversed": _("“{token}”: the period ends before it starts."),
        "zero": _("“{token}”: a period needs at least one day."),
        "too_long": _("“{token}”: a period can be at most 10 years long."),
        "out_of_range": _("“{token}”: dates must be between 2000 and a year from today."),
        "future": _("“{token}”: the period starts in the future."),
        "two_periods": _("Give one period, not two (“{token}”)."),
    }
    reason = reasons.get(exc.code, reasons["unknown"]).format(token=token)
    return "\n".join((reason, period_forms(), example_line(command)))


def neither_text(word: str, accounts: list[Account], command: str) -> str:
    """`/roi banana`: not a period, not an account — say so and list both."""
    return "\n".join(
        (
            _("“{word}” is neither a period nor an account of this chat.").format(
                word=html.escape(word[:_TOKEN_CHARS])
            ),
            period_forms(),
            accounts_line(accounts),
            example_line(command),
        )
    )


def unknown_account_text(word: str, accounts: list[Account]) -> str:
    """`/reach вчера vk:shop`: clearly an account (it has a platform), but not one of ours."""
    return "\n".join(
        (
            _("There is no account “{name}” in this chat.").format(
                name=html.escape(word[:_TOKEN_CHARS])
            ),
            accounts_line(accounts),
        )
    )


def two_accounts_text(first: str, second: str) -> str:
    return _(
        "Give one account at most: “{first}” and “{second}” are both accounts. "
        "For all accounts together, name none."
    ).format(first=html.escape(first[:_TOKEN_CHARS]), second=html.escape(second[:_TOKEN_CHARS]))


async def read_period_account(
    args: str, command: str, storage: Storage, workspace: Workspace, today: date
) -> PeriodAccount:
    """Period (default: the last 30 days) and account from `args`, in either order."""
    fallback = default_period(today)
    try:
        period, words = split_period_words(args, today)
    except PeriodError as exc:
        return PeriodAccount(fallback, None, period_error_text(exc, command))
    found: list[Account] = []
    for word in words:
        name = normalize_account(word)
        account = await storage.workspaces.find_account(workspace.id, name) if name else None
        if account is None:
            accounts = await storage.workspaces.list_accounts(workspace.id)
            if ":" in word:
                return PeriodAccount(fallback, None, unknown_account_text(word, accounts))
            return PeriodAccount(fallback, None, neither_text(word, accounts, command))
        if found and found[0].id != account.id:
            return PeriodAccount(fallback, None, two_accounts_text(found[0].name, account.name))
        found.append(account)
    return PeriodAccount(period or fallback, found[0] if found else None)
