"""The session id has one owner, the core: a child is spawned to resume the id the core holds and is
bound only to that id, even when its output names another session."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from supervisor.adapters import binding
from supervisor.adapters.child_watch import ChildWatch
from supervisor.adapters.codex_args import classify
from supervisor.adapters.input_tracker import InputTracker
from supervisor.adapters.launcher import Launch
from supervisor.adapters.pool_guard import GuardedPool
from supervisor.adapters.pty_child import ExitStatus
from supervisor.adapters.terminal import Screen
from supervisor.adapters.terminal_replies import AskedQueries
from supervisor.command_executor import CommandExecutor
from supervisor.core import commands as cmd
from supervisor.core import events as ev

from tests.adapters.test_binding import _rollout
from .test_loop import OnePool, SilentQuota

HELD = "01a20fd6-0841-7b11-bef0-67e429d6e15c"
OTHER = "01a20fe2-fcf0-7000-8000-000000000001"


def _ended_pid() -> int:
    """The pid of a process that has ended and been reaped."""
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


class ExitedChild:
    """A child that has already ended, leaving ``tail`` (what it printed) in its pty."""

    def __init__(self, tail: bytes) -> None:
        self.pid = _ended_pid()  # no open files to read: binding falls back to the tail and the scan
        self._tail = tail
        self.fd, writer = os.pipe()
        os.close(writer)
        self.output_closed = False
        self.has_unsent = False
        self.next_write_at = None

    def read(self) -> bytes:
        data, self._tail = self._tail, b""
        self.output_closed = not data
        return data

    def flush_unsent(self) -> None: pass
    def flush_due_writes(self, now) -> None: pass
    def cancel_writes(self) -> None: pass
    def poll_exit(self) -> ExitStatus: return ExitStatus(0, None)

    def close(self) -> None:
        os.close(self.fd)


class RecordingLauncher:
    invocation = classify([])

    def __init__(self, home: Path, cwd: Path, child: ExitedChild) -> None:
        self.session_cwd = str(cwd)
        self._home = home
        self._child = child
        self.spawned: list[tuple[str, str | None]] = []

    def spawn(self, account, resume_session_id, size):
        self.spawned.append((account, resume_session_id))
        return Launch(self._child, self._home)


def _world(tmp_path: Path, tail: bytes):
    home, cwd = tmp_path / "home", tmp_path / "project"
    cwd.mkdir()
    folder = binding.date_folders(home / "sessions", time.time())[0]
    for session_id in (HELD, OTHER):
        _rollout(folder, session_id, str(cwd), time.time())
    launcher = RecordingLauncher(home, cwd, ExitedChild(tail))
    out_r, out_w = os.pipe()
    watch = ChildWatch(launcher, Screen(out_w, out_w), AskedQueries(), InputTracker(), time.time)
    return launcher, watch, (out_r, out_w)


def _run_until_exit(tmp_path: Path, tail: bytes, command: cmd.SpawnChild):
    launcher, watch, fds = _world(tmp_path, tail)
    quota = SilentQuota()
    executor = CommandExecutor(GuardedPool(OnePool(lambda now: [])), quota, watch, InputTracker(),
                               Screen(fds[1], fds[1]), str, time.time)
    try:
        assert executor.execute(command, time.time()) == []
        events: list[ev.Event] = []
        for _ in range(3):  # what the child printed, then the end of its output and its exit
            events += watch.poll(time.time())
            if not watch.running:
                break
    finally:
        quota.close()
        for fd in fds:
            os.close(fd)
    return launcher, events


def test_a_resumed_child_is_bound_to_the_id_the_core_holds_not_the_one_it_printed(tmp_path) -> None:
    printed = b"To continue this session, run codex resume " + OTHER.encode()
    resume = cmd.SpawnChild(account="acct-a", resume_session_id=HELD, bind_to=HELD)
    launcher, events = _run_until_exit(tmp_path, printed, resume)
    assert launcher.spawned == [("acct-a", HELD)]
    assert [e.session_id for e in events if isinstance(e, ev.SessionBound)] == [HELD]
    assert isinstance(events[-1], ev.ChildExited)


def test_a_fresh_child_is_bound_to_the_session_it_names(tmp_path) -> None:
    printed = b"To continue this session, run codex resume " + OTHER.encode()
    launcher, events = _run_until_exit(tmp_path, printed, cmd.SpawnChild(account="acct-a"))
    assert launcher.spawned == [("acct-a", None)]
    assert [e.session_id for e in events if isinstance(e, ev.SessionBound)] == [OTHER]


def test_the_users_resume_request_is_where_the_core_learns_the_id(tmp_path) -> None:
    """``codex-fsm resume <id>``: the first spawn runs the user's own command, and its child is bound
    to the id the core took from SessionStarted, which the spawn command carries."""
    launcher, events = _run_until_exit(tmp_path, b"", cmd.SpawnChild(account="acct-a", bind_to=HELD))
    assert launcher.spawned == [("acct-a", None)]
    assert [e.session_id for e in events if isinstance(e, ev.SessionBound)] == [HELD]
