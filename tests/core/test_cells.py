"""Every state × trigger cell is defined (h2's style): an event either matches a row of that cell,
or raises InvalidTransition and leaves the state and the context untouched."""

from __future__ import annotations

import copy
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from supervisor.chartfile import load_default_chart
from supervisor.core import events as ev
from supervisor.core.events import EVENTS_BY_TRIGGER
from supervisor.errors import InvalidTransition

from .helpers import ALPHA, PATHS, T, healthy, near_rotate, reach

CHART = load_default_chart()
STATES = [s for s in CHART.states]


def sample_event(trigger: str, at: float = T) -> ev.Event:
    cls = EVENTS_BY_TRIGGER[trigger]
    extra = {"account_leased": {"account": ALPHA}, "quota_probed": {"account": ALPHA, "snapshot": healthy(at)},
             "probe_failed": {"account": ALPHA}, "quota_observed": {"snapshot": healthy(at)},
             "child_exited": {"code": 0}, "session_bound": {"session_id": "s"}, "lease_lost": {"account": ALPHA}}
    return cls(at=at, **extra.get(trigger, {}))


@pytest.mark.parametrize("state,trigger", list(itertools.product(STATES, sorted(CHART.triggers))))
def test_cell_is_a_row_or_an_error_that_changes_nothing(state, trigger):
    session = reach(state)
    before = copy.deepcopy(session.context)
    event = sample_event(trigger)
    cell_rows = CHART.rows_for(state, trigger)
    try:
        record = session.handle(event)
    except InvalidTransition as exc:
        assert session.state == state
        assert session.context == before
        assert exc.state == state and exc.trigger == trigger
        assert exc.record.state == state
        return
    assert record.row in {r.id for r in cell_rows}
    assert record.source == state


def test_exited_accepts_nothing():
    for trigger in CHART.triggers:
        session = reach("exited")
        with pytest.raises(InvalidTransition):
            session.handle(sample_event(trigger))
        assert session.state == "exited"


def test_invalid_transition_message_names_state_and_trigger():
    session = reach("acquiring")
    with pytest.raises(InvalidTransition, match="'child_exited' in state 'acquiring'"):
        session.handle(ev.ChildExited(at=T, code=0))


def test_every_state_is_reached_from_acquiring_by_real_events():
    for state in STATES:
        assert reach(state).state == state
    assert set(PATHS) - {"fresh"} == set(STATES)


def test_shortest_paths_from_the_initial_state_cover_every_state():
    """Breadth-first over the table: every state has a shortest path of rows from 'acquiring'."""
    frontier, seen = ["acquiring"], {"acquiring": ()}
    while frontier:
        nxt = []
        for state in frontier:
            for row in CHART.rows:
                if row.source == state and row.dest not in seen:
                    seen[row.dest] = seen[state] + (row.id,)
                    nxt.append(row.dest)
        frontier = nxt
    assert set(seen) == set(STATES)
    assert seen["exited"]  # a final state is reachable
    assert seen["resuming"][-1].endswith("->resuming")


events_strategy = st.lists(st.tuples(st.sampled_from(sorted(CHART.triggers)), st.floats(0, 5)), max_size=60)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(events_strategy)
def test_random_event_streams_never_corrupt_the_machine(stream):
    """Whatever the adapters report, the core either transitions along a row or refuses cleanly."""
    session = reach("fresh")
    clock = 0.0
    for trigger, step in stream:
        clock += step
        before_state = session.state
        event = sample_event(trigger, clock)
        if trigger == "quota_observed" and step > 4:
            event = ev.QuotaObserved(at=clock, snapshot=near_rotate(clock))
        try:
            record = session.handle(event)
        except InvalidTransition:
            assert session.state == before_state
            continue
        assert record.source == before_state and session.state == record.dest
        assert session.state in STATES
        deadline = session.next_deadline()
        assert deadline is None or isinstance(deadline, float)
    if session.finished:
        assert session.exit_status is not None
