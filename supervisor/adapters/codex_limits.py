"""Codex's own quota snapshot as a quota source: the rate limits Codex 0.171 hands codex-fsm's status-line
provider with each read (about once a second), which the provider keeps in ``run/<pid>.codex-limits``.

Zero requests: these are Codex's figures of the account it runs on, per limit family, the same ones its
rollout records at the end of a turn, but fresh between turns too. A record names the Codex process that
sent it (``codex_pid``, the provider's parent): only the current child's figures become events, so a
record the previous child left after a rotation is never taken for the new account's.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable

from ..core import events as ev
from .rollout import family_from_rate_limits, snapshot_of_families

POLL_S = 2.0


def snapshot_of_codex_limits(record: Any, now: float) -> Any:
    """The QuotaSnapshot a ``.codex-limits`` record describes (None: nothing usable). Codex's status-line
    state names the windows ``primary_limit``/``secondary_limit``; its rollout ``primary``/``secondary``."""
    if not isinstance(record, dict) or not isinstance(record.get("rate_limits"), list):
        return None
    families = []
    for raw in record["rate_limits"]:
        if not isinstance(raw, dict):
            continue
        family = family_from_rate_limits({
            "limit_id": raw.get("limit_id"), "limit_name": raw.get("limit_name"),
            "primary": raw.get("primary_limit", raw.get("primary")),
            "secondary": raw.get("secondary_limit", raw.get("secondary"))})
        if family is not None:
            families.append(family)
    return snapshot_of_families(tuple(families), now) if families else None


class CodexLimitsSource:
    """Polls the record every ``POLL_S``; a changed record of the current child is a QuotaObserved."""

    def __init__(self, path: Path, child_pid: Callable[[], int | None]) -> None:
        self._path = path
        self._child_pid = child_pid
        self._seen: tuple[int, int] | None = None
        self._next_at: float | None = None

    def fileno(self) -> int | None:
        return None

    def write_fileno(self) -> int | None:
        return None

    def next_due(self) -> float | None:
        return self._next_at

    def start(self, now: float) -> None:
        self._next_at = now + POLL_S

    def poll(self, now: float) -> list[ev.Event]:
        if self._next_at is None or now < self._next_at:
            return []
        self._next_at = now + POLL_S
        pid = self._child_pid()
        try:
            info = os.stat(self._path)
            if (info.st_mtime_ns, info.st_size) == self._seen or pid is None:
                return []
            record = json.loads(self._path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return []  # none yet (no provider, no read so far), or being replaced: the next poll sees it
        if not isinstance(record, dict) or record.get("codex_pid") != pid:
            return []
        self._seen = (info.st_mtime_ns, info.st_size)
        snapshot = snapshot_of_codex_limits(record, now)
        return [] if snapshot is None else [ev.QuotaObserved(at=now, snapshot=snapshot)]
