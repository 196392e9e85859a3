"""An independent, brute-force reference for every period KPI, from stored rows.

Plain Python over `{(account, day): {metric: value}}`, written from the SPEC
("The KPIs", "Several accounts and sources") and not from the engine: no SQL,
no `kpi.kpis`. It loops over every account-day.

* Ratios sum numerator and denominator over the account-days where both sides
  have a value (a side is any of its metrics: likes or comments are
  interactions; ad spend or content cost are a cost). The platform's
  `interactions` total counts only on account-days without any of the parts.
  What has one side only is left out, per account.
* Engagement is by reach when any account-day pairs interactions with reach,
  else by impressions; conversion by link clicks, else by sessions.
* Growth: per account, start = the newest follower value before the period,
  else the first inside; end = the last inside. Left out: no value inside
  (stale), a single value and none before (one value), and — when some account
  has a value before the period — accounts whose values begin inside it.
  Stale too: an account whose last value is more than a week older than the
  newest account's. Growth = Σ (end − start) / Σ start × 100.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

Rows = Mapping[tuple[str, date], Mapping[str, float]]

PARTS = ("likes", "comments", "shares", "saves")
INTERACTIONS = (*PARTS, "interactions")
COST = ("ad_spend", "content_cost")


@dataclass
class Expected:
    value: float | None
    sums: dict[str, float] = field(default_factory=dict)
    days: int = 0  # distinct days with both sides (ratios)
    left_out: set[tuple[str, str]] = field(default_factory=set)  # (account, reason or side)


def _select(rows: Rows, start: date, end: date, account: str | None) -> dict:
    return {
        (a, d): r
        for (a, d), r in rows.items()
        if start <= d <= end and (account is None or a == account)
    }


def _value(metric: str, row: Mapping[str, float]) -> float | None:
    if metric == "interactions" and any(p in row for p in PARTS):
        return None
    return row.get(metric)


def paired(
    rows: dict, numerator: Iterable[str], denominator: Iterable[str]
) -> tuple[dict[str, float], int, set[tuple[str, str]], int]:
    """(sums over paired account-days, distinct paired days, left out, paired account-days)."""
    numerator, denominator = tuple(numerator), tuple(denominator)
    sums: dict[str, float] = {}
    days: set[date] = set()
    left: set[tuple[str, str]] = set()
    count = 0
    for (account, day), row in sorted(rows.items()):
        has_num = any(m in row for m in numerator)
        has_den = any(m in row for m in denominator)
        if has_num and has_den:
            count += 1
            days.add(day)
            for m in (*numerator, *denominator):
                v = _value(m, row)
                if v is not None:
                    sums[m] = sums.get(m, 0.0) + v
        elif has_num:
            left.add((account, "numerator"))
        elif has_den:
            left.add((account, "denominator"))
    return sums, len(days), left, count


def _ratio(num: float, den: float, scale: float) -> float | None:
    return None if den == 0 else num / den * scale


def _simple(rows: dict, num: str, den: str, scale: float) -> Expected:
    sums, days, left, count = paired(rows, [num], [den])
    if not count:
        return Expected(None, left_out=left)
    return Expected(_ratio(sums[num], sums[den], scale), sums, days, left)


def _counter(rows: dict, metric: str) -> Expected:
    values = [r[metric] for r in rows.values() if metric in r]
    return Expected(sum(values) if values else None, {metric: sum(values)} if values else {})


def _engagement(
    rows: dict, all_rows: Rows, start: date, end: date, account: str | None
) -> Expected:
    for basis in ("reach", "impressions"):
        sums, days, left, count = paired(rows, INTERACTIONS, [basis])
        if count:
            engaged = sum(v for m, v in sums.items() if m in INTERACTIONS)
            return Expected(_ratio(engaged, sums[basis], 100), sums, days, left)
    # Neither reach nor impressions (a Telegram channel): ER by followers =
    # Σ interactions / Σ posts over the account-days with both / average followers × 100,
    # the average being Σ over the accounts growth uses of their mean value inside.
    sums, days, left, count = paired(rows, INTERACTIONS, ["posts"])
    used = followers_used(all_rows, start, end, account)[3]
    avg = sum(sum(v for _, v in inside) / len(inside) for _, _, inside in used if inside)
    if count and sums.get("posts") and avg:
        engaged = sum(v for m, v in sums.items() if m in INTERACTIONS)
        return Expected(engaged / sums["posts"] / avg * 100, sums, days, left)
    return Expected(None, left_out=paired(rows, INTERACTIONS, ["reach"])[2])


def _conversion(rows: dict) -> Expected:
    for basis in ("link_clicks", "sessions"):
        sums, days, left, count = paired(rows, ["conversions"], [basis])
        if count:
            return Expected(_ratio(sums["conversions"], sums[basis], 100), sums, days, left)
    return Expected(None, left_out=paired(rows, ["conversions"], ["link_clicks"])[2])


def _visitors(rows: dict) -> Expected:
    sums, days, left, count = paired(rows, ["new_visitors"], ["returning_visitors"])
    if not count:
        return Expected(None, left_out=left)
    new, ret = sums["new_visitors"], sums["returning_visitors"]
    return Expected(_ratio(new, new + ret, 100), sums, days, left)


def _cost_of(sums: dict[str, float]) -> float:
    return sum(sums.get(m, 0.0) for m in COST)


def _cac(rows: dict) -> Expected:
    sums, days, left, count = paired(rows, COST, ["new_customers"])
    if not count:
        return Expected(None, left_out=left)
    return Expected(_ratio(_cost_of(sums), sums["new_customers"], 1), sums, days, left)


def _roi(rows: dict, margin: float) -> Expected:
    sums, days, left, count = paired(rows, ["revenue"], COST)
    if not count:
        return Expected(None, left_out=left)
    cost = _cost_of(sums)
    return Expected(_ratio(sums["revenue"] * margin - cost, cost, 100), sums, days, left)


def followers(
    all_rows: Rows, start: date, end: date, account: str | None
) -> tuple[float | None, float | None, set[tuple[str, str]]]:
    """(Σ start, Σ end, left out) over the accounts with both ends."""
    first, last, left, _used = followers_used(all_rows, start, end, account)
    return first, last, left


def followers_used(
    all_rows: Rows, start: date, end: date, account: str | None
) -> tuple[float | None, float | None, set[tuple[str, str]], list[tuple[str, bool, list]]]:
    """`followers`, and per account used: (name, has a value before, [(day, value) inside])."""
    series: dict[str, list[tuple[date, float]]] = defaultdict(list)
    for (acc, day), row in sorted(all_rows.items()):
        if "followers" in row and (account is None or acc == account) and day <= end:
            series[acc].append((day, row["followers"]))
    used: list[tuple[str, bool, float, float]] = []
    left: set[tuple[str, str]] = set()
    for acc, points in sorted(series.items()):
        before = [v for d, v in points if d < start]
        inside = [v for d, v in points if d >= start]
        if not before and not inside:
            continue
        if not inside:
            left.add((acc, "stale"))
        elif not before and len(inside) == 1:
            left.add((acc, "one_value"))
        else:
            used.append((acc, bool(before), before[-1] if before else inside[0], inside[-1]))
    if any(has_before for _, has_before, _, _ in used):
        for acc, has_before, _, _ in used:
            if not has_before:
                left.add((acc, "started"))
        used = [u for u in used if u[1]]
    # Stale: the last count more than a week older than the newest account's.
    last_day = {acc: max(d for d, _ in series[acc] if d >= start) for acc, *_ in used}
    if used:
        newest = max(last_day.values())
        for acc, *_ in used:
            if (newest - last_day[acc]).days > 7:
                left.add((acc, "stale"))
        used = [u for u in used if (newest - last_day[u[0]]).days <= 7]
    if not used:
        return None, None, left, []
    details = [(acc, b, [(d, v) for d, v in series[acc] if d >= start]) for acc, b, _, _ in used]
    return sum(u[2] for u in used), sum(u[3] for u in used), left, details


def _starts(rows: Rows, start: date, end: date, account: str | None) -> float | None:
    known = []
    for acc in sorted({a for a, _ in rows if account is None or a == account}):
        points = sorted((d, r["followers"]) for (a, d), r in rows.items()
                        if a == acc and "followers" in r and d <= end)  # fmt: skip
        before = [v for d, v in points if d < start]
        inside = [v for d, v in points if d >= start]
        if before or inside:
            known.append(before[-1] if before else inside[0])
    return sum(known) if known else None


def kpi(
    name: str, rows: Rows, start: date, end: date, account: str | None, margin: float = 1.0
) -> Expected:
    """The reference value of one period KPI."""
    inside = _select(rows, start, end, account)
    if name == "reach":
        return _counter(inside, "reach")
    if name == "clicks":
        return _counter(inside, "link_clicks")
    if name == "mentions":
        return _counter(inside, "mentions")
    if name == "engagement":
        return _engagement(inside, rows, start, end, account)
    if name == "conversion":
        return _conversion(inside)
    if name == "bounce":
        return _simple(inside, "bounces", "sessions", 100)
    if name == "time_on_page":
        return _simple(inside, "time_on_page_s", "pageviews", 1)
    if name == "visitors":
        return _visitors(inside)
    if name == "cac":
        return _cac(inside)
    if name == "roi":
        return _roi(inside, margin)
    if name == "growth":
        first, last, left = followers(rows, start, end, account)
        if first is None or last is None:
            new, lost = _counter(inside, "new_followers").value, _counter(inside, "unfollows").value
            if new is None and lost is None:
                return Expected(None, left_out=left)
            # Flows give the net; the rate divides by every account's start.
            start_sum = _starts(rows, start, end, account)
            net = (new or 0.0) - (lost or 0.0)
            value = None if start_sum is None else _ratio(net, start_sum, 100)
            return Expected(value, {"net": net}, left_out=left)
        return Expected(
            _ratio(last - first, first, 100),
            {"followers_start": first, "followers_end": last},
            left_out=left,
        )
    raise KeyError(name)


__all__ = ["Expected", "followers", "kpi", "paired"]
