"""The event/command codec round-trips every type, and the log writer writes what replay reads."""

from __future__ import annotations

import json
import os
import stat

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from supervisor.adapters.log_file import TransitionLog
from supervisor.chartfile import load_default_chart
from supervisor.core import commands as cmd
from supervisor.core import events as ev
from supervisor.core.quota import QuotaSnapshot, QuotaWindow
from supervisor.core.records import decode_command, decode_event, encode_command, encode_event
from supervisor.core.session import Session
from supervisor.core.settings import SessionSettings
from supervisor.errors import EventDecodeError, InvalidTransition, LogWriteError
from supervisor.replay import replay_file

windows = st.builds(QuotaWindow, st.floats(0, 100), st.sampled_from([300, 10080, 60]),
                    st.one_of(st.none(), st.floats(1e9, 3e9)))
snapshots = st.builds(QuotaSnapshot, st.lists(windows, max_size=3).map(tuple), st.floats(0, 3e9), st.booleans())
times = st.floats(0, 3e9)
text = st.text(max_size=20)
maybe_int = st.one_of(st.none(), st.integers(0, 255))

events = st.one_of(
    st.builds(ev.SessionStarted, times, st.one_of(st.none(), text)),
    st.builds(ev.AccountLeased, times, text),
    st.builds(ev.PoolExhausted, times, st.one_of(st.none(), times), text),
    st.builds(ev.QuotaProbed, times, text, snapshots),
    st.builds(ev.ProbeFailed, times, text, text, st.one_of(st.none(), st.floats(0, 1e6))),
    st.builds(ev.QuotaObserved, times, snapshots),
    st.builds(ev.ChildExited, times, maybe_int, maybe_int),
    st.builds(ev.Tick, times, st.one_of(st.none(), times)),
    st.builds(ev.TurnFinished, times, st.one_of(st.none(), times)),
    st.builds(ev.Interrupted, times, st.integers(1, 31)),
)
commands = st.one_of(
    st.builds(cmd.LeaseCandidate, st.sampled_from(["session", "successor"]), st.lists(text, max_size=2).map(tuple)),
    st.builds(cmd.CoolDown, text, times, text),
    st.builds(cmd.RecordQuota, text, snapshots),
    st.builds(cmd.SpawnChild, text, st.one_of(st.none(), text)),
    st.builds(cmd.Notify, text, st.lists(st.tuples(text, st.one_of(st.none(), st.integers(), text)),
                                         max_size=3).map(tuple)),
    st.builds(cmd.Exit, st.integers(0, 255)),
)


@settings(derandomize=True, deadline=None)
@given(events)
def test_events_round_trip_through_json(event):
    assert decode_event(json.loads(json.dumps(encode_event(event)))) == event


@settings(derandomize=True, deadline=None)
@given(commands)
def test_commands_round_trip_through_json(command):
    assert decode_command(json.loads(json.dumps(encode_command(command)))) == command


@pytest.mark.parametrize("data,message", [
    ({"type": "meteor_struck", "at": 1}, "unknown event type 'meteor_struck'"),
    ({"at": 1}, "must be an object with a 'type' string"),
    ({"type": "tick", "at": 1, "colour": "red"}, "unknown fields: colour"),
    ({"type": "quota_observed", "at": 1, "snapshot": {"windows": [["x"]]}}, "malformed quota snapshot"),
    ({"type": ["tick"], "at": 1}, "must be an object with a 'type' string"),
    ({"type": "tick", "at": "soon"}, "'tick': at must be float, got 'soon'"),
    ({"type": "child_exited", "at": 1, "code": True}, "code must be int | None, got True"),
    ({"type": "account_leased", "at": 1, "account": 7}, "account must be str, got 7"),
])
def test_bad_events_are_named(data, message):
    with pytest.raises(EventDecodeError, match=message):
        decode_event(data)


@pytest.mark.parametrize("params", [5, [["only-a-key"]]])
def test_malformed_notice_params_are_a_decode_error(params):
    with pytest.raises(EventDecodeError, match="command 'Notify'"):
        decode_command({"type": "Notify", "kind": "rotated", "params": params})


def test_log_file_is_private_and_replays(tmp_path):
    chart = load_default_chart()
    path = tmp_path / "logs" / "session.jsonl"
    session = Session(chart, SessionSettings(max_restarts=3))
    with TransitionLog.create(path, chart, session.settings, started_at=1.0) as log:
        for event in [ev.SessionStarted(at=1), ev.AccountLeased(at=2, account="a-x"), ev.ChildExited(at=3, code=0)]:
            try:
                log.append(session.handle(event))
            except InvalidTransition as exc:
                log.append(exc.record)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    header = json.loads(path.read_text().splitlines()[0])
    assert header["settings"]["max_restarts"] == 3 and header["chart_sha256"] == chart.sha256
    result = replay_file(path, chart)
    assert (result.transitions, result.rejected, result.final_state) == (2, 1, "probing")


def test_log_file_never_overwrites_an_existing_log(tmp_path):
    chart = load_default_chart()
    path = tmp_path / "session.jsonl"
    path.write_text("precious\n")
    with pytest.raises(LogWriteError, match="cannot create the transition log .*session.jsonl: File exists"):
        TransitionLog.create(path, chart, SessionSettings())
    assert path.read_text() == "precious\n"


def test_an_unusable_logs_folder_is_a_named_error(tmp_path):
    not_a_folder = tmp_path / "logs"
    not_a_folder.write_text("")
    with pytest.raises(LogWriteError, match=f"cannot create the transition log {not_a_folder}/s.jsonl"):
        TransitionLog.create(not_a_folder / "s.jsonl", load_default_chart(), SessionSettings())
