"""A start with every account exhausted: the core, the real SessionPool and the stored-first quota port
driven together on an injected clock (the usage endpoint is a fake transport, no network).

Regression: snapshots with ``limit_reached`` kept every account "exhausted" while any window (a healthy
weekly one included) had a future reset, so after the 5-hour reset nothing was eligible, no probe went
out, the wait kept naming a reset already past, and the session gave up with exit 1.
"""

from __future__ import annotations

import select

from supervisor.adapters.stored_quota import StoredFirstQuota
from supervisor.adapters.usage_probe import UsageProbe
from supervisor.chartfile import load_default_chart
from supervisor.core import commands as cmd
from supervisor.core import events as ev
from supervisor.core.quota import QuotaSnapshot, QuotaWindow
from supervisor.core.session import Session
from supervisor.pool.credentials import CredentialStore
from supervisor.pool.store import PoolStore

from ..fakes.quota import BASE_URL, FakeUsageAdapter, ManualClock, session_with, usage_body
from .conftest import add_account, session

NOW = 1795561614.0
RESET = NOW + 150.0


def blocked(observed: float) -> QuotaSnapshot:
    """What the usage endpoint said before the start: allowed false, 5 h full, the weekly window 20 % used."""
    return QuotaSnapshot(windows=(QuotaWindow(100.0, 300, RESET), QuotaWindow(20.0, 10080, NOW + 400000)),
                         observed_at=observed, limit_reached=True)


class Driver:
    """The loop's job, synchronously: feed events to the core, carry out its commands."""

    def __init__(self, core: Session, pool, quota: StoredFirstQuota, clock: ManualClock) -> None:
        self.core, self.pool, self.quota, self.clock = core, pool, quota, clock
        self.queue: list[ev.Event] = []
        self.notices: list[tuple[float, cmd.Notify]] = []
        self.spawned: list[str] = []
        self.exit: int | None = None

    def run(self, limit_s: float) -> None:
        self.queue.append(ev.SessionStarted(at=self.clock.now))
        while not self.spawned and self.exit is None:
            while self.queue:
                self.handle(self.queue.pop(0))
            if self.spawned or self.exit is not None:
                return
            deadline = self.core.next_deadline()
            assert deadline is not None and deadline - NOW <= limit_s, f"no progress (state {self.core.state})"
            self.clock.now = max(self.clock.now, deadline)
            self.queue.append(ev.Tick(at=self.clock.now))

    def handle(self, event: ev.Event) -> None:
        record = self.core.handle(event)
        for command in record.commands:
            now = self.clock.now
            if isinstance(command, cmd.LeaseCandidate):
                self.queue.append(self.pool.lease_candidate(command.purpose, command.exclude, now))
            elif isinstance(command, cmd.ProbeQuota):
                self.quota.request_probe(command.account)
                self.queue.extend(self.answers())
            elif isinstance(command, cmd.RecordQuota):
                self.pool.record_quota(command.account, command.snapshot, now)
            elif isinstance(command, cmd.CoolDown):
                self.pool.cool_down(command.account, command.until, command.reason, now)
            elif isinstance(command, cmd.ReleaseAccount):
                self.pool.release(command.account, now)
            elif isinstance(command, cmd.Notify):
                self.notices.append((now, command))
            elif isinstance(command, cmd.SpawnChild):
                self.spawned.append(command.account)
            elif isinstance(command, cmd.Exit):
                self.exit = command.status

    def answers(self) -> list[ev.Event]:
        for _ in range(500):
            events = self.quota.poll()
            if events:
                return events
            select.select([self.quota.fileno()], [], [], 0.01)
        raise AssertionError("the probe never answered")


def test_every_account_exhausted_at_start_waits_for_the_reset_reprobes_and_starts_codex(store, homes, procs) -> None:
    accounts = [add_account(store, homes, n, quota=blocked(NOW - 100)) for n in (1, 2)]
    clock = ManualClock(NOW)
    adapter = FakeUsageAdapter(lambda request: (200, {}, usage_body(5, 20, now=clock.now)))
    credentials = CredentialStore(store, homes)

    def make_probe() -> UsageProbe:
        return UsageProbe(credentials.read_credentials, credentials.refresh_credentials, base_url=BASE_URL,
                          clock=clock, session=session_with(adapter))

    def stored(account: str):
        record = PoolStore(store.path).load().get(account)
        return record.quota if record is not None else None

    quota = StoredFirstQuota(stored, make_probe, 300.0, clock)
    driver = Driver(Session(load_default_chart()), session(store, homes, procs, pid=101), quota, clock)
    try:
        driver.run(limit_s=3600)
    finally:
        quota.close()
    assert driver.exit is None and driver.spawned and driver.spawned[0] in accounts
    assert RESET <= clock.now < RESET + 1
    assert len(adapter.requests) == 1  # the stored "blocked" answer was not trusted after its reset
    waits = [(at, n) for at, n in driver.notices if n.kind == "pool_wait"]
    assert waits and all(n.param("reset_at") >= at for at, n in waits), "a wait named a time already past"
    assert waits[0][1].param("reset_at") == RESET
