"""The loader refuses an unsound statechart, each failure a ChartError naming the row."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from supervisor.chartfile import default_chart_path, load_chart_file
from supervisor.core.chart import load_chart, parse_chart
from supervisor.core.session import Session
from supervisor.errors import ChartError

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = json.loads((ROOT / "statecharts" / "session.json").read_text())


def mutated(fn) -> dict:
    doc = copy.deepcopy(DOCUMENT)
    fn(doc)
    return doc


def test_the_committed_chart_loads_and_is_the_default():
    assert default_chart_path() == ROOT / "statecharts" / "session.json"
    chart = load_chart_file(default_chart_path())
    assert chart.states == ("acquiring", "probing", "running", "prewarming", "restarting", "resuming", "exited")
    assert chart.initial == "acquiring" and chart.final == frozenset({"exited"})


def test_hash_ignores_formatting_but_not_meaning():
    reformatted = json.dumps(DOCUMENT, indent=7)
    assert parse_chart(reformatted).sha256 == load_chart(DOCUMENT).sha256
    changed = mutated(lambda d: d["transitions"][0].update(why="another reason"))
    assert load_chart(changed).sha256 != load_chart(DOCUMENT).sha256


def test_machine_has_no_auto_transition_back_doors():
    session = Session(load_chart(DOCUMENT))
    assert not any(name.startswith("to_") for name in dir(session._model))


@pytest.mark.parametrize("mutate,message", [
    (lambda d: d["transitions"][0].update(dest="limbo"),
     r"transition 1 \(acquiring --account_leased--> limbo\): unknown destination state 'limbo'"),
    (lambda d: d["transitions"][0].update(source="nowhere"),
     r"transition 1 .*unknown state or superstate 'nowhere'"),
    (lambda d: d["reactions"][0].update({"in": "nowhere"}),
     r"reaction 1 \(in nowhere: quota_probed\): unknown state or superstate 'nowhere'"),
    (lambda d: d["transitions"][1].update({"if": ["is_sunny"]}), r"transition 2 .*unknown guard 'is_sunny'"),
    (lambda d: d["transitions"][0].update(actions=["os.system"]), r"transition 1 .*unknown action 'os.system'"),
    (lambda d: d["transitions"][0].update(trigger="account_stolen"),
     r"transition 1 .*trigger 'account_stolen' is not declared"),
    (lambda d: d["transitions"][0].update(dest=5), r"transition 1 .*dest: Not a valid string"),
    (lambda d: d["transitions"][0].update(colour="red"), r"transition 1 .*colour: Unknown field"),
    (lambda d: d["reactions"][0].update(dest="running"), r"reaction 1 .*dest: Unknown field"),
    (lambda d: d["reactions"][0].update(priority=0), r"reaction 1 .*priority: Must be greater than or equal to 1"),
    (lambda d: d["reactions"][0].update(priority="1"), r"reaction 1 .*priority: Not a valid integer"),
    (lambda d: d.update(schema=3), r"schema: must be 2"),
    (lambda d: d.update(schema=1), r"a schema 1 chart .* reads schema 2"),
    (lambda d: d.update(initial="dreaming"), r"initial state 'dreaming' is not a declared state"),
    (lambda d: d["states"]["probing"].update(deadlines=["whenever"]), r"state 'probing': unknown deadline 'whenever'"),
    (lambda d: d["superstates"]["selecting"]["states"].append("exited"),
     r"superstate 'selecting': the final state 'exited' cannot be in a superstate"),
    (lambda d: d["superstates"]["selecting"]["states"].append("dreaming"),
     r"superstate 'selecting': unknown state 'dreaming'"),
    (lambda d: d["superstates"].update(running={"doc": "x", "states": ["probing", "acquiring"]}),
     r"superstate 'running' has the name of a state"),
])
def test_malformed_rows_are_named(mutate, message):
    with pytest.raises(ChartError, match=message):
        load_chart(mutated(mutate))


def test_rows_leaving_the_final_state_are_refused():
    doc = mutated(lambda d: d["transitions"].append({"trigger": "tick", "source": "exited", "dest": "acquiring",
                                                     "actions": []}))
    with pytest.raises(ChartError, match=r"exited --tick--> acquiring\): leaves final state 'exited'"):
        load_chart(doc)


def tiny_chart(rows: list[dict], states=("start", "middle", "end"), reactions=()) -> dict:
    return {"schema": 2, "name": "tiny", "initial": "start", "final": ["end"],
            "states": {s: {"doc": s} for s in states},
            "triggers": {"tick": "time passed", "interrupted": "signal"}, "transitions": rows,
            "reactions": list(reactions)}


def test_tiny_sound_chart_loads():
    chart = load_chart(tiny_chart([{"trigger": "tick", "source": "start", "dest": "middle"},
                                   {"trigger": "interrupted", "source": ["start", "middle"], "dest": "end"}],
                                  reactions=[{"trigger": "tick", "in": "middle"}]))
    assert [r.id for r in chart.reactions] == ["middle-tick->middle"]
    assert {r.id for r in chart.transitions} == {"start-tick->middle", "start-interrupted->end",
                                                 "middle-interrupted->end"}


def test_unreachable_state_is_refused():
    doc = tiny_chart([{"trigger": "interrupted", "source": ["start", "middle"], "dest": "end"},
                      {"trigger": "tick", "source": "middle", "dest": "start"}])
    with pytest.raises(ChartError, match="state 'middle' is unreachable from 'start'"):
        load_chart(doc)


def test_trap_state_is_refused():
    """Reactions are no way out: a state whose only rows are reactions traps the session."""
    doc = tiny_chart([{"trigger": "tick", "source": "start", "dest": "middle"},
                      {"trigger": "interrupted", "source": "start", "dest": "end"}],
                     reactions=[{"trigger": "tick", "in": "middle"}])
    with pytest.raises(ChartError, match="non-final state 'middle' has no way out"):
        load_chart(doc)


def test_a_transition_that_stays_is_refused_as_a_reaction_in_disguise():
    doc = tiny_chart([{"trigger": "tick", "source": ["start", "middle"], "dest": "middle"},
                      {"trigger": "interrupted", "source": ["start", "middle"], "dest": "end"}])
    with pytest.raises(ChartError, match=r"transition 1 .*a row that stays in 'middle' is a reaction"):
        load_chart(doc)


def test_two_fallbacks_in_one_cell_are_refused():
    """A superstate's [else] and a member's own unguarded row cannot share a cell."""
    doc = mutated(lambda d: d["reactions"].append({"trigger": "session_bound", "in": "running", "actions": []}))
    with pytest.raises(ChartError, match=r"a second row without guards for 'session_bound' in 'running'"):
        load_chart(doc)


def test_overlapping_guards_without_priorities_are_refused():
    """Two guarded rows that could both hold need distinct priorities: file order never decides."""
    def drop_priority(d):
        for row in d["transitions"]:
            if row["trigger"] == "child_exited" and row["source"] == "restarting" and row.get("priority") == 2:
                del row["priority"]
    with pytest.raises(ChartError, match=r"\(restarting --child_exited--> exited\) and .* can both fire for "
                                         r"'child_exited' in 'restarting': give them different priorities"):
        load_chart(mutated(drop_priority))


def test_equal_priorities_of_overlapping_rows_are_refused():
    def same_priority(d):
        for row in d["transitions"]:
            if row["trigger"] == "child_exited" and row["source"] == "restarting" and row.get("priority") == 2:
                row["priority"] = 1
    with pytest.raises(ChartError, match="can both fire"):
        load_chart(mutated(same_priority))


def test_exclusive_guards_need_no_priority():
    """Two rows where one requires a guard the other excludes can never both hold: no priority needed."""
    chart = load_chart(tiny_chart([{"trigger": "tick", "source": "start", "dest": "middle", "if": ["wait_elapsed"]},
                                   {"trigger": "tick", "source": "start", "dest": "end", "unless": ["wait_elapsed"]},
                                   {"trigger": "interrupted", "source": "middle", "dest": "end"}]))
    rows = chart.rows_for("start", "tick")
    assert len(rows) == 2 and all(r.priority is None for r in rows) and rows[0].excludes(rows[1])
    assert not any(chart.is_else(r) for r in rows)


def test_an_else_row_takes_no_priority():
    def prioritised_else(d):
        for row in d["transitions"]:
            if row["trigger"] == "pool_exhausted" and row["source"] == "acquiring":
                row["priority"] = 9
    with pytest.raises(ChartError, match=r"a row without guards is its cell's \[else\], tried last"):
        load_chart(mutated(prioritised_else))


def test_a_row_requiring_and_excluding_one_guard_is_refused():
    def contradict(d):
        row = next(r for r in d["transitions"] if r.get("if"))
        row["unless"] = row["if"][:1]
    doc = mutated(contradict)
    with pytest.raises(ChartError, match="both required and excluded"):
        load_chart(doc)


def test_file_order_does_not_change_the_chart():
    """Shuffling the rows (and the order inside each cell) gives the same rows in the same order."""
    import random
    chart = load_chart(DOCUMENT)
    for seed in range(5):
        shuffled = copy.deepcopy(DOCUMENT)
        random.Random(seed).shuffle(shuffled["transitions"])
        random.Random(seed + 100).shuffle(shuffled["reactions"])
        reordered = load_chart(shuffled)
        assert [(r.id, r.actions) for r in reordered.rows] == [(r.id, r.actions) for r in chart.rows]


def test_each_cell_lists_priorities_first_then_exclusive_rows_then_the_else():
    chart = load_chart(DOCUMENT)
    cell = chart.rows_for("restarting", "child_exited")
    assert [r.priority for r in cell] == [1, 2, 3, 4, None]
    assert chart.is_else(cell[-1]) and not any(chart.is_else(r) for r in cell[:-1])
    assert not chart.is_else(chart.rows_for("running", "session_bound")[0])  # alone in its cell: no [else]


def test_superstate_rows_apply_to_each_member():
    chart = load_chart(DOCUMENT)
    members = chart.superstates["child_alive"]
    assert members == ("running", "prewarming", "restarting", "resuming")
    for state in members:
        (row,) = chart.rows_for(state, "session_bound")
        assert row.is_reaction and row.declared_in == "child_alive" and row.actions == ("bind_session",)


def test_declared_but_unused_trigger_is_refused():
    doc = mutated(lambda d: d["triggers"].update(moon_rose="never happens"))
    with pytest.raises(ChartError, match="trigger 'moon_rose'"):
        load_chart(doc)


def test_bad_json_names_the_line(tmp_path):
    path = tmp_path / "chart.json"
    path.write_text('{"schema": 2,\n  "name": }')
    with pytest.raises(ChartError, match=r"chart.json: not valid JSON: .* line 2"):
        load_chart_file(path)


def test_unreadable_chart_file_is_a_chart_error(tmp_path):
    with pytest.raises(ChartError, match="cannot read the statechart"):
        load_chart_file(tmp_path / "missing.json")


def test_transitions_never_receives_string_callbacks():
    chart = load_chart(DOCUMENT)
    session = Session(chart)
    for event in session._machine.events.values():
        for transitions in event.transitions.values():
            for t in transitions:
                for condition in t.conditions:
                    assert callable(condition.func)
                assert all(callable(cb) for cb in t.after)


def test_overlapping_superstates_are_refused():
    doc = mutated(lambda d: d["superstates"].update(odd={"doc": "x", "states": ["probing", "running"]}))
    with pytest.raises(ChartError, match="superstates .* overlap without one containing the other"):
        load_chart(doc)


def test_every_guard_action_and_deadline_is_named_by_the_chart():
    """The policy holds no function the chart does not name: dead policy is deleted, not kept."""
    from supervisor.core import policy

    chart = load_chart(DOCUMENT)
    assert set(policy.GUARDS) == {g for r in chart.rows for g in r.guards + r.unless}
    assert set(policy.ACTIONS) == {a for r in chart.rows for a in r.actions}
    assert set(policy.DEADLINES) == {d for names in chart.state_deadlines.values() for d in names}


@pytest.mark.parametrize("name", ["Running", "run ning", "run\x1b]0;x\x07", "1st", "a" * 41, ""])
def test_a_state_name_that_is_not_a_plain_identifier_is_refused(name):
    def rename(d):
        d["states"][name] = d["states"].pop("probing")
    with pytest.raises(ChartError, match="state name .* is not a lowercase identifier"):
        load_chart(mutated(rename))
