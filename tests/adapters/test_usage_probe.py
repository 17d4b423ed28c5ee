"""The usage probe over a fake transport: outcomes, refresh-once, single-flight, cache, wake-up fd."""

from __future__ import annotations

import json
import select
import threading

import pytest
import requests

from supervisor.adapters.usage_probe import TtlLruCache, UsageClient, UsageProbe
from supervisor.core.events import ProbeFailed, QuotaProbed
from supervisor.core.quota import Thresholds, WindowKind, blocks_at
from supervisor.errors import CredentialError

from ..fakes import quota as fakes
from ..fakes.quota import BASE_URL, CredentialBook, FakeUsageAdapter, ManualClock, session_with

ACCOUNT = "a-alpha00001"
WAIT_S = 10.0


def client_for(handler, book: CredentialBook | None = None, clock: ManualClock | None = None):
    adapter = FakeUsageAdapter(handler)
    book = book or CredentialBook(ACCOUNT)
    clock = clock or ManualClock()
    client = UsageClient(session_with(adapter), BASE_URL, book.get, book.refresh, ca_bundle="/etc/ca.pem",
                         connect_timeout_s=2.5, read_timeout_s=7.0, clock=clock)
    return client, adapter, book, clock


def ok(body: bytes = None):
    return lambda request: (200, {"Content-Type": "application/json"}, body or fakes.usage_body(42, 7))


def test_a_probe_sends_bearer_and_account_id_with_timeouts_and_ca_bundle() -> None:
    client, adapter, book, clock = client_for(ok())
    event = client.probe(ACCOUNT)
    assert isinstance(event, QuotaProbed) and event.account == ACCOUNT and event.at == clock.now
    assert event.snapshot.window(WindowKind.FIVE_HOUR).used_percent == 42
    [request] = adapter.requests
    assert request.method == "GET" and request.url == BASE_URL + "/wham/usage"
    assert request.headers["Authorization"] == f"Bearer {book.tokens[ACCOUNT].access_token}"
    assert request.headers["chatgpt-account-id"] == f"acct-{ACCOUNT}"
    assert adapter.timeouts == [(2.5, 7.0)] and adapter.verify == ["/etc/ca.pem"]


def test_401_refreshes_once_and_retries_with_the_new_token() -> None:
    replies = iter([(401, {}, b'{"error": "expired"}'), (200, {}, fakes.usage_body(10, 5))])
    client, adapter, book, _ = client_for(lambda request: next(replies))
    old_token = book.tokens[ACCOUNT].access_token
    event = client.probe(ACCOUNT)
    assert isinstance(event, QuotaProbed)
    assert book.refreshed == [ACCOUNT]
    first, second = adapter.requests
    assert first.headers["Authorization"] == f"Bearer {old_token}"
    assert second.headers["Authorization"] == f"Bearer {book.tokens[ACCOUNT].access_token}" != first.headers[
        "Authorization"]


def test_401_after_refresh_is_an_auth_failure_without_a_second_refresh() -> None:
    client, adapter, book, _ = client_for(lambda request: (401, {}, b""))
    event = client.probe(ACCOUNT)
    assert isinstance(event, ProbeFailed) and event.kind == "auth"
    assert book.refreshed == [ACCOUNT] and len(adapter.requests) == 2


def test_a_failing_refresh_is_an_auth_failure() -> None:
    book = CredentialBook(ACCOUNT)
    book.refresh_error = CredentialError("token refresh for account a-x was refused: HTTP 400")
    client, adapter, _, _ = client_for(lambda request: (401, {}, b""), book)
    event = client.probe(ACCOUNT)
    assert isinstance(event, ProbeFailed) and event.kind == "auth" and len(adapter.requests) == 1


def test_an_account_without_credentials_is_not_probed_and_not_healthy() -> None:
    client, adapter, _, _ = client_for(ok(), CredentialBook())
    event = client.probe(ACCOUNT)
    assert isinstance(event, ProbeFailed) and event.kind == "auth" and adapter.requests == []


def test_429_usage_limit_is_exhausted_until_its_reset() -> None:
    clock = ManualClock()
    body = json.dumps({"error": {"type": "usage_limit_reached", "resets_at": int(clock.now + 1800)}}).encode()
    client, _, _, _ = client_for(lambda request: (429, {"x-codex-primary-used-percent": "100",
                                                        "x-codex-primary-window-minutes": "300"}, body), clock=clock)
    event = client.probe(ACCOUNT)
    assert isinstance(event, QuotaProbed) and event.snapshot.limit_reached
    assert blocks_at(event.snapshot, Thresholds(), clock.now)
    assert event.snapshot.soonest_reset_after(clock.now) == clock.now + 1800
    assert not blocks_at(event.snapshot, Thresholds(), clock.now + 1801)


