"""StoredFirstQuota: a start whose chosen account has a fresh stored snapshot sends no request at all."""

from __future__ import annotations

import select

from supervisor.adapters.stored_quota import StoredFirstQuota
from supervisor.adapters.usage_probe import UsageProbe
from supervisor.core.events import QuotaProbed
from supervisor.core.quota import QuotaSnapshot, QuotaWindow, Thresholds
from supervisor.core.ranking import CandidateView, rank_candidates

from ..fakes.quota import BASE_URL, CredentialBook, FakeUsageAdapter, ManualClock, session_with, usage_body

KNOWN = "a-known000001"


def healthy(at: float) -> QuotaSnapshot:
    return QuotaSnapshot(windows=(QuotaWindow(30.0, 300, at + 7200), QuotaWindow(10.0, 10080, at + 400000)),
                         observed_at=at)


class Rig:
    """A StoredFirstQuota over a store dict and a real UsageProbe on a fake transport (no network)."""

    def __init__(self, clock: ManualClock, stored: dict[str, QuotaSnapshot], fresh_for_s: float = 300.0) -> None:
        self.adapter = FakeUsageAdapter(lambda request: (200, {}, usage_body(now=clock.now)))
        self.probes_built = 0
        book = CredentialBook(*stored, "a-stranger0001")

        def make_probe() -> UsageProbe:
            self.probes_built += 1
            return UsageProbe(book.get, book.refresh, base_url=BASE_URL, clock=clock,
                              session=session_with(self.adapter))

        self.quota = StoredFirstQuota(stored.get, make_probe, fresh_for_s, clock)

    def answer(self, account: str) -> QuotaProbed:
        self.quota.request_probe(account)
        for _ in range(2000):
            events = self.quota.poll()
            if events:
                [event] = events
                assert isinstance(event, QuotaProbed)
                return event
            select.select([self.quota.fileno()], [], [], 0.01)
        raise AssertionError("no answer")


def test_a_start_on_a_pool_of_fifty_leases_the_known_account_and_sends_zero_requests() -> None:
    """Regression: unknown accounts ranked above known headroom, so every start probed a stranger."""
    clock = ManualClock()
    stored = {KNOWN: healthy(clock.now - 60)}
    views = [CandidateView(KNOWN, snapshot=stored[KNOWN])] + [CandidateView(f"a-stranger{i:04d}") for i in range(49)]
    chosen = rank_candidates(views, clock.now, lambda account: Thresholds())[0]
    assert chosen == KNOWN
    rig = Rig(clock, stored)
    try:
        event = rig.answer(chosen)
        assert event.snapshot == stored[KNOWN] and event.at == clock.now
        assert rig.adapter.requests == [] and rig.probes_built == 0
    finally:
        rig.quota.close()


def test_an_old_stored_snapshot_is_probed() -> None:
    clock = ManualClock()
    rig = Rig(clock, {KNOWN: healthy(clock.now - 301)})
    try:
        rig.answer(KNOWN)
        assert len(rig.adapter.requests) == 1
    finally:
        rig.quota.close()


def test_a_stored_usage_limit_whose_reset_has_passed_is_probed_again() -> None:
    """Regression: "blocked until T" read from the store after T launched Codex on a guess, unprobed."""
    clock = ManualClock()
    windows = (QuotaWindow(100.0, 300, clock.now + 60), QuotaWindow(20.0, 10080, clock.now + 4e5))
    blocked = QuotaSnapshot(windows=windows, observed_at=clock.now, limit_reached=True)
    rig = Rig(clock, {KNOWN: blocked})
    try:
        clock.advance(61)
        event = rig.answer(KNOWN)
        assert len(rig.adapter.requests) == 1 and not event.snapshot.limit_reached
    finally:
        rig.quota.close()
