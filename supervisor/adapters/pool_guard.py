"""The pool as the run loop may use it: a pool that cannot be read or locked now becomes an event or
lost bookkeeping, never an exception that takes the user's Codex with it.

``GuardedPool`` wraps any ``PoolPort``; ``PoolHeartbeat`` is the event source that renews its leases.
"""

from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import Callable

from ..core import events as ev
from ..core.quota import QuotaSnapshot
from ..errors import PoolError, PoolUnavailable
from ..ports import PoolPort

# After the pool could not be read or locked, ask again this much later.
POOL_RETRY_S = 30.0
# A shared pool's server that went away is asked again after 1, 2, 4 … seconds, at most this long apart.
BACKOFF_FIRST_S = 1.0
BACKOFF_MAX_S = 30.0
# Marks (cooldowns, quota snapshots) made while the shared pool is away, written once it is back; the
# oldest go first when there are more (a newer snapshot of an account supersedes an older one anyway).
PENDING_MARKS_MAX = 64


class GuardedPool:
    """``PoolPort`` with its failures turned into what they mean for the session.

    A lease that cannot be taken now is the same fact as an exhausted pool, so the chart's rows wait
    (bounded) or retry the successor search later. A bookkeeping write that fails loses only
    bookkeeping: a lease not renewed expires and comes back as lease_lost, a lease not released
    expires, a cooldown or a snapshot is written again at the next chance.

    A shared pool whose server is away (``PoolUnavailable``) is not asked again until its backoff has
    passed: the session's loop, which relays the user's keystrokes, pays for one failed connection per
    backoff step, not one per decision. Marks made meanwhile wait in memory and are written when the
    server answers again. ``tell`` shows the user one line when the pool goes away and one when it is
    back, never one per retry.
    """

    def __init__(self, pool: PoolPort, tell: Callable[[str], None] | None = None) -> None:
        self._pool = pool
        self._tell = tell or (lambda text: None)
        self._away_since: float | None = None
        self._retry_at = 0.0
        self._backoff_s = BACKOFF_FIRST_S
        self._pending: deque[Callable[[], None]] = deque(maxlen=PENDING_MARKS_MAX)

    @property
    def away(self) -> bool:
        """Whether the shared pool's server did not answer the last attempt."""
        return self._away_since is not None

    def lease_candidate(self, purpose: str, exclude: tuple[str, ...], now: float,
                        model: str | None = None) -> ev.Event:
        if self._waiting(now):
            return ev.PoolExhausted(at=now, soonest_reset_at=self._retry_at,
                                    reason="the shared pool is unavailable; retrying")
        try:
            result = self._pool.lease_candidate(purpose, exclude, now, model)
        except PoolUnavailable as exc:
            self._went_away(exc, now)
            return ev.PoolExhausted(at=now, soonest_reset_at=self._retry_at,
                                    reason=f"the shared pool is unavailable: {exc}")
        except PoolError as exc:
            return ev.PoolExhausted(at=now, soonest_reset_at=now + POOL_RETRY_S,
                                    reason=f"the pool is unavailable: {exc}")
        self._answered(now)
        return result

    def never_probed(self, limit: int, exclude: tuple[str, ...], now: float) -> list[str]:
        return self._attempt(now, lambda: self._pool.never_probed(limit, exclude, now), [])

    def release(self, account: str, now: float) -> None:
        # A release that does not reach the pool stays with the session pool, which gives the lease back
        # (its login written back first) at its next heartbeat that reaches it.
        self._attempt(now, lambda: self._pool.release(account, now), None)

    def cool_down(self, account: str, until: float, reason: str, now: float,
                  family: str | None = None, workspace: bool = False) -> None:
        self._mark(now, lambda: self._pool.cool_down(account, until, reason, now, family, workspace))

    def record_quota(self, account: str, snapshot: QuotaSnapshot, now: float) -> None:
        self._mark(now, lambda: self._pool.record_quota(account, snapshot, now))

    def codex_home(self, account: str) -> Path:
        return self._pool.codex_home(account)  # raises: the launch that needs it fails as a whole

    def heartbeat(self, now: float) -> list[ev.Event]:
        return self._attempt(now, lambda: self._pool.heartbeat(now), [])

    def close(self, now: float) -> None:
        self._flush_pending(now)
        self._pool.close(now)

    # -- the shared pool's server going away and coming back --------------------------------------

    def _waiting(self, now: float) -> bool:
        return self._away_since is not None and now < self._retry_at

    def _attempt(self, now: float, call: Callable, fallback):
        if self._waiting(now):
            return fallback
        try:
            result = call()
        except PoolUnavailable as exc:
            self._went_away(exc, now)
            return fallback
        except PoolError:
            return fallback
        self._answered(now)
        return result

    def _mark(self, now: float, write: Callable[[], None]) -> None:
        if self._waiting(now):
            self._pending.append(write)
            return
        try:
            write()
        except PoolUnavailable as exc:
            self._pending.append(write)
            self._went_away(exc, now)
            return
        except PoolError:
            return
        self._answered(now)

    def _went_away(self, exc: PoolUnavailable, now: float) -> None:
        if self._away_since is None:
            self._away_since = now
            self._backoff_s = BACKOFF_FIRST_S
            self._tell(f"{exc}. Codex keeps running on its account; codex-fsm retries, and decisions that "
                       "need the pool wait until it is back")
        else:
            self._backoff_s = min(self._backoff_s * 2, BACKOFF_MAX_S)
        self._retry_at = now + self._backoff_s

    def _answered(self, now: float) -> None:
        if self._away_since is not None:
            away_s = now - self._away_since
            self._away_since = None
            self._tell(f"the shared pool is reachable again (after {away_s:.0f} s)")
        self._flush_pending(now)

    def _flush_pending(self, now: float) -> None:
        while self._pending:
            write = self._pending[0]
            try:
                write()
            except PoolUnavailable as exc:
                self._went_away(exc, now)
                return
            except PoolError:
                pass
            self._pending.popleft()


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
