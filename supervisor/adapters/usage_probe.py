"""Usage probes of parked accounts: ``GET {chatgpt_base_url}/wham/usage``, never a model request.

This is the endpoint Codex's own ``/status`` reads. A probe costs no quota, unlike a "quota ping"
model request, which spends the very quota it measures.
Only candidate accounts are probed; the running account's figures come from its rollout.

Outcomes, as core events:
- 200 with a usage payload -> QuotaProbed (windows classified by their length, not their slot);
- 429 usage limit -> QuotaProbed with ``limit_reached`` and the reset time (``error.resets_at``, else
  ``error.resets_in_seconds``, else Retry-After): exhausted, not unavailable;
- 401 -> the injected refresh is called once and the request retried; still refused -> ProbeFailed "auth";
- 5xx, other 429s, timeouts, redirects, HTML pages -> ProbeFailed "unavailable" (Retry-After honoured);
- a JSON body of the wrong shape -> ProbeFailed "malformed".

One request at a time per account (single-flight); answers are cached per account for ``cache_ttl_s`` in
an LRU bounded by ``cache_size``, so prewarming probes a candidate at most 3600 / ttl times an hour.
Tokens go into request headers only: never into an event, an error message or a repr.
"""

from __future__ import annotations

import json
import os
import re
import queue
import threading
import time
from collections import OrderedDict
from dataclasses import replace
from typing import Any, Callable, Generic, Hashable, Mapping, Protocol, TypeVar

import requests

from ..core.events import Event, ProbeFailed, QuotaProbed
from ..core.quota import LimitFamily, QuotaSnapshot, QuotaWindow, epoch_seconds, finite_number, reset_named_by
from ..errors import CodexFsmError

USAGE_PATH = "/wham/usage"
_MAX_BODY_BYTES = 1 << 20
_RETRY_AFTER_BOUNDS_S = (1.0, 3600.0)
_USER_AGENT = "codex-fsm (usage probe)"


class Credentials(Protocol):
    access_token: str
    chatgpt_account_id: str


GetCredentials = Callable[[str], "Credentials | None"]
RefreshCredentials = Callable[[str], None]
Clock = Callable[[], float]


class MalformedUsage(ValueError):
    """The usage payload does not have the documented shape (the message names the field)."""


# -- parsing (pure; fuzzed by the tests) ----------------------------------------------------------


# The body's shape (the fields read; others are ignored):
#   {"plan_type": "pro",
#    "rate_limit": {"allowed": true, "limit_reached": false,
#                   "primary_window": {"used_percent": 12, "limit_window_seconds": 18000,
#                                      "reset_after_seconds": 8581, "reset_at": 1776111121},
#                   "secondary_window": {... 604800 ...} | null},
#    "additional_rate_limits": [{"limit_name": "GPT-5.3-Codex-Spark", "metered_feature": "codex_bengalfox",
#                                "rate_limit": {same shape as rate_limit} | null}] | null,
#    "credits": {"has_credits": true, "unlimited": false, "balance": "9.99"} | null,
#    "rate_limit_reached_type": {"type": "workspace_member_usage_limit_reached"} | null}
# ``rate_limit`` is the main family (limit id ``codex``); each additional entry is the family its
# ``metered_feature`` names. A weekly-only plan has one window (604800 s) and no 5-hour one.
_FEATURE_ID = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,63}\Z")
_MAX_NAME_CHARS = 100


def parse_usage_payload(payload: Any, now: float) -> QuotaSnapshot:
    """The snapshot in a /wham/usage body. ``rate_limit: null`` means no limits are known.

    ``allowed`` is the server's verdict on ordinary use and is kept as given: it wins over the
    percentages (``quota.blocked_until``); ``limit_reached: true`` or ``allowed: false`` refuse use.
    """
    if not isinstance(payload, dict):
        raise MalformedUsage("body is not a JSON object")
    if "rate_limit" not in payload:
        raise MalformedUsage("rate_limit is missing")
    reached_type = _reached_type(payload.get("rate_limit_reached_type"))
    families = tuple(_additional_families(payload.get("additional_rate_limits"), now))
    rate_limit = payload["rate_limit"]
    if rate_limit is None:
        return QuotaSnapshot(observed_at=now, limit_reached=reached_type is not None, reached_type=reached_type,
                             families=families)
    if not isinstance(rate_limit, dict):
        raise MalformedUsage("rate_limit is not an object")
    windows, limit_reached, allowed = _rate_limit_details(rate_limit, "rate_limit", now)
    snapshot = _snapshot(windows, limit_reached or reached_type is not None, None, now)
    return replace(snapshot, allowed=allowed, reached_type=reached_type, families=families)


