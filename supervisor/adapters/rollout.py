"""Incremental reader of one Codex session rollout: the running account's quota without a request.

Codex appends one JSON object per line to ``sessions/YYYY/MM/DD/rollout-…-<id>.jsonl``.
Every real turn records the response's ``x-codex-*`` rate-limit headers as an
``event_msg``/``token_count`` line, and a usage-limit 429 shows as a 100 % ``token_count`` followed by a
``task_complete`` whose ``error.codex_error_info`` is ``usage_limit_exceeded``. ``RolloutReader.poll``
turns the lines appended since the last call into core events.

Limit families: Codex writes one ``token_count`` per limit family a response reported, its
``rate_limits`` shaped ``{"limit_id": "codex_bengalfox", "limit_name": "GPT-5.3-Codex-Spark",
"primary": {"used_percent": 12.0, "window_minutes": 300, "resets_at": 1776120541}, "secondary": …,
"credits": …, "plan_type": "pro", "rate_limit_reached_type": "workspace_member_usage_limit_reached"}``
(a missing ``limit_id`` is the main family ``codex``; most fields may be missing or null). The reader
keeps the newest reading of every family it has seen in this file and reports them together, with
the model of the latest turn (Codex's ``turn_context`` line names it), so the core can judge the
family the session's model uses.

Cost model: each poll is one ``stat`` plus reading only the bytes appended since the last poll, so the
cost follows the new lines, never the file's total size. Lines are first screened by cheap byte
tests; only the few kinds that matter are decoded as JSON. A line that is not a JSON object is skipped
and counted, never fatal. The reader notices a file replaced under it (new inode), truncated (shorter
than the offset) or deleted, drains what the old file still held and goes on with the new one.

The last user prompt is kept in memory only (for re-submission after a usage limit) and never appears
in an event, a repr or an error.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

from ..core.events import Event, QuotaObserved, TurnFinished, TurnStarted, UsageLimitHit
from ..core.quota import (MAIN_FAMILY, LimitFamily, QuotaSnapshot, QuotaWindow, epoch_seconds, finite_number,
                          plausible_reset, reset_named_by)
from ..errors import RolloutError

_READ_CHUNK = 1 << 20
# A line longer than this (a huge tool output) is skipped whole instead of buffered without bound.
DEFAULT_MAX_LINE_BYTES = 16 << 20
# session_meta carries Codex's base instructions, tens of kilobytes; this bounds a corrupt first line.
_META_MAX_BYTES = 4 << 20
# Codex's own context messages share role "user" with real prompts; these openings mark them.
_CONTEXT_PREFIXES = ("<environment_context>", "<user_instructions>", "<turn_aborted>", "# AGENTS.md instructions")
# Only these byte patterns can mark a line the reader acts on; everything else is screened out.
_RELEVANT = re.compile(rb'"(?:token_count|task_started|task_complete|turn_aborted|turn_context|user)"')
# A model name longer than this is not one (kept out of events and logs).
_MAX_MODEL_CHARS = 200
# How Codex (compact serde JSON) opens a token_count line. Raw quotes cannot occur inside a JSON string,
# so this can only be the record's own structure. Such lines are decoded lazily: of a run of them with
# no other event in between, only the newest valid one matters.
_TOKEN_COUNT_OPENING = b'"type":"event_msg","payload":{"type":"token_count"'


@dataclass(frozen=True, slots=True)
class SessionMeta:
    """What binding needs from a rollout's first line."""

    session_id: str
    cwd: str | None
    started_at: float | None


@dataclass(frozen=True, slots=True)
class RolloutStats:
    lines: int = 0
    malformed: int = 0
    oversized: int = 0
    replaced: int = 0
    truncated: int = 0
    missing: bool = False


