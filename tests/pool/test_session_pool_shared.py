"""SessionPool on a pool shared across machines: two hosts, one Redis (fakeredis), each host with its own
account homes and its own RedisVault under the same key."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import fakeredis
import pytest
import requests
from cryptography.fernet import Fernet
from requests.adapters import BaseAdapter

from supervisor.core.events import AccountLeased, LeaseLost, PoolExhausted
from supervisor.core.quota import QuotaSnapshot, QuotaWindow, Thresholds
from supervisor.errors import CredentialError
from supervisor.pool.auth import read_auth_file
from supervisor.pool.credentials import CredentialStore
from supervisor.pool.leases import ProcessIdentity, grant
from supervisor.pool.model import Lease
from supervisor.pool.redis_store import POOL_KEY, PoolSuperseded, credentials_key, generation_key
from supervisor.pool.redis_vault import RedisVault
from supervisor.pool.refresh import TokenRefresher
from supervisor.pool.session_pool import SessionPool

from .fakes import FAR_FUTURE, fake_jwt
from .redis_fakes import NOW, ExecSpy, Host, codex_refreshes, import_login, raw_values, shared_host, stored_login

KEY = Fernet.generate_key()
TTL = 30.0
NEWER = "2026-11-25T10:00:00.000000Z"
NEWEST = "2026-11-26T10:00:00.000000Z"
LATEST = "2026-11-27T10:00:00.000000Z"
TOKEN_URL = "http://127.0.0.1:9/oauth/token"


@pytest.fixture
def server() -> fakeredis.FakeServer:
    return fakeredis.FakeServer()


@pytest.fixture
def a(server, tmp_path: Path) -> Host:
    return shared_host(server, tmp_path, "host-a", KEY)


@pytest.fixture
def b(server, tmp_path: Path) -> Host:
    return shared_host(server, tmp_path, "host-b", KEY)


@pytest.fixture
def account(a: Host, tmp_path: Path) -> str:
    return import_login(a, tmp_path, 1)


def _lease(host: Host, account: str) -> Lease | None:
    return host.store.load().get(account).lease


def _taken_over(a: Host, b: Host, account: str):
    """A holds the account with a child whose refreshed token it wrote back, then stops heart-beating;
    B leases it after A's lease expired. Returns both session pools."""
    pool_a, pool_b = a.session_pool(TTL), b.session_pool(TTL)
    assert pool_a.lease_candidate("session", (), NOW) == AccountLeased(at=NOW, account=account)
    pool_a.codex_home(account)
    codex_refreshes(a.homes.auth_path(account), 1, "rt_a_written_back", NEWER)
    assert pool_a.heartbeat(NOW + 10) == []
    codex_refreshes(a.homes.auth_path(account), 1, "rt_a_after_expiry", NEWEST)  # A is paused from here on
    assert isinstance(pool_b.lease_candidate("session", (), NOW + 10 + TTL - 1), PoolExhausted)
    assert pool_b.lease_candidate("session", (), NOW + 10 + TTL) == AccountLeased(at=NOW + 10 + TTL, account=account)
    return pool_a, pool_b


def test_a_lease_taken_on_one_host_is_not_given_to_another(a, b, account, tmp_path) -> None:
    pool_a, pool_b = a.session_pool(), b.session_pool()
    assert pool_a.lease_candidate("session", (), NOW) == AccountLeased(at=NOW, account=account)
    exhausted = pool_b.lease_candidate("session", (), NOW + 1)
    assert isinstance(exhausted, PoolExhausted) and "in use by another codex-fsm session" in exhausted.reason
    second = import_login(a, tmp_path, 2)
    assert pool_b.lease_candidate("session", (), NOW + 2) == AccountLeased(at=NOW + 2, account=second)
    assert (_lease(a, account).host, _lease(a, second).host) == ("host-a", "host-b")


def test_generations_grow_across_hosts_from_the_shared_counter(a, b, account) -> None:
    pool_a, pool_b = a.session_pool(), b.session_pool()
    generations = []
    for pool, now in ((pool_a, NOW), (pool_b, NOW + 1), (pool_a, NOW + 2), (pool_b, NOW + 3)):
        pool.lease_candidate("session", (), now)
        generations.append(_lease(a, account).generation)
        pool.release(account, now)
    assert generations == [1, 2, 3, 4]
    assert a.client.get(generation_key(account)) == b"4"


