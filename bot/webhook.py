"""Webhook mode (BOT_MODE=webhook): updates arrive as HTTPS POSTs from Telegram.

aiogram's aiohttp request handler checks `X-Telegram-Bot-Api-Secret-Token` on every
request (401 without the right one) and answers at once; the update is then handled
in the background by a fixed number of workers reading a bounded queue. A full queue
answers 503, so Telegram keeps the update and delivers it again later (to this or
another process behind the reverse proxy) instead of this process piling up work.

`setWebhook` (with the secret and `allowed_updates`) is called by the scheduler leader
only (bot/leader.py): one call when the cluster starts, one more after a takeover, which
Telegram treats as a no-op when nothing changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from bot.config import Settings

log = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"


class QueuedRequestHandler(SimpleRequestHandler):
    """SimpleRequestHandler whose background work goes through a bounded queue."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        bot: Bot,
        *,
        secret_token: str,
        queue_size: int,
        workers: int,
        **data: Any,
    ) -> None:
        super().__init__(
            dispatcher, bot, handle_in_background=True, secret_token=secret_token, **data
        )
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=queue_size)
        self._worker_count = workers
        self._workers: list[asyncio.Task[None]] = []
        self.rejected = 0  # answered 503 (queue full)

    def verify_secret(self, telegram_secret_token: str, bot: Bot) -> bool:
        # Always required here (Settings refuses webhook mode without a secret).
        return bool(self.secret_token) and super().verify_secret(telegram_secret_token, bot)

    def start_workers(self) -> None:
        loop = asyncio.get_running_loop()
        self._workers = [loop.create_task(self._work()) for _ in range(self._worker_count)]

    async def _work(self) -> None:
        while True:
            update = await self.queue.get()
            try:
                await self._background_feed_update(self.bot, update)
            except Exception:  # the dispatcher logs handler errors; this is a last resort
                log.exception("update %s failed", update.get("update_id"))
            finally:
                self.queue.task_done()

    async def _handle_request_background(self, bot: Bot, request: web.Request) -> web.Response:
        try:
            update = await request.json(loads=bot.session.json_loads)
        except ValueError:
            return web.Response(status=400, text="not JSON")
        if not isinstance(update, dict):
            return web.Response(status=400, text="not an update")
        try:
            self.queue.put_nowait(update)
        except asyncio.QueueFull:
            self.rejected += 1
            log.warning("webhook queue full (%s): 503, Telegram delivers again", self.queue.maxsize)
            return web.Response(status=503, text="busy")
        return web.json_response({}, dumps=bot.session.json_dumps)

    async def drain(self, grace: float) -> None:
        """On shutdown: let the queued updates finish (up to `grace` s), then stop."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.queue.join(), grace)
        for task in self._workers:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers = []

    async def close(self) -> None:
        # aiohttp's on_shutdown; WebhookServer.stop drains the queue itself, and the
        # process closes the bot session after the jobs (bot/main.py).
        return None


async def _health(request: web.Request) -> web.Response:
    return web.Response(text="ok")


class WebhookServer:
    """The aiohttp server of one process: POST <WEBHOOK_URL path> and GET /healthz."""

    def __init__(self, settings: Settings, dp: Dispatcher, bot: Bot) -> None:
        assert settings.webhook_secret is not None  # Settings checks webhook mode
        self.settings = settings
        self.handler = QueuedRequestHandler(
            dp,
            bot,
            secret_token=settings.webhook_secret.get_secret_value(),
            queue_size=settings.webhook_queue_size,
            workers=settings.webhook_workers,
        )
        self.app = web.Application()
        self.handler.register(self.app, path=settings.webhook_path)
        self.app.router.add_get(HEALTH_PATH, _health)
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None

    async def start(self) -> None:
        self.handler.start_workers()
        runner = web.AppRunner(self.app, handle_signals=False, access_log=None)
        await runner.setup()
        host, port = self.settings.listen_host_port
        site = web.TCPSite(runner, host, port, reuse_address=True)
        await site.start()
        self._runner, self._site = runner, site
        log.info("webhook: listening on %s:%s%s", host, port, self.settings.webhook_path)

    async def stop(self, grace: float = 10.0) -> None:
        """Stop taking requests, then let what is queued finish (up to `grace` s)."""
        if self._runner is not None:
            runner, self._runner = self._runner, None
            if self._site is not None:
                await self._site.stop()  # no new requests (Telegram redelivers them)
            await self.handler.drain(grace)
            await runner.cleanup()


async def set_webhook(bot: Bot, settings: Settings, allowed_updates: list[str]) -> None:
    """Point Telegram at this cluster (the leader calls it)."""
    assert settings.webhook_secret is not None
    await bot.set_webhook(
        settings.webhook_url,
        secret_token=settings.webhook_secret.get_secret_value(),
        allowed_updates=allowed_updates,
        max_connections=40,
    )
    log.info("webhook set: %s", settings.webhook_url)