def read_session_meta(path: Path) -> SessionMeta | None:
    """The session_meta of ``path``'s first line; None while the file or its first line is incomplete.

    Raises RolloutError when the first line is complete but is not a session_meta object.
    """
    try:
        with open(path, "rb") as handle:
            head = handle.readline(_META_MAX_BYTES)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise RolloutError(f"cannot read rollout {path}: {exc.strerror}") from exc
    if not head.endswith(b"\n"):
        if len(head) >= _META_MAX_BYTES:
            raise RolloutError(f"rollout {path}: first line exceeds {_META_MAX_BYTES} bytes")
        return None
    record = decode_json_line(head)
    payload = record.get("payload") if record else None
    if not record or record.get("type") != "session_meta" or not isinstance(payload, dict):
        raise RolloutError(f"rollout {path}: first line is not a session_meta record")
    session_id = payload.get("id") or payload.get("session_id")
    if not isinstance(session_id, str) or not session_id:
        raise RolloutError(f"rollout {path}: session_meta has no id")
    cwd = payload.get("cwd")
    stamp = payload.get("timestamp", record.get("timestamp"))
    return SessionMeta(session_id=session_id, cwd=cwd if isinstance(cwd, str) else None,
                       started_at=parse_iso_timestamp(stamp))


class RolloutReader:
    """Tail one rollout file; ``poll(now)`` returns the core events its new lines mean.

    ``start_at_end`` skips what the file already holds when it is first opened (a resumed session's
    earlier figures belong to the previous account). A file created later, or one that replaces the
    first, is always read from its start. ``not_before`` (epoch seconds): lines Codex stamped earlier
    are history, not news: a thread resumed by its id or name, whose file is found only after the
    child wrote to it, must not report the limit an earlier run hit, nor that run's quota or prompt.
    """

    def __init__(self, path: Path, *, start_at_end: bool = False, not_before: float | None = None,
                 max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> None:
        self._path = Path(path)
        self._start_at_end = start_at_end
        self._not_before = not_before
        self._max_line_bytes = max_line_bytes
        self._fd: int | None = None
        self._identity: tuple[int, int] | None = None
        self._offset = 0
        self._pending = b""
        self._skip_to_newline = False
        self._deferred_counts: list[bytes] = []
        self._turn_snapshot: QuotaSnapshot | None = None
        self._last_snapshot: QuotaSnapshot | None = None
        self._families: dict[str, LimitFamily] = {}
        self._model: str | None = None
        self._last_prompt: str | None = None
        self._lines = self._malformed = self._oversized = self._replaced = self._truncated = 0
        self._missing = False

    def __repr__(self) -> str:
        return f"RolloutReader(path={str(self._path)!r}, offset={self._offset})"

    @property
    def path(self) -> Path:
        return self._path

    @property
    def last_snapshot(self) -> QuotaSnapshot | None:
        """The newest rate-limit snapshot seen (the running account's quota)."""
        return self._last_snapshot

    @property
    def model(self) -> str | None:
        """The model of the latest turn, as Codex's turn_context recorded it."""
        return self._model

    @property
    def last_prompt(self) -> str | None:
        """The newest user prompt text, in memory only: for re-submission, never for logs."""
        return self._last_prompt

    @property
    def stats(self) -> RolloutStats:
        return RolloutStats(self._lines, self._malformed, self._oversized, self._replaced,
                            self._truncated, self._missing)

    def poll(self, now: float) -> list[Event]:
        """Events for the complete lines appended since the last poll, each stamped ``now``."""
        events: list[Event] = []
        try:
            current = os.stat(self._path)
        except FileNotFoundError:
            current = None
        except OSError as exc:
            raise RolloutError(f"cannot stat rollout {self._path}: {exc.strerror}") from exc
        identity = None if current is None else (current.st_dev, current.st_ino)
        if self._fd is not None and identity != self._identity:
            # Replaced or deleted: whatever the old file still holds was written before the switch.
            self._read_new(events, now)
            self._close_file()
            if identity is not None:
                self._replaced += 1
        self._missing = current is None
        if current is None:
            self._start_at_end = False  # a file that appears later is new: read it whole
            self._flush_counts(events, now)
            return events
        if self._fd is None and not self._open(current.st_size):
            self._flush_counts(events, now)
            return events
        if current.st_size < self._offset:
            self._truncated += 1
            self._offset, self._pending, self._skip_to_newline = 0, b"", False
        if current.st_size > self._offset:
            self._read_new(events, now)
        self._flush_counts(events, now)
        return events

    def close(self) -> None:
        self._close_file()

    # -- file handling ---------------------------------------------------------------------------

    def _open(self, size: int) -> bool:
        """Open the file at the path; False when it vanished between the stat and the open."""
        try:
            fd = os.open(self._path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError:
            self._missing = True
            return False
        except OSError as exc:
            raise RolloutError(f"cannot open rollout {self._path}: {exc.strerror}") from exc
        info = os.fstat(fd)
        self._fd, self._identity = fd, (info.st_dev, info.st_ino)
        self._offset, self._pending, self._skip_to_newline = 0, b"", False
        if self._start_at_end:
            self._start_at_end = False
            self._seek_to_last_line_start(fd, min(size, info.st_size))
        return True

    def _seek_to_last_line_start(self, fd: int, size: int) -> None:
        """Start after the last complete line; a trailing partial line is read once it completes."""
        if size == 0:
            return
        tail_start = max(0, size - _READ_CHUNK)
        tail = os.pread(fd, size - tail_start, tail_start)
        newline = tail.rfind(b"\n")
        if newline >= 0:
            self._offset = tail_start + newline + 1
        elif tail_start == 0:
            self._offset = 0
        else:
            # The partial line began before the tail we looked at; its start is lost to us.
            self._offset, self._skip_to_newline = size, True

    def _close_file(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
        self._fd, self._identity = None, None
        self._offset, self._pending, self._skip_to_newline = 0, b"", False

    def _read_new(self, events: list[Event], now: float) -> None:
        assert self._fd is not None
        while True:
            try:
                chunk = os.pread(self._fd, _READ_CHUNK, self._offset)
            except OSError as exc:
                raise RolloutError(f"cannot read rollout {self._path}: {exc.strerror}") from exc
            if not chunk:
                return
            self._offset += len(chunk)
            self._feed(chunk, events, now)

    def _feed(self, chunk: bytes, events: list[Event], now: float) -> None:
        if self._skip_to_newline:
            newline = chunk.find(b"\n")
            if newline < 0:
                return
            chunk, self._skip_to_newline = chunk[newline + 1:], False
        lines = (self._pending + chunk).split(b"\n")
        self._pending = lines.pop()
        if len(self._pending) > self._max_line_bytes:
            self._oversized += 1
            self._pending, self._skip_to_newline = b"", True
        for line in lines:
            self._handle_line(line, events, now)

    # -- line interpretation ---------------------------------------------------------------------

    def _handle_line(self, line: bytes, events: list[Event], now: float) -> None:
        line = line.strip()
        if not line:
            return
        self._lines += 1
        if not (line.startswith(b"{") and line.endswith(b"}")):
            self._malformed += 1
            return
        if len(line) > self._max_line_bytes:
            self._oversized += 1
            return
        if _TOKEN_COUNT_OPENING in line:
            self._deferred_counts.append(line)
            return
        if _RELEVANT.search(line) is None:
            return
        record = decode_json_line(line)
        if record is None:
            self._malformed += 1
            return
        if self._is_history(record):
            return
        payload = record.get("payload")
        if not isinstance(payload, dict):
            return
        kind, payload_type = record.get("type"), payload.get("type")
        if kind == "event_msg":
            self._handle_event_msg(payload_type, payload, events, now)
        elif kind == "turn_context":
            model = payload.get("model")
            if isinstance(model, str) and 0 < len(model) <= _MAX_MODEL_CHARS:
                self._model = model
        elif kind == "response_item" and payload_type == "message" and payload.get("role") == "user":
            prompt = user_prompt_text(payload)
            if prompt is not None:
                self._last_prompt = prompt

    def _flush_counts(self, events: list[Event], now: float) -> None:
        """Decode deferred token_count lines, newest first, until one holds the main family: the newest
        reading of each family decoded on the way counts (Codex writes the main family first)."""
        fresh: dict[str, LimitFamily] = {}
        while self._deferred_counts:
            record = decode_json_line(self._deferred_counts.pop())
            if record is None:
                self._malformed += 1
                continue
            if self._is_history(record):
                break  # the older ones are history too
            payload = record.get("payload")
            family = family_from_rate_limits(payload.get("rate_limits")) if isinstance(payload, dict) else None
            if family is not None:
                fresh.setdefault(family.limit_id, family)
                if family.limit_id == MAIN_FAMILY:
                    break
        self._deferred_counts.clear()
        if fresh:
            self._families.update(fresh)
            self._emit_snapshot(events, now)

    def _is_history(self, record: dict) -> bool:
        """Written before ``not_before`` (a line without a readable time is taken as new)."""
        if self._not_before is None:
            return False
        written = parse_iso_timestamp(record.get("timestamp"))
        return written is not None and written < self._not_before

    def _observe(self, payload: Any, events: list[Event], now: float) -> bool:
        if not isinstance(payload, dict):
            return False
        family = family_from_rate_limits(payload.get("rate_limits"))
        if family is None:
            return False
        self._families[family.limit_id] = family
        self._emit_snapshot(events, now)
        return True

    def _emit_snapshot(self, events: list[Event], now: float) -> None:
        snapshot = snapshot_of_families(self._families.values(), now)
        self._last_snapshot = self._turn_snapshot = snapshot
        if events and isinstance(events[-1], QuotaObserved):
            events.pop()  # a newer snapshot supersedes one nothing else has seen yet
        events.append(QuotaObserved(at=now, snapshot=snapshot, model=self._model))

    def _handle_event_msg(self, payload_type: Any, payload: dict, events: list[Event], now: float) -> None:
        self._flush_counts(events, now)  # earlier snapshots come first, and date a usage limit
        if payload_type == "token_count":
            self._observe(payload, events, now)
        elif payload_type == "task_started":
            self._turn_snapshot = None
            events.append(TurnStarted(at=now))
        elif payload_type == "task_complete" and is_usage_limit_error(payload.get("error")):
            resets_at = usage_limit_reset(payload.get("error"), now)
            if resets_at is None:
                turn = self._turn_snapshot
                resets_at = exhausted_reset(None if turn is None else turn.for_model(self._model))
            events.append(UsageLimitHit(at=now, resets_at=resets_at))
            self._turn_snapshot = None
        elif payload_type in ("task_complete", "turn_aborted"):
            self._turn_snapshot = None
            events.append(TurnFinished(at=now))


# -- pure parsing helpers (tested directly) --------------------------------------------------------


# Limit ids are short identifiers ("codex", "codex_bengalfox"); anything else is not one.
_LIMIT_ID = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,63}\Z")
_MAX_LIMIT_NAME_CHARS = 100


def family_from_rate_limits(rate_limits: Any) -> LimitFamily | None:
    """One family's reading from a token_count's ``rate_limits``; None when it holds neither a usable
    window nor a reached type (or names no plausible limit id).

    ``rate_limit_reached_type`` (any of Codex's values: ``rate_limit_reached``, ``workspace_*``)
    means the family is refused now, whatever its percentages say.
    """
    if not isinstance(rate_limits, dict):
        return None
    limit_id = rate_limits.get("limit_id")
    if limit_id is None:
        limit_id = MAIN_FAMILY
    if not isinstance(limit_id, str) or not _LIMIT_ID.match(limit_id):
        return None
    windows = tuple(w for w in (_window(rate_limits.get(slot)) for slot in ("primary", "secondary"))
                    if w is not None)
    reached = rate_limits.get("rate_limit_reached_type")
    reached = reached if isinstance(reached, str) and _LIMIT_ID.match(reached) else None
    if not windows and reached is None:
        return None
    name = rate_limits.get("limit_name")
    name = name if isinstance(name, str) and 0 < len(name) <= _MAX_LIMIT_NAME_CHARS else None
    return LimitFamily(limit_id=limit_id, limit_name=name, windows=windows,
                       limit_reached=reached is not None, reached_type=reached)


def snapshot_of_families(families: Any, now: float) -> QuotaSnapshot:
    """One snapshot of the families read: the main one in the main fields, the others by id."""
    main = None
    others = []
    for family in families:
        if family.limit_id == MAIN_FAMILY:
            main = family
        else:
            others.append(family)
    others.sort(key=lambda f: f.limit_id)
    if main is None:
        return QuotaSnapshot(observed_at=now, families=tuple(others))
    return QuotaSnapshot(windows=main.windows, observed_at=now, limit_reached=main.limit_reached,
                         reached_type=main.reached_type, families=tuple(others))


def snapshot_from_rate_limits(rate_limits: Any, now: float) -> QuotaSnapshot | None:
    """The snapshot one token_count's ``rate_limits`` alone describes (None: nothing usable)."""
    family = family_from_rate_limits(rate_limits)
    return None if family is None else snapshot_of_families((family,), now)


def _window(raw: Any) -> QuotaWindow | None:
    if not isinstance(raw, dict):
        return None
    used = finite_number(raw.get("used_percent"))
    if used is None:
        return None
    minutes = finite_number(raw.get("window_minutes"))
    minutes_int = int(minutes) if minutes is not None and 0 < minutes < 1e9 else 0
    return QuotaWindow(used_percent=used, window_minutes=minutes_int,
                       resets_at=epoch_seconds(raw.get("resets_at")))


def is_usage_limit_error(error: Any) -> bool:
    if not isinstance(error, dict):
        return False
    info = error.get("codex_error_info")
    # Serialised as a bare string in 0.169; a tagged object is accepted for newer variants.
    return info == "usage_limit_exceeded" or (isinstance(info, dict) and "usage_limit_exceeded" in info)


# Codex's usage-limit message ends "... try again at 3:05 PM." (today, local time) or
# "... try again at Dec 2nd, 2026 3:05 PM." (another day).
_TRY_AGAIN_AT = re.compile(
    r"try again at (?:(?P<month>[A-Za-z]{3}) (?P<day>\d{1,2})(?:st|nd|rd|th)?, (?P<year>\d{4}) )?"
    r"(?P<hour>\d{1,2}):(?P<minute>\d{2}) ?(?P<half>[AaPp][Mm])\b", re.IGNORECASE)
_MONTHS = {name: number for number, name in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}
# The message shows whole minutes, cut down: the real reset lies within the minute after the one shown.
_SHOWN_MINUTE_S = 60.0
_MESSAGE_SCAN_CHARS = 4096


def usage_limit_reset(error: Any, now: float, tz: tzinfo | None = None) -> float | None:
    """When a usage-limit error says the limit ends: its own ``resets_at``/``resets_in_seconds`` (also
    inside a tagged ``codex_error_info``), else the time in its message; None when it names none."""
    if not isinstance(error, dict):
        return None
    info = error.get("codex_error_info")
    for source in (error, info.get("usage_limit_exceeded") if isinstance(info, dict) else None):
        named = reset_named_by(source, now)
        if named is not None:
            return named
    message = error.get("message")
    return reset_from_message(message, now, tz) if isinstance(message, str) else None


def reset_from_message(message: str, now: float, tz: tzinfo | None = None) -> float | None:
    """The moment in "try again at 3:05 PM" (local time, ``tz`` when given), or None."""
    match = _TRY_AGAIN_AT.search(message[:_MESSAGE_SCAN_CHARS])
    if match is None:
        return None
    hour, minute = int(match["hour"]), int(match["minute"])
    if not (1 <= hour <= 12 and 0 <= minute <= 59):
        return None
    hour = hour % 12 + (12 if match["half"].lower() == "pm" else 0)
    try:
        today = datetime.fromtimestamp(now, tz).date()
        if match["month"] is not None:
            month = _MONTHS.get(match["month"].lower())
            if month is None:
                return None
            day = today.replace(year=int(match["year"]), month=month, day=int(match["day"]))
        else:
            day = today
        shown = datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz).timestamp()
    except (ValueError, OverflowError, OSError):
        return None
    return plausible_reset(shown + _SHOWN_MINUTE_S, now)


def exhausted_reset(snapshot: QuotaSnapshot | None) -> float | None:
    """When the window(s) at 100 % reset: the latest such reset, since all must clear."""
    if snapshot is None:
        return None
    resets = [w.resets_at for w in snapshot.windows if w.used_percent >= 100.0 and w.resets_at is not None]
    return max(resets) if resets else None


def user_prompt_text(payload: dict) -> str | None:
    content = payload.get("content")
    if not isinstance(content, list):
        return None
    texts = [part.get("text") for part in content
             if isinstance(part, dict) and part.get("type") == "input_text" and isinstance(part.get("text"), str)]
    text = "\n".join(texts)
    if not text or text.lstrip().startswith(_CONTEXT_PREFIXES):
        return None
    return text


def decode_json_line(line: bytes) -> dict | None:
    """One JSONL line as an object, or None for anything else (garbage, a list, bad UTF-8)."""
    try:
        record = json.loads(line.decode("utf-8"))
    except (ValueError, RecursionError):
        return None
    return record if isinstance(record, dict) else None


def parse_iso_timestamp(value: Any) -> float | None:
    """Epoch seconds from an ISO-8601 string such as Codex's "2026-11-24T23:13:34.936Z"; None otherwise."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
