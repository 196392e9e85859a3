"""Every handler and filter the dispatcher runs is awaited in the event loop.

aiogram sends a plain callable (a bare `F.text`, a `State` used as a filter, a
sync function) through `asyncio.to_thread`: a thread round trip per check,
paid by every update that gets that far. `handlers.filters.Is` and
`StateFilter` keep them in the loop.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.state import State, StatesGroup

from handlers import create_routers
from handlers.filters import Is


def _blocking(routers: list[Router]) -> list[str]:
    found = []
    for router in routers:
        for name, observer in router.observers.items():
            for handler in observer.handlers:
                label = f"{router.name}.{name}.{getattr(handler.callback, '__name__', '?')}"
                if not handler.awaitable:
                    found.append(f"{label}: handler")
                found += [
                    f"{label}: {f.callback!r}" for f in handler.filters or [] if not f.awaitable
                ]
    return found


def test_no_router_runs_a_filter_or_handler_in_a_thread() -> None:
    assert _blocking(create_routers()) == []


def test_the_check_catches_bare_magic_and_state_filters() -> None:
    class Flow(StatesGroup):
        step = State()

    async def on_text(_: object) -> None:
        return None

    router = Router(name="probe")
    router.message.register(on_text, F.text)
    router.message.register(on_text, Flow.step)
    router.message.register(on_text, Is(F.text), Command("x"))
    assert len(_blocking([router])) == 2


async def test_is_filter_matches_like_the_magic_filter_it_wraps() -> None:
    from aiogram.types import Chat, Message

    chat = Chat(id=1, type="private")
    text = Message(message_id=1, date=0, chat=chat, text="hello")
    command = Message(message_id=2, date=0, chat=chat, text="/start")
    document_less = Message(message_id=3, date=0, chat=chat, caption="x")
    plain = Is(F.text & ~F.text.startswith("/"))
    assert await plain(text) is True
    assert await plain(command) is False
    assert await plain(document_less) is False
    assert await Is(F.document)(text) is False
