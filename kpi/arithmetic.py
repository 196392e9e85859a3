"""A KPI's formula with the period's sums put in, as every answer shows it.

One function for the KPI answers, /report's details and the alert messages, so
the arithmetic reads the same everywhere (SPEC, "The KPIs": "the formula with
the actual sums"). Rules:

* sums of whole things (counts, seconds) that are not whole came from a rate
  (bounces = bounce rate × sessions) and are shown rounded with `≈`
  (`≈ 1 275`, not `1 274,8`): the decimals are an artefact, not data;
* growth over several accounts shows each account's ends
  (`(13 568 + 8 180 − 12 008 − 8 000) / 20 008 × 100`);
* a formula never prints the same number twice: when the sums alone already are
  the value (`Σ reach`), the `= value` is left off.
"""

from __future__ import annotations

import re

from kpi.kpis import KpiResult
from kpi.metrics import METRICS, Unit
from kpi.numbers import MINUS, format_number, format_percent, format_value
from kpi.registry import FORMULAS, INTERACTION_PARTS

_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_WHOLE_UNITS = (Unit.COUNT, Unit.SECONDS)
_WHOLE_PSEUDO = frozenset({"followers_start", "followers_end"})


def sum_text(name: str, value: float, lang: str) -> str:
    """One sum as a formula shows it (see the module doc)."""
    if name == "margin":
        return format_percent(value * 100, lang)
    metric = METRICS.get(name)
    whole = name in _WHOLE_PSEUDO or (metric is not None and metric.unit in _WHOLE_UNITS)
    if whole and abs(value - round(value)) > 1e-6:
        return "≈ " + format_number(float(round(value)), lang, digits=len(str(int(abs(value)))))
    # Integers stay whole, fractions keep up to 2 decimals.
    return format_number(value, lang, digits=max(3, len(str(int(abs(value)))) + 2))


def _growth_numbers(result: KpiResult, lang: str) -> str | None:
    ends = result.followers_by_account
    if result.formula != "growth" or len(ends) < 2:
        return None
    plus = " + ".join(sum_text("followers_end", end, lang) for _, _, end in ends)
    minus = f" {MINUS} ".join(sum_text("followers_start", start, lang) for _, start, _ in ends)
    start = dict(result.inputs)["followers_start"]
    return f"({plus} {MINUS} {minus}) / {sum_text('followers_start', start, lang)} × 100"


def formula_numbers(result: KpiResult, lang: str) -> str | None:
    """The formula with the sums put in (`1 234 / 56 789 × 100`), or None when an
    input is unknown."""
    if (growth := _growth_numbers(result, lang)) is not None:
        return growth
    values = {name: sum_text(name, value, lang) for name, value in result.inputs}
    parts = [(n, v) for n, v in result.inputs if n in (*INTERACTION_PARTS, "interactions")]
    if parts:
        joined = " + ".join(sum_text(n, v, lang) for n, v in parts)
        values["interactions"] = f"({joined})" if len(parts) > 1 else joined
    template = FORMULAS[result.formula].replace("Σ ", "")
    if any(n not in values for n in _PLACEHOLDER.findall(template)):
        return None
    return _PLACEHOLDER.sub(lambda m: values[m[1]], template)


def expression(result: KpiResult, lang: str, currency: str | None = None) -> str | None:
    """`numbers = value` (`600 / 1 000 × 100 = 60 %`); just the value when the numbers
    would repeat it (`Σ reach`); None without numbers. Money values carry `currency`."""
    numbers = formula_numbers(result, lang)
    if numbers is None:
        return None
    if result.value is None:
        return numbers
    value = format_value(result.value, result.unit, lang, currency)
    if _PLACEHOLDER.sub("", FORMULAS[result.formula]).strip(" Σ") == "":
        return value  # a plain sum: the number is the value
    return f"{numbers} = {value}"


__all__ = ["expression", "formula_numbers", "sum_text"]
