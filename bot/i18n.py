"""gettext i18n: catalogs, compilation and the per-update language choice.

Message ids are English; `locales/ru` holds the Russian catalog. Each language
folder may hold several `.po` files (one per feature), merged into one
`messages.mo` by `compile_catalogs()`, which `make` runs at install/test time
and `python -m bot` runs at start-up when a catalog is missing or stale.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from aiogram.types import TelegramObject, User
from aiogram.utils.i18n import I18n, I18nMiddleware
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot.config import LANGUAGES as LANGUAGES

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
DOMAIN = "messages"


def _mo_path(lang: str) -> Path:
    return LOCALES_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.mo"


def _po_files(lang: str) -> list[Path]:
    return sorted((LOCALES_DIR / lang / "LC_MESSAGES").glob("*.po"))


def catalogs_stale() -> bool:
    for lang in LANGUAGES:
        mo = _mo_path(lang)
        if not mo.exists():
            return True
        if any(po.stat().st_mtime > mo.stat().st_mtime for po in _po_files(lang)):
            return True
    return False


def compile_catalogs() -> dict[str, int]:
    """Merge each language's .po files into messages.mo; returns messages per language."""
    counts: dict[str, int] = {}
    for lang in LANGUAGES:
        merged = Catalog(locale=lang, domain=DOMAIN)
        for po in _po_files(lang):
            with po.open("rb") as fh:
                for msg in read_po(fh, locale=lang):
                    if msg.id and msg.string and not msg.fuzzy:
                        merged.add(msg.id, msg.string, context=msg.context)
        mo = _mo_path(lang)
        mo.parent.mkdir(parents=True, exist_ok=True)
        with mo.open("wb") as fh:
            write_mo(fh, merged)
        counts[lang] = len(merged)
    return counts


def create_i18n(default_language: str) -> I18n:
    if catalogs_stale():
        compile_catalogs()
    return I18n(path=LOCALES_DIR, default_locale=default_language, domain=DOMAIN)


def user_language(user: User | None) -> str | None:
    code = (user.language_code or "").lower()[:2] if user else ""
    return code if code in LANGUAGES else None


_currency: ContextVar[str | None] = ContextVar("workspace_currency", default=None)


@contextmanager
def use_currency(code: str | None) -> Iterator[None]:
    """Money inside is in `code` (a workspace's `/currency`; None: the language's)."""
    token = _currency.set(code)
    try:
        yield
    finally:
        _currency.reset(token)


def chosen_currency() -> str | None:
    """The workspace's own currency, if it set one (see `use_currency`)."""
    return _currency.get()


class WorkspaceI18nMiddleware(I18nMiddleware):
    """Language: the workspace setting, else the user's Telegram language, else the default.
    Also the workspace's currency, for every money value the handlers show."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        workspace = data.get("workspace")
        with use_currency(workspace.currency if workspace is not None else None):
            return await super().__call__(handler, event, data)

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        workspace = data.get("workspace")
        if workspace is not None and workspace.language in LANGUAGES:
            return str(workspace.language)
        return user_language(data.get("event_from_user")) or self.i18n.default_locale


if __name__ == "__main__":
    for lang, n in compile_catalogs().items():
        print(f"{lang}: {n} messages")
