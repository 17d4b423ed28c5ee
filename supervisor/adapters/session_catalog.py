"""The user's Codex sessions from every account: what ``codex-fsm resume`` lists and ``--last`` picks.

Codex's own picker and ``resume --last`` list only the threads the running account created
(the threads recorded in that account's home), so after one rotation Codex alone can no longer find the conversation.
Under codex-fsm every account's sessions live in the user's real CODEX_HOME, so this catalog reads
them there, from the rollout files themselves: ``sessions/YYYY/MM/DD/rollout-<ts>-<id>.jsonl``, whose
first line is the session_meta.

Order is Codex's ``--last`` order: the newest update (file mtime) first. A session resumed today
lives in the folder of the day it started, so folder order alone would miss it.

Cost is bounded however many rollouts exist, the way Codex's own listing bounds it: date folders are
walked newest first and at most ``max_scanned`` files are considered (a ``stat`` each, no open).
They are then opened newest-updated first until ``limit`` match, and only each file's head is read:
the first ``SCREEN_BYTES`` of the session_meta line settle most cwd and source mismatches, and the
rest of that line plus at most ``TITLE_SCAN_LINES`` lines after it settle the others and the title.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .rollout import decode_json_line, parse_iso_timestamp, user_prompt_text
from ..terminal_text import for_terminal

# Codex's own cap on files touched per listing (codex-rs rollout/src/list.rs MAX_SCAN_FILES).
MAX_SCANNED = 10_000
# session_meta carries Codex's base instructions (tens of kilobytes) after the fields we filter on.
SCREEN_BYTES = 8192
_META_MAX_BYTES = 4 << 20
# The first prompt follows the context items of the first turn, about eight lines in.
TITLE_SCAN_LINES = 16
TITLE_SCAN_BYTES = 512 << 10
TITLE_MAX_CHARS = 80
# What Codex's picker and --last count as interactive (INTERACTIVE_SESSION_SOURCES); a session_meta
# without a source predates the field and came from an interactive client.
INTERACTIVE_SOURCES = frozenset({"cli", "vscode"})

_ROLLOUT_NAME = re.compile(r"^rollout-.+\.jsonl$")
# A raw quote cannot occur inside a JSON string, so in the session_meta line these can only be the
# payload's own fields (Codex writes them before the base instructions).
_CWD_FIELD = re.compile(rb'"cwd"\s*:\s*("(?:[^"\\]|\\.)*")')
_SOURCE_FIELD = re.compile(rb'"source"\s*:\s*("(?:[^"\\]|\\.)*"|\{)')


@dataclass(frozen=True, slots=True)
class SessionSummary:
    """One saved Codex session, as the picker shows it and ``resume <id>`` needs it."""

    session_id: str
    cwd: str | None
    started_at: float | None  # session_meta timestamp (epoch seconds)
    updated_at: float  # the rollout's mtime: the last turn written, by any account
    title_hint: str | None = field(repr=False)  # the first prompt, shortened: for display only
    rollout_path: Path


@dataclass(frozen=True, slots=True)
class _Filter:
    cwds: frozenset[str] | None  # None: every folder (Codex's --all)
    include_non_interactive: bool

    def accepts_source(self, source: Any) -> bool:
        if self.include_non_interactive or source is None:
            return True
        return isinstance(source, str) and source in INTERACTIVE_SOURCES

    def accepts_cwd(self, cwd: Any) -> bool:
        return self.cwds is None or (isinstance(cwd, str) and os.path.normpath(cwd) in self.cwds)


def list_sessions(codex_home: Path, *, cwd: str | None = None, limit: int = 50,
                  include_non_interactive: bool = False, max_scanned: int = MAX_SCANNED) -> list[SessionSummary]:
    """Sessions in ``codex_home/sessions``, newest update first.

    ``cwd`` keeps only sessions recorded in that folder (Codex's default; None is ``--all``);
    ``exec`` and other non-interactive sessions are left out unless ``include_non_interactive``.
    """
    return _collect(codex_home, _make_filter(cwd, include_non_interactive), limit, max_scanned, titles=True)


def latest_session(codex_home: Path, cwd: str | None, *, include_non_interactive: bool = False,
                   max_scanned: int = MAX_SCANNED) -> SessionSummary | None:
    """Codex's ``resume --last``: the most recently updated interactive session in ``cwd`` (None: any)."""
    found = _collect(codex_home, _make_filter(cwd, include_non_interactive), 1, max_scanned, titles=False)
    return found[0] if found else None


def _make_filter(cwd: str | None, include_non_interactive: bool) -> _Filter:
    if cwd is None:
        return _Filter(None, include_non_interactive)
    absolute = os.path.abspath(cwd)
    # Codex records the folder it resolved; the user may have named it through a symlink.
    return _Filter(frozenset({os.path.normpath(absolute), os.path.realpath(absolute)}), include_non_interactive)


def _collect(codex_home: Path, wanted: _Filter, limit: int, max_scanned: int, titles: bool) -> list[SessionSummary]:
    if limit <= 0:
        return []
    candidates = _newest_rollouts(Path(codex_home) / "sessions", max_scanned)
    candidates.sort(reverse=True)
    found: list[SessionSummary] = []
    for mtime, _name, path in candidates:
        summary = _read_head(Path(path), mtime, wanted, titles)
        if summary is not None:
            found.append(summary)
            if len(found) >= limit:
                break
    return found


def _newest_rollouts(sessions_root: Path, max_scanned: int) -> list[tuple[float, str, str]]:
    """(mtime, name, path) of up to ``max_scanned`` rollouts, from the newest date folder back."""
    found: list[tuple[float, str, str]] = []
    for year in _date_dirs(str(sessions_root)):
        for month in _date_dirs(year):
            for day in _date_dirs(month):
                try:
                    with os.scandir(day) as entries:
                        rollouts = [e for e in entries if _ROLLOUT_NAME.match(e.name)]
                except OSError:
                    continue
                # Names start with the creation time, so this is newest-created first.
                rollouts.sort(key=lambda e: e.name, reverse=True)
                for entry in rollouts:
                    try:
                        mtime = entry.stat().st_mtime
                    except OSError:
                        continue  # deleted since the listing
                    found.append((mtime, entry.name, entry.path))
                    if len(found) >= max_scanned:
                        return found
    return found


def _date_dirs(parent: str) -> list[str]:
    """``parent``'s all-digit subfolders (YYYY, MM, DD), newest first."""
    try:
        with os.scandir(parent) as entries:
            dirs = [(int(e.name), e.path) for e in entries if e.name.isdigit() and e.is_dir()]
    except OSError:
        return []
    return [path for _, path in sorted(dirs, reverse=True)]


def _read_head(path: Path, mtime: float, wanted: _Filter, titles: bool) -> SessionSummary | None:
    """The summary of one rollout if it passes ``wanted``; None for a mismatch or an unusable head."""
    try:
        handle = open(path, "rb")
    except OSError:
        return None
    with handle:
        first = handle.readline(SCREEN_BYTES)
        if not first.endswith(b"\n"):
            if not _screen(first, wanted):
                return None
            first += handle.readline(_META_MAX_BYTES)
            if not first.endswith(b"\n"):
                return None  # still being written, or not a rollout
        payload = _session_meta_payload(first)
        if payload is None:
            return None
        session_id = payload.get("id") or payload.get("session_id")
        cwd = payload.get("cwd")
        if not isinstance(session_id, str) or not session_id:
            return None
        if not (wanted.accepts_source(payload.get("source")) and wanted.accepts_cwd(cwd)):
            return None
        title = _first_prompt(handle) if titles else None
    return SessionSummary(session_id=session_id, cwd=cwd if isinstance(cwd, str) else None,
                          started_at=parse_iso_timestamp(payload.get("timestamp")), updated_at=mtime,
                          title_hint=title, rollout_path=path)


def _screen(head: bytes, wanted: _Filter) -> bool:
    """False when the start of the session_meta line already shows a mismatch; True when unsure."""
    source = _SOURCE_FIELD.search(head)
    if source is not None:
        value: Any = {} if source.group(1) == b"{" else _json_string(source.group(1))  # {}: a sub-agent
        if value is not None and not wanted.accepts_source(value):
            return False
    if wanted.cwds is not None:
        cwd = _CWD_FIELD.search(head)
        if cwd is not None and not wanted.accepts_cwd(_json_string(cwd.group(1))):
            return False
    return True


def _json_string(raw: bytes) -> str | None:
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, str) else None


def _session_meta_payload(line: bytes) -> dict | None:
    record = decode_json_line(line)
    if record is None or record.get("type") != "session_meta":
        return None
    payload = record.get("payload")
    return payload if isinstance(payload, dict) else None


def _first_prompt(handle: Any) -> str | None:
    budget = TITLE_SCAN_BYTES
    for _ in range(TITLE_SCAN_LINES):
        line = handle.readline(budget)
        if not line.endswith(b"\n"):
            return None  # end of file, or a line too long to be worth reading for a title
        budget -= len(line)
        if b'"user"' not in line:
            continue
        record = decode_json_line(line)
        payload = record.get("payload") if record else None
        if (record and record.get("type") == "response_item" and isinstance(payload, dict)
                and payload.get("type") == "message" and payload.get("role") == "user"):
            prompt = user_prompt_text(payload)
            if prompt is not None:
                return display_text(prompt, TITLE_MAX_CHARS)
    return None


def display_text(text: str, width: int) -> str:
    """One line of at most ``width`` characters: runs of whitespace (newlines of a multi-line prompt
    included) become one space, and whatever else could drive the terminal is escaped by the one
    sanitizer."""
    return for_terminal(" ".join(text.split()), max_chars=width)