def test_a_generation_is_never_handed_out_twice_even_from_a_stale_document(a, b, account) -> None:
    """A host that read an old document (its counter behind) still gets a generation nobody had."""
    pool_a = a.session_pool()
    pool_a.lease_candidate("session", (), NOW)
    stale = a.store.load().get(account)
    stale.generation = 0
    assert a.store.next_generation(stale) == 2
    record = b.store.load().get(account)
    record.generation = 7  # a pool migrated with its counters ahead of Redis's
    assert b.store.next_generation(record) == 8


def test_what_the_childs_codex_refreshed_is_written_back_at_the_heartbeat(a, account) -> None:
    pool_a = a.session_pool(TTL)
    pool_a.lease_candidate("session", (), NOW)
    home = pool_a.codex_home(account)
    path = home / "auth.json"
    assert (path.stat().st_mode & 0o777) == 0o600 and read_auth_file(path).refresh_token == "rt_fake_1"
    assert _lease(a, account).purpose == "child"
    codex_refreshes(path, 1, "rt_codex_1", NEWER)
    assert pool_a.heartbeat(NOW + 10) == []
    assert stored_login(a, account).refresh_token == "rt_codex_1"
    assert _lease(a, account).expires_at == NOW + 10 + TTL


def test_the_next_holder_gets_the_last_written_back_token_and_the_old_one_never_overwrites_it(a, b, account) -> None:
    pool_a, pool_b = _taken_over(a, b, account)
    home_b = pool_b.codex_home(account)
    assert read_auth_file(home_b / "auth.json").refresh_token == "rt_a_written_back"
    codex_refreshes(home_b / "auth.json", 1, "rt_b_1", LATEST)
    assert pool_b.heartbeat(NOW + 45) == []
    assert stored_login(b, account).refresh_token == "rt_b_1"

    before = raw_values(a.client)
    assert pool_a.heartbeat(NOW + 46) == [LeaseLost(at=NOW + 46, account=account)]
    assert stored_login(a, account).refresh_token == "rt_b_1"  # A's newer-looking copy was not staged
    lease = _lease(a, account)
    assert (lease.host, lease.expires_at) == ("host-b", NOW + 45 + TTL)
    assert raw_values(a.client) == before  # A wrote nothing at all
    assert not a.homes.auth_path(account).exists()  # A's working copy is gone ...
    assert read_auth_file(home_b / "auth.json").refresh_token == "rt_b_1"  # ... B's is untouched
    assert pool_a.held == {} and pool_b.held == {account: 2}


def test_marks_of_a_holder_superseded_unawares_are_dropped(a, b, account) -> None:
    pool_a, pool_b = _taken_over(a, b, account)
    mine = QuotaSnapshot((QuotaWindow(20.0, 300, NOW + 3600),), NOW + 41)
    pool_b.record_quota(account, mine, NOW + 41)
    stale = QuotaSnapshot((QuotaWindow(100.0, 300, NOW + 3600),), NOW + 42, limit_reached=True)
    # Before A has heard of it ...
    pool_a.record_quota(account, stale, NOW + 42)
    pool_a.cool_down(account, NOW + 900, "usage_limit", NOW + 42)
    pool_a.cool_down(account, NOW + 900, "workspace_stopped", NOW + 42, workspace=True)
    record = b.store.load().get(account)
    assert (record.quota, record.cooldown) == (mine, None)


def test_marks_of_a_holder_that_heard_it_lost_the_lease_are_dropped(a, b, account) -> None:
    """Regression: the heartbeat that reported LeaseLost also forgot the lost generation, so what the old
    holder's child reported afterwards (until it was rotated away) overwrote the new holder's record."""
    pool_a, pool_b = _taken_over(a, b, account)
    mine = QuotaSnapshot((QuotaWindow(20.0, 300, NOW + 3600),), NOW + 41)
    pool_b.record_quota(account, mine, NOW + 41)
    assert pool_a.heartbeat(NOW + 42) == [LeaseLost(at=NOW + 42, account=account)]
    stale = QuotaSnapshot((QuotaWindow(100.0, 300, NOW + 3600),), NOW + 43, limit_reached=True)
    pool_a.record_quota(account, stale, NOW + 43)
    pool_a.cool_down(account, NOW + 900, "usage_limit", NOW + 43)
    pool_a.cool_down(account, NOW + 900, "workspace_stopped", NOW + 43, workspace=True)
    record = b.store.load().get(account)
    assert (record.quota, record.cooldown) == (mine, None)