def _rate_limit_details(rate_limit: dict, where: str, now: float) -> tuple[list[QuotaWindow], bool, bool | None]:
    windows = [_usage_window(rate_limit[slot], f"{where}.{slot}", now)
               for slot in ("primary_window", "secondary_window") if rate_limit.get(slot) is not None]
    allowed = rate_limit.get("allowed")
    allowed = allowed if isinstance(allowed, bool) else None
    return windows, rate_limit.get("limit_reached") is True or allowed is False, allowed


def _reached_type(raw: Any) -> str | None:
    kind = raw.get("type") if isinstance(raw, dict) else raw
    return kind if isinstance(kind, str) and _FEATURE_ID.match(kind) and kind != "unknown" else None


def _additional_families(raw: Any, now: float) -> list[LimitFamily]:
    """The other families; an entry that names no plausible limit id is left out, not fatal."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise MalformedUsage("additional_rate_limits is not a list")
    families: dict[str, LimitFamily] = {}
    for index, entry in enumerate(raw):
        if not isinstance(entry, dict):
            raise MalformedUsage(f"additional_rate_limits[{index}] is not an object")
        limit_id = entry.get("metered_feature")
        if not isinstance(limit_id, str) or not _FEATURE_ID.match(limit_id) or limit_id == "codex":
            continue
        name = entry.get("limit_name")
        name = name if isinstance(name, str) and 0 < len(name) <= _MAX_NAME_CHARS else None
        details = entry.get("rate_limit")
        if details is None:
            families.setdefault(limit_id, LimitFamily(limit_id=limit_id, limit_name=name))
            continue
        if not isinstance(details, dict):
            raise MalformedUsage(f"additional_rate_limits[{index}].rate_limit is not an object")
        windows, limit_reached, allowed = _rate_limit_details(details, f"additional_rate_limits[{index}]", now)
        windows = list(_snapshot(windows, limit_reached, None, now).windows)
        families.setdefault(limit_id, LimitFamily(limit_id=limit_id, limit_name=name, windows=tuple(windows),
                                                  limit_reached=limit_reached, allowed=allowed))
    return [families[key] for key in sorted(families)]


def _usage_window(raw: Any, where: str, now: float) -> QuotaWindow:
    if not isinstance(raw, dict):
        raise MalformedUsage(f"{where} is not an object")
    used = finite_number(raw.get("used_percent"))
    if used is None:
        raise MalformedUsage(f"{where}.used_percent is not a finite number")
    seconds = finite_number(raw.get("limit_window_seconds"))
    minutes = round(seconds / 60) if seconds is not None and 0 < seconds < 1e11 else 0
    resets_at = epoch_seconds(raw.get("reset_at"))
    if resets_at is None:
        after = finite_number(raw.get("reset_after_seconds"))
        resets_at = now + after if after is not None and 0 < after < 1e10 else None
    return QuotaWindow(used_percent=used, window_minutes=minutes, resets_at=resets_at)


def snapshot_from_headers(headers: Mapping[str, str], now: float) -> list[QuotaWindow]:
    """Windows from ``x-codex-{primary,secondary}-*`` headers; unparsable ones are left out."""
    windows = []
    for slot in ("primary", "secondary"):
        used = _header_number(headers.get(f"x-codex-{slot}-used-percent"))
        if used is None:
            continue
        minutes = _header_number(headers.get(f"x-codex-{slot}-window-minutes"))
        resets_at = epoch_seconds(_header_number(headers.get(f"x-codex-{slot}-reset-at")))
        if resets_at is None:
            after = _header_number(headers.get(f"x-codex-{slot}-reset-after-seconds"))
            resets_at = now + after if after is not None and 0 < after < 1e10 else None
        windows.append(QuotaWindow(used_percent=used,
                                   window_minutes=int(minutes) if minutes is not None and 0 < minutes < 1e9 else 0,
                                   resets_at=resets_at))
    return windows


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After in seconds, bounded; an HTTP date or garbage gives None."""
    number = _header_number(value)
    if number is None:
        return None
    low, high = _RETRY_AFTER_BOUNDS_S
    return min(high, max(low, number))


def exhausted_snapshot(windows: list[QuotaWindow], resets_at: float | None, now: float) -> QuotaSnapshot:
    """A usage-limit answer: exhausted until ``resets_at`` (or the windows' own resets)."""
    return _snapshot(windows, True, resets_at, now)


