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

Limit families: every function takes the session's ``model`` and judges each account on the family
that meters it there (``QuotaSnapshot.for_model``). A cooldown of one family bars only sessions on
that family; a cooldown without one (a failed probe, a workspace stop) bars the account for all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

from .quota import MAIN_FAMILY, UNKNOWN_END, QuotaSnapshot, Thresholds, WindowKind, blocked_until

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
    cooldown_family: str | None = None

    def family_snapshot(self, model: str | None) -> QuotaSnapshot | None:
        return None if self.snapshot is None else self.snapshot.for_model(model)

    def family_of(self, model: str | None) -> str:
        return MAIN_FAMILY if self.snapshot is None else self.snapshot.family_for(model)


def _cooldown_end(view: CandidateView, recheck_s: float, model: str | None) -> float:
    """When the cooldown stops barring the account; a long one is cut short for a re-check probe.
    A cooldown of another family than the one ``model`` uses does not bar it at all."""
    if view.cooldown_until is None:
        return _NEVER_BARRED
    if view.cooldown_family is not None and view.cooldown_family != view.family_of(model):
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
                   recheck_s: float = STALE_COOLDOWN_RECHECK_S, model: str | None = None) -> float | None:
    """The moment from which ``view`` is eligible (-inf: already); None while it is disabled or leased."""
    if not view.enabled or view.leased:
        return None
    return max(_cooldown_end(view, recheck_s, model),
               _snapshot_end(view.family_snapshot(model), thresholds, recheck_s))


def eligible(view: CandidateView, now: float, thresholds: Thresholds,
             recheck_s: float = STALE_COOLDOWN_RECHECK_S, model: str | None = None) -> bool:
    moment = available_from(view, thresholds, recheck_s, model)
    return moment is not None and moment <= now


def headroom(view: CandidateView, now: float, model: str | None = None) -> float:
    """The smallest remaining percent over the family's known windows (100 when nothing is known).
    A weekly-only plan has one window: its headroom is that window's."""
    snapshot = view.family_snapshot(model)
    if snapshot is None or not snapshot.windows:
        return 100.0
    return min(w.remaining_at(now) for w in snapshot.windows)


def known(view: CandidateView, now: float, known_for_s: float = KNOWN_SNAPSHOT_FOR_S,
          model: str | None = None) -> bool:
    """Its figures come from a snapshot recent enough to rank on."""
    snapshot = view.family_snapshot(model)
    return snapshot is not None and bool(snapshot.windows) and 0.0 <= now - snapshot.observed_at <= known_for_s


def _weekly_reset(view: CandidateView, now: float, model: str | None) -> float:
    snapshot = view.family_snapshot(model)
    if snapshot is None:
        return float("inf")
    w = snapshot.window(WindowKind.WEEKLY)
    if w is None or w.resets_at is None or w.resets_at <= now:
        return float("inf")
    return w.resets_at


def rank_candidates(views: Iterable[CandidateView], now: float,
                    thresholds_for: Callable[[str], Thresholds],
                    exclude: Sequence[str] = (),
                    recheck_s: float = STALE_COOLDOWN_RECHECK_S,
                    known_for_s: float = KNOWN_SNAPSHOT_FOR_S, model: str | None = None) -> list[str]:
    """Eligible accounts, best first, for a session on ``model``."""
    pool = [v for v in views if v.account not in exclude
            and eligible(v, now, thresholds_for(v.account), recheck_s, model)]
    explicit = any(v.order is not None for v in pool)

    def key(v: CandidateView) -> tuple[Any, ...]:
        base = (not known(v, now, known_for_s, model), -headroom(v, now, model), _weekly_reset(v, now, model),
                v.account)
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
                         recheck_s: float = STALE_COOLDOWN_RECHECK_S, model: str | None = None) -> float | None:
    """When the first enabled, unleased account becomes eligible (``now`` if one already is).

    None means no such account exists (nothing can ever be used without the user's help, or only
    leased ones, whose end nobody knows). When no account is eligible now, the moment lies in the future.
    """
    moments = [m for v in views if v.account not in exclude
               for m in (available_from(v, thresholds_for(v.account), recheck_s, model),) if m is not None]
    return max(now, min(moments)) if moments else None
