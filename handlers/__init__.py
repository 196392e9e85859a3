"""Feature routers, in the order they are tried; catch-alls come last."""

from __future__ import annotations

from aiogram import Router

from handlers import accounts, errors, settings, start


def create_routers() -> list[Router]:
    return [
        errors.create_router(),
        start.create_router(),
        settings.create_router(),
        accounts.create_router(),
    ]
