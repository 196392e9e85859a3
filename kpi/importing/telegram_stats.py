"""Telegram's channel statistics graphs (JSON) → daily metrics and audience rows.

The layout is the one Telegram uses for its statistics graphs (and handed out for
its 2019 charts contest): a graph is

    {"columns": [["x", ms, ms, …], ["y0", v, v, …], …],
     "types": {"x": "x", "y0": "line", …}, "names": {"y0": "Joined", …},
     "colors": {"y0": "#3DC23F", …}}

and a file holds one graph, a list of graphs, or an object of graphs by name
(`{"followers_graph": {…}, "languages_graph": {…}}`). `x` is a day, at midnight UTC
in milliseconds; the day is taken as given (Telegram's statistics days), not moved
into the workspace's zone.

What a graph is comes from its key or `title`, else from its series names:
- followers (a running total) → `followers` (a gauge);
- joined / left → `new_followers` / `unfollows`;
- views / shares (the interactions graph) → `views` / `shares`;
- views by source → `views` per day (when no interactions graph gives them) and an
  audience breakdown "view source" (totals over the file's days);
- new followers by source → an audience breakdown "follower source" (totals), and
  `new_followers` per day when no joined/left graph gives them;
- languages → an audience breakdown "language" (the last day's values).
Series named only `#0`, `#1` (the contest data is anonymised): a two-line graph with
Telegram's joined/left colours, green then red, is read as joined / left and the
reply says so; a second such graph for the same days is left out (a file of several
channels cannot go into one account), as are graphs whose series can't be told apart.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from kpi.importing import errors as E
from kpi.importing.core import ParsedImport
from kpi.importing.errors import ImportFailure
from kpi.importing.values import ValueStore
from kpi.metrics import normalize_name
from kpi.models import AudienceBucket

LAYOUT = "telegram_stats"
JOINED_COLOUR, LEFT_COLOUR = "#3dc23f", "#f34c44"

_FOLLOWERS = {"followers", "total followers", "subscribers", "members", "подписчики",
              "всего подписчиков", "участники"}  # fmt: skip
_JOINED = {"joined", "new followers", "followed", "подписались", "новые подписчики", "вступили"}
_LEFT = {"left", "unfollowed", "unsubscribed", "отписались", "вышли"}
_VIEWS = {"views", "просмотры"}
_SHARES = {"shares", "forwards", "репосты", "пересылки", "поделились"}
_GRAPH_KEYS = {
    "growth": "followers", "growth graph": "followers", "followers total": "followers",
    "followers": "flows", "followers graph": "flows",
    "interactions": "interactions", "interactions graph": "interactions",
    "views by source": "view_source", "views by source graph": "view_source",
    "new followers by source": "follower_source",
    "new followers by source graph": "follower_source",
    "languages": "languages", "languages graph": "languages",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Graph:
    index: int  # 1-based position in the file
    key: str | None  # the container key or title, if any
    days: tuple[date, ...]
    series: tuple[tuple[str, str, tuple[float, ...]], ...]  # (name, colour, values)

    @property
    def label(self) -> str:
        names = ", ".join(name for name, _, _ in self.series)
        return f"graph {self.index}" + (f" “{self.key}”" if self.key else "") + f": {names}"


@dataclass(slots=True)
class StatsReading:
    values: dict[date, dict[str, float]]
    audience: list[AudienceBucket]
    skipped: list[tuple[str, str]]  # (graph label, reason code)
    notes: list[str]  # how unnamed series were read
    points: int  # data points read


def looks_like_stats(data: bytes) -> bool:
    """True for a JSON file that holds at least one graph with `columns` (cheap check)."""
    head = data.lstrip()[:1]
    if head not in (b"{", b"["):
        return False
    try:
        return bool(_graphs(json.loads(data)))
    except (ValueError, UnicodeDecodeError, RecursionError):
        return False


def _is_graph(obj: Any) -> bool:
    return isinstance(obj, dict) and isinstance(obj.get("columns"), list)


def _graphs(root: Any) -> list[tuple[str | None, dict[str, Any]]]:
    if _is_graph(root):
        return [(root.get("title") if isinstance(root.get("title"), str) else None, root)]
    if isinstance(root, list):
        return [(g.get("title") if isinstance(g.get("title"), str) else None, g)
                for g in root if _is_graph(g)]  # fmt: skip
    if isinstance(root, dict):
        out: list[tuple[str | None, dict[str, Any]]] = []
        for key, value in root.items():
            if _is_graph(value):
                out.append((str(key), value))
            elif isinstance(value, dict) and _is_graph(value.get("json")):
                out.append((str(key), value["json"]))  # MTProto's StatsGraph {json: {...}}
        return out
    return []


def _day(ms: Any, where: str) -> date:
    if isinstance(ms, bool) or not isinstance(ms, int | float):
        raise ImportFailure(E.BAD_DATE, value=str(ms)[:40], column="x", detail=where)
    try:
        return datetime.fromtimestamp(ms / 1000, UTC).date()
    except (OverflowError, OSError, ValueError):
        raise ImportFailure(E.BAD_DATE, value=str(ms)[:40], column="x", detail=where) from None


def _number(v: Any, column: str, row: int) -> float:
    """`row` is the value's position in its series (1 = the first day)."""
    if isinstance(v, bool) or not isinstance(v, int | float) or v != v or abs(v) == float("inf"):
        raise ImportFailure(
            E.BAD_NUMBER, value=str(v)[:40], column=column, row=row,
            detail="a statistics value must be a number",
        )  # fmt: skip
    if v < 0:
        raise ImportFailure(E.NEGATIVE, value=str(v)[:40], column=column, row=row)
    return float(v)


