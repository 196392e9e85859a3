"""The one text layer (issue #14): no code branches on a language, plurals through
ngettext, the committed .pot current, every msgid translated."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CODE_DIRS = ("bot", "handlers", "kpi", "storage")
CODE = r"(?:ru|en)(?:[-_][A-Za-z]+)?"
# A language named in a comparison, a conditional, a lookup table or a prefix test.
BRANCH = re.compile(
    rf"""[=!]=\s*["']{CODE}["']"""  # lang == "ru"
    rf"""|["']{CODE}["']\s*[=!]="""  # "ru" == lang
    rf"""|startswith\(\s*["']{CODE}["']"""  # lang.startswith("ru")
    rf"""|["']{CODE}["']\s+if\b"""  # "ru" if ... else "en"
    rf"""|\bin\s*[(\[{{]\s*["']{CODE}["']"""  # lang in ("ru", ...)
    rf"""|["']{CODE}["']\s+in\b"""  # "ru" in lang
    rf"""|^\s*["']{CODE}["']\s*:"""  # {"ru": ..., "en": ...} tables keyed by language
    rf"""|["']\s*:\s*["']{CODE}["']"""  # {"рус": "ru"}: words mapped to a language
    r"""|\b_?is_?ru\b|\b_ru\(|\.ru\s+if\b|\bif\s+(?:\w+\.)?ru\b"""  # helpers and flags
)
# User input that names a language: `/lang рус` (the one allowed place).
ALLOWED = {
    ("handlers/settings.py", 'LANGUAGE_ALIASES: dict[str, str | None] = {"рус": "ru", "eng": "en", '
     '"auto": None, "авто": None}'),
}  # fmt: skip


def _code_lines() -> list[tuple[str, int, str]]:
    found = []
    for folder in CODE_DIRS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if "/migrations/" in rel:
                continue  # history: a migration's default is data, not a branch
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                code = line.split("#", 1)[0] if not line.lstrip().startswith(("'", '"')) else line
                if BRANCH.search(code) and (rel, line.strip()) not in ALLOWED:
                    found.append((rel, n, line.strip()))
    return found


def test_no_code_branches_on_a_language() -> None:
    assert _code_lines() == []


@pytest.mark.parametrize(
    "line",
    [
        'if lang == "ru":',
        'x = "ru" if ru else "en"',
        'return lang.startswith("ru")',
        'sep = ";" if lang in ("ru", "uk") else ","',
        '    "en": ("Jan", "Feb"),',
        "    return m.ru if lang_is_ru else m.en",
        'if code != "en-US":',
    ],
)
def test_the_branch_pattern_catches_each_form(line: str) -> None:
    assert BRANCH.search(line), line


def test_the_allow_list_is_still_in_the_code() -> None:
    # An allow-list entry that no longer matches a line would hide nothing: keep it tiny.
    for rel, text in ALLOWED:
        assert text in (ROOT / rel).read_text(encoding="utf-8")
        assert BRANCH.search(text)