def test_marks_of_a_holder_whose_release_found_the_lease_taken_over_are_dropped(a, b, account) -> None:
    pool_a, pool_b = _taken_over(a, b, account)
    pool_a.release(account, NOW + 41)
    assert _lease(b, account).host == "host-b"
    pool_a.cool_down(account, NOW + 900, "usage_limit", NOW + 42)
    assert b.store.load().get(account).cooldown is None


def test_marks_count_again_once_the_account_is_leased_anew(a, b, account) -> None:
    pool_a, pool_b = _taken_over(a, b, account)
    assert pool_a.heartbeat(NOW + 41) == [LeaseLost(at=NOW + 41, account=account)]
    pool_b.release(account, NOW + 42)
    assert pool_a.lease_candidate("session", (), NOW + 43) == AccountLeased(at=NOW + 43, account=account)
    pool_a.cool_down(account, NOW + 900, "usage_limit", NOW + 44)
    assert b.store.load().get(account).cooldown.reason == "usage_limit"


def test_a_dead_holder_on_this_host_is_reclaimed_with_what_its_codex_refreshed(a, b, account) -> None:
    """Another codex-fsm of this machine died after its child's Codex refreshed the token and before the
    write-back: the next lease on this host stores that token before anyone uses the account."""
    dead_owner = ProcessIdentity(os.getpid(), "start-of-a-process-that-died", "host-a")
    dead = SessionPool(a.store, a.homes, lambda _: Thresholds(), owner=dead_owner, lease_ttl_s=3600,
                       alive=a.alive, vault=RedisVault(a.store, a.homes, a.fernet, "pool.key"))
    dead.lease_candidate("session", (), NOW)
    dead.codex_home(account)
    codex_refreshes(a.homes.auth_path(account), 1, "rt_only_on_host_a", NEWER)
    # Host B cannot see that the holder died: its lease counts until it expires.
    assert isinstance(b.session_pool().lease_candidate("session", (), NOW + 5), PoolExhausted)
    live = a.session_pool()
    assert live.lease_candidate("session", (), NOW + 5) == AccountLeased(at=NOW + 5, account=account)
    assert stored_login(a, account).refresh_token == "rt_only_on_host_a"
    assert not a.homes.auth_path(account).exists()  # the dead holder's copy, removed once Redis had it
    home = live.codex_home(account)
    assert read_auth_file(home / "auth.json").refresh_token == "rt_only_on_host_a"


def _process_on(host: Host, start: str, ttl: float = TTL) -> SessionPool:
    """Another codex-fsm session of ``host``'s machine: its own vault over the machine's account homes. Every
    holder counts as running (a paused one too: Ctrl-Z stops a session without ending it)."""
    return SessionPool(host.store, host.homes, lambda _: Thresholds(), lease_ttl_s=ttl,
                       owner=ProcessIdentity(os.getpid(), start, host.owner.host), alive=lambda lease: True,
                       vault=RedisVault(host.store, host.homes, host.fernet, "pool.key"))


def test_a_holder_superseded_by_another_session_of_its_machine_leaves_that_sessions_copy(a, account) -> None:
    """Regression: the lost lease's working copy was removed whoever used the home now, so a session paused past
    its lease (Ctrl-Z) deleted, on resuming, the copy a session of the same machine had checked out since,
    and with it the token that session's Codex had just rotated."""
    paused, other = _process_on(a, "paused-session"), _process_on(a, "other-session")
    paused.lease_candidate("session", (), NOW)
    paused.codex_home(account)
    assert other.lease_candidate("session", (), NOW + TTL) == AccountLeased(at=NOW + TTL, account=account)
    path = other.codex_home(account) / "auth.json"
    codex_refreshes(path, 1, "rt_other_session", NEWER)
    assert paused.heartbeat(NOW + TTL + 1) == [LeaseLost(at=NOW + TTL + 1, account=account)]
    paused.release(account, NOW + TTL + 2)
    paused.close(NOW + TTL + 2)
    assert read_auth_file(path).refresh_token == "rt_other_session"
    other.release(account, NOW + TTL + 3)
    assert stored_login(a, account).refresh_token == "rt_other_session"
    assert not path.exists()


