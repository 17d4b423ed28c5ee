"""A small status file per supervised session (``<fsm home>/run/<pid>.json``), for
``codex-fsm status``. Written only when something shown changes; removed when the session ends.
Holds masked account labels and the session id, never credentials.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from .log_retention import pid_alive

RUN_DIR_NAME = "run"


@dataclass(frozen=True, slots=True)
class SessionStatus:
    pid: int
    state: str
    account: str | None  # masked label
    session_id: str | None
    started_at: float
    state_since: float


class StatusFile:
    def __init__(self, run_dir: Path, pid: int, started_at: float) -> None:
        self.path = run_dir / f"{pid}.json"
        self._run_dir = run_dir
        self._pid = pid
        self._started_at = started_at
        self._last: SessionStatus | None = None

    def update(self, state: str, account: str | None, session_id: str | None, now: float) -> None:
        last = self._last
        if last is not None and (last.state, last.account, last.session_id) == (state, account, session_id):
            return
        since = last.state_since if last is not None and last.state == state else now
        status = SessionStatus(self._pid, state, account, session_id, self._started_at, since)
        self._run_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        temp = self.path.with_suffix(".tmp")
        temp.write_text(json.dumps(asdict(status), sort_keys=True), encoding="utf-8")
        os.replace(temp, self.path)
        self._last = status

    def remove(self) -> None:
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass


def live_sessions(run_dir: Path) -> list[SessionStatus]:
    """Status of every supervised session whose process still runs (stale files are skipped)."""
    found: list[SessionStatus] = []
    try:
        names = sorted(os.listdir(run_dir))
    except FileNotFoundError:
        return found
    for name in names:
        if not name.endswith(".json"):
            continue
        try:
            data = json.loads((run_dir / name).read_text(encoding="utf-8"))
            status = SessionStatus(**data)
        except (OSError, ValueError, TypeError):
            continue
        if pid_alive(status.pid):
            found.append(status)
    return found
