"""What the repositories return: our dataclasses, never database rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True, slots=True)
class Workspace:
    id: int
    chat_id: int
    chat_type: str
    title: str | None
    language: str | None  # None: each user's Telegram language decides
    timezone: str
    active: bool
    margin: float
    digest_enabled: bool
    digest_weekday: int  # 0 = Monday
    digest_time: str  # "HH:MM"
    created_at: datetime
    currency: str | None = None  # ISO 4217; None: the language's (kpi.numbers)
    user_language: str | None = None  # a private chat's user's Telegram language
    digest_changed_at: datetime | None = None  # the schedule's last change

    @property
    def digest_not_before(self) -> datetime:
        """Slots due before this moment are never sent (a new chat, a changed schedule)."""
        changed = self.digest_changed_at
        return max(self.created_at, changed) if changed else self.created_at

    @property
    def own_language(self) -> str | None:
        """The language of what the bot sends on its own (digests, scheduled alerts):
        the `/lang` setting, else the language of the private chat's user."""
        return self.language or self.user_language

    @property
    def is_group(self) -> bool:
        return self.chat_type in ("group", "supergroup")


@dataclass(frozen=True, slots=True)
class Account:
    id: int
    workspace_id: int
    name: str
    is_default: bool
    channel_chat_id: int | None = None


@dataclass(frozen=True, slots=True)
class ImportBatch:
    id: int
    workspace_id: int
    source: str
    created_at: datetime
    rows: int  # account-days written
    posts: int
    audience: int


@dataclass(frozen=True, slots=True)
class UndoResult:
    batch: ImportBatch
    restored: int  # account-days put back to their previous values
    deleted: int  # account-days, posts and audience rows the import had created


@dataclass(frozen=True, slots=True)
class DataSpan:
    first_day: date | None
    last_day: date | None
    rows: int
