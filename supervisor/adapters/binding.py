"""Exact session binding: which session (and rollout file) *this* child is writing.

Never "the newest file in this cwd": with two sessions in one folder that binds the wrong one.
In order of preference:

1. The files the child process itself holds open (``/proc/<pid>/fd``): the rollout from the first
   turn on, and before it ``thread-writer-locks/<id>.lock``, which already names the session
   (Codex takes that lock when the thread starts). When ``pid`` is npm's Node launcher, its child
   whose exe is ``codex``.
2. After the child ended: the ``codex resume <id>`` hint Codex printed on exit.
3. A bounded scan of today's and yesterday's date folders only, for a rollout whose session_meta cwd
   is ours and that was created after the spawn; accepted only when exactly one matches.

Every step costs the same however many old rollouts exist.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import RolloutError
from .rollout import read_session_meta

_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_ROLLOUT_NAME = re.compile(rf"/sessions/\d{{4}}/\d{{2}}/\d{{2}}/rollout-[^/]*?({_UUID})\.jsonl$")
_LOCK_NAME = re.compile(rf"/thread-writer-locks/({_UUID})\.lock$")
RESUME_HINT = re.compile(rb"codex resume (" + _UUID.encode() + rb")")
# File times and folder dates are rounded to the second: a file this much older than the spawn may still
# be the child's.
_CREATION_SLACK_S = 2.0
# The session_meta timestamp (milliseconds, the same clock) is taken after Codex started, and the spawn
# moment is read before the spawn: a session that started before it is an earlier run's, however
# close (a script that runs `codex-fsm exec` twice within a second in one folder must not make the
# second run's binding ambiguous). The slack only covers the timestamp's truncation to milliseconds.
_META_SLACK_S = 0.002


@dataclass(frozen=True, slots=True)
class Binding:
    session_id: str
    rollout_path: Path | None  # None until the first turn creates the file


def codex_process(pid: int) -> int | None:
    """``pid`` when it is Codex itself, else its child whose executable is ``codex``."""
    if _exe_name(pid) == "codex":
        return pid
    for child in _children(pid):
        if _exe_name(child) == "codex":
            return child
    return None


def _exe_name(pid: int) -> str | None:
    try:
        return os.path.basename(os.readlink(f"/proc/{pid}/exe")).removesuffix(" (deleted)")
    except OSError:
        return None


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                found.extend(int(p) for p in handle.read().split())
        except (OSError, ValueError):
            continue
    return found


def _opened_for_writing(pid: int, fd: str) -> bool:
    """Whether descriptor ``fd`` of ``pid`` may write (``flags`` in ``/proc/<pid>/fdinfo/<fd>``, octal)."""
    try:
        with open(f"/proc/{pid}/fdinfo/{fd}") as handle:
            for line in handle:
                if line.startswith("flags:"):
                    return int(line.split()[1], 8) & os.O_ACCMODE != os.O_RDONLY
    except (OSError, ValueError, IndexError):
        return False
    return False


def from_open_files(pid: int) -> Binding | None:
    """The session the process is writing, read from its open descriptors.

    Only descriptors open for writing count: Codex writes its own rollout (O_RDWR|O_APPEND) and holds its
    own thread lock, while it may read another session's rollout at the same moment (a second Codex in
    the same folder lists recent threads at start-up), which must never bind it to that session."""
    fd_dir = f"/proc/{pid}/fd"
    try:
        names = os.listdir(fd_dir)
    except OSError:
        return None
    lock_id = None
    for name in names:
        try:
            target = os.readlink(f"{fd_dir}/{name}")
        except OSError:
            continue
        if not (_ROLLOUT_NAME.search(target) or _LOCK_NAME.search(target)) or not _opened_for_writing(pid, name):
            continue
        match = _ROLLOUT_NAME.search(target)
        if match:
            return Binding(match.group(1), Path(target))
        match = _LOCK_NAME.search(target)
        if match:
            lock_id = match.group(1)
    return Binding(lock_id, None) if lock_id else None


def from_resume_hint(output_tail: bytes) -> str | None:
    """The id in the last ``codex resume <id>`` Codex printed."""
    matches = RESUME_HINT.findall(output_tail)
    return matches[-1].decode("ascii") if matches else None


def date_folders(sessions_root: Path, now: float) -> list[Path]:
    """Today's and yesterday's ``YYYY/MM/DD`` folders (local time, as Codex names them)."""
    days = {time.strftime("%Y/%m/%d", time.localtime(now - offset)) for offset in (0, 86400)}
    return [sessions_root / day for day in sorted(days, reverse=True)]


def scan_recent(sessions_root: Path, cwd: str, spawned_at: float, now: float,
                session_id: str | None = None) -> Binding | None:
    """The one rollout in the recent date folders created by our child (cwd match, after spawn).

    With ``session_id`` known, only its file is accepted (by name), never another in the same cwd.
    """
    wanted_cwd = os.path.realpath(cwd)
    matches: list[Binding] = []
    for folder in date_folders(sessions_root, now):
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            name = entry.name
            if not (name.startswith("rollout-") and name.endswith(".jsonl")):
                continue
            if session_id is not None:
                if name.endswith(f"-{session_id}.jsonl"):
                    return Binding(session_id, Path(entry.path))
                continue
            try:
                if entry.stat().st_mtime < spawned_at - _CREATION_SLACK_S:
                    continue
                meta = read_session_meta(Path(entry.path))
            except (OSError, RolloutError):
                continue
            if meta is None or meta.cwd is None or os.path.realpath(meta.cwd) != wanted_cwd:
                continue
            if meta.started_at is not None and meta.started_at < spawned_at - _META_SLACK_S:
                continue
            matches.append(Binding(meta.session_id, Path(entry.path)))
    return matches[0] if len(matches) == 1 else None


class SessionBinder:
    """Binding for one child: polled until the rollout path is known, then quiet.

    ``expected_session_id`` is the session the core holds when the child is spawned (the one it
    resumes), or None for a fresh session: a child writing any other session is never bound. The
    binder keeps no id of its own beyond the one it last reported, so it cannot disagree with the core.
    """

    def __init__(self, pid: int, sessions_root: Path, cwd: str, spawned_at: float,
                 expected_session_id: str | None) -> None:
        self._pid = pid
        self._codex_pid: int | None = None
        self._sessions_root = sessions_root
        self._cwd = cwd
        self._spawned_at = spawned_at
        self._expected = expected_session_id
        self._reported: Binding | None = None

    @property
    def spawned_at(self) -> float:
        return self._spawned_at

    @property
    def rollout_path(self) -> Path | None:
        return self._reported.rollout_path if self._reported is not None else None

    @property
    def complete(self) -> bool:
        return self.rollout_path is not None

    def poll(self) -> Binding | None:
        """Look at the live child's open files; the binding when it improved, else None."""
        if self.complete:
            return None
        if self._codex_pid is None:
            self._codex_pid = codex_process(self._pid)
        # Until a process named codex shows up, the spawned process itself is the best witness.
        return self._adopt(from_open_files(self._codex_pid or self._pid))

    def after_exit(self, output_tail: bytes, now: float) -> Binding | None:
        """Fallbacks once the child is gone: its resume hint, then the bounded recent scan."""
        if self.complete:
            return None
        wanted = self._wanted()
        hinted = from_resume_hint(output_tail)
        if hinted is not None and wanted in (None, hinted):
            found = scan_recent(self._sessions_root, self._cwd, self._spawned_at, now, hinted)
            return self._adopt(found or Binding(hinted, None))
        return self._adopt(scan_recent(self._sessions_root, self._cwd, self._spawned_at, now, wanted))

    def _wanted(self) -> str | None:
        """The only session this child may be bound to: the expected one, else the first one reported."""
        if self._expected is not None:
            return self._expected
        return self._reported.session_id if self._reported is not None else None

    def _adopt(self, found: Binding | None) -> Binding | None:
        if found is None:
            return None
        wanted = self._wanted()
        if wanted is not None and found.session_id != wanted:
            return None  # another session than the one we resumed: never rebind silently
        path_before = self.rollout_path
        improved = wanted is None or (found.rollout_path is not None and path_before is None)
        self._reported = Binding(found.session_id, found.rollout_path or path_before)
        return found if improved else None
