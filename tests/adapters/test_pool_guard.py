"""The guarded pool: a shared pool's server that went away costs one attempt per backoff step, the
user hears of it once when it goes and once when it is back, and marks made meanwhile are written later."""

from __future__ import annotations

from supervisor.adapters.pool_guard import BACKOFF_FIRST_S, BACKOFF_MAX_S, GuardedPool
from supervisor.core import events as ev
from supervisor.errors import PoolError, PoolUnavailable


class FlakyPool:
    """A pool whose server is down while ``down`` is set; every call is recorded."""

    def __init__(self) -> None:
        self.down = False
        self.calls: list[str] = []
        self.cooldowns: list[tuple[str, float]] = []

    def _call(self, name: str) -> None:
        self.calls.append(name)
        if self.down:
            raise PoolUnavailable("the shared pool at redis://127.0.0.1:1/0 is unavailable: could not read the pool")

    def lease_candidate(self, purpose, exclude, now, model=None):
        self._call("lease")
        return ev.AccountLeased(at=now, account="a-1")

    def never_probed(self, limit, exclude, now):
        self._call("never_probed")
        return ["a-2"]

    def release(self, account, now):
        self._call("release")

    def cool_down(self, account, until, reason, now, family=None, workspace=False):
        self._call("cool_down")
        self.cooldowns.append((account, until))

    def record_quota(self, account, snapshot, now):
        self._call("record_quota")

    def codex_home(self, account):
        raise AssertionError("not used here")

    def heartbeat(self, now):
        self._call("heartbeat")
        return []

    def close(self, now):
        self._call("close")


def _guard():
    pool = FlakyPool()
    told: list[str] = []
    return pool, GuardedPool(pool, tell=told.append), told


def test_a_pool_that_went_away_is_asked_again_only_after_a_growing_backoff():
    pool, guard, told = _guard()
    pool.down = True
    assert guard.heartbeat(100.0) == []
    assert guard.away
    # Within the first backoff step nothing reaches the server.
    assert guard.heartbeat(100.0 + BACKOFF_FIRST_S / 2) == []
    assert guard.never_probed(3, (), 100.5) == []
    assert pool.calls == ["heartbeat"]
    # Each failed retry doubles the wait, up to its ceiling.
    waits, now = [], 100.0 + BACKOFF_FIRST_S
    for _ in range(8):
        guard.heartbeat(now)
        waits.append(guard._retry_at - now)
        now = guard._retry_at
    assert waits[:4] == [2.0, 4.0, 8.0, 16.0]
    assert max(waits) == BACKOFF_MAX_S
    assert len(told) == 1 and "unavailable" in told[0] and "keeps running" in told[0]


def test_a_lease_asked_for_while_away_is_an_exhausted_pool_that_names_the_retry():
    pool, guard, _ = _guard()
    pool.down = True
    answer = guard.lease_candidate("session", (), 10.0)
    assert isinstance(answer, ev.PoolExhausted)
    assert answer.soonest_reset_at == 10.0 + BACKOFF_FIRST_S
    waiting = guard.lease_candidate("session", (), 10.2)
    assert isinstance(waiting, ev.PoolExhausted) and pool.calls == ["lease"]


def test_marks_made_while_away_are_written_in_order_when_the_pool_answers_again():
    pool, guard, told = _guard()
    pool.down = True
    guard.cool_down("a-1", 500.0, "usage_limit", 10.0)
    guard.cool_down("a-2", 600.0, "usage_limit", 10.1)
    assert pool.cooldowns == []
    pool.down = False
    assert guard.heartbeat(10.0 + BACKOFF_FIRST_S) == []
    assert pool.cooldowns == [("a-1", 500.0), ("a-2", 600.0)]
    assert told[-1].startswith("the shared pool is reachable again")
    assert len(told) == 2 and not guard.away


def test_other_pool_errors_are_not_an_outage():
    pool, guard, told = _guard()

    def broken(now):
        raise PoolError("the pool file cannot be used")
    pool.heartbeat = broken
    assert guard.heartbeat(1.0) == []
    assert not guard.away and told == []
    answer = guard.never_probed(2, (), 1.0)
    assert answer == ["a-2"]