def _snapshot(windows: list[QuotaWindow], limit_reached: bool, resets_at: float | None,
              now: float) -> QuotaSnapshot:
    if limit_reached:
        if resets_at is not None and resets_at > now:
            # The reset the server named blocks use until then; full windows without a reset of their
            # own end with it (otherwise they would read as exhausted forever).
            windows = [replace(w, resets_at=resets_at) if w.resets_at is None and w.used_percent >= 100.0 else w
                       for w in windows]
            windows.append(QuotaWindow(used_percent=100.0, window_minutes=0, resets_at=resets_at))
        if not any(w.resets_at is not None and w.resets_at > now for w in windows):
            # No known reset: an empty exhausted snapshot makes the core use its unknown-reset cooldown.
            windows = []
    return QuotaSnapshot(windows=tuple(windows), observed_at=now, limit_reached=limit_reached)


def _header_number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return finite_number(float(value.strip()))
    except ValueError:
        return None


# -- the cache ------------------------------------------------------------------------------------

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TtlLruCache(Generic[K, V]):
    """Entries expire ``ttl_s`` after they were stored; beyond ``capacity`` the least recently used goes."""

    def __init__(self, ttl_s: float, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._ttl_s = ttl_s
        self._capacity = capacity
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: K, now: float) -> V | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        stored_at, value = entry
        if not (stored_at <= now < stored_at + self._ttl_s):
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return value

    def put(self, key: K, value: V, now: float) -> None:
        self._entries[key] = (now, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._capacity:
            self._entries.popitem(last=False)


# -- one probe over HTTP --------------------------------------------------------------------------


class UsageClient:
    """One probe of one account, synchronously: always an event, never an exception."""

    def __init__(self, session: requests.Session, base_url: str, get_credentials: GetCredentials,
                 refresh_credentials: RefreshCredentials, *, ca_bundle: str | None = None,
                 connect_timeout_s: float = 5.0, read_timeout_s: float = 10.0, clock: Clock = time.time) -> None:
        self._session = session
        self._url = base_url.rstrip("/") + USAGE_PATH
        self._get_credentials = get_credentials
        self._refresh_credentials = refresh_credentials
        self._verify: str | bool = ca_bundle or True
        self._timeouts = (connect_timeout_s, read_timeout_s)
        self._clock = clock

    def __repr__(self) -> str:
        return f"UsageClient(url={self._url!r})"

    def probe(self, account: str) -> Event:
        response = self._request(account)
        if isinstance(response, ProbeFailed):
            return response
        if response[0] == 401:
            try:
                self._refresh_credentials(account)
            except CodexFsmError:  # the pool's refresh failed: this account cannot be probed now
                return self._failed(account, "auth")
            response = self._request(account)
            if isinstance(response, ProbeFailed):
                return response
        return self._interpret(account, *response)

    def _request(self, account: str) -> tuple[int, Mapping[str, str], bytes] | ProbeFailed:
        try:
            credentials = self._get_credentials(account)
        except CodexFsmError:  # a missing or unreadable credential home
            return self._failed(account, "auth")
        if credentials is None or not credentials.access_token or not credentials.chatgpt_account_id:
            return self._failed(account, "auth")
        headers = {"Authorization": f"Bearer {credentials.access_token}",
                   "chatgpt-account-id": credentials.chatgpt_account_id,
                   "Accept": "application/json", "User-Agent": _USER_AGENT}
        try:
            with self._session.get(self._url, headers=headers, timeout=self._timeouts, verify=self._verify,
                                   allow_redirects=False, stream=True) as response:
                body = _read_capped(response)
                return response.status_code, response.headers, body
        except requests.RequestException:
            return self._failed(account, "unavailable")

    def _interpret(self, account: str, status: int, headers: Mapping[str, str], body: bytes) -> Event:
        now = self._clock()
        if status in (401, 403):
            return self._failed(account, "auth")
        if status == 429:
            return self._too_many(account, headers, body, now)
        if status != 200 or not body:
            return self._failed(account, "unavailable", parse_retry_after(headers.get("Retry-After")))
        payload = _json_or_none(body, headers)
        if payload is None:
            return self._failed(account, "unavailable" if _looks_like_html(body, headers) else "malformed")
        try:
            return QuotaProbed(at=now, account=account, snapshot=parse_usage_payload(payload, now))
        except MalformedUsage:
            return self._failed(account, "malformed")

    def _too_many(self, account: str, headers: Mapping[str, str], body: bytes, now: float) -> Event:
        payload = _json_or_none(body, headers)
        error = payload.get("error") if isinstance(payload, dict) else None
        usage_limit = (isinstance(error, dict) and error.get("type") == "usage_limit_reached") \
            or bool(headers.get("x-codex-rate-limit-reached-type"))
        if not usage_limit:
            return self._failed(account, "unavailable", parse_retry_after(headers.get("Retry-After")))
        resets_at = reset_named_by(error, now)
        if resets_at is None:
            retry_after = parse_retry_after(headers.get("Retry-After"))
            resets_at = now + retry_after if retry_after is not None else None
        snapshot = exhausted_snapshot(snapshot_from_headers(headers, now), resets_at, now)
        return QuotaProbed(at=now, account=account, snapshot=snapshot)

    def _failed(self, account: str, kind: str, retry_after_s: float | None = None) -> ProbeFailed:
        return ProbeFailed(at=self._clock(), account=account, kind=kind, retry_after_s=retry_after_s)


def _read_capped(response: requests.Response) -> bytes:
    body = bytearray()
    for chunk in response.iter_content(65536):
        body += chunk
        if len(body) > _MAX_BODY_BYTES:
            return b""  # far larger than any usage payload: not one
    return bytes(body)


def _json_or_none(body: bytes, headers: Mapping[str, str]) -> Any:
    if _looks_like_html(body, headers):
        return None
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return None


def _looks_like_html(body: bytes, headers: Mapping[str, str]) -> bool:
    return "html" in headers.get("Content-Type", "").lower() or body.lstrip()[:1] == b"<"


# -- the QuotaPort: worker threads, single-flight, cache, wake-up pipe ----------------------------


class UsageProbe:
    """``supervisor.ports.QuotaPort`` over the usage endpoint.

    ``request_probe`` never blocks: a fresh cached answer is queued at once, a probe already in
    flight for the account is not duplicated, anything else goes to a worker thread. ``fileno`` becomes
    readable when ``poll`` has events.
    """

    def __init__(self, get_credentials: GetCredentials, refresh_credentials: RefreshCredentials, *,
                 base_url: str, ca_bundle: str | None = None, connect_timeout_s: float = 5.0,
                 read_timeout_s: float = 10.0, cache_ttl_s: float = 300.0, cache_size: int = 64,
                 workers: int = 2, clock: Clock = time.time, session: requests.Session | None = None) -> None:
        self._clock = clock
        self._session = session if session is not None else requests.Session()
        self._client = UsageClient(self._session, base_url, get_credentials, refresh_credentials,
                                   ca_bundle=ca_bundle, connect_timeout_s=connect_timeout_s,
                                   read_timeout_s=read_timeout_s, clock=clock)
        self._cache: TtlLruCache[str, QuotaSnapshot] = TtlLruCache(cache_ttl_s, cache_size)
        self._lock = threading.Lock()
        self._in_flight: set[str] = set()
        self._results: list[Event] = []
        self._closed = False
        self._requests: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._wake_read, self._wake_write = os.pipe()
        for fd in (self._wake_read, self._wake_write):
            os.set_blocking(fd, False)
        self._workers = [threading.Thread(target=self._work, name=f"usage-probe-{i}", daemon=True)
                         for i in range(max(1, workers))]
        for worker in self._workers:
            worker.start()

    def __repr__(self) -> str:
        return f"UsageProbe(in_flight={len(self._in_flight)}, cached={len(self._cache)})"

    def request_probe(self, account: str) -> None:
        with self._lock:
            if self._closed or account in self._in_flight:
                return
            now = self._clock()
            cached = self._cache.get(account, now)
            if cached is not None and not cached.reset_since_observed(now):
                self._deliver(QuotaProbed(at=now, account=account, snapshot=cached))
                return
            self._in_flight.add(account)
        self._requests.put(account)

    def poll(self) -> list[Event]:
        try:
            while os.read(self._wake_read, 4096):
                pass
        except (BlockingIOError, OSError):
            pass
        with self._lock:
            results, self._results = self._results, []
        return results

    def fileno(self) -> int:
        return self._wake_read

    def close(self) -> None:
        """Stop the workers; a probe still waiting on the network is abandoned (threads are daemons)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        for _ in self._workers:
            self._requests.put(None)
        self._session.close()
        os.close(self._wake_write)
        os.close(self._wake_read)

    def _work(self) -> None:
        while True:
            account = self._requests.get()
            if account is None:
                return
            try:
                event = self._client.probe(account)
            except Exception:  # never let one odd response kill a worker
                event = ProbeFailed(at=self._clock(), account=account, kind="unavailable")
            with self._lock:
                self._in_flight.discard(account)
                if self._closed:
                    return
                if isinstance(event, QuotaProbed):
                    self._cache.put(account, event.snapshot, event.at)
                self._deliver(event)

    def _deliver(self, event: Event) -> None:
        """Queue ``event`` and wake the loop; the caller holds the lock."""
        self._results.append(event)
        try:
            os.write(self._wake_write, b"!")
        except BlockingIOError:
            pass  # the pipe is full, so it is already readable
