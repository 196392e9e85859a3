"""The one text layer (issue #14): no code branches on a language, plurals through
ngettext, the committed .pot current, every msgid translated."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import date
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


# --- the committed .pot and the catalogues ------------------------------------------


def _pot_options() -> list[str]:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    line = next(x for x in makefile.splitlines() if x.startswith("POT_OPTIONS :="))
    return line.split(":=", 1)[1].split()


def _msgids(pot: Path) -> set[object]:
    from babel.messages.pofile import read_po

    with pot.open("rb") as fh:
        return {m.id for m in read_po(fh) if m.id}


def test_the_committed_pot_is_current(tmp_path: Path) -> None:
    out = tmp_path / "messages.pot"
    # `make pot`, with the Makefile's options, from the repository root.
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", *_pot_options(),
         "-o", str(out), "bot", "handlers"],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    committed = _msgids(ROOT / "bot" / "locales" / "messages.pot")
    fresh = _msgids(out)
    assert sorted(map(str, fresh - committed)) == [], "run `make pot`: new messages"
    assert sorted(map(str, committed - fresh)) == [], "run `make pot`: messages gone"


def _catalogue(lang: str) -> dict[object, object]:
    from babel.messages.pofile import read_po

    found: dict[object, object] = {}
    for po in sorted((ROOT / "bot" / "locales" / lang / "LC_MESSAGES").glob("*.po")):
        with po.open("rb") as fh:
            for m in read_po(fh, locale=lang):
                if m.id:
                    assert m.id not in found, f"{po.name}: {m.id!r} is translated twice"
                    found[m.id] = m.string
    return found


PLACEHOLDER = re.compile(r"\{(\w*)\}")


def test_every_message_has_a_russian_translation_with_the_same_placeholders() -> None:
    ids = _msgids(ROOT / "bot" / "locales" / "messages.pot")
    ru = _catalogue("ru")
    untranslated = sorted(str(i) for i in ids if not ru.get(i))
    assert untranslated == []
    stale = sorted(str(i) for i in ru if i not in ids)
    assert stale == [], "translations of messages the code no longer has"
    for msgid, msgstr in ru.items():
        singular = msgid[0] if isinstance(msgid, tuple) else msgid
        wanted = set(PLACEHOLDER.findall(str(singular)))
        forms = msgstr if isinstance(msgstr, tuple) else (msgstr,)
        assert len(forms) == (3 if isinstance(msgid, tuple) else 1), msgid
        for form in forms:
            assert form, msgid
            assert set(PLACEHOLDER.findall(str(form))) == wanted, (msgid, form)


def test_english_is_the_msgid() -> None:
    # No English catalogue is needed: an English user reads the msgids themselves.
    assert not list((ROOT / "bot" / "locales" / "en" / "LC_MESSAGES").glob("*.po"))


# --- plurals ---------------------------------------------------------------------------


RU_PLURALS = [
    # n: the forms for 1, 2, 5, 11, 21
    ("account_days", ["1 строка (аккаунт за день)", "2 строки (аккаунт за день)",
                      "5 строк (аккаунт за день)", "11 строк (аккаунт за день)",
                      "21 строка (аккаунт за день)"]),
    ("posts_count", ["1 публикация", "2 публикации", "5 публикаций", "11 публикаций",
                     "21 публикация"]),
    ("audience_rows", ["1 строка об аудитории", "2 строки об аудитории", "5 строк об аудитории",
                       "11 строк об аудитории", "21 строка об аудитории"]),
    ("accounts_count", ["1 аккаунт", "2 аккаунта", "5 аккаунтов", "11 аккаунтов",
                        "21 аккаунт"]),
]  # fmt: skip
EN_PLURALS = [
    ("account_days", ["1 account-day row", "2 account-day rows"]),
    ("posts_count", ["1 post", "2 posts"]),
    ("audience_rows", ["1 audience row", "2 audience rows"]),
    ("accounts_count", ["1 account", "2 accounts"]),
]


@pytest.fixture
def i18n():  # type: ignore[no-untyped-def]
    from bot.i18n import create_i18n

    with create_i18n("ru").context() as i18n:
        yield i18n


@pytest.mark.parametrize(("func", "expected"), RU_PLURALS)
def test_russian_counts_take_the_plural_the_number_wants(
    i18n: object, func: str, expected: list[str]
) -> None:
    import bot.texts

    with i18n.use_locale("ru"):  # type: ignore[attr-defined]
        got = [getattr(bot.texts, func)(n, "ru") for n in (1, 2, 5, 11, 21)]
    assert got == expected


@pytest.mark.parametrize(("func", "expected"), EN_PLURALS)
def test_english_counts_take_the_plural(i18n: object, func: str, expected: list[str]) -> None:
    import bot.texts

    with i18n.use_locale("en"):  # type: ignore[attr-defined]
        assert [getattr(bot.texts, func)(n, "en") for n in (1, 2)] == expected


def test_coverage_and_left_out_days_in_both_languages(i18n: object) -> None:
    from handlers.kpi_texts import coverage_text, left_out_text
    from kpi.models import LeftOut

    def left(days: int, lang: str) -> str:
        item = LeftOut("site:lp", "unpaired", days=days, have="sessions", lacking="bounces")
        return left_out_text(item, lang)

    with i18n.use_locale("ru"):  # type: ignore[attr-defined]
        assert [coverage_text(7, total) for total in (1, 2, 5, 11, 21)] == [
            "данные за 7 из 1 дня", "данные за 7 из 2 дней", "данные за 7 из 5 дней",
            "данные за 7 из 11 дней", "данные за 7 из 21 дня",
        ]  # fmt: skip
        assert [left(n, "ru") for n in (1, 2, 5, 11, 21)] == [
            f"site:lp — {n} {word} с данными «визиты» без «число отказов»"
            for n, word in ((1, "день"), (2, "дня"), (5, "дней"), (11, "дней"), (21, "день"))
        ]
    with i18n.use_locale("en"):  # type: ignore[attr-defined]
        assert [coverage_text(1, t, capital=True) for t in (1, 2)] == [
            "Data for 1 of 1 day", "Data for 1 of 2 days",
        ]  # fmt: skip
        assert [left(n, "en") for n in (1, 2)] == [
            "site:lp — 1 day of sessions without bounces",
            "site:lp — 2 days of sessions without bounces",
        ]


# --- markup ------------------------------------------------------------------------------

# A tag written next to a value in code: `f"<b>{name}</b>"`, `"<b>" + name`. Sentences
# keep their tags in the catalogue (`_("<b>Settings</b>")`); a tag around a value goes
# through `bot.texts.bold/italic/code`, which escape it, or lives in a *_texts module.
GLUED_TAG = re.compile(
    r"""\bf["'][^"']*</?(?:b|i|u|s|code|pre|a)\b[^"']*\{"""  # an f-string with a tag and a value
    r"""|["']</?(?:b|i|u|s|code|pre)>["']\s*\+"""  # "<b>" + …
    r"""|\+\s*["']</?(?:b|i|u|s|code|pre)>["']"""  # … + "</b>"
)


def test_handlers_glue_no_tags_to_values() -> None:
    found = []
    for path in sorted((ROOT / "handlers").glob("*.py")):
        if path.name.endswith("_texts.py"):
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if GLUED_TAG.search(line):
                found.append(f"{path.name}:{n}: {line.strip()}")
    assert found == []


@pytest.mark.parametrize(
    "line",
    ['head = f"<b>{title}</b> · {x}"', 'x = "<b>" + name', 'y = name + "</b>"',
     'f"<code>{k}</code>"'],
)  # fmt: skip
def test_the_tag_pattern_catches_each_form(line: str) -> None:
    assert GLUED_TAG.search(line)


def test_markup_helpers_escape() -> None:
    from bot.texts import bold, code, italic

    assert bold("<A&B>") == "<b>&lt;A&amp;B&gt;</b>"
    assert code("x<y") == "<code>x&lt;y</code>"
    assert italic("a & b") == "<i>a &amp; b</i>"


def test_alert_minimum_volumes_in_both_languages(i18n: object) -> None:
    from handlers.alerts import _minimum_text

    with i18n.use_locale("ru"):  # type: ignore[attr-defined]
        assert [_minimum_text("bounce", n, "ru") for n in (1, 2, 5, 11, 21)] == [
            f"не меньше {n} {word} в неделю"
            for n, word in ((1, "визита"), (2, "визитов"), (5, "визитов"), (11, "визитов"),
                            (21, "визита"))
        ]  # fmt: skip
    with i18n.use_locale("en"):  # type: ignore[attr-defined]
        assert [_minimum_text("bounce", n, "en") for n in (1, 2)] == [
            "at least 1 session a week", "at least 2 sessions a week",
        ]  # fmt: skip


def test_a_third_language_is_one_po_folder_and_its_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """German as a translator would add it: a `de` folder with one .po and `de` in the
    languages; messages, plurals, numbers, dates and money follow without code."""
    import shutil

    import bot.i18n
    from bot.texts import posts_count
    from handlers.kpi_texts import coverage_text
    from kpi.numbers import format_day, format_money, format_value

    locales = tmp_path / "locales"
    shutil.copytree(ROOT / "bot" / "locales", locales)
    folder = locales / "de" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / "core.po").write_text(
        'msgid ""\nmsgstr ""\n"Language: de\\n"\n"Plural-Forms: nplurals=2; plural=(n != 1);\\n"\n'
        '"Content-Type: text/plain; charset=utf-8\\n"\n\n'
        'msgid "{n} post"\nmsgid_plural "{n} posts"\nmsgstr[0] "{n} Beitrag"\n'
        'msgstr[1] "{n} Beiträge"\n\n'
        'msgid "data for {n} of {total} day"\nmsgid_plural "data for {n} of {total} days"\n'
        'msgstr[0] "Daten für {n} von {total} Tag"\nmsgstr[1] "Daten für {n} von {total} Tagen"\n',
        encoding="utf-8",
    )
    monkeypatch.setattr(bot.i18n, "LOCALES_DIR", locales)
    monkeypatch.setattr(bot.i18n, "LANGUAGES", ("ru", "en", "de"))
    assert bot.i18n.compile_catalogs()["de"] == 2
    with bot.i18n.create_i18n("ru").context() as i18n, i18n.use_locale("de"):
        assert [posts_count(n, "de") for n in (1, 1234)] == ["1 Beitrag", "1.234 Beiträge"]
        assert coverage_text(3, 7) == "Daten für 3 von 7 Tagen"
    assert format_value(12.5, "percent", "de") == "12,5\u00a0%"
    assert format_money(1234.5, "de", "EUR") == "1.234,50\u00a0€"
    assert format_day(date(2026, 12, 1), "de") == "1. Dez. 2026"
