"""The one interface every layout module implements, and the evidence it is chosen by.

A layout is how the rows of a file become values: `detect` scores it from what
the columns are (and what their values showed, see `core`), `roles` and
`uses_metrics` are its column plan (other columns are reported "not used"),
`read_row` turns one row into values on the context, `finish` settles what
needs every row (sentiment scales, long-table ratios). Rows stream through
`read_row` one at a time: no layout holds the file.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kpi.importing.columns import Column, Role
from kpi.importing.reader import Cell
from kpi.metrics import normalize_name

if TYPE_CHECKING:
    from kpi.importing.core import ImportContext


@dataclass(frozen=True, slots=True)
class Evidence:
    """What the classified columns show, computed once for every layout's `detect`."""

    roles: frozenset[Role]
    metric_cols: tuple[Column, ...]
    has_date: bool
    share_header: bool  # a metric column literally called "share" (audience files)

    @classmethod
    def of(cls, columns: Sequence[Column]) -> Evidence:
        roles = frozenset(c.role for c in columns)
        metric_cols = tuple(c for c in columns if c.role is Role.METRIC)
        return cls(
            roles=roles,
            metric_cols=metric_cols,
            has_date=bool(roles & {Role.DATE, Role.PERIOD_START, Role.PERIOD_END, Role.MONTH}),
            share_header=any(normalize_name(c.header) == "share" for c in metric_cols),
        )

    @property
    def has_metrics(self) -> bool:
        return bool(self.metric_cols)


@dataclass(frozen=True, slots=True)
class Detection:
    score: int  # higher wins; the scale orders layouts from the most specific down
    why: str  # a reason code the reply words ("sentiment", "period_columns"…)
    sure: bool = True  # False: another layout fits too; the bot asks before storing


def _nothing(ctx: ImportContext) -> None:
    return None


@dataclass(frozen=True, slots=True)
class Layout:
    name: str
    roles: frozenset[Role]  # the roles it reads
    uses_metrics: bool  # False: metric columns are reported "not used"
    detect: Callable[[Evidence], Detection | None]
    read_row: Callable[[ImportContext, int, list[Cell]], bool]
    finish: Callable[[ImportContext], None] = _nothing
    # A date-less file of this layout takes its day from the caption (else the bot asks).
    day_from_caption: bool = False
