"""SessionPool.never_probed: which accounts a background probe may learn about (read-only, bounded)."""

from __future__ import annotations

from supervisor.core.quota import QuotaSnapshot, QuotaWindow
from supervisor.pool.store import PoolStore

from .conftest import add_account, session

NOW = 1_000_000.0


def test_only_snapshotless_eligible_accounts_up_to_the_limit_and_nothing_is_leased(store, homes, procs) -> None:
    known = add_account(store, homes, 1, quota=QuotaSnapshot((QuotaWindow(10.0, 300, NOW + 600),), NOW))
    strangers = [add_account(store, homes, n) for n in (2, 3, 4)]
    pool = session(store, homes, procs, pid=101)
    leased = pool.lease_candidate("session", (), NOW)
    assert leased.account == known  # known headroom before strangers
    pool.cool_down(strangers[0], NOW + 600, "probe unavailable", NOW)
    chosen = pool.never_probed(5, (), NOW)
    assert sorted(chosen) == sorted(strangers[1:])
    assert len(pool.never_probed(1, (), NOW)) == 1
    assert pool.never_probed(0, (), NOW) == []
    assert pool.never_probed(5, tuple(strangers), NOW) == []
    reloaded = PoolStore(store.path).load()
    assert all(reloaded.get(a).lease is None for a in strangers)
