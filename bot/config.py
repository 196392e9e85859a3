"""Settings from the environment and `.env` (see `.env.example` for every key)."""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from kpi.timezones import canonical_timezone

# Telegram tokens look like "123456789:AA...": a numeric bot id, a colon, 30+ url-safe chars.
_TOKEN_RE = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{30,}$")

TELEGRAM_API_URL = "https://api.telegram.org"
LANGUAGES = ("ru", "en")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    bot_token: SecretStr
    bot_api_url: str = TELEGRAM_API_URL
    database_url: str = "sqlite+aiosqlite:///./data/kpibot.sqlite3"
    default_timezone: str = "Europe/Moscow"
    default_language: str = "ru"
    log_level: str = "INFO"
    # How long a getChatMember answer is trusted for permission checks.
    admin_cache_seconds: int = Field(default=180, ge=0)
    # Operational knobs (the defaults suit production; tests shorten them).
    alerts_check_seconds: int = Field(default=0, ge=0)  # 0: hourly at minute 7
    digest_tick_seconds: int = Field(default=60, ge=1)
    # One polling process per token and database (bot/polling.py): the lock's heartbeat,
    # and after how long without one a crashed holder's lock is taken over.
    instance_heartbeat_seconds: float = Field(default=10.0, gt=0)
    instance_stale_seconds: float = Field(default=30.0, gt=0)
    # Telegram's flood limits on what the bot sends (bot/services/delivery.py). Off only
    # for in-process tests against a fake that enforces none.
    send_pacing: bool = True
    # How updates arrive: long polling (one process, the default) or a webhook
    # (bot/webhook.py; several processes behind a reverse proxy: README "Cluster mode").
    bot_mode: Literal["polling", "webhook"] = "polling"
    webhook_url: str = ""  # the public https URL Telegram posts to (setWebhook)
    webhook_secret: SecretStr | None = None  # X-Telegram-Bot-Api-Secret-Token, checked always
    webhook_listen: str = "0.0.0.0:8080"  # host:port this process serves the webhook on
    webhook_queue_size: int = Field(default=1000, ge=1)  # full: 503, Telegram redelivers
    webhook_workers: int = Field(default=32, ge=1)  # updates handled at once
    # Shared state of several processes (bot/cluster.py): FSM, event isolation, the
    # workspace cache's invalidation and the send budget. Empty: in this process only.
    redis_url: str = ""
    # The scheduler leader (bot/leader.py): how often the lock is tried or checked.
    leader_check_seconds: float = Field(default=2.0, gt=0)
    # Cluster mode: a batch of due digests is one process's for this long; what it did
    # not claim by then (it died) is due again for any process.
    digest_lease_seconds: float = Field(default=60.0, gt=0)

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, v: SecretStr) -> SecretStr:
        if not _TOKEN_RE.match(v.get_secret_value().strip()):
            raise ValueError("does not look like a Telegram bot token (123456:ABC...)")
        return SecretStr(v.get_secret_value().strip())

    @field_validator("bot_api_url")
    @classmethod
    def _api_url(cls, v: str) -> str:
        v = v.strip().rstrip("/")
        if not re.match(r"^https?://[^\s/]+", v):
            raise ValueError("must be an http(s) URL such as https://api.telegram.org")
        return v

    @field_validator("default_timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        name = canonical_timezone(v)
        if name is None:
            raise ValueError(f"{v!r} is not an IANA time zone name of the tzdata package")
        return name

    @field_validator("default_language")
    @classmethod
    def _lang(cls, v: str) -> str:
        v = v.strip().lower()
        if v not in LANGUAGES:
            raise ValueError(f"must be one of {', '.join(LANGUAGES)}")
        return v

    @field_validator("webhook_listen")
    @classmethod
    def _listen(cls, v: str) -> str:
        host, sep, port = v.strip().rpartition(":")
        if not sep or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError("must be host:port, such as 0.0.0.0:8080")
        return f"{host or '0.0.0.0'}:{port}"

    @model_validator(mode="after")
    def _webhook(self) -> Settings:
        if self.bot_mode != "webhook":
            return self
        parts = urlsplit(self.webhook_url.strip())
        if parts.scheme not in ("https", "http") or not parts.netloc:
            raise ValueError("WEBHOOK_URL must be the public https:// URL of the webhook")
        secret = self.webhook_secret.get_secret_value() if self.webhook_secret else ""
        if not re.fullmatch(r"[A-Za-z0-9_-]{16,256}", secret):
            raise ValueError(
                "WEBHOOK_SECRET is required in webhook mode: 16-256 characters A-Z a-z 0-9 _ -"
            )
        return self

    @property
    def webhook_path(self) -> str:
        return urlsplit(self.webhook_url.strip()).path or "/"

    @property
    def listen_host_port(self) -> tuple[str, int]:
        host, _, port = self.webhook_listen.rpartition(":")
        return host.strip("[]"), int(port)

    @field_validator("log_level")
    @classmethod
    def _level(cls, v: str) -> str:
        v = v.strip().upper()
        if v not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError("must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return v
