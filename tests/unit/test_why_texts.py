"""/why and the digest's why sentence say "unchanged" for a part that did not move,
instead of a `0 %` that reads as if it were gone."""

from __future__ import annotations

import pytest

from bot.i18n import create_i18n
from handlers.insights_texts import why_answer, why_sentence
from kpi.why import Contribution, Why


def _growth(start: tuple[float, float]) -> Why:
    # Growth = net new followers / followers at start × 100:
    # before 20 / 1 000 = 2 %, now 50 / start₁.
    now = 50 / start[1] * 100
    return Why(
        kpi="growth",
        kind="ratio",
        current=now,
        previous=2.0,
        change=now - 2.0,
        contributions=(Contribution("vk:shop", now - 2.0, 30.0, start[1] - start[0]),),
        numerator_effect=now - 2.0,
        denominator_effect=0.0,
        numerator=(20.0, 50.0),
        denominator=start,
        numerator_name="net_followers",
        denominator_name="followers_start",
    )


@pytest.mark.parametrize(
    ("lang", "sentence"),
    [
        ("en", "Audience growth +3 pp: net new followers +150%, followers at start unchanged"),
        (
            "ru",
            "Рост аудитории +3 п.п.: чистый прирост подписчиков +150 %, "
            "подписчики на начало без изменений",
        ),
    ],
)
def test_an_unchanged_denominator_is_called_unchanged(lang: str, sentence: str) -> None:
    with create_i18n(lang).context() as i18n, i18n.use_locale(lang):
        text = why_sentence(_growth((1000.0, 1000.0)), "percent", lang)
        answer = why_answer(_growth((1000.0, 1000.0)), "percent", "T", lang)
    assert text.replace("\u00a0", " ") == sentence.replace("\u00a0", " ")
    effects = {
        "en": "net new followers +150% gave +3 pp; followers at start unchanged gave 0 pp.",
        "ru": "чистый прирост подписчиков +150\u00a0% дали +3 п.п.; "
        "подписчики на начало без изменений дали 0 п.п.",
    }
    assert answer.splitlines()[-1] == effects[lang]


def test_a_moved_denominator_keeps_its_change() -> None:
    # start 1 000 → 1 250: +25 %; growth 50 / 1 250 = 4 %
    with create_i18n("en").context() as i18n, i18n.use_locale("en"):
        text = why_sentence(_growth((1000.0, 1250.0)), "percent", "en")
    assert text == "Audience growth +2 pp: net new followers +150%, followers at start +25%"
