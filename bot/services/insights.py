"""Goal progress and "what changed and why", read from storage for any surface.

`/goals`, `/goal`, `/why`, `/report` and the digest all call these, so a goal's progress
and a change's split are the same figures everywhere. A goal's KPI is the KPI function of
`storage.metrics.period_data` over the goal's period so far; a split is `kpi.why.explain`
over `period_pair` for all accounts together and for each account alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from kpi.content import ContentInsights, from_records, insights
from kpi.goals import GoalProgress, goal_period, progress
from kpi.kpis import KPI_FUNCTIONS
from kpi.models import Period
from kpi.registry import unit_of as registry_unit
from kpi.why import CannotSplit, Why, explain
from storage import Storage
from storage.goals import Goal
from storage.records import Account, Workspace


def unit_of(kpi: str) -> str:
    """count, percent, money or duration."""
    return registry_unit(kpi)


@dataclass(frozen=True, slots=True)
class GoalStatus:
    goal: Goal
    progress: GoalProgress
    unit: str


async def goal_progress(
    storage: Storage, workspace: Workspace, goal: Goal, today: date
) -> GoalProgress:
    """The goal's progress on `today`. Days elapsed run to the newest day with any data
    for the goal's accounts (a KPI's own inputs may lag; the pace then errs low)."""
    spec = goal.spec
    period = goal_period(spec.period_kind, today, spec.start, spec.end)
    value = None
    last_day = None
    if period.start <= today:
        so_far = Period(period.start, min(today, period.end))
        data = await storage.metrics.period_data(
            workspace.id, so_far, account_id=goal.account_id, margin=workspace.margin
        )
        value = KPI_FUNCTIONS[spec.kpi](data).value
        span = await storage.metrics.data_span(workspace.id, goal.account_id)
        if span.last_day is not None and span.last_day >= so_far.start:
            last_day = min(span.last_day, so_far.end)
    return progress(spec, period, value, today, last_day)


async def goal_statuses(
    storage: Storage, workspace: Workspace, today: date, goals: Sequence[Goal] | None = None
) -> list[GoalStatus]:
    """Every goal of the workspace with its progress, goals at risk first, then off track,
    then the rest in the order they were set. `goals`: the workspace's goals when the
    caller has read them already (with its own figures, in one reader trip)."""
    out = []
    if goals is None:
        goals = await storage.goals.list_goals(workspace.id)
    for goal in goals:
        p = await goal_progress(storage, workspace, goal, today)
        out.append(GoalStatus(goal, p, unit_of(goal.spec.kpi)))
    rank = {"off_track": 1, "no_data": 2, "on_track": 2, "met": 3, "missed": 3}
    return sorted(out, key=lambda s: 0 if s.progress.at_risk else rank[s.progress.status])


async def why_for(
    storage: Storage,
    workspace: Workspace,
    kpi: str,
    period: Period,
    account: Account | None = None,
) -> Why | CannotSplit:
    """The split of `kpi`'s change from the previous period to `period` (one aggregation;
    the accounts' shares come with it)."""
    current, previous = await storage.metrics.period_pair(
        workspace.id, period, account_id=account.id if account else None, margin=workspace.margin
    )
    return explain(kpi, current, previous)


@dataclass(frozen=True, slots=True)
class DigestInsights:
    """What leads the digest caption: goals (at risk first), the splits of the KPIs that
    moved most, and what content stood out."""

    goals: tuple[GoalStatus, ...] = ()
    whys: tuple[Why, ...] = ()
    content: ContentInsights | None = None


CONTENT_WEEKS = 4  # a week rarely has five posts of one format: the digest looks at four


async def digest_insights(
    storage: Storage, workspace: Workspace, report: Period, moved: Sequence[str]
) -> DigestInsights:
    """Goals as of the day after the reported week; the split of each KPI in `moved` for
    the reported week against the week before (kept when it says more than the tile: a
    ratio's two parts or several accounts); content over the last `CONTENT_WEEKS` weeks."""
    goals = tuple(await goal_statuses(storage, workspace, report.end + timedelta(days=1)))
    whys = []
    for kpi in moved:
        why = await why_for(storage, workspace, kpi, report)
        if isinstance(why, Why) and (why.kind == "ratio" or len(why.contributions) > 1):
            whys.append(why)
    span = Period(report.end - timedelta(days=7 * CONTENT_WEEKS - 1), report.end)
    records = await storage.metrics.posts_in_period(workspace.id, span)
    content = None
    if records:
        posts, left_out, basis = from_records(records)
        content = insights(posts, left_out=left_out, basis=basis)
    return DigestInsights(goals, tuple(whys), content)


__all__ = [
    "DigestInsights",
    "GoalStatus",
    "digest_insights",
    "goal_progress",
    "goal_statuses",
    "unit_of",
    "why_for",
]
