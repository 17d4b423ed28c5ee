"""A snapshot that says "exhausted" with no reset ahead must not bench an account forever."""

from __future__ import annotations

from supervisor.core.quota import QuotaSnapshot, QuotaWindow, Thresholds
from supervisor.core.ranking import STALE_COOLDOWN_RECHECK_S, CandidateView, rank_candidates

NOW = 1795561614.0


def full_without_reset(observed_at: float) -> QuotaSnapshot:
    return QuotaSnapshot(windows=(QuotaWindow(100.0, 300, None),), observed_at=observed_at)


def test_a_fresh_exhausted_snapshot_without_reset_excludes_the_account() -> None:
    view = CandidateView("a-1", snapshot=full_without_reset(NOW - 60))
    assert rank_candidates([view], NOW, lambda account: Thresholds()) == []


def test_an_old_exhausted_snapshot_without_reset_is_rechecked() -> None:
    view = CandidateView("a-1", snapshot=full_without_reset(NOW - STALE_COOLDOWN_RECHECK_S))
    assert rank_candidates([view], NOW, lambda account: Thresholds()) == ["a-1"]


def test_an_old_snapshot_whose_reset_is_still_ahead_keeps_excluding() -> None:
    snapshot = QuotaSnapshot(windows=(QuotaWindow(100.0, 10080, NOW + 86400),), observed_at=NOW - 7200)
    view = CandidateView("a-1", snapshot=snapshot)
    assert rank_candidates([view], NOW, lambda account: Thresholds()) == []
