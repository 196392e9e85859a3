"""Layouts, one module each, all with the one interface of `base.Layout`.

`choose_layout` scores every layout on the evidence of the columns and takes
the best; when the best one is not sure (another fits too) the reading is
shown to the user before anything is stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kpi.importing import errors as E
from kpi.importing.columns import Column
from kpi.importing.errors import ImportFailure
from kpi.importing.layouts import audience, customers, daily, long, mentions, posts, sessions
from kpi.importing.layouts.base import Detection, Evidence, Layout

LAYOUTS: dict[str, Layout] = {
    layout.name: layout
    for layout in (
        audience.LAYOUT,
        long.LAYOUT,
        customers.LAYOUT,
        mentions.LAYOUT,
        sessions.LAYOUT,
        posts.LAYOUT,
        daily.SPAN,
        daily.WIDE,
        daily.AGGREGATE,
    )
}


@dataclass(frozen=True, slots=True)
class LayoutChoice:
    layout: Layout
    detection: Detection
    alternative: str | None  # the runner-up when the choice is not sure


def choose_layout(columns: Sequence[Column], chosen: str | None = None) -> LayoutChoice:
    """The best-scoring layout; refuses a file where none fits (no metric column).

    `chosen`: the layout the user picked in the preview; it wins when it fits at all.
    """
    evidence = Evidence.of(columns)
    found = [(d, layout) for layout in LAYOUTS.values() if (d := layout.detect(evidence))]
    found.sort(key=lambda pair: -pair[0].score)
    for detection, layout in found:
        if layout.name == chosen:
            return LayoutChoice(layout, Detection(detection.score, "your_choice"), None)
    if not found:
        seen = ", ".join(c.header for c in columns if c.header)[:300]
        raise ImportFailure(
            E.NO_METRICS, detail=f"no column is a metric the bot knows; columns: {seen}"
        )
    best, layout = found[0]
    alternative = found[1][1].name if not best.sure and len(found) > 1 else None
    return LayoutChoice(layout, best, alternative)


__all__ = ["LAYOUTS", "Detection", "Evidence", "Layout", "LayoutChoice", "choose_layout"]
