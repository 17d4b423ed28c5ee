"""Candidate order: the user's explicit order, then known headroom, then never-probed accounts."""

from __future__ import annotations

from supervisor.core.quota import QuotaSnapshot, QuotaWindow, Thresholds
from supervisor.core.ranking import KNOWN_SNAPSHOT_FOR_S, CandidateView, never_probed, rank_candidates

NOW = 1795561614.0


def floors(account: str) -> Thresholds:
    return Thresholds()


def seen(used: float, at: float = NOW - 60) -> QuotaSnapshot:
    return QuotaSnapshot(windows=(QuotaWindow(used, 300, NOW + 3600), QuotaWindow(10.0, 10080, NOW + 4e5)),
                         observed_at=at)


def test_known_headroom_comes_before_a_stranger_even_with_less_of_it() -> None:
    views = [CandidateView("a-stranger"), CandidateView("a-drained", snapshot=seen(80.0)),
             CandidateView("a-fresh", snapshot=seen(10.0))]
    assert rank_candidates(views, NOW, floors) == ["a-fresh", "a-drained", "a-stranger"]


def test_a_snapshot_too_old_to_rank_on_counts_as_unknown() -> None:
    views = [CandidateView("a-old", snapshot=seen(10.0, at=NOW - KNOWN_SNAPSHOT_FOR_S - 1)),
             CandidateView("a-recent", snapshot=seen(70.0))]
    assert rank_candidates(views, NOW, floors) == ["a-recent", "a-old"]


def test_the_users_explicit_order_still_comes_first() -> None:
    views = [CandidateView("a-known", snapshot=seen(10.0)), CandidateView("a-first", order=0),
             CandidateView("a-second", snapshot=seen(50.0), order=1)]
    assert rank_candidates(views, NOW, floors) == ["a-first", "a-second", "a-known"]


def test_never_probed_is_bounded_and_skips_known_leased_and_disabled_accounts() -> None:
    views = [CandidateView("a-known", snapshot=seen(10.0)), CandidateView("a-leased", leased=True),
             CandidateView("a-off", enabled=False), *(CandidateView(f"a-s{i}") for i in range(5))]
    assert never_probed(views, NOW, 2, floors) == ["a-s0", "a-s1"]
    assert never_probed(views, NOW, 0, floors) == []
