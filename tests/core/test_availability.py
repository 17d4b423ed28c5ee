"""Eligibility and the pool wait read one moment (``ranking.available_from`` over ``quota.blocked_until``).

Regression: a usage-endpoint snapshot with ``limit_reached`` stayed "exhausted" while *any* window had a
future reset (a healthy weekly one included), so after the 5-hour reset nothing was eligible, no probe
was sent, and the wait kept naming a reset that had already passed until it gave up.
"""

from __future__ import annotations

import math

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from supervisor.chartfile import load_default_chart
from supervisor.core import commands as cmd
from supervisor.core import events as ev
from supervisor.core.quota import QuotaSnapshot, QuotaWindow, Thresholds, blocked_until, has_headroom
from supervisor.core.ranking import (STALE_COOLDOWN_RECHECK_S, CandidateView, eligible, rank_candidates,
                                     soonest_availability)
from supervisor.core.session import Session

NOW = 1795561614.0
FLOORS = Thresholds()


def floors(account: str) -> Thresholds:
    return FLOORS


def limit_reached_at(observed: float, reset_5h: float, used_5h: float = 100.0) -> QuotaSnapshot:
    """What /wham/usage says with ``allowed: false``: the 5-hour window full, the weekly one 20 % used."""
    return QuotaSnapshot(windows=(QuotaWindow(used_5h, 300, reset_5h), QuotaWindow(20.0, 10080, observed + 400000)),
                         observed_at=observed, limit_reached=True)


def test_limit_reached_ends_at_the_full_windows_reset_not_at_the_weekly_one() -> None:
    snapshot = limit_reached_at(NOW, NOW + 600)
    assert blocked_until(snapshot, FLOORS) == NOW + 600
    view = CandidateView("a-1", snapshot=snapshot)
    assert rank_candidates([view], NOW + 599, floors) == []
    assert soonest_availability([view], NOW + 599, floors) == NOW + 600
    assert rank_candidates([view], NOW + 600, floors) == ["a-1"]  # the reset passed: re-probe it
    assert has_headroom(snapshot, FLOORS, NOW + 600)


def test_limit_reached_with_no_full_window_lasts_until_the_soonest_reset_after_the_observation() -> None:
    snapshot = limit_reached_at(NOW, NOW + 900, used_5h=60.0)
    assert blocked_until(snapshot, FLOORS) == NOW + 900
    assert not eligible(CandidateView("a-1", snapshot=snapshot), NOW + 899, FLOORS)
    assert eligible(CandidateView("a-1", snapshot=snapshot), NOW + 900, FLOORS)


def test_the_wait_for_a_whole_pool_names_the_moment_an_account_becomes_eligible() -> None:
    views = [CandidateView("a-1", snapshot=limit_reached_at(NOW, NOW + 600)),
             CandidateView("a-2", snapshot=limit_reached_at(NOW, NOW + 1200)),
             CandidateView("a-3", cooldown_until=NOW + 300, cooldown_set_at=NOW,
                           snapshot=limit_reached_at(NOW, NOW + 2000))]
    assert rank_candidates(views, NOW + 1, floors) == []
    soonest = soonest_availability(views, NOW + 1, floors)
    assert soonest == NOW + 600  # not the cooldown's end: a-3's snapshot still blocks it then
    assert rank_candidates(views, soonest, floors) == ["a-1"]


# -- property: "eligible at t" iff "soonest availability <= t", and the wait never names a past time --

times = st.floats(min_value=-5000, max_value=5000, allow_nan=False).map(lambda offset: NOW + offset)
windows = st.builds(QuotaWindow, used_percent=st.floats(0, 100), window_minutes=st.sampled_from([0, 300, 10080]),
                    resets_at=st.one_of(st.none(), times))
snapshots = st.builds(QuotaSnapshot, windows=st.lists(windows, max_size=3).map(tuple), observed_at=times,
                      limit_reached=st.booleans())
views = st.builds(CandidateView, account=st.sampled_from(["a-1", "a-2", "a-3"]),
                  enabled=st.booleans(), leased=st.booleans(),
                  cooldown_until=st.one_of(st.none(), times), cooldown_set_at=st.one_of(st.none(), times),
                  snapshot=st.one_of(st.none(), snapshots))


@settings(max_examples=400, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(views, min_size=1, max_size=3), times, st.floats(min_value=0, max_value=3 * STALE_COOLDOWN_RECHECK_S))
@example([CandidateView("a-1", snapshot=limit_reached_at(NOW - 601, NOW - 1))], NOW, 0.0)
def test_eligibility_and_the_soonest_availability_agree(pool, now, later) -> None:
    soonest = soonest_availability(pool, now, floors)
    ranked = rank_candidates(pool, now, floors)
    if not ranked:
        assert soonest is None or soonest > now, "the wait would name a time already past"
    assert soonest is None or math.isfinite(soonest)
    moment = now + later
    eligible_then = bool(rank_candidates(pool, moment, floors))
    assert eligible_then == (soonest is not None and soonest <= moment)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.floats(min_value=-600, max_value=3000, allow_nan=False), st.lists(st.floats(0, 4000), max_size=6))
def test_the_pool_wait_notice_never_names_a_past_time(reset_offset, tick_offsets) -> None:
    session = Session(load_default_chart())
    session.handle(ev.SessionStarted(at=NOW))
    records = [session.handle(ev.PoolExhausted(at=NOW, soonest_reset_at=NOW + reset_offset))]
    for offset in sorted(tick_offsets):
        if session.state != "acquiring" or session.context.wait_until is None:
            break
        records.append(session.handle(ev.Tick(at=NOW + offset)))
    for record in records:
        for command in record.commands:
            if isinstance(command, cmd.Notify) and command.kind == "pool_wait":
                assert command.param("reset_at") > record.event.at
