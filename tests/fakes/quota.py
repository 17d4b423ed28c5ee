"""Builders for rollout lines and a fake HTTP transport for the usage endpoint (no network at all)."""

from __future__ import annotations

import base64
import io
import json
import secrets
import threading
from dataclasses import dataclass
from typing import Any, Callable

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

SESSION_ID = "01a20fd6-0841-7b11-bef0-67e429d6e15c"
BASE_URL = "https://usage.test.invalid/backend-api"


# -- rollout lines (shapes copied from Codex 0.169's rollouts) ------------------------------------------


def line(record: dict[str, Any], compact: bool = True) -> bytes:
    """One rollout line; compact like Codex's serde JSON unless asked otherwise."""
    separators = (",", ":") if compact else (", ", ": ")
    return (json.dumps(record, separators=separators) + "\n").encode()


def spaced(compact_line: bytes) -> bytes:
    return line(json.loads(compact_line), compact=False)


def session_meta(session_id: str = SESSION_ID, cwd: str = "/work/project") -> bytes:
    return line({"timestamp": "2026-11-24T23:13:34.936Z", "ordinal": 0, "type": "session_meta",
                 "payload": {"session_id": session_id, "id": session_id, "timestamp": "2026-11-24T23:13:34.795Z",
                             "cwd": cwd, "originator": "codex-tui", "cli_version": "0.169.0",
                             "base_instructions": {"text": "You are Codex. " * 200}}})


def token_count(primary: float | None = 42.0, secondary: float | None = 7.0, *, primary_minutes: int = 300,
                secondary_minutes: int = 10080, primary_reset: float | None = 1795565615,
                secondary_reset: float | None = 1795994015, limit_id: str | None = "codex",
                limit_name: str | None = None, reached_type: str | None = None) -> bytes:
    def window(used, minutes, reset):
        return None if used is None else {"used_percent": used, "window_minutes": minutes, "resets_at": reset}

    return line({"timestamp": "2026-11-24T23:13:35.298Z", "type": "event_msg", "payload": {
        "type": "token_count", "info": {"total_token_usage": {"input_tokens": 1200, "total_tokens": 1234}},
        "rate_limits": {"limit_id": limit_id, "limit_name": limit_name,
                        "primary": window(primary, primary_minutes, primary_reset),
                        "secondary": window(secondary, secondary_minutes, secondary_reset),
                        "credits": None, "plan_type": None, "rate_limit_reached_type": reached_type}}})


def turn_context(model: str) -> bytes:
    """Codex's record of the settings a turn runs with (the model among them)."""
    return line({"timestamp": "2026-11-24T23:13:35.100Z", "type": "turn_context",
                 "payload": {"cwd": "/work", "approval_policy": "on-request", "model": model,
                             "summary": "auto"}})


def task_started() -> bytes:
    return line({"timestamp": "2026-11-24T23:13:35.000Z", "type": "event_msg",
                 "payload": {"type": "task_started", "turn_id": "t1"}})


def task_complete(error_info: Any = None) -> bytes:
    error = None if error_info is None else {"message": "You've hit your usage limit.", "codex_error_info": error_info}
    return line({"timestamp": "2026-11-24T23:13:35.931Z", "type": "event_msg",
                 "payload": {"type": "task_complete", "turn_id": "t1", "last_agent_message": None, "error": error}})


def user_message(text: str) -> bytes:
    return line({"timestamp": "2026-11-24T23:13:35.100Z", "type": "response_item",
                 "payload": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}})


def assistant_message(text: str) -> bytes:
    return line({"timestamp": "2026-11-24T23:13:35.200Z", "type": "response_item",
                 "payload": {"type": "message", "role": "assistant",
                             "content": [{"type": "output_text", "text": text}]}})


# -- credentials ----------------------------------------------------------------------------------


def fake_jwt() -> str:
    """An unsigned JWT-shaped token with a fake email, made at run time (never committed)."""
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none'})}.{part({'email': 'user@example.invalid', 'n': secrets.token_hex(8)})}.sig"


@dataclass(frozen=True)
class FakeCredentials:
    access_token: str
    chatgpt_account_id: str


class CredentialBook:
    """get_credentials/refresh_credentials for tests: refresh swaps in a new token."""

    def __init__(self, *accounts: str) -> None:
        self.tokens = {a: FakeCredentials(fake_jwt(), f"acct-{a}") for a in accounts}
        self.refreshed: list[str] = []
        self.refresh_error: Exception | None = None

    def get(self, account: str) -> FakeCredentials | None:
        return self.tokens.get(account)

    def refresh(self, account: str) -> None:
        self.refreshed.append(account)
        if self.refresh_error is not None:
            raise self.refresh_error
        self.tokens[account] = FakeCredentials(fake_jwt(), f"acct-{account}")


# -- HTTP -----------------------------------------------------------------------------------------


def usage_body(primary_used: float = 42, secondary_used: float = 7, *, now: float = 1795561614,
               limit_reached: bool = False) -> bytes:
    return json.dumps({"plan_type": "plus", "rate_limit": {
        "allowed": not limit_reached, "limit_reached": limit_reached,
        "primary_window": {"used_percent": primary_used, "limit_window_seconds": 18000,
                           "reset_after_seconds": 3600, "reset_at": now + 3600},
        "secondary_window": {"used_percent": secondary_used, "limit_window_seconds": 604800,
                             "reset_after_seconds": 432000, "reset_at": now + 432000}},
        "credits": None}).encode()


Reply = tuple[int, dict[str, str], bytes]
Handler = Callable[[requests.PreparedRequest], Reply]


class FakeUsageAdapter(BaseAdapter):
    """A transport mounted on the probe's Session: answers from ``handler``, records every request."""

    def __init__(self, handler: Handler) -> None:
        super().__init__()
        self.handler = handler
        self.requests: list[requests.PreparedRequest] = []
        self.timeouts: list[Any] = []
        self.verify: list[Any] = []
        self._lock = threading.Lock()

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        with self._lock:
            self.requests.append(request)
            self.timeouts.append(timeout)
            self.verify.append(verify)
        status, headers, body = self.handler(request)
        response = requests.Response()
        response.status_code = status
        response.headers = CaseInsensitiveDict(headers)
        response.raw = io.BytesIO(body)
        response.url = request.url
        response.request = request
        response.encoding = "utf-8"
        return response

    def close(self) -> None:
        pass


def session_with(adapter: FakeUsageAdapter) -> requests.Session:
    session = requests.Session()
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


class ManualClock:
    def __init__(self, now: float = 1795561614.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
