"""The narrow ports the run loop drives. One small interface per adapter, each with a fake in tests.

The loop turns core commands into calls on these ports and the ports' answers into core events. No
port decides orchestration: choosing *which* account is ``core.ranking``; deciding *when* is the chart.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from .core.events import Event
from .core.quota import QuotaSnapshot


class PoolPort(Protocol):
    """The account pool as one supervised session sees it (supervisor.pool implements it)."""

    def lease_candidate(self, purpose: str, exclude: tuple[str, ...], now: float, model: str | None = None) -> Event:
        """Lease the best-ranked eligible account for a session on ``model`` (each account judged on the
        limit family that meters it): AccountLeased, or PoolExhausted with the soonest reset."""

    def never_probed(self, limit: int, exclude: tuple[str, ...], now: float) -> list[str]:
        """Up to ``limit`` eligible accounts with no stored snapshot, best-ranked first (nothing is leased)."""

    def release(self, account: str, now: float) -> None:
        """Give the lease on ``account`` back (no-op when this process does not hold it)."""

    def cool_down(self, account: str, until: float, reason: str, now: float,
                  family: str | None = None, workspace: bool = False) -> None:
        """Bench ``account`` until ``until`` with a recorded reason: for one limit ``family`` (None: all),
        or with ``workspace`` every account of its workspace."""

    def record_quota(self, account: str, snapshot: QuotaSnapshot, now: float) -> None:
        """Store the latest quota snapshot for ``account``."""

    def codex_home(self, account: str) -> Path:
        """The private CODEX_HOME whose auth.json is this account's only live copy."""

    def heartbeat(self, now: float) -> list[Event]:
        """Renew this process's leases; LeaseLost for any that another process superseded."""

    def close(self, now: float) -> None:
        """Release every lease this process holds."""


class QuotaPort(Protocol):
    """Usage probes of parked accounts; never a model request.

    ``supervisor.adapters.usage_probe.UsageProbe`` implements it.
    """

    def request_probe(self, account: str) -> None:
        """Start a probe in the background; its answer comes back from ``poll``."""

    def poll(self) -> list[Event]:
        """Finished probes as QuotaProbed / ProbeFailed events (each stamped with its own time)."""

    def fileno(self) -> int:
        """A descriptor that becomes readable when ``poll`` has something (for the loop's select)."""

    def close(self) -> None:
        """Stop the worker threads."""


class EventSource(Protocol):
    """One thing the loop waits on (the child, the keyboard, signals, quota answers, the heartbeat).

    The loop selects on the descriptors, wakes no later than the earliest ``next_due``, and polls a
    source when one of its descriptors is ready or its moment has come. A source turns what happened,
    its own failures included, into core events; it never decides what they mean.
    """

    def fileno(self) -> int | None:
        """A descriptor that becomes readable when ``poll`` has something (None: nothing to wait on)."""

    def write_fileno(self) -> int | None:
        """A descriptor the source waits to write to (None: nothing is waiting to be written)."""

    def next_due(self) -> float | None:
        """The moment ``poll`` wants to run even if no descriptor is ready (None: no such moment)."""

    def poll(self, now: float) -> list[Event]:
        """What happened since the last poll, as events in the order it happened."""


class ReadOnlySource:
    """An event source that only reads and keeps no moments of its own: the defaults of ``EventSource``
    that the keyboard, the signals and the quota answers share."""

    def write_fileno(self) -> int | None:
        return None

    def next_due(self) -> float | None:
        return None
