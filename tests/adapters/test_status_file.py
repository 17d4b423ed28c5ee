"""Per-session status files: written on change, listed only while their process lives, removed at the end."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from supervisor.adapters.status_file import StatusFile, live_sessions
from supervisor.errors import StatusFileError


def test_live_sessions_lists_running_processes_only(tmp_path):
    run = tmp_path / "run"
    mine = StatusFile(run, os.getpid(), 100.0)
    mine.update("running", "demo-a", "sess-1", 101.0)
    mine.update("running", "demo-a", "sess-1", 150.0)  # nothing shown changed: state_since stays
    dead = subprocess.Popen([sys.executable, "-c", ""])
    dead.wait()
    StatusFile(run, dead.pid, 100.0).update("running", None, None, 100.0)
    for pid in (0, -1):  # kill(0)/kill(-1) would ask about process groups, which always "exist"
        (run / f"odd{pid}.json").write_text(json.dumps({"pid": pid, "state": "running", "account": None,
                                                         "session_id": None, "started_at": 1.0,
                                                         "state_since": 1.0}))
    (run / "garbage.json").write_text("{not json")
    [status] = live_sessions(run)
    assert (status.pid, status.state, status.account, status.session_id) == (os.getpid(), "running", "demo-a", "sess-1")
    assert status.state_since == 101.0
    mine.remove()
    assert not mine.path.exists()
    mine.remove()  # a second removal is harmless


def _write(run, name, data) -> None:
    run.mkdir(parents=True, exist_ok=True)
    (run / name).write_text(json.dumps(data))


GOOD = {"pid": os.getpid(), "state": "running", "account": None, "session_id": None, "started_at": 1.0,
        "state_since": 1.0}


def test_a_reused_pid_or_a_file_without_a_start_time_is_not_a_live_session(tmp_path):
    run = tmp_path / "run"
    _write(run, "old-format.json", GOOD)  # written before files carried the start time: cannot be verified
    _write(run, "reused.json", {**GOOD, "process_start": "1"})  # our pid, but a different process started
    _write(run, "init.json", {**GOOD, "pid": 1, "process_start": "1"})
    assert live_sessions(run) == []
    StatusFile(run, os.getpid(), 1.0).update("running", None, None, 2.0)
    assert [s.pid for s in live_sessions(run)] == [os.getpid()]
    assert [s.pid for s in live_sessions(run, start_of=lambda pid: None)] == []  # the process ended


def test_status_files_with_wrong_types_are_skipped(tmp_path):
    run = tmp_path / "run"
    mine = StatusFile(run, os.getpid(), 100.0)
    mine.update("running", "demo-a", "sess-1", 101.0)
    start = json.loads(mine.path.read_text())["process_start"]
    for index, change in enumerate([{"pid": "1"}, {"pid": True}, {"pid": 1.5}, {"state": 5}, {"account": ["x"]},
                                    {"session_id": 7}, {"state_since": "noon"}, {"started_at": None},
                                    {"state_since": float("inf")}, {"extra": 1}, {"process_start": 3},
                                    {"kind": "daemon"}, {"kind": None}]):
        _write(run, f"bad{index}.json", {**GOOD, "process_start": start, **change})
    _write(run, "list.json", [1, 2])
    (run / "binary.json").write_bytes(b"\xff\xfe")
    assert [s.session_id for s in live_sessions(run)] == ["sess-1"]


def test_status_files_are_private_whatever_the_umask(tmp_path):
    previous = os.umask(0)
    try:
        status = StatusFile(tmp_path / "fsm" / "run", os.getpid(), 1.0)
        status.update("running", None, None, 1.0)
        status.update("rotating", None, None, 2.0)
    finally:
        os.umask(previous)
    assert oct(status.path.stat().st_mode & 0o777) == "0o600"
    assert oct((tmp_path / "fsm" / "run").stat().st_mode & 0o777) == "0o700"
    assert sorted(p.name for p in status.path.parent.iterdir()) == [status.path.name]  # no temp file left


@pytest.mark.parametrize("make", ["file", "loop"])
def test_an_unusable_run_folder_is_an_error_naming_it(tmp_path, make):
    run = tmp_path / "run"
    if make == "file":
        run.write_text("")
    else:
        run.symlink_to(run)
    with pytest.raises(StatusFileError, match=f"cannot list the running sessions in {run}: "):
        live_sessions(run)


def test_an_exec_run_says_so_and_a_file_of_the_version_before_is_a_tui_session(tmp_path):
    run = tmp_path / "run"
    StatusFile(run, os.getpid(), 1.0, kind="exec").update("running", "work-1", None, 2.0)
    [status] = live_sessions(run)
    assert status.kind == "exec"
    data = json.loads(status_path(run).read_text())
    del data["kind"]
    status_path(run).write_text(json.dumps(data))
    [status] = live_sessions(run)
    assert status.kind == "tui"


def status_path(run):
    return run / f"{os.getpid()}.json"


def test_the_status_line_fields_round_trip_and_older_files_still_parse(tmp_path):
    from supervisor.adapters.status_file import StatusExtras, parse_status

    run = tmp_path / "run"
    status = StatusFile(run, os.getpid(), 1.0)
    window = {"used_percent": 18.0, "window_minutes": 300, "resets_at": 9e8}
    status.update("running", "work-2", None, 2.0, StatusExtras((window,), "work-1", 1.5))
    (parsed,) = live_sessions(run)
    assert (parsed.windows, parsed.moved_from, parsed.moved_at) == ((window,), "work-1", 1.5)
    older = {"pid": 5, "state": "running", "account": None, "session_id": None, "started_at": 1.0,
             "state_since": 1.0, "process_start": "x"}
    assert parse_status(json.dumps(older).encode()).windows == ()
    bad_window = {**older, "windows": [{"used_percent": "lots", "window_minutes": 300, "resets_at": None}]}
    assert parse_status(json.dumps(bad_window).encode()) is None


def test_removing_the_status_also_removes_the_recorded_codex_limits(tmp_path):
    status = StatusFile(tmp_path / "run", os.getpid(), 1.0)
    status.update("running", None, None, 2.0)
    status.codex_limits_path.write_text("{}")
    status.remove()
    assert list((tmp_path / "run").iterdir()) == []