def _parse_graph(index: int, key: str | None, raw: dict[str, Any]) -> Graph:
    columns = raw["columns"]

    def mapping(key: str) -> dict[str, Any]:
        value = raw.get(key)
        return value if isinstance(value, dict) else {}

    names, colours, types = mapping("names"), mapping("colors"), mapping("types")
    x: list[Any] | None = None
    series: list[tuple[str, str, list[Any]]] = []
    for col in columns:
        if not isinstance(col, list) or not col or not isinstance(col[0], str):
            raise ImportFailure(E.NOT_A_TABLE, detail=f"graph {index}: a column without a name")
        cid = col[0]
        if types.get(cid) == "x" or cid == "x":
            x = col[1:]
        else:
            series.append((str(names.get(cid, cid)), str(colours.get(cid, "")), col[1:]))
    if x is None:
        raise ImportFailure(E.NOT_A_TABLE, detail=f"graph {index}: no x column (days)")
    days = tuple(_day(ms, f"graph {index}") for ms in x)
    parsed = []
    for name, colour, values in series:
        if len(values) != len(days):
            raise ImportFailure(
                E.NOT_A_TABLE,
                detail=f"graph {index}: “{name}” has {len(values)} values for {len(days)} days",
            )
        parsed.append(
            (name, colour.lower(), tuple(_number(v, name, i + 1) for i, v in enumerate(values)))
        )
    return Graph(index, key, days, tuple(parsed))


def _kind(graph: Graph) -> str | None:
    if graph.key is not None:
        by_key = _GRAPH_KEYS.get(normalize_name(graph.key).removesuffix(" graph").strip())
        by_key = by_key or _GRAPH_KEYS.get(normalize_name(graph.key))
        if by_key is not None:
            return by_key
    names = {normalize_name(n) for n, _, _ in graph.series}
    if names and names <= _FOLLOWERS:
        return "followers"
    if names & (_JOINED | _LEFT) and names <= _JOINED | _LEFT:
        return "flows"
    if names & (_VIEWS | _SHARES) and names <= _VIEWS | _SHARES:
        return "interactions"
    return None


def _unnamed(graph: Graph) -> bool:
    return all(n.startswith("#") and n[1:].isdigit() for n, _, _ in graph.series)


def _telegram_flow_colours(graph: Graph) -> bool:
    colours = [c for _, c, _ in graph.series]
    return colours == [JOINED_COLOUR, LEFT_COLOUR]


