"""Campaign invite links of a Telegram channel: joins, leaves, CAC (pure).

A campaign link is a named invite link (`/campaign new`). Every join that arrives
through it (the `invite_link` of a chat_member update) is one `Join`; a join is
closed when the same subscriber leaves.

Definitions (README, "Telegram channels"):
- joins: joins through the link in the period (a person who leaves and comes back
  through the link again counts twice);
- leaves: those of these joins that have since left (at any time up to now);
- still subscribed: joins − leaves, the people the link brought who are still there;
- CAC = cost / still subscribed: what one subscriber who stayed cost. No value when
  nobody stayed (not infinity) or no cost is attached;
- conversion = conversions / joins × 100, when a conversions figure is attached;
- ROI = (revenue − cost) / cost × 100, when revenue and a non-zero cost are attached.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True)
class Join:
    day: date  # the join's day in the workspace's time zone
    left: bool


@dataclass(frozen=True, slots=True)
class CampaignFigures:
    joins: int
    leaves: int
    still_subscribed: int
    cost: float | None
    cac: float | None
    conversions: float | None
    conversion: float | None
    revenue: float | None
    roi: float | None


def campaign_figures(
    joins: Iterable[Join],
    cost: float | None,
    revenue: float | None = None,
    conversions: float | None = None,
) -> CampaignFigures:
    """The link's figures over the given joins (already limited to the period)."""
    joined = list(joins)
    n = len(joined)
    leaves = sum(1 for j in joined if j.left)
    still = n - leaves
    cac = cost / still if cost is not None and still > 0 else None
    conversion = conversions / n * 100 if conversions is not None and n > 0 else None
    roi = (revenue - cost) / cost * 100 if revenue is not None and cost else None
    return CampaignFigures(n, leaves, still, cost, cac, conversions, conversion, revenue, roi)
