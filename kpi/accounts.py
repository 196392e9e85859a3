"""Account names: `platform:handle` (`vk:brand`, `ig:brand`, `tg:brandchannel`,
`ads:vk`) or a bare source name (`site`, `main`)."""

from __future__ import annotations

import re

# Lower-case latin platform, then an optional handle (Telegram/Instagram handles
# allow letters, digits, '_', '.', '-'; a leading '@' is dropped).
_ACCOUNT_RE = re.compile(r"^[a-z][a-z0-9_]{0,15}(?::[a-z0-9_][a-z0-9_.\-]{0,63})?$")
KNOWN_PLATFORMS = ("vk", "ig", "tg", "fb", "ok", "yt", "tt", "dzen", "site", "ads", "email")


# One rule for every path (/account, captions, account columns of files, /log, /add):
# the characters above (no markup, no bidi controls, no spreadsheet-formula prefixes)
# and at most this many characters.
MAX_ACCOUNT_LENGTH = 64


def normalize_account(text: str) -> str | None:
    """The canonical account name, or None if `text` is not one."""
    s = text.strip().lower().replace(":@", ":")
    if s.startswith("@") or len(s) > MAX_ACCOUNT_LENGTH:
        return None
    return s if _ACCOUNT_RE.match(s) else None


def looks_like_account(text: str) -> bool:
    s = text.strip().lower()
    return (":" in s and normalize_account(s) is not None) or s in (*KNOWN_PLATFORMS, "main")
