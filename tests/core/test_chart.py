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


def row_index(doc: dict, trigger: str, source: str) -> int:
    for i, row in enumerate(doc["transitions"]):
        if row["trigger"] == trigger and (row["source"] == source or source in row["source"]):
            return i
    raise AssertionError((trigger, source))


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
    (lambda d: d["transitions"][1].update(dest="limbo"),
     r"row 2 \(acquiring --account_leased--> limbo\): unknown destination state 'limbo'"),
    (lambda d: d["transitions"][1].update(source="nowhere"), r"row 2 .*unknown source state 'nowhere'"),
    (lambda d: d["transitions"][2].update({"if": ["is_sunny"]}), r"row 3 .*unknown guard 'is_sunny'"),
    (lambda d: d["transitions"][1].update(actions=["os.system"]), r"row 2 .*unknown action 'os.system'"),
    (lambda d: d["transitions"][1].update(trigger="account_stolen"),
     r"row 2 .*trigger 'account_stolen' is not declared"),
    (lambda d: d["transitions"][1].update(dest=5), r"row 2 .*dest: Not a valid string"),
    (lambda d: d["transitions"][1].update(colour="red"), r"row 2 .*colour: Unknown field"),
    (lambda d: d.update(schema=2), r"schema: Must be equal to 1"),
    (lambda d: d.update(initial="dreaming"), r"initial state 'dreaming' is not a declared state"),
    (lambda d: d["states"]["probing"].update(deadlines=["whenever"]), r"state 'probing': unknown deadline 'whenever'"),
])
def test_malformed_rows_are_named(mutate, message):
    with pytest.raises(ChartError, match=message):
        load_chart(mutated(mutate))


def test_rows_leaving_the_final_state_are_refused():
    doc = mutated(lambda d: d["transitions"].append({"trigger": "tick", "source": "exited", "dest": "acquiring",
                                                     "actions": []}))
    with pytest.raises(ChartError, match=r"exited --tick--> acquiring\): leaves final state 'exited'"):
        load_chart(doc)


def tiny_chart(rows: list[dict], states=("start", "middle", "end")) -> dict:
    return {"schema": 1, "name": "tiny", "initial": "start", "final": ["end"],
            "states": {s: {"doc": s} for s in states},
            "triggers": {"tick": "time passed", "interrupted": "signal"}, "transitions": rows}


def test_tiny_sound_chart_loads():
    load_chart(tiny_chart([{"trigger": "tick", "source": "start", "dest": "middle"},
                           {"trigger": "interrupted", "source": ["start", "middle"], "dest": "end"}]))


def test_unreachable_state_is_refused():
    doc = tiny_chart([{"trigger": "interrupted", "source": ["start", "middle"], "dest": "end"},
                      {"trigger": "tick", "source": "middle", "dest": "start"}])
    with pytest.raises(ChartError, match="state 'middle' is unreachable from 'start'"):
        load_chart(doc)


def test_trap_state_is_refused():
    doc = tiny_chart([{"trigger": "tick", "source": "start", "dest": "middle"},
                      {"trigger": "tick", "source": "middle", "dest": "="},
                      {"trigger": "interrupted", "source": "start", "dest": "end"}])
    with pytest.raises(ChartError, match="non-final state 'middle' has no way out"):
        load_chart(doc)


def test_ambiguous_unguarded_duplicate_is_refused():
    i = row_index(DOCUMENT, "pool_exhausted", "acquiring")
    doc = mutated(lambda d: d["transitions"][i].pop("if"))
    with pytest.raises(ChartError,
                       match=r"can never fire, an unguarded row for 'pool_exhausted' in 'acquiring' comes first"):
        load_chart(doc)


def test_duplicate_guarded_rows_are_refused():
    i = row_index(DOCUMENT, "pool_exhausted", "acquiring")
    doc = mutated(lambda d: d["transitions"].insert(i, dict(d["transitions"][i], dest="exited")))
    with pytest.raises(ChartError, match="same trigger, source and guards as an earlier row"):
        load_chart(doc)


def test_declared_but_unused_trigger_is_refused():
    doc = mutated(lambda d: d["triggers"].update(moon_rose="never happens"))
    with pytest.raises(ChartError, match="trigger 'moon_rose'"):
        load_chart(doc)


def test_bad_json_names_the_line(tmp_path):
    path = tmp_path / "chart.json"
    path.write_text('{"schema": 1,\n  "name": }')
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
