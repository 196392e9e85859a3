"""Feature routers, in the order they are tried; catch-alls come last."""

from __future__ import annotations

from aiogram import Router


def create_routers() -> list[Router]:
    # Imported here, not at the top: bot/services/ use the words of some features
    # (handlers/*_texts.py, handlers/alerts.py) without importing every router.
    from handlers import (
        accounts,
        agency,
        alerts,
        campaigns,
        channels,
        charts,
        conversation,
        data_add,
        data_export,
        data_import,
        data_log,
        digest,
        errors,
        goals,
        insights,
        kpi,
        mappings,
        settings,
        start,
        undo,
    )

    features = [
        errors.create_router(),
        channels.create_membership_router(),
        start.create_router(),
        # The most asked-for commands early: every router ahead of them checks its
        # filters first. Only commands reach it, so nothing behind is shadowed.
        kpi.create_router(),
        settings.create_router(),
        accounts.create_router(),
        channels.create_router(),
        campaigns.create_router(),
        alerts.create_router(),
        charts.create_router(),
        digest.create_router(),
        goals.create_router(),
        insights.create_router(),
        agency.create_router(),
        data_log.create_router(),
        data_add.create_router(),
        data_export.create_router(),
        undo.create_router(),
        mappings.create_router(),
        # Documents: late (commands first), before any catch-all.
        data_import.create_router(),
    ]
    # Catch-alls: unknown commands and plain text ("did you mean", free questions),
    # then stale buttons.
    return [
        *features,
        conversation.create_router(conversation.registered_commands(features)),
        errors.create_fallback_router(),
    ]
