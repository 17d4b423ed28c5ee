"""A fake ChatGPT backend for the real Codex CLI: HTTPS on 127.0.0.1, per-account quota, full request log.

Codex in ChatGPT mode insists on an https `chatgpt_base_url`, so the server speaks TLS with a throwaway CA
(`trustme`); Codex trusts it through `CODEX_CA_CERTIFICATE=<ca_path>`. Each connection's TLS handshake runs
in that connection's worker thread, so one stalled client cannot block the accept loop.
"""

from __future__ import annotations

import json
import socket
import ssl
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import trustme

from . import wire
from .accounts import AccountState
from .records import ConversationItem, RecordedRequest, RefreshRecord
from .tokens import TEN_YEARS, Credentials, fingerprint, issue_credentials

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]", "::1"})
DEFAULT_ANSWER = "PONG-{turn} [{account}]: {prompt}"
# The longest an answer waits for `release_answers`: a test that forgot to release fails on the recorded
# violation instead of hanging the server thread (and Codex) for good.
HOLD_TIMEOUT_S = 60.0


class _LoopbackTLSServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, backend: FakeChatGPTBackend, tls: ssl.SSLContext) -> None:
        self.backend = backend
        self.tls = tls
        self.open_connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def finish_request(self, request: socket.socket, client_address: object) -> None:  # type: ignore[override]
        try:
            conn = self.tls.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        with self.connections_lock:
            self.open_connections.add(conn)
        try:
            super().finish_request(conn, client_address)  # type: ignore[arg-type]
        finally:
            with self.connections_lock:
                self.open_connections.discard(conn)

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that hangs up mid-answer (Codex killed or quitting) is normal here, not worth a traceback."""
        error = sys.exc_info()[1]
        if not isinstance(error, (ConnectionError, ssl.SSLError, TimeoutError)):
            super().handle_error(request, client_address)  # type: ignore[arg-type]

    def drop_open_connections(self) -> None:
        with self.connections_lock:
            for conn in list(self.open_connections):
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


class FakeChatGPTBackend:
    """Start with `with FakeChatGPTBackend(ca_dir) as backend:` (or `start()`/`stop()`).

    Configure accounts with `set_account`, hand Codex credentials from `issue_credentials`, then assert on
    `requests()`, `turns()`, `refreshes()` and `violations()` (which must stay empty).
    """

    def __init__(self, ca_dir: Path, *, clock: Callable[[], float] = time.time,
                 answer_template: str = DEFAULT_ANSWER, chunk_delay_s: float = 0.01) -> None:
        self.ca_path = Path(ca_dir) / "ca.pem"
        self._clock = clock
        self._answer_template = answer_template
        self._chunk_delay_s = chunk_delay_s
        self._lock = threading.Lock()
        self._accounts: dict[str, AccountState] = {}
        self._requests: list[RecordedRequest] = []
        self._refreshes: list[RefreshRecord] = []
        self._violations: list[str] = []
        self._by_access_token: dict[str, Credentials] = {}
        self._by_refresh_token: dict[str, Credentials] = {}
        self._spent_refresh_tokens: set[str] = set()
        self._labels_issued: dict[str, int] = {}
        self._turns_answered = 0
        self._holds: dict[str, threading.Event] = {}
        self._server: _LoopbackTLSServer | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> FakeChatGPTBackend:
        ca = trustme.CA()
        self.ca_path.parent.mkdir(parents=True, exist_ok=True)
        ca.cert_pem.write_to_path(str(self.ca_path))
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1", "localhost").configure_cert(tls)
        self._server = _LoopbackTLSServer(self, tls)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-chatgpt-backend", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        for account_id in list(self._holds):
            self.release_answers(account_id)
        self._server.shutdown()
        self._server.drop_open_connections()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None

    def __enter__(self) -> FakeChatGPTBackend:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ---- addresses Codex is pointed at -----------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("fake backend is not started")
        return int(self._server.server_address[1])

    @property
    def origin(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def chatgpt_base_url(self) -> str:
        return f"{self.origin}/backend-api/"

    @property
    def openai_base_url(self) -> str:
        return f"{self.origin}/backend-api/codex"

    @property
    def refresh_token_url(self) -> str:
        return f"{self.origin}/oauth/token"

    # ---- scripting accounts ----------------------------------------------------------------------------

    def set_account(self, account_id: str, *, primary_used_percent: float | None = None,
                    secondary_used_percent: float | None = None, primary_resets_at: int | None = None,
                    secondary_resets_at: int | None = None, exhaust_after_turns: int | None = None,
                    next_turn_used_percent: float | None = None, used_percent_step: float | None = None,
                    plan_type: str | None = None) -> AccountState:
        """Create or change an account; arguments left as None keep their value. Returns the new state."""
        with self._lock:
            state = self._account_locked(account_id)
            primary, secondary = state.primary, state.secondary
            if primary_used_percent is not None:
                primary = replace(primary, used_percent=primary_used_percent)
            if primary_resets_at is not None:
                primary = replace(primary, resets_at=primary_resets_at)
            if secondary_used_percent is not None:
                secondary = replace(secondary, used_percent=secondary_used_percent)
            if secondary_resets_at is not None:
                secondary = replace(secondary, resets_at=secondary_resets_at)
            state = replace(state, primary=primary, secondary=secondary)
            if exhaust_after_turns is not None:
                state = replace(state, turns_until_exhausted=exhaust_after_turns)
            if next_turn_used_percent is not None:
                state = replace(state, next_turn_used_percent=next_turn_used_percent)
            if used_percent_step is not None:
                state = replace(state, used_percent_step=used_percent_step)
            if plan_type is not None:
                state = replace(state, plan_type=plan_type)
            self._accounts[account_id] = state
            return state

    def hold_answers(self, account_id: str) -> None:
        """From now on a turn answered on `account_id` is recorded and its stream opened, then its text waits
        for `release_answers`: a turn that stays in flight exactly as long as a test needs it to."""
        with self._lock:
            self._holds.setdefault(account_id, threading.Event())

    def release_answers(self, account_id: str) -> None:
        """Let the held answers on `account_id` (and every later one) stream."""
        with self._lock:
            hold = self._holds.pop(account_id, None)
        if hold is not None:
            hold.set()

    def account(self, account_id: str) -> AccountState:
        with self._lock:
            return self._account_locked(account_id)

    def issue_credentials(self, account_id: str, email: str, *, access_token_expired: bool = False) -> Credentials:
        """A token set the backend will accept and refresh once. An expired access token makes Codex refresh."""
        now = int(self._clock())
        with self._lock:
            plan_type = self._account_locked(account_id).plan_type
            expires_at = now - 3600 if access_token_expired else now + TEN_YEARS
            return self._issue_locked(account_id, email, plan_type, expires_at, now)

    def label_of(self, token: str) -> str | None:
        """Which issued credentials (e.g. ``acct-a#2``) an access or refresh token belongs to, if any."""
        with self._lock:
            credentials = self._by_access_token.get(token) or self._by_refresh_token.get(token)
            return credentials.label if credentials else None

    def is_spent(self, refresh_token: str) -> bool:
        with self._lock:
            return refresh_token in self._spent_refresh_tokens

    def now(self) -> float:
        return self._clock()

    # ---- what happened ---------------------------------------------------------------------------------

    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def turns(self, account_id: str | None = None) -> list[RecordedRequest]:
        """User turns (answered or refused with 429), oldest first; title requests are not turns."""
        return [r for r in self.requests() if r.kind == "turn" and account_id in (None, r.account_id)]

    def refreshes(self) -> list[RefreshRecord]:
        with self._lock:
            return list(self._refreshes)

    def violations(self) -> list[str]:
        with self._lock:
            return list(self._violations)

    # ---- used by the request handler (under the lock) ------------------------------------------------

    def _account_locked(self, account_id: str) -> AccountState:
        now = self._clock()
        state = self._accounts.get(account_id) or AccountState.fresh(now)
        state = state.at(now)
        self._accounts[account_id] = state
        return state

    def _issue_locked(self, account_id: str, email: str, plan_type: str, expires_at: int, now: int) -> Credentials:
        serial = self._labels_issued.get(account_id, 0) + 1
        self._labels_issued[account_id] = serial
        credentials = issue_credentials(account_id, email, plan_type, expires_at, now, f"{account_id}#{serial}")
        self._by_access_token[credentials.access_token] = credentials
        self._by_refresh_token[credentials.refresh_token] = credentials
        return credentials

    def _record(self, handler: _Handler, kind: str, status: int, conversation: tuple[ConversationItem, ...] = (),
                account_id: str | None = None) -> None:
        host = handler.headers.get("host", "")
        bearer = (handler.headers.get("authorization") or "").removeprefix("Bearer ").strip()
        with self._lock:
            credentials = self._by_access_token.get(bearer)
            if _host_name(host) not in LOOPBACK_HOSTS:
                self._violations.append(f"non-loopback Host header {host!r} on {handler.command} {handler.path}")
            self._requests.append(RecordedRequest(
                seq=len(self._requests) + 1, at=self._clock(), method=handler.command,
                path=urlsplit(handler.path).path, host=host, kind=kind, status=status,
                account_id=account_id or handler.headers.get("chatgpt-account-id"),
                credentials_label=credentials.label if credentials else None,
                session_id=handler.headers.get("session-id"), conversation=conversation))

    def _violation(self, message: str) -> None:
        with self._lock:
            self._violations.append(message)

    def _hold_of(self, account_id: str) -> threading.Event | None:
        with self._lock:
            return self._holds.get(account_id)

    def _take_turn(self, account_id: str) -> tuple[AccountState, int | None]:
        """Returns the state to report and the global turn number, or None when the turn gets a 429."""
        with self._lock:
            state = self._account_locked(account_id)
            if state.exhausted:
                return state, None
            self._accounts[account_id] = state.after_answered_turn()
            self._turns_answered += 1
            return self._accounts[account_id], self._turns_answered

    def _refresh(self, presented: str) -> tuple[int, dict[str, object], str | None]:
        now = int(self._clock())
        with self._lock:
            old = self._by_refresh_token.get(presented)
            if old is None:
                outcome, issued = "unknown", None
                self._violations.append(f"unknown refresh token presented (fingerprint {fingerprint(presented)})")
            elif presented in self._spent_refresh_tokens:
                outcome, issued = "reused", None
                self._violations.append(f"refresh token {old.label} presented again after it was spent")
            else:
                self._spent_refresh_tokens.add(presented)
                issued = self._issue_locked(old.account_id, old.email, old.plan_type, now + TEN_YEARS, now)
                outcome = "refreshed"
            self._refreshes.append(RefreshRecord(
                at=now, account_id=old.account_id if old else None, presented_fingerprint=fingerprint(presented),
                presented_label=old.label if old else None, issued_label=issued.label if issued else None,
                outcome=outcome))
        account_id = old.account_id if old else None
        if issued is None:
            return 401, {"error": {"code": "refresh_token_invalidated",
                                   "message": "Your refresh token has been revoked."}}, account_id
        return 200, {"id_token": issued.id_token, "access_token": issued.access_token,
                     "refresh_token": issued.refresh_token, "token_type": "Bearer",
                     "expires_in": TEN_YEARS}, account_id

    def _answer_text(self, turn: int, account_id: str, prompt: str) -> str:
        short = " ".join(prompt.split())[:48]
        return self._answer_template.format(turn=turn, account=account_id, prompt=short)


def _host_name(host_header: str) -> str:
    if host_header.startswith("["):
        return host_header.split("]")[0] + "]"
    return host_header.rsplit(":", 1)[0] if ":" in host_header else host_header


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 60
    server: _LoopbackTLSServer

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        """Quiet: the backend's record is the log."""

    @property
    def backend(self) -> FakeChatGPTBackend:
        return self.server.backend

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        path = urlsplit(self.path).path
        account_id = self.headers.get("chatgpt-account-id") or ""
        if path.endswith("/responses") and "websocket" in (self.headers.get("upgrade") or "").lower():
            # 426 makes Codex fall back to HTTPS + SSE at once (a 404 costs ~12 s of retries).
            self._reply_json("websocket", 426, {"error": {"message": "use HTTPS streaming"}})
        elif path.endswith("/codex/models"):
            self._reply_json("models", 200, {"models": []})
        elif path.endswith("/wham/accounts/check"):
            plan_type = self.backend.account(account_id).plan_type
            self._reply_json("accounts_check", 200, wire.accounts_check_payload(account_id, plan_type))
        elif path.endswith("/wham/usage"):
            now = self.backend.now()
            self._reply_json("usage", 200, wire.usage_payload(self.backend.account(account_id), now))
        elif path.endswith("/wham/settings/user"):
            self._reply_json("settings", 200, {})
        else:
            self._reply_unrouted()

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        path = urlsplit(self.path).path
        body = self._read_body()
        if path.endswith("/oauth/token"):
            self._token_refresh(body)
        elif path.endswith("/codex/responses"):
            if body is None:
                self.backend._violation(f"undecodable body on POST {path} (is request compression on?)")
                self._reply_json("turn", 400, {"error": {"message": "fake backend reads plain JSON only"}})
            else:
                self._responses(body)
        else:
            self._reply_unrouted()

    def do_PUT(self) -> None:  # noqa: N802 - stdlib naming
        self._read_body()
        self._reply_unrouted()

    do_DELETE = do_PUT
    do_PATCH = do_PUT

    def _read_body(self) -> dict[str, object] | None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return {}
        try:
            parsed = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError):
            form = parse_qs(raw.decode("latin-1"))
            return {key: values[-1] for key, values in form.items()} if form else None
        return parsed if isinstance(parsed, dict) else None

    def _token_refresh(self, body: dict[str, object] | None) -> None:
        presented = str((body or {}).get("refresh_token") or "")
        status, payload, account_id = self.backend._refresh(presented)
        self._reply_json("token_refresh", status, payload, account_id)

    def _responses(self, body: dict[str, object]) -> None:
        account_id = self.headers.get("chatgpt-account-id") or ""
        conversation = wire.conversation_of(body)
        if wire.is_title_request(body, self.headers.get("x-codex-turn-metadata")):
            # Never a user turn and never refused: a 429 here would be a limit Codex never shows the user.
            self.backend._record(self, "title", 200, conversation)
            self._stream_answer(json.dumps({"title": "Fake task title"}), headers={})
            return
        state, turn = self.backend._take_turn(account_id)
        if turn is None:
            self.backend._record(self, "turn", 429, conversation)
            self._send_json(429, wire.usage_limit_body(state), wire.rate_limit_headers(state, 100.0))
            return
        # Taken before the turn is recorded: a release that follows the record at once is not missed.
        hold = self.backend._hold_of(account_id)
        self.backend._record(self, "turn", 200, conversation)
        prompt = next((item.text for item in reversed(conversation) if item.role == "user"), "")
        self._stream_answer(self.backend._answer_text(turn, account_id, prompt), wire.rate_limit_headers(state),
                            hold, account_id)

    def _stream_answer(self, text: str, headers: dict[str, str], hold: threading.Event | None = None,
                       account_id: str = "") -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("connection", "close")
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.close_connection = True
        tag = uuid.uuid4().hex[:8]
        for event in wire.answer_events(f"resp_{tag}", f"msg_{tag}", text):
            if hold is not None and event["type"] == "response.output_text.delta":
                if not hold.wait(HOLD_TIMEOUT_S):
                    self.backend._violation(f"an answer held on {account_id} was not released within "
                                            f"{HOLD_TIMEOUT_S:g} s")
                hold = None
            self.wfile.write(wire.sse_event(event))
            self.wfile.flush()
            if event["type"] == "response.output_text.delta" and self.backend._chunk_delay_s:
                time.sleep(self.backend._chunk_delay_s)  # pacing the stream, not synchronisation

    def _reply_unrouted(self) -> None:
        path = urlsplit(self.path).path
        self._reply_json("unrouted", 404, {"error": {"message": f"fake backend: no route {self.command} {path}"}})

    def _reply_json(self, kind: str, status: int, payload: dict[str, object], account_id: str | None = None) -> None:
        self.backend._record(self, kind, status, account_id=account_id)
        self._send_json(status, payload, {})

    def _send_json(self, status: int, payload: dict[str, object], headers: dict[str, str]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
