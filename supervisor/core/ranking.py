"""Which account to try next: pure candidate ranking over a snapshot of the pool.

The pool adapter builds one ``CandidateView`` per account under its lock and asks this module for
the order; it never decides by itself. Rules (issue: quota policy):
- eligible: enabled, not leased to a live process, not excluded, not cooling down, and not known to
  be below its rotate floor (a window whose reset has passed counts as fresh);
- a long cooldown set a while ago is re-checked by a probe instead of benching the account for days
  on stale data;
- order: the user's explicit order first when any is given (drain-first), else most headroom, ties
  broken by the soonest weekly reset (use-it-or-lose-it), then by account id for determinism.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

from .quota import QuotaSnapshot, Thresholds, WindowKind, has_headroom

# A cooldown longer than this, recorded at least this long ago, is re-checked by a probe.
STALE_COOLDOWN_RECHECK_S = 3600.0


@dataclass(frozen=True, slots=True)
class CandidateView:
    account: str
    enabled: bool = True
    leased: bool = False
    cooldown_until: float | None = None
    cooldown_set_at: float | None = None
    snapshot: QuotaSnapshot | None = None
    order: int | None = None


def _cooling(view: CandidateView, now: float, recheck_s: float) -> bool:
    if view.cooldown_until is None or view.cooldown_until <= now:
        return False
    stale = (view.cooldown_set_at is not None and now - view.cooldown_set_at >= recheck_s
             and view.cooldown_until - now > recheck_s)
    return not stale


def _stale_without_reset(snapshot: QuotaSnapshot, now: float, recheck_s: float) -> bool:
    """An old snapshot with no reset still ahead would bench its account forever: re-check it by a probe."""
    return now - snapshot.observed_at >= recheck_s and snapshot.soonest_reset_after(now) is None


def eligible(view: CandidateView, now: float, thresholds: Thresholds,
             recheck_s: float = STALE_COOLDOWN_RECHECK_S) -> bool:
    if not view.enabled or view.leased or _cooling(view, now, recheck_s):
        return False
    return (view.snapshot is None or has_headroom(view.snapshot, thresholds, now)
            or _stale_without_reset(view.snapshot, now, recheck_s))


def headroom(view: CandidateView, now: float) -> float:
    """The smallest remaining percent over the known windows (100 when nothing is known)."""
    if view.snapshot is None or not view.snapshot.windows:
        return 100.0
    return min(w.remaining_at(now) for w in view.snapshot.windows)


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
                    recheck_s: float = STALE_COOLDOWN_RECHECK_S) -> list[str]:
    """Eligible accounts, best first."""
    pool = [v for v in views if v.account not in exclude
            and eligible(v, now, thresholds_for(v.account), recheck_s)]
    explicit = any(v.order is not None for v in pool)

    def key(v: CandidateView):
        base = (-headroom(v, now), _weekly_reset(v, now), v.account)
        if explicit:
            return (v.order is None, v.order if v.order is not None else 0) + base
        return base

    return [v.account for v in sorted(pool, key=key)]


def soonest_availability(views: Iterable[CandidateView], now: float,
                         thresholds_for: Callable[[str], Thresholds],
                         exclude: Sequence[str] = ()) -> float | None:
    """When the first currently unusable, enabled account becomes usable again.

    None means no enabled account exists (nothing can ever be used without the user's help).
    A leased account has no known end, so it does not count.
    """
    moments: list[float] = []
    for v in views:
        if not v.enabled or v.account in exclude or v.leased:
            continue
        if v.cooldown_until is not None and v.cooldown_until > now:
            moments.append(v.cooldown_until)
            continue
        if v.snapshot is not None:
            blocking = v.snapshot.blocking_reset(now, thresholds_for(v.account))
            if blocking is not None:
                moments.append(blocking)
                continue
        moments.append(now)
    return min(moments) if moments else None
