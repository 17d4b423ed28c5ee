"""Per-session status files: written on change, listed only while their process lives, removed at the end."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from supervisor.adapters.status_file import StatusFile, live_sessions


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
