"""Fake Telegram Bot API for tests: spec validation, HTTP server, recording session."""

from .core import DEFAULT_TOKEN, ApiError, Call, FakeTelegram, UploadedFile
from .recording import RecordingSession
from .server import FakeBotAPI
from .spec import check_html, validate_call

__all__ = [
    "DEFAULT_TOKEN",
    "ApiError",
    "Call",
    "FakeBotAPI",
    "FakeTelegram",
    "RecordingSession",
    "UploadedFile",
    "check_html",
    "validate_call",
]