def test_a_release_that_finds_the_lease_taken_over_on_its_machine_leaves_the_copy(a, account) -> None:
    paused, other = _process_on(a, "paused-session"), _process_on(a, "other-session")
    paused.lease_candidate("session", (), NOW)
    paused.codex_home(account)
    other.lease_candidate("session", (), NOW + TTL)
    path = other.codex_home(account) / "auth.json"
    codex_refreshes(path, 1, "rt_other_session", NEWER)
    paused.close(NOW + TTL + 1)  # its session ended before its heartbeat noticed
    assert read_auth_file(path).refresh_token == "rt_other_session"
    assert _lease(a, account).owner_start == "other-session"


def test_release_writes_back_and_clears_the_lease_in_one_write(a, account) -> None:
    spy = ExecSpy(a.client)
    pool_a = a.session_pool(TTL)
    pool_a.lease_candidate("session", (), NOW)
    pool_a.codex_home(account)
    codex_refreshes(a.homes.auth_path(account), 1, "rt_codex_1", NEWER)
    writes = len(spy.execs)
    pool_a.release(account, NOW + 5)
    assert len(spy.execs) == writes + 1
    assert {POOL_KEY, credentials_key(account)} <= spy.keys_written()
    assert _lease(a, account) is None and stored_login(a, account).refresh_token == "rt_codex_1"
    assert not a.homes.auth_path(account).exists()
    assert pool_a.held == {}


def test_close_writes_back_every_lease_and_clears_them_in_one_write(a, account, tmp_path) -> None:
    second = import_login(a, tmp_path, 2)
    spy = ExecSpy(a.client)
    pool_a = a.session_pool(TTL)
    pool_a.lease_candidate("session", (), NOW)
    pool_a.lease_candidate("successor", (), NOW)
    child = next(iter(pool_a.held))
    pool_a.codex_home(child)
    n = 1 if child == account else 2
    codex_refreshes(a.homes.auth_path(child), n, "rt_codex_1", NEWER)
    writes = len(spy.execs)
    pool_a.close(NOW + 5)
    assert len(spy.execs) == writes + 1
    assert {POOL_KEY, credentials_key(child)} <= spy.keys_written()
    assert _lease(a, account) is None and _lease(a, second) is None
    assert stored_login(a, child).refresh_token == "rt_codex_1"
    assert not a.homes.auth_path(child).exists()


def test_a_release_whose_write_was_superseded_keeps_the_working_copy(a, server, account) -> None:
    """The refreshed token is the only live one until Redis holds it: a failed write must not remove it."""
    spy = ExecSpy(a.client)
    pool_a = a.session_pool(TTL)
    pool_a.lease_candidate("session", (), NOW)
    pool_a.codex_home(account)
    codex_refreshes(a.homes.auth_path(account), 1, "rt_codex_1", NEWER)
    other = fakeredis.FakeRedis(server=server)
    spy.before_exec = lambda: other.set(POOL_KEY, other.get(POOL_KEY))
    with pytest.raises(PoolSuperseded):
        pool_a.release(account, NOW + 5)
    assert stored_login(a, account).refresh_token == "rt_fake_1"
    assert _lease(a, account) is not None
    assert read_auth_file(a.homes.auth_path(account)).refresh_token == "rt_codex_1"


class ScriptedTokenEndpoint(BaseAdapter):
    """Answers the token refresh with rotated fake tokens, after running ``meanwhile`` (what other hosts
    do while the request is in flight)."""

    def __init__(self, meanwhile=None) -> None:
        super().__init__()
        self.meanwhile = meanwhile
        self.requests: list[dict] = []

    def send(self, request, **kwargs):
        self.requests.append(json.loads(request.body))
        if self.meanwhile is not None:
            self.meanwhile()
        claims = {"sub": "user-fake-0001", "exp": FAR_FUTURE, "marker": "refreshed",
                  "https://api.openai.com/auth": {"chatgpt_account_id": "acct-fake-0001",
                                                  "chatgpt_user_id": "user-fake-0001"}}
        response = requests.Response()
        response.status_code = 200
        response._content = json.dumps({"id_token": fake_jwt(claims), "access_token": fake_jwt(claims),
                                        "refresh_token": "rt_rotated"}).encode()
        response.url = request.url
        return response

    def close(self) -> None:
        pass


