"""Which account to try next: pure candidate ranking over a snapshot of the pool.

The pool adapter builds one ``CandidateView`` per account under its lock and asks this module for
the order; it never decides by itself. Rules (issue: quota policy):
- eligible: enabled, not leased to a live process, not excluded, not cooling down, and not blocked by
  its quota snapshot (``quota.blocked_until``; a window whose reset has passed counts as fresh);
- a long cooldown set a while ago, or a block with no known end observed a while ago, is re-checked
  by a probe instead of benching the account for days on stale data;
- order: the user's explicit order first when any is given (drain-first); then accounts whose
  headroom is known from a recent snapshot before never-probed ones (a stranger costs a probe on
  the start path and spreads use thinly over the pool); then most headroom, ties broken by the
  soonest weekly reset (use-it-or-lose-it), then by account id for determinism.

``available_from`` is the one place that says from when an account is eligible: ``eligible`` and
``soonest_availability`` (the pool wait's target) both read it, so they cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

from .quota import UNKNOWN_END, QuotaSnapshot, Thresholds, WindowKind, blocked_until

# A cooldown longer than this, recorded at least this long ago, is re-checked by a probe.
STALE_COOLDOWN_RECHECK_S = 3600.0
# A snapshot younger than this makes its account "known" and ranks it ahead of never-probed ones.
KNOWN_SNAPSHOT_FOR_S = 86400.0
_NEVER_BARRED = float("-inf")


@dataclass(frozen=True, slots=True)
class CandidateView:
    account: str
    enabled: bool = True
    leased: bool = False
    cooldown_until: float | None = None
    cooldown_set_at: float | None = None
    snapshot: QuotaSnapshot | None = None
    order: int | None = None


def _cooldown_end(view: CandidateView, recheck_s: float) -> float:
    """When the cooldown stops barring the account; a long one is cut short for a re-check probe."""
    if view.cooldown_until is None:
        return _NEVER_BARRED
    if view.cooldown_set_at is not None and view.cooldown_until - view.cooldown_set_at > 2 * recheck_s:
        return view.cooldown_set_at + recheck_s
    return view.cooldown_until


def _snapshot_end(snapshot: QuotaSnapshot | None, thresholds: Thresholds, recheck_s: float) -> float:
    """When the snapshot stops barring the account; a block with no known end is re-checked later."""
    until = blocked_until(snapshot, thresholds)
    if until is None:
        return _NEVER_BARRED
    if until == UNKNOWN_END:
        assert snapshot is not None
        return snapshot.observed_at + recheck_s
    return until


def available_from(view: CandidateView, thresholds: Thresholds,
                   recheck_s: float = STALE_COOLDOWN_RECHECK_S) -> float | None:
    """The moment from which ``view`` is eligible (-inf: already); None while it is disabled or leased."""
    if not view.enabled or view.leased:
        return None
    return max(_cooldown_end(view, recheck_s), _snapshot_end(view.snapshot, thresholds, recheck_s))


def eligible(view: CandidateView, now: float, thresholds: Thresholds,
             recheck_s: float = STALE_COOLDOWN_RECHECK_S) -> bool:
    moment = available_from(view, thresholds, recheck_s)
    return moment is not None and moment <= now


def headroom(view: CandidateView, now: float) -> float:
    """The smallest remaining percent over the known windows (100 when nothing is known)."""
    if view.snapshot is None or not view.snapshot.windows:
        return 100.0
    return min(w.remaining_at(now) for w in view.snapshot.windows)


def known(view: CandidateView, now: float, known_for_s: float = KNOWN_SNAPSHOT_FOR_S) -> bool:
    """Its figures come from a snapshot recent enough to rank on."""
    snapshot = view.snapshot
    return snapshot is not None and bool(snapshot.windows) and 0.0 <= now - snapshot.observed_at <= known_for_s


def _weekly_reset(view: CandidateView, now: float) -> float:
    if view.snapshot is None:
        return float("inf")
    w = view.snapshot.window(WindowKind.WEEKLY)
    if w is None or w.resets_at is None or w.resets_at <= now:
        return float("inf")
    return w.resets_at


def rank_candidates(views: Iterable[CandidateView], now: float,
                    thresholds_for: Callable[[str], Thresholds],
                    exclude: Sequence[str] = (),
                    recheck_s: float = STALE_COOLDOWN_RECHECK_S,
                    known_for_s: float = KNOWN_SNAPSHOT_FOR_S) -> list[str]:
    """Eligible accounts, best first."""
    pool = [v for v in views if v.account not in exclude
            and eligible(v, now, thresholds_for(v.account), recheck_s)]
    explicit = any(v.order is not None for v in pool)

    def key(v: CandidateView) -> tuple[Any, ...]:
        base = (not known(v, now, known_for_s), -headroom(v, now), _weekly_reset(v, now), v.account)
        if explicit:
            return (v.order is None, v.order if v.order is not None else 0) + base
        return base

    return [v.account for v in sorted(pool, key=key)]


def never_probed(views: Iterable[CandidateView], now: float, limit: int,
                 thresholds_for: Callable[[str], Thresholds],
                 exclude: Sequence[str] = (),
                 recheck_s: float = STALE_COOLDOWN_RECHECK_S) -> list[str]:
    """Up to ``limit`` eligible accounts with no snapshot at all, in the ranking's order."""
    strangers = [v for v in views if v.snapshot is None]
    return rank_candidates(strangers, now, thresholds_for, exclude, recheck_s)[:max(0, limit)]


def soonest_availability(views: Iterable[CandidateView], now: float,
                         thresholds_for: Callable[[str], Thresholds],
                         exclude: Sequence[str] = (),
                         recheck_s: float = STALE_COOLDOWN_RECHECK_S) -> float | None:
    """When the first enabled, unleased account becomes eligible (``now`` if one already is).

    None means no such account exists (nothing can ever be used without the user's help, or only
    leased ones, whose end nobody knows). When no account is eligible now, the moment lies in the future.
    """
    moments = [m for v in views if v.account not in exclude
               for m in (available_from(v, thresholds_for(v.account), recheck_s),) if m is not None]
    return max(now, min(moments)) if moments else None
