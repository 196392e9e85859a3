"""Every user-facing string in the code has a Russian translation."""

from __future__ import annotations

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot.i18n import LOCALES_DIR, compile_catalogs
from tests.conftest import REPO


def _translated() -> dict[str, str]:
    out: dict[str, str] = {}
    for po in sorted((LOCALES_DIR / "ru" / "LC_MESSAGES").glob("*.po")):
        with po.open("rb") as fh:
            for msg in read_po(fh, locale="ru"):
                if msg.id and msg.string and isinstance(msg.id, str):
                    out[msg.id] = str(msg.string)
    return out


def _used() -> dict[str, str]:
    used: dict[str, str] = {}
    for folder in ("bot", "handlers"):
        for filename, lineno, message, _comments, _ctx in extract_from_dir(
            REPO / folder, keywords={"_": None, "__": None},
            method_map=[("**.py", "python")],
        ):  # fmt: skip
            msg = message[0] if isinstance(message, tuple) else message
            used.setdefault(msg, f"{folder}/{filename}:{lineno}")
    return used


def test_every_message_has_a_russian_translation() -> None:
    have = _translated()
    missing = {m: where for m, where in _used().items() if m not in have}
    assert missing == {}


def test_placeholders_survive_translation() -> None:
    import re

    field = re.compile(r"\{[a-z_]+\}")
    for msgid, msgstr in _translated().items():
        assert sorted(field.findall(msgid)) == sorted(field.findall(msgstr)), msgid


def test_catalogs_compile() -> None:
    counts = compile_catalogs()
    assert counts["ru"] >= len(_used()) * 0.9
    assert counts["en"] == 0
