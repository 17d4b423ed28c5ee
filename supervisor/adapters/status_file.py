"""A small status file per supervised session (``<fsm home>/run/<pid>.json``), for
``codex-fsm status``. Written only when something shown changes; removed when the session ends.
Holds masked account labels and the session id, never credentials. The status line codex-fsm
provides inside Codex (``statusline_mcp``) reads the same file: the running account's windows (the
family of the session's model, as last observed) and the last move (the label the session left, when).

A file names its process by pid and process start time, as leases do: a pid is reused after its
process ends (a crashed session leaves its file behind), and only the start time tells the new process
from the session that wrote the file.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Callable

from ..core.quota import finite_number
from ..errors import PoolError, StatusFileError
from ..paths import ensure_private_dir
from ..pool.atomic import write_private_file
from ..pool.leases import process_start

@dataclass(frozen=True, slots=True)
class SessionStatus:
    pid: int
    state: str
    account: str | None  # masked label
    session_id: str | None
    started_at: float
    state_since: float
    process_start: str  # the pid's start time (``leases.process_start``); empty when it was unknown
    kind: str = "tui"  # "tui" (the interactive Codex) or "exec" (codex exec / review)
    # The running account's windows as last observed, each {"used_percent", "window_minutes", "resets_at"}
    # (empty when none is known for this account yet).
    windows: tuple[dict[str, Any], ...] = ()
    moved_from: str | None = None  # masked label of the account the session last left
    moved_at: float | None = None


@dataclass(frozen=True, slots=True)
class StatusExtras:
    """What the status line shows beyond the state: the running account's windows and the last move."""

    windows: tuple[dict[str, Any], ...] = ()
    moved_from: str | None = None
    moved_at: float | None = None


def status_path(run_dir: Path, pid: int) -> Path:
    return run_dir / f"{pid}.json"


def codex_limits_path(run_dir: Path, pid: int) -> Path:
    """Where the status-line provider records the rate limits Codex sent it (``statusline_mcp``)."""
    return run_dir / f"{pid}.codex-limits"


class StatusFile:
    def __init__(self, run_dir: Path, pid: int, started_at: float, kind: str = "tui") -> None:
        self.path = status_path(run_dir, pid)
        self.codex_limits_path = codex_limits_path(run_dir, pid)
        self._kind = kind
        self._run_dir = run_dir
        self._pid = pid
        self._process_start = process_start(pid) or ""
        self._started_at = started_at
        self._last: SessionStatus | None = None

    def update(self, state: str, account: str | None, session_id: str | None, now: float,
               extras: StatusExtras = StatusExtras()) -> None:
        """Rewrite the file (atomically, 0600) when what it shows changed. Raises OSError or PoolError
        when the run folder or the file cannot be written."""
        last = self._last
        shown = (state, account, session_id, extras.windows, extras.moved_from, extras.moved_at)
        if last is not None and (last.state, last.account, last.session_id, last.windows, last.moved_from,
                                 last.moved_at) == shown:
            return
        since = last.state_since if last is not None and last.state == state else now
        status = SessionStatus(self._pid, state, account, session_id, self._started_at, since, self._process_start,
                               self._kind, extras.windows, extras.moved_from, extras.moved_at)
        ensure_private_dir(self._run_dir)
        write_private_file(self.path, json.dumps(asdict(status), sort_keys=True).encode("utf-8"))
        self._last = status

    def publish(self, state: str, account_label: str | None, session_id: str | None, now: float,
                extras: StatusExtras = StatusExtras()) -> None:
        """``update`` for the run loop: a file that cannot be written costs `codex-fsm status` this
        session's line, never the session itself."""
        try:
            self.update(state, account_label, session_id, now, extras)
        except (OSError, PoolError):
            pass

    def remove(self) -> None:
        for path in (self.path, self.codex_limits_path):
            try:
                path.unlink()
            except FileNotFoundError:
                pass


def _number(value: Any) -> bool:
    return finite_number(value) is not None


def _optional_text(value: Any) -> bool:
    return value is None or isinstance(value, str)


def _window(value: Any) -> bool:
    return (isinstance(value, dict) and set(value) == {"used_percent", "window_minutes", "resets_at"}
            and _number(value["used_percent"]) and _number(value["window_minutes"])
            and (value["resets_at"] is None or _number(value["resets_at"])))


_FIELD_CHECKS: dict[str, Callable[[Any], bool]] = {
    "pid": lambda v: isinstance(v, int) and not isinstance(v, bool) and v > 0,
    "state": lambda v: isinstance(v, str),
    "account": _optional_text,
    "session_id": _optional_text,
    "started_at": _number,
    "state_since": _number,
    "process_start": lambda v: isinstance(v, str) and v != "",
    "kind": lambda v: v in ("tui", "exec"),
    "windows": lambda v: isinstance(v, list) and all(_window(w) for w in v),
    "moved_from": _optional_text,
    "moved_at": lambda v: v is None or _number(v),
}
# Written by older versions: "kind" before exec was supervised (still a live session, of the TUI), the
# rest before the status line.
_OPTIONAL_FIELDS = {"kind": "tui", "windows": [], "moved_from": None, "moved_at": None}
assert set(_FIELD_CHECKS) == {f.name for f in fields(SessionStatus)}


def parse_status(raw: bytes) -> SessionStatus | None:
    """A status file's content; None when it is not one (garbage, wrong types, an older format)."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    data = {**_OPTIONAL_FIELDS, **data}
    if set(data) != set(_FIELD_CHECKS):
        return None
    if not all(check(data[name]) for name, check in _FIELD_CHECKS.items()):
        return None
    return SessionStatus(**{**data, "windows": tuple(data["windows"])})


def live_sessions(run_dir: Path, start_of: Callable[[int], str | None] = process_start) -> list[SessionStatus]:
    """Status of every supervised session whose process still runs: its pid is alive AND started when
    the file says (files of ended sessions, whose pid may now belong to another process, are skipped).
    Raises StatusFileError when ``run_dir`` exists but cannot be listed."""
    found: list[SessionStatus] = []
    try:
        names = sorted(os.listdir(run_dir))
    except FileNotFoundError:
        return found
    except OSError as exc:
        raise StatusFileError(f"cannot list the running sessions in {run_dir}: {exc.strerror or exc}") from exc
    for name in names:
        if not name.endswith(".json"):
            continue
        try:
            status = parse_status((run_dir / name).read_bytes())
        except OSError:
            continue  # removed meanwhile, or not ours to read: not a session of this user
        if status is not None and start_of(status.pid) == status.process_start:
            found.append(status)
    return found
