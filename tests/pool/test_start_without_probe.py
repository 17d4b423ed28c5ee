"""A start on a big pool: the known account is leased and its fresh stored snapshot answers the probe.

Regression: with 50 accounts every supervised start leased a different, never-probed account (unknown
quota ranked above known headroom), so each start made a network probe and spread use over the pool.
"""

from __future__ import annotations

from supervisor.adapters.stored_quota import StoredFirstQuota
from supervisor.chartfile import load_default_chart
from supervisor.core.quota import QuotaSnapshot, QuotaWindow
from supervisor.core.session import Session
from supervisor.pool.store import PoolStore

from ..fakes.quota import FakeUsageAdapter, ManualClock
from .conftest import add_account, session
from .test_exhausted_start import NOW, Driver


def test_a_start_with_a_fresh_stored_snapshot_sends_no_request(store, homes, procs) -> None:
    known = add_account(store, homes, 1, quota=QuotaSnapshot(
        (QuotaWindow(60.0, 300, NOW + 3600), QuotaWindow(30.0, 10080, NOW + 400000)), NOW - 120))
    for n in range(2, 51):
        add_account(store, homes, n)
    clock = ManualClock(NOW)
    adapter = FakeUsageAdapter(lambda request: (500, {}, b""))
    built: list[object] = []

    def make_probe():
        built.append(adapter)
        raise AssertionError("a start with a fresh stored snapshot must not build the HTTP probe")

    def stored(account: str):
        record = PoolStore(store.path).load().get(account)
        return record.quota if record is not None else None

    quota = StoredFirstQuota(stored, make_probe, 300.0, clock)
    driver = Driver(Session(load_default_chart()), session(store, homes, procs, pid=101), quota, clock)
    try:
        driver.run(limit_s=0)
    finally:
        quota.close()
    assert driver.spawned == [known]
    assert adapter.requests == [] and built == []