def test_429_usage_limit_without_a_reset_stays_exhausted() -> None:
    client, _, _, clock = client_for(lambda request: (429, {}, b'{"error":{"type":"usage_limit_reached"}}'))
    event = client.probe(ACCOUNT)
    assert isinstance(event, QuotaProbed) and blocks_at(event.snapshot, Thresholds(), clock.now + 10**6)


def test_a_plain_429_is_unavailable_with_its_retry_after() -> None:
    client, _, _, _ = client_for(lambda request: (429, {"Retry-After": "42"}, b'{"error":{"type":"rate_limited"}}'))
    event = client.probe(ACCOUNT)
    assert isinstance(event, ProbeFailed) and event.kind == "unavailable" and event.retry_after_s == 42.0


@pytest.mark.parametrize("reply, kind", [
    ((500, {}, b"oops"), "unavailable"),
    ((503, {"Retry-After": "99999"}, b""), "unavailable"),
    ((302, {"Location": "https://login.example.invalid/"}, b""), "unavailable"),
    ((200, {"Content-Type": "text/html"}, b"<html><body>Just a moment...</body></html>"), "unavailable"),
    ((200, {}, b"   <!DOCTYPE html><html></html>"), "unavailable"),
    ((200, {"Content-Type": "application/json"}, b'{"rate_limit": '), "malformed"),
    ((200, {}, b'{"plan_type": "plus"}'), "malformed"),
    ((200, {}, b'{"rate_limit": {"primary_window": {"used_percent": "lots"}}}'), "malformed"),
    ((200, {}, b""), "unavailable"),
    ((403, {}, b""), "auth"),
])
def test_failures_are_events_of_a_defined_kind(reply, kind) -> None:
    client, _, _, _ = client_for(lambda request: reply)
    event = client.probe(ACCOUNT)
    assert isinstance(event, ProbeFailed) and event.kind == kind and event.account == ACCOUNT
    if reply[1].get("Retry-After") == "99999":
        assert event.retry_after_s == 3600.0


@pytest.mark.parametrize("error", [requests.ConnectTimeout("x"), requests.ReadTimeout("x"),
                                   requests.ConnectionError("refused"), requests.exceptions.SSLError("bad cert")])
def test_timeouts_and_connection_errors_are_unavailable(error) -> None:
    def raise_error(request):
        raise error

    client, _, _, _ = client_for(raise_error)
    event = client.probe(ACCOUNT)
    assert isinstance(event, ProbeFailed) and event.kind == "unavailable"


def test_no_token_reaches_an_event_or_a_repr() -> None:
    book = CredentialBook(ACCOUNT)
    outcomes = [client_for(handler, book)[0].probe(ACCOUNT) for handler in
                (ok(), lambda r: (500, {}, b""), lambda r: (401, {}, b""))]
    client, _, _, _ = client_for(ok(), book)
    token = book.tokens[ACCOUNT].access_token
    for text in [*map(repr, outcomes), repr(client)]:
        assert token not in text and "example.invalid" not in text


# -- the cache -------------------------------------------------------------------------------------


def test_cache_entries_expire_after_their_ttl() -> None:
    cache: TtlLruCache[str, int] = TtlLruCache(ttl_s=300, capacity=4)
    cache.put("a", 1, now=1000)
    assert cache.get("a", 1299.9) == 1
    assert cache.get("a", 1300) is None and len(cache) == 0


def test_cache_evicts_the_least_recently_used() -> None:
    cache: TtlLruCache[str, int] = TtlLruCache(ttl_s=300, capacity=2)
    cache.put("a", 1, 0)
    cache.put("b", 2, 0)
    assert cache.get("a", 1) == 1  # "a" is now the most recently used
    cache.put("c", 3, 2)
    assert cache.get("b", 3) is None and cache.get("a", 3) == 1 and cache.get("c", 3) == 3


# -- the port --------------------------------------------------------------------------------------


def wait_for_events(probe: UsageProbe, count: int) -> list:
    events: list = []
    while len(events) < count:
        readable, _, _ = select.select([probe.fileno()], [], [], WAIT_S)
        assert readable, f"no probe result within {WAIT_S} s"
        events += probe.poll()
    return events


@pytest.fixture
def gate():
    """A handler that blocks until released, to hold a probe in flight."""
    release = threading.Event()
    entered = threading.Event()

    def handler(request):
        entered.set()
        assert release.wait(WAIT_S)
        return 200, {}, fakes.usage_body(30, 5)

    return handler, entered, release


def make_probe(handler, clock: ManualClock, book: CredentialBook | None = None, **kwargs):
    adapter = FakeUsageAdapter(handler)
    book = book or CredentialBook(ACCOUNT, "a-bravo00002", "a-charlie0003")
    probe = UsageProbe(book.get, book.refresh, base_url=BASE_URL, clock=clock, session=session_with(adapter),
                       **kwargs)
    return probe, adapter


