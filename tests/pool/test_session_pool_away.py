"""SessionPool while the shared pool's server is away: a release that could not reach it is given back
(its login written back first) at the next heartbeat that does, and a respawn on a login this host
already holds still gets its home."""

from __future__ import annotations

from contextlib import contextmanager

import pytest

from supervisor.errors import PoolUnavailable
from supervisor.pool.store import PoolStore

from .conftest import add_account, session

NOW = 1_000_000.0


class OutageStore(PoolStore):
    """The pool file, with an outage switch standing for a Redis server that went away."""

    down = False

    @contextmanager
    def transaction(self):
        if self.down:
            raise PoolUnavailable("the shared pool at redis://127.0.0.1:1/0 is unavailable")
        with super().transaction() as pool:
            yield pool


def test_a_release_that_missed_the_pool_is_given_back_at_the_next_heartbeat(store, homes, procs) -> None:
    outage = OutageStore(store.path)
    account = add_account(store, homes, 1)
    pool = session(outage, homes, procs, 101)
    assert pool.lease_candidate("session", (), NOW).account == account
    outage.down = True
    with pytest.raises(PoolUnavailable):
        pool.release(account, NOW + 1)
    assert PoolStore(store.path).load().get(account).lease is not None
    outage.down = False
    assert pool.heartbeat(NOW + 5) == []  # given back, not reported lost
    assert PoolStore(store.path).load().get(account).lease is None
    assert pool.held == {}


def test_close_while_away_names_the_leases_left_and_keeps_them_for_a_retry(store, homes, procs) -> None:
    outage = OutageStore(store.path)
    account = add_account(store, homes, 1)
    pool = session(outage, homes, procs, 101)
    pool.lease_candidate("session", (), NOW)
    outage.down = True
    with pytest.raises(PoolUnavailable, match=f"leases of {account} were not given back"):
        pool.close(NOW + 1)
    outage.down = False
    pool.close(NOW + 2)
    assert PoolStore(store.path).load().get(account).lease is None


def test_a_respawn_while_away_gets_the_home_of_the_login_it_holds(store, homes, procs) -> None:
    outage = OutageStore(store.path)
    account = add_account(store, homes, 1)
    pool = session(outage, homes, procs, 101)
    pool.lease_candidate("session", (), NOW)
    outage.down = True
    home = pool.codex_home(account)
    assert (home / "auth.json").is_file()
