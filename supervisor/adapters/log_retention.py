"""Names and retention of the transition logs in codex-fsm's logs folder.

One log per supervised session, named ``session-<UTC start>-<pid>.jsonl`` (``-<n>`` added in the rare
case the name is taken), so names sort by start time and say which process writes them. Retention
(``[logs] keep_days`` and ``max_files``) deletes the logs whose last write is older than ``keep_days``
and the oldest beyond ``max_files``, but never the log of a process that is still running, and never
a file whose name does not follow the pattern: the folder may hold anything else the user put there.
Names without the ``Z`` (local time, written by early builds) are recognised so they age out too.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

LOG_PATTERN = re.compile(r"^session-(\d{8}T\d{6})Z?-(\d+)(?:-(\d+))?\.jsonl$")
_DAY_S = 86400.0


def new_log_path(logs_dir: Path, now: float, pid: int) -> Path:
    """A free, sortable name for the log of the session ``pid`` starts at ``now``."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
    candidate = Path(logs_dir) / f"session-{stamp}-{pid}.jsonl"
    suffix = 0
    while os.path.lexists(candidate):
        suffix += 1
        candidate = Path(logs_dir) / f"session-{stamp}-{pid}-{suffix}.jsonl"
    return candidate


def log_pid(path: Path) -> int | None:
    """The pid a log's name carries; None when the name is not a transition log's."""
    match = LOG_PATTERN.match(path.name)
    return int(match.group(2)) if match else None


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False  # kill(0) would ask about our own process group
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


@dataclass(frozen=True, slots=True)
class _Log:
    path: Path
    pid: int
    mtime: float


def list_logs(logs_dir: Path) -> list[Path]:
    """The transition logs in ``logs_dir`` (files that follow the naming pattern), by name."""
    try:
        with os.scandir(logs_dir) as entries:
            return sorted(Path(e.path) for e in entries
                          if LOG_PATTERN.match(e.name) and e.is_file(follow_symlinks=False))
    except FileNotFoundError:
        return []


def prune_logs(logs_dir: Path, now: float, keep_days: float, max_files: int,
               is_alive: Callable[[int], bool] = pid_alive) -> list[Path]:
    """Delete logs last written more than ``keep_days`` before ``now``, then the oldest beyond
    ``max_files`` (live processes' logs count but stay); return the deleted paths."""
    logs: list[_Log] = []
    for path in list_logs(logs_dir):
        try:
            mtime = path.stat().st_mtime
        except FileNotFoundError:
            continue  # another codex-fsm pruned it first
        logs.append(_Log(path, log_pid(path) or 0, mtime))
    logs.sort(key=lambda log: (log.mtime, log.path.name), reverse=True)  # newest first
    cutoff = now - keep_days * _DAY_S
    deleted: list[Path] = []
    for rank, log in enumerate(logs):
        if rank < max_files and log.mtime >= cutoff:
            continue
        if is_alive(log.pid):
            continue
        try:
            log.path.unlink()
        except FileNotFoundError:
            continue
        except OSError:
            continue  # an undeletable log only costs disk space; the session must still start
        deleted.append(log.path)
    return deleted
