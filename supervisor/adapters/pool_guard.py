"""The pool as the run loop may use it: a pool that cannot be read or locked now becomes an event or
lost bookkeeping, never an exception that takes the user's Codex with it.

``GuardedPool`` wraps any ``PoolPort``; ``PoolHeartbeat`` is the event source that renews its leases.
"""

from __future__ import annotations

from pathlib import Path

from ..core import events as ev
from ..core.quota import QuotaSnapshot
from ..errors import PoolError
from ..ports import PoolPort

# After the pool could not be read or locked, ask again this much later.
POOL_RETRY_S = 30.0


class GuardedPool:
    """``PoolPort`` with its failures turned into what they mean for the session.

    A lease that cannot be taken now is the same fact as an exhausted pool, so the chart's rows wait
    (bounded) or retry the successor search later. A bookkeeping write that fails loses only
    bookkeeping: a lease not renewed expires and comes back as lease_lost, a lease not released
    expires, a cooldown or a snapshot is written again at the next chance.
    """

    def __init__(self, pool: PoolPort) -> None:
        self._pool = pool

    def lease_candidate(self, purpose: str, exclude: tuple[str, ...], now: float,
                        model: str | None = None) -> ev.Event:
        try:
            return self._pool.lease_candidate(purpose, exclude, now, model)
        except PoolError as exc:
            return ev.PoolExhausted(at=now, soonest_reset_at=now + POOL_RETRY_S,
                                    reason=f"the pool is unavailable: {exc}")

    def never_probed(self, limit: int, exclude: tuple[str, ...], now: float) -> list[str]:
        try:
            return self._pool.never_probed(limit, exclude, now)
        except PoolError:
            return []

    def release(self, account: str, now: float) -> None:
        try:
            self._pool.release(account, now)
        except PoolError:
            pass

    def cool_down(self, account: str, until: float, reason: str, now: float,
                  family: str | None = None, workspace: bool = False) -> None:
        try:
            self._pool.cool_down(account, until, reason, now, family, workspace)
        except PoolError:
            pass

    def record_quota(self, account: str, snapshot: QuotaSnapshot, now: float) -> None:
        try:
            self._pool.record_quota(account, snapshot, now)
        except PoolError:
            pass

    def codex_home(self, account: str) -> Path:
        return self._pool.codex_home(account)  # raises: the launch that needs it fails as a whole

    def heartbeat(self, now: float) -> list[ev.Event]:
        try:
            return self._pool.heartbeat(now)
        except PoolError:
            return []

    def close(self, now: float) -> None:
        self._pool.close(now)


class PoolHeartbeat:
    """An event source with no descriptor: every ``every_s`` it renews the leases and reports the
    ones another process superseded (LeaseLost)."""

    def __init__(self, pool: GuardedPool, every_s: float) -> None:
        self._pool = pool
        self._every_s = every_s
        self._due: float | None = None

    def start(self, now: float) -> None:
        self._due = now + self._every_s

    def fileno(self) -> int | None:
        return None

    def write_fileno(self) -> int | None:
        return None

    def next_due(self) -> float | None:
        return self._due

    def poll(self, now: float) -> list[ev.Event]:
        if self._due is None or now < self._due:
            return []
        self._due = now + self._every_s
        return self._pool.heartbeat(now)
