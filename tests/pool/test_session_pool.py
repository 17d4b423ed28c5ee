"""SessionPool, the PoolPort: selection, leases, stale reclaim, marks, heartbeat."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from supervisor.core.events import AccountLeased, LeaseLost, PoolExhausted
from supervisor.core.quota import QuotaSnapshot, QuotaWindow, Thresholds
from supervisor.pool.leases import ProcessIdentity, current_process, owner_alive, process_start
from supervisor.pool.model import MAX_TIMESTAMP, Lease
from supervisor.pool.session_pool import SessionPool
from supervisor.pool.store import PoolStore

from .conftest import add_account, session
from .fakes import auth_bytes

NOW = 1_000_000.0


def _lease(store: PoolStore, account: str) -> Lease | None:
    return PoolStore(store.path).load().get(account).lease


def test_leases_the_best_account_and_records_the_lease(store, homes, procs) -> None:
    low = add_account(store, homes, 1, quota=QuotaSnapshot((QuotaWindow(90.0, 300, NOW + 600),), NOW))
    high = add_account(store, homes, 2, quota=QuotaSnapshot((QuotaWindow(10.0, 300, NOW + 600),), NOW))
    pool = session(store, homes, procs, pid=101)
    event = pool.lease_candidate("session", (), NOW)
    assert event == AccountLeased(at=NOW, account=high)
    lease = _lease(store, high)
    assert (lease.owner_pid, lease.owner_start, lease.host, lease.expires_at) == (101, "100", "testhost", NOW + 30)
    assert (lease.generation, lease.purpose) == (1, "session")
    assert PoolStore(store.path).load().get(high).last_used == NOW
    assert pool.held == {high: 1}
    assert _lease(store, low) is None


def test_never_picks_an_account_leased_to_a_live_process(store, homes, procs) -> None:
    first = add_account(store, homes, 1)
    second = add_account(store, homes, 2)
    a, b = session(store, homes, procs, 101), session(store, homes, procs, 102)
    got_a = a.lease_candidate("session", (), NOW).account
    got_b = b.lease_candidate("session", (), NOW).account
    assert {got_a, got_b} == {first, second}
    exhausted = session(store, homes, procs, 103).lease_candidate("session", (), NOW)
    assert isinstance(exhausted, PoolExhausted)
    assert exhausted.soonest_reset_at is None
    assert exhausted.reason == ("every account is in use by another codex-fsm session (pid 101, 102); "
                                "one account serves one session at a time")


def test_a_shared_pool_names_the_machine_of_a_holder_on_another_one(store, homes, procs) -> None:
    for n in (1, 2, 3):
        add_account(store, homes, n)
    session(store, homes, procs, 101).lease_candidate("session", (), NOW)
    for pid, host in ((201, "host-a"), (301, "host-b")):
        procs.spawn(pid)
        remote = SessionPool(store, homes, lambda account: Thresholds(), owner=ProcessIdentity(pid, "100", host),
                             alive=procs.check)
        assert isinstance(remote.lease_candidate("session", (), NOW), AccountLeased)
    exhausted = session(store, homes, procs, 102).lease_candidate("session", (), NOW)
    # A pid of this machine alone, as before; one of another machine with the name it has in the leases.
    assert exhausted.reason == ("every account is in use by another codex-fsm session (pid 101 and pid 201 on "
                                "host-a and pid 301 on host-b); one account serves one session at a time")


def test_exclude_and_own_leases_are_skipped(store, homes, procs) -> None:
    first = add_account(store, homes, 1)
    second = add_account(store, homes, 2)
    pool = session(store, homes, procs, 101)
    assert pool.lease_candidate("session", (first,), NOW).account == second
    assert pool.lease_candidate("successor", (), NOW).account == first
    assert isinstance(pool.lease_candidate("successor", (), NOW), PoolExhausted)


def test_account_without_credentials_is_never_leased(store, homes, procs) -> None:
    broken = add_account(store, homes, 1)
    (homes.auth_path(broken)).unlink()
    assert isinstance(session(store, homes, procs, 101).lease_candidate("session", (), NOW), PoolExhausted)


def test_empty_and_disabled_pools_say_why(store, homes, procs) -> None:
    pool = session(store, homes, procs, 101)
    assert "no accounts" in pool.lease_candidate("session", (), NOW).reason
    add_account(store, homes, 1, enabled=False)
    assert "disabled" in pool.lease_candidate("session", (), NOW).reason


def test_expired_lease_of_a_live_owner_is_reclaimed_with_a_new_generation(store, homes, procs) -> None:
    account = add_account(store, homes, 1)
    stuck = session(store, homes, procs, 101, ttl=30)
    stuck.lease_candidate("session", (), NOW)
    fresh = session(store, homes, procs, 102)
    assert isinstance(fresh.lease_candidate("session", (), NOW + 29), PoolExhausted)
    assert fresh.lease_candidate("session", (), NOW + 30) == AccountLeased(at=NOW + 30, account=account)
    assert _lease(store, account).generation == 2
    assert stuck.heartbeat(NOW + 31) == [LeaseLost(at=NOW + 31, account=account)]
    assert _lease(store, account).owner_pid == 102  # the superseded holder did not renew it back
    assert stuck.held == {}


def test_crashed_holder_is_reclaimed_at_once_not_after_the_ttl(store, homes, procs) -> None:
    """Regression: a dead owner clears immediately, long before its expiry."""
    account = add_account(store, homes, 1)
    crashed = session(store, homes, procs, 101, ttl=3600)
    crashed.lease_candidate("session", (), NOW)
    procs.kill(crashed._owner)
    assert session(store, homes, procs, 102).lease_candidate("session", (), NOW + 1).account == account


def test_reused_pid_with_another_start_time_is_not_the_owner(store, homes, procs) -> None:
    account = add_account(store, homes, 1)
    original = session(store, homes, procs, 101, ttl=3600)
    original.lease_candidate("session", (), NOW)
    procs.kill(original._owner)
    procs.spawn(101, start="999")  # same pid, a different process
    assert session(store, homes, procs, 102).lease_candidate("session", (), NOW + 1).account == account


def test_dead_holder_reclaim_keeps_the_newest_credentials(store, homes, procs) -> None:
    account = add_account(store, homes, 1)
    crashed = session(store, homes, procs, 101)
    crashed.lease_candidate("session", (), NOW)
    # Codex was killed between writing its rotated tokens to a temp file and renaming it.
    (homes.home(account) / ".auth-k1ll3d").write_bytes(
        auth_bytes(account="acct-fake-0001", user="user-fake-0001", refresh="rt_rotated",
                   last_refresh="2026-12-01T00:00:00.000000Z"))
    procs.kill(crashed._owner)
    assert session(store, homes, procs, 102).lease_candidate("session", (), NOW + 1).account == account
    assert b"rt_rotated" in homes.auth_path(account).read_bytes()


def test_stale_view_read_earlier_is_never_acted_on(store, homes, procs) -> None:
    """Regression (a TOCTOU race): stale detection and reclaim happen in one locked read-modify-write,
    so a lease renewed after someone looked at an old copy of the pool is not broken."""
    account = add_account(store, homes, 1)
    holder = session(store, homes, procs, 101, ttl=30)
    holder.lease_candidate("session", (), NOW)
    earlier_view = PoolStore(store.path).load()
    assert earlier_view.get(account).lease.expires_at <= NOW + 30  # looks stale at NOW + 30 ...
    assert holder.heartbeat(NOW + 29) == []  # ... but the holder renews before anyone acts
    assert isinstance(session(store, homes, procs, 102).lease_candidate("session", (), NOW + 30), PoolExhausted)
    assert _lease(store, account).owner_pid == 101


def test_heartbeat_renews_and_release_gives_back(store, homes, procs) -> None:
    account = add_account(store, homes, 1)
    pool = session(store, homes, procs, 101, ttl=30)
    pool.lease_candidate("session", (), NOW)
    assert pool.heartbeat(NOW + 20) == []
    assert _lease(store, account).expires_at == NOW + 50
    pool.release(account, NOW + 21)
    assert _lease(store, account) is None and pool.held == {}
    pool.release(account, NOW + 22)  # not held any more: a no-op


def test_release_does_not_touch_a_lease_that_passed_to_another_holder(store, homes, procs) -> None:
    account = add_account(store, homes, 1)
    old = session(store, homes, procs, 101, ttl=30)
    old.lease_candidate("session", (), NOW)
    session(store, homes, procs, 102).lease_candidate("session", (), NOW + 31)
    old.release(account, NOW + 32)
    old.close(NOW + 32)
    assert _lease(store, account).owner_pid == 102


def test_close_releases_every_lease(store, homes, procs) -> None:
    first, second = add_account(store, homes, 1), add_account(store, homes, 2)
    pool = session(store, homes, procs, 101)
    pool.lease_candidate("session", (), NOW)
    pool.lease_candidate("successor", (), NOW)
    pool.close(NOW + 1)
    assert _lease(store, first) is None and _lease(store, second) is None


def test_cooldown_is_stored_with_reason_and_time_and_excludes_the_account(store, homes, procs) -> None:
    benched, other = add_account(store, homes, 1), add_account(store, homes, 2)
    pool = session(store, homes, procs, 101)
    pool.cool_down(benched, NOW + 900, "usage_limit", NOW)
    cooldown = PoolStore(store.path).load().get(benched).cooldown
    assert (cooldown.until, cooldown.reason, cooldown.set_at) == (NOW + 900, "usage_limit", NOW)
    assert pool.lease_candidate("session", (other,), NOW + 10) == PoolExhausted(
        at=NOW + 10, soonest_reset_at=NOW + 900,
        reason="every account is leased, cooling down, or below its quota floor")
    assert pool.lease_candidate("session", (other,), NOW + 900).account == benched


def test_marks_survive_a_failed_selection_and_fresh_instances(store, homes, procs) -> None:
    """Regression: marks made before a selection attempt are never lost."""
    first, second = add_account(store, homes, 1), add_account(store, homes, 2)
    exhausted = QuotaSnapshot((QuotaWindow(100.0, 300, NOW + 3600),), NOW, limit_reached=True)
    session(store, homes, procs, 101).record_quota(first, exhausted, NOW)
    session(store, homes, procs, 102).cool_down(second, NOW + 60, "probe_failed", NOW)
    result = session(store, homes, procs, 103).lease_candidate("session", (), NOW + 1)
    assert result.soonest_reset_at == NOW + 60
    reloaded = PoolStore(store.path).load()
    assert reloaded.get(first).quota == exhausted
    assert reloaded.get(second).cooldown.reason == "probe_failed"
    assert session(store, homes, procs, 104).lease_candidate("session", (), NOW + 61).account == second


def test_marks_on_a_removed_account_are_dropped(store, homes, procs) -> None:
    pool = session(store, homes, procs, 101)
    pool.cool_down("a-00000000ff", NOW + 60, "usage_limit", NOW)
    pool.record_quota("a-00000000ff", QuotaSnapshot(), NOW)
    assert PoolStore(store.path).load().accounts == []


def test_codex_home_syncs_the_overlay_and_marks_the_lease_as_running_a_child(store, homes, procs) -> None:
    account = add_account(store, homes, 1)
    (homes.real_home / "config.toml").write_text("x")
    pool = session(store, homes, procs, 101)
    pool.lease_candidate("successor", (), NOW)
    assert _lease(store, account).purpose == "successor"
    home = pool.codex_home(account)
    assert home == homes.home(account) and (home / "config.toml").is_symlink()
    assert _lease(store, account).purpose == "child"


def test_real_process_identity_detects_death_and_pid_reuse() -> None:
    me = current_process()
    assert me.start == process_start(os.getpid())
    lease = Lease(me.pid, me.start, me.host, 0.0, 1, "session")
    assert owner_alive(lease, me.host)
    assert not owner_alive(Lease(me.pid, "not-my-start", me.host, 0.0, 1, "session"), me.host)
    assert owner_alive(Lease(me.pid, "x", "another-host", 0.0, 1, "session"), me.host)
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    start = process_start(child.pid)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert start is not None and not owner_alive(Lease(child.pid, start, me.host, 0.0, 1, "session"), me.host)


@pytest.mark.parametrize("purpose", ["session", "successor"])
def test_leased_event_and_generation_grow_per_lease(store, homes, procs, purpose) -> None:
    account = add_account(store, homes, 1)
    pool = session(store, homes, procs, 101)
    for expected in (1, 2, 3):
        assert pool.lease_candidate(purpose, (), NOW).account == account
        assert pool.held[account] == expected
        pool.release(account, NOW)


def test_two_sessions_run_on_two_accounts_sharing_one_session_store(store, homes, procs) -> None:
    """Issue 3 (a)-(c): two terminals get different accounts and homes, both see the same sessions/, and
    neither home holds the other's credentials."""
    add_account(store, homes, 1)
    add_account(store, homes, 2)
    first, second = session(store, homes, procs, 101), session(store, homes, procs, 102)
    home_a = first.codex_home(first.lease_candidate("session", (), NOW).account)
    home_b = second.codex_home(second.lease_candidate("session", (), NOW).account)
    assert home_a != home_b
    assert (home_a / "sessions").resolve() == (home_b / "sessions").resolve() == homes.real_home / "sessions"
    assert (home_a / "auth.json").read_bytes() != (home_b / "auth.json").read_bytes()
    assert not (homes.real_home / "auth.json").exists()


@pytest.mark.parametrize("until", [float("inf"), float("nan"), 1e300])
def test_an_absurd_cooldown_is_stored_as_the_latest_storable_time(store, homes, procs, until) -> None:
    """Regression: a huge reset time was written and then broke every later read of the pool."""
    account = add_account(store, homes, 1)
    pool = session(store, homes, procs, 100)
    pool.cool_down(account, until, "usage_limit", 10.0)
    assert store.load().get(account).cooldown.until == MAX_TIMESTAMP