def read_telegram_stats(data: bytes) -> StatsReading:
    """Every graph of the file read (or listed as left out, with why).

    Raises ImportFailure when the file is not statistics JSON or a value is unusable,
    and when no graph could be read at all.
    """
    try:
        root = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ImportFailure(E.NOT_A_TABLE, detail="not valid JSON") from None
    found = _graphs(root)
    if not found:
        raise ImportFailure(E.NOT_A_TABLE, detail="JSON without statistics graphs")
    graphs = [_parse_graph(i, key, raw) for i, (key, raw) in enumerate(found, 1)]
    values: dict[date, dict[str, float]] = {}
    audience: list[AudienceBucket] = []
    skipped: list[tuple[str, str]] = []
    notes: list[str] = []
    points = 0
    taken: dict[str, set[date]] = {}  # metric -> days already given by a graph

    def put(metric: str, days: Iterable[date], series: Iterable[float], graph: Graph) -> bool:
        days = tuple(days)
        if taken.get(metric, set()) & set(days):
            skipped.append((graph.label, "duplicate_metric"))
            return False
        taken.setdefault(metric, set()).update(days)
        for day, v in zip(days, series, strict=True):
            values.setdefault(day, {})[metric] = v
        return True

    def breakdown(dimension: str, graph: Graph, *, last_only: bool) -> None:
        for name, _, series in graph.series:
            value = series[-1] if last_only else sum(series)
            audience.append(AudienceBucket(dimension, name, value, False))

    for graph in graphs:
        kind = _kind(graph)
        if kind is None and _unnamed(graph) and _telegram_flow_colours(graph):
            kind = "unnamed_flows"
        if kind is None:
            skipped.append((graph.label, "unnamed_series" if _unnamed(graph) else "not_a_metric"))
            continue
        points += len(graph.days) * len(graph.series)
        if kind == "followers":
            put("followers", graph.days, graph.series[0][2], graph)
        elif kind in ("flows", "unnamed_flows"):
            if kind == "unnamed_flows":
                joined, left = graph.series[0][2], graph.series[1][2]
            else:
                by_name = {normalize_name(n): s for n, _, s in graph.series}
                joined = next((s for n, s in by_name.items() if n in _JOINED), ())
                left = next((s for n, s in by_name.items() if n in _LEFT), ())
            if (joined and taken.get("new_followers", set()) & set(graph.days)) or (
                left and taken.get("unfollows", set()) & set(graph.days)
            ):
                skipped.append((graph.label, "duplicate_graph"))
                points -= len(graph.days) * len(graph.series)
                continue
            if joined:
                put("new_followers", graph.days, joined, graph)
            if left:
                put("unfollows", graph.days, left, graph)
            if kind == "unnamed_flows":
                notes.append(graph.label)
        elif kind == "interactions":
            for name, _, series in graph.series:
                folded = normalize_name(name)
                metric = "views" if folded in _VIEWS else "shares" if folded in _SHARES else None
                if metric is not None:
                    put(metric, graph.days, series, graph)
        elif kind == "view_source":
            breakdown("view source", graph, last_only=False)
        elif kind == "follower_source":
            breakdown("follower source", graph, last_only=False)
        elif kind == "languages":
            breakdown("language", graph, last_only=True)
    # Views and new followers by source also give daily totals, where no other graph does.
    for graph in graphs:
        kind = _kind(graph)
        metric = {"view_source": "views", "follower_source": "new_followers"}.get(kind or "")
        if metric is None or taken.get(metric, set()) & set(graph.days):
            continue
        daily = [sum(s[i] for _, _, s in graph.series) for i in range(len(graph.days))]
        put(metric, graph.days, daily, graph)
    if not values and not audience:
        raise ImportFailure(
            E.NOT_A_TABLE,
            detail="no graph I can read: "
            + "; ".join(label for label, _ in skipped[:3])
            + " (series without names)",
        )
    return StatsReading(values, audience, skipped, notes, points)


def parse_telegram_stats(data: bytes, caption_account: str | None) -> ParsedImport:
    """The file as an import: metrics by day for the caption's account (else the
    default one), audience breakdowns, and the graphs left out as ignored "columns"."""
    reading = read_telegram_stats(data)
    parsed = ParsedImport(layout=LAYOUT, platform="telegram")
    parsed.rows_read = parsed.rows_used = reading.points
    parsed.values = ValueStore(
        {(caption_account, day): m for day, m in sorted(reading.values.items())}
    )
    parsed.audience = reading.audience
    parsed.accounts = {caption_account} if caption_account else set()
    parsed.metrics = {name for m in reading.values.values() for name in m}
    if reading.values:
        parsed.date_range = (min(reading.values), max(reading.values))
    parsed.ignored_columns = list(reading.skipped)
    if reading.notes:  # the reply names how unnamed series were read
        parsed.platform = "telegram_unnamed"
    return parsed
