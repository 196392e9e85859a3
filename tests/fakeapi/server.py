"""Fake Telegram Bot API over real HTTP (aiohttp), loopback only.

Usage::

    async with FakeBotAPI(token="123456:ABC-DEF...") as api:
        env = {"BOT_TOKEN": api.token, "BOT_API_URL": api.base_url}   # == api.bot_env()
        api.message(42, "/start")                                      # queue an update
        (call,) = await api.wait_for("sendMessage", chat_id=42)
        assert api.violations == []

Webhook mode: after the bot's ``setWebhook`` the fake stops answering getUpdates (409,
as Telegram does) and POSTs each update to the webhook URL with the
``X-Telegram-Bot-Api-Secret-Token`` header, up to ``max_connections`` at a time; a 2xx
answer confirms the update, anything else (a 503 from a full queue, a refused
connection) leaves it queued and it is posted again shortly, to the next backend.
``api.deliver_to([url1, url2, url3])`` posts round-robin to several bot processes
instead (the reverse proxy in front of them); ``webhook_posts`` records every POST.

aiogram: ``TelegramAPIServer.from_base(api.base_url)`` builds ``{base}/bot{token}/{method}``
and ``{base}/file/bot{token}/{path}``; both are served here.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import Sequence
from typing import Any, Self

import aiohttp
from aiohttp import BodyPartReader, web

from .core import DEFAULT_TOKEN, FakeTelegram, UploadedFile, error_payload

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
MAX_BODY = 60 * 1024 * 1024  # sendDocument allows 50 MB uploads


class FakeBotAPI(FakeTelegram):
    """HTTP front-end of :class:`~tests.fakeapi.core.FakeTelegram` on 127.0.0.1:<random>."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        **kwargs: Any,
    ) -> None:
        if host not in LOOPBACK_HOSTS:
            raise ValueError(f"FakeBotAPI is loopback-only, got host={host!r}")
        super().__init__(token, **kwargs)
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None
        self.webhook_backends: list[str] | None = None
        self.webhook_posts: list[tuple[str, int, int]] = []  # (url, update_id, HTTP status)
        self._pusher: asyncio.Task[None] | None = None
        self._pushing: set[int] = set()
        self._round_robin = itertools.count()

    # ---- lifecycle ------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if self._runner is None:
            raise RuntimeError("FakeBotAPI is not started")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def bot_env(self) -> dict[str, str]:
        """Environment for ``python -m bot``: BOT_TOKEN and BOT_API_URL."""
        return {"BOT_TOKEN": self.token, "BOT_API_URL": self.base_url}

    async def start(self) -> Self:
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_route("*", "/{tail:.*}", self._handle_http)
        runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port, reuse_address=True)
        await site.start()
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        self._closing = False
        return self

    async def stop(self) -> None:
        self.close()  # release long polls
        if self._pusher is not None:
            pusher, self._pusher = self._pusher, None
            pusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pusher
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ---- webhook delivery ----------------------------------------------------------

    def deliver_to(self, backends: Sequence[str] | None) -> None:
        """POST updates to these URLs round-robin instead of the setWebhook URL."""
        self.webhook_backends = list(backends) if backends else None

    def _webhook_changed(self) -> None:
        super()._webhook_changed()
        if self.webhook is not None and (self._pusher is None or self._pusher.done()):
            self._pusher = asyncio.get_running_loop().create_task(self._push_updates())

    async def _push_updates(self) -> None:
        tasks: set[asyncio.Task[None]] = set()
        timeout = aiohttp.ClientTimeout(total=30)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            try:
                while self.webhook is not None and not self._closing:
                    free = self.webhook.max_connections - len(self._pushing)
                    ready = [u for u in self._deliverable(10**9)
                             if u["update_id"] not in self._pushing][: max(0, free)]  # fmt: skip
                    for update in ready:
                        self._pushing.add(update["update_id"])
                        task = asyncio.create_task(self._push_one(session, update))
                        tasks.add(task)
                        task.add_done_callback(tasks.discard)
                    self._update_event.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._update_event.wait(), 0.05)
            finally:
                for task in list(tasks):
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

    async def _push_one(self, session: aiohttp.ClientSession, update: dict[str, Any]) -> None:
        hook = self.webhook
        if hook is None:
            self._pushing.discard(update["update_id"])
            return
        backends = self.webhook_backends or [hook.url]
        url = backends[next(self._round_robin) % len(backends)]
        headers = (
            {"X-Telegram-Bot-Api-Secret-Token": hook.secret_token} if hook.secret_token else {}
        )
        try:
            async with session.post(url, json=update, headers=headers) as resp:
                await resp.read()
                status = resp.status
        except (aiohttp.ClientError, TimeoutError, OSError):
            status = 0
        self.webhook_posts.append((url, update["update_id"], status))
        try:
            if 200 <= status < 300:
                self.updates = [u for u in self.updates if u["update_id"] != update["update_id"]]
                self.delivered.append(update)
                self._call_event.set()
            else:
                await asyncio.sleep(0.2)  # Telegram retries later; so does the fake
        finally:
            self._pushing.discard(update["update_id"])
            self._update_event.set()

    # ---- HTTP -----------------------------------------------------------------------

    @staticmethod
    def _json(status: int, payload: dict[str, Any]) -> web.Response:
        return web.json_response(payload, status=status, dumps=lambda o: json.dumps(o))

    async def _read_params(
        self, request: web.Request
    ) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
        params: dict[str, Any] = dict(request.query)
        files: dict[str, UploadedFile] = {}
        if request.method not in ("POST", "PUT") or not request.can_read_body:
            return params, files
        ctype = request.content_type
        if ctype == "application/json":
            body = await request.json()
            if not isinstance(body, dict):
                raise ValueError("JSON body must be an object")
            params.update(body)
        elif ctype == "multipart/form-data":
            reader = await request.multipart()
            while True:
                part = await reader.next()
                if part is None:
                    break
                if not isinstance(part, BodyPartReader) or part.name is None:
                    continue
                if part.filename is not None:
                    files[part.name] = UploadedFile(
                        name=part.name,
                        filename=part.filename,
                        content_type=part.headers.get("Content-Type"),
                        data=bytes(await part.read(decode=False)),
                    )
                else:
                    params[part.name] = await part.text()
        else:  # application/x-www-form-urlencoded (and anything form-like)
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    files[key] = UploadedFile(key, value.filename, value.content_type,
                                              value.file.read())  # fmt: skip
                else:
                    params[key] = value
        return params, files

    async def _handle_http(self, request: web.Request) -> web.StreamResponse:
        try:
            return await self._route(request)
        except Exception as exc:  # a bug in the fake must not look like a Telegram answer
            msg = f"fake Bot API internal error on {request.path}: {exc!r}"
            self.violations.append(msg)
            return self._json(500, error_payload(500, f"Internal Server Error: {msg}"))

    async def _route(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        if path.startswith("/file/bot"):
            token, _, file_path = path[len("/file/bot") :].partition("/")
            if token != self.token:
                return self._json(401, error_payload(401, "Unauthorized"))
            data = self.read_file(file_path)
            if data is None:
                return self._json(404, error_payload(404, "Not Found"))
            return web.Response(body=data, content_type="application/octet-stream")
        if not path.startswith("/bot"):
            return self._json(404, error_payload(404, "Not Found"))
        token, _, method = path[len("/bot") :].partition("/")
        if token != self.token:
            return self._json(401, error_payload(401, "Unauthorized"))
        if not method or "/" in method:
            return self._json(404, error_payload(404, "Not Found"))
        try:
            params, files = await self._read_params(request)
        except ValueError as exc:
            return self._json(400, error_payload(400, f"Bad Request: can't parse body: {exc}"))
        reply = await self.handle(method, params, files, token=token)
        if reply.drop:
            if request.transport is not None:
                request.transport.close()
            return web.Response(status=500)  # never reaches the client
        return self._json(reply.status, reply.payload)


__all__ = ["FakeBotAPI"]