def _credential_store(host: Host, endpoint: ScriptedTokenEndpoint) -> CredentialStore:
    http = requests.Session()
    http.mount("http://", endpoint)
    return CredentialStore(host.store, host.homes, TokenRefresher(TOKEN_URL, session=http), owner=host.owner,
                           clock=lambda: NOW, alive=host.alive, vault=host.vault)


def test_a_refresh_in_the_shared_pool_stores_the_rotated_login(b, account) -> None:
    endpoint = ScriptedTokenEndpoint()
    creds = _credential_store(b, endpoint).refresh_credentials(account)
    assert [request["refresh_token"] for request in endpoint.requests] == ["rt_fake_1"]
    stored = stored_login(b, account)
    assert stored.refresh_token == "rt_rotated" and creds.access_token == stored.access_token
    assert _lease(b, account) is None  # the temporary lease was given back
    assert not b.homes.auth_path(account).exists()  # a parked account's login stays in Redis only


def test_a_refresh_whose_lease_was_taken_over_meanwhile_is_not_saved(a, b, account) -> None:
    def another_host_takes_the_lease() -> None:
        with a.store.transaction() as pool:
            record = pool.get(account)
            grant(record, a.owner, "session", NOW, TTL, a.store.next_generation(record))
    before = raw_values(b.client)
    with pytest.raises(CredentialError, match="another session took the lease over meanwhile"):
        _credential_store(b, ScriptedTokenEndpoint(another_host_takes_the_lease)).refresh_credentials(account)
    assert stored_login(b, account).refresh_token == "rt_fake_1"
    assert b.client.get(credentials_key(account)) == before[credentials_key(account).encode()]
    lease = _lease(b, account)
    assert (lease.host, lease.generation) == ("host-a", 2)  # the new holder's lease is left alone


def test_a_probe_threads_refresh_waits_for_the_loops_open_transaction(a, account) -> None:
    """Regression: the store kept its open transaction per instance, not per thread, so a usage probe's
    worker saving a refreshed token while the loop's heartbeat held a transaction was refused as a
    "nested pool transaction", after the old refresh token had been spent."""
    in_flight, loop_in_transaction, probe_waits_for_lock = threading.Event(), threading.Event(), threading.Event()
    loop_thread = threading.get_ident()
    original_lock = a.client.lock

    def lock(*args, **kwargs):
        taken = original_lock(*args, **kwargs)
        if threading.get_ident() != loop_thread and loop_in_transaction.is_set():
            acquire = taken.acquire

            def signalling_acquire(*a, **k):
                probe_waits_for_lock.set()
                return acquire(*a, **k)
            taken.acquire = signalling_acquire
        return taken
    a.client.lock = lock

    def the_loop_opens_a_transaction_meanwhile() -> None:
        in_flight.set()
        assert loop_in_transaction.wait(5), "the loop never opened its transaction"

    outcome: list[object] = []

    def probe() -> None:
        try:
            store = _credential_store(a, ScriptedTokenEndpoint(the_loop_opens_a_transaction_meanwhile))
            outcome.append(store.refresh_credentials(account))
        except BaseException as exc:  # noqa: BLE001 - reported by the test thread below
            outcome.append(exc)
        finally:
            probe_waits_for_lock.set()

    worker = threading.Thread(target=probe, name="usage-probe-test", daemon=True)
    worker.start()
    assert in_flight.wait(5), "the probe never refreshed"
    with a.store.transaction():
        loop_in_transaction.set()
        assert probe_waits_for_lock.wait(5), "the probe never tried to save"
    worker.join(5)
    assert not worker.is_alive()
    assert [type(result).__name__ for result in outcome] == ["Credentials"], outcome
    assert stored_login(a, account).refresh_token == "rt_rotated"
