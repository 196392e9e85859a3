"""Where the third-party reference data lives: ``../shared/data`` beside the checkout.

The public datasets, the real platform exports and the full Bot API description are
not ours and are never copied into the repository (README, "Shared data"). A test that
reads them is marked ``@pytest.mark.shared_data``; ``tests/conftest.py`` skips it with
``SKIP_REASON`` when the folder is absent, refuses the skip under
``CI_REQUIRE_SHARED_DATA=1``, and stops an unmarked test that reads from here.

This module is the only place that spells the location, always relative to the
repository root (no machine path), and it reads nothing itself.
"""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SHARED_DATA = SHARED / "data"
SMM_DATA = SHARED_DATA / "smm"
EXPORTS_DATA = SHARED_DATA / "exports"
BOT_API_DATA = SHARED_DATA / "telegram-bot-api"

MARKER = "shared_data"
REQUIRE_ENV = "CI_REQUIRE_SHARED_DATA"
SKIP_REASON = (
    "needs ../shared/data (third-party data beside the checkout, never in the repository; "
    "README 'Shared data'): not found"
)


def available() -> bool:
    """Is the shared data folder beside this checkout?"""
    return SHARED_DATA.is_dir()


__all__ = [
    "BOT_API_DATA",
    "EXPORTS_DATA",
    "MARKER",
    "REPO",
    "REQUIRE_ENV",
    "SHARED",
    "SHARED_DATA",
    "SKIP_REASON",
    "SMM_DATA",
    "available",
]