def test_one_probe_at_a_time_per_account(gate) -> None:
    handler, entered, release = gate
    clock = ManualClock()
    probe, adapter = make_probe(handler, clock)
    try:
        probe.request_probe(ACCOUNT)
        assert entered.wait(WAIT_S)
        probe.request_probe(ACCOUNT)
        probe.request_probe(ACCOUNT)
        release.set()
        [event] = wait_for_events(probe, 1)
        assert isinstance(event, QuotaProbed) and len(adapter.requests) == 1
    finally:
        probe.close()


def test_answers_are_reused_within_the_ttl_and_refetched_after(gate) -> None:
    clock = ManualClock()
    probe, adapter = make_probe(ok(), clock, cache_ttl_s=300)
    try:
        probe.request_probe(ACCOUNT)
        [first] = wait_for_events(probe, 1)
        clock.advance(299)
        probe.request_probe(ACCOUNT)
        [cached] = wait_for_events(probe, 1)
        assert cached.snapshot == first.snapshot and cached.at == clock.now and len(adapter.requests) == 1
        clock.advance(1)
        probe.request_probe(ACCOUNT)
        wait_for_events(probe, 1)
        assert len(adapter.requests) == 2
    finally:
        probe.close()


def test_failures_are_not_cached() -> None:
    clock = ManualClock()
    probe, adapter = make_probe(lambda request: (502, {}, b""), clock)
    try:
        for _ in range(2):
            probe.request_probe(ACCOUNT)
            [event] = wait_for_events(probe, 1)
            assert isinstance(event, ProbeFailed)
        assert len(adapter.requests) == 2
    finally:
        probe.close()


def test_the_cache_is_bounded() -> None:
    clock = ManualClock()
    accounts = ["a-1", "a-2", "a-3"]
    probe, adapter = make_probe(ok(), clock, book=CredentialBook(*accounts), cache_size=2)
    try:
        for account in accounts:
            probe.request_probe(account)
            wait_for_events(probe, 1)
        probe.request_probe("a-1")  # evicted by a-3
        wait_for_events(probe, 1)
        assert len(adapter.requests) == 4
    finally:
        probe.close()


def test_different_accounts_probe_concurrently(gate) -> None:
    handler, entered, release = gate
    probe, adapter = make_probe(handler, ManualClock(), workers=2)
    try:
        probe.request_probe(ACCOUNT)
        probe.request_probe("a-bravo00002")
        release.set()
        events = wait_for_events(probe, 2)
        assert sorted(e.account for e in events) == [ACCOUNT, "a-bravo00002"]
    finally:
        probe.close()


def test_poll_is_empty_when_nothing_finished_and_close_is_idempotent() -> None:
    probe, _ = make_probe(ok(), ManualClock())
    assert probe.poll() == []
    readable, _, _ = select.select([probe.fileno()], [], [], 0)
    assert readable == []
    probe.close()
    probe.close()


def test_the_probe_section_of_the_config_configures_the_probe(tmp_path) -> None:
    from supervisor.config import load_config

    bundle = tmp_path / "ca.pem"
    bundle.write_text("not checked here")
    path = tmp_path / "config.toml"
    path.write_text(f'[probe]\nchatgpt_base_url = "{BASE_URL}"\nca_bundle = "{bundle}"\nread_timeout_s = 3\n')
    adapter = FakeUsageAdapter(ok())
    book = CredentialBook(ACCOUNT)
    probe = UsageProbe(book.get, book.refresh, clock=ManualClock(), session=session_with(adapter),
                       **load_config(env={}, path=path).probe.usage_probe_kwargs())
    try:
        probe.request_probe(ACCOUNT)
        [event] = wait_for_events(probe, 1)
    finally:
        probe.close()
    assert isinstance(event, QuotaProbed)
    assert adapter.requests[0].url == BASE_URL + "/wham/usage"
    assert adapter.timeouts == [(5.0, 3.0)] and adapter.verify == [str(bundle)]


def test_a_cached_usage_limit_is_not_reused_after_its_reset() -> None:
    """Regression: a cached "blocked until T" answer must not stand in for a probe once T has passed."""
    clock = ManualClock()
    body = json.dumps({"error": {"type": "usage_limit_reached", "resets_at": int(clock.now + 60)}}).encode()
    probe, adapter = make_probe(lambda request: (429, {}, body), clock, cache_ttl_s=300)
    try:
        probe.request_probe(ACCOUNT)
        wait_for_events(probe, 1)
        clock.advance(30)
        probe.request_probe(ACCOUNT)
        wait_for_events(probe, 1)
        assert len(adapter.requests) == 1  # still blocked: the cached answer holds
        clock.advance(31)
        probe.request_probe(ACCOUNT)
        wait_for_events(probe, 1)
        assert len(adapter.requests) == 2
    finally:
        probe.close()
