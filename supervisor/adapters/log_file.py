"""The transition log: one JSONL file per supervised session.

Line 1 is a header (schema version, chart hash, settings and their hash, codex-fsm version); every
handled event appends one record. Records come from the core and name accounts by opaque id only, so
nothing secret can reach this file. Each line is flushed as it is written: a crash loses nothing
already handled.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import IO

from .. import __version__
from ..core.chart import SCHEMA_VERSION as CHART_SCHEMA_VERSION
from ..core.chart import Chart
from ..core.records import LOG_SCHEMA_VERSION, RejectedRecord, TransitionRecord
from ..core.settings import SessionSettings
from ..errors import LogWriteError


def settings_hash(settings: SessionSettings) -> str:
    canonical = json.dumps(settings.to_dict(), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def make_header(chart: Chart, settings: SessionSettings, started_at: float) -> dict:
    return {
        "kind": "header",
        "schema": LOG_SCHEMA_VERSION,
        "chart_schema": CHART_SCHEMA_VERSION,
        "chart_sha256": chart.sha256,
        "config_sha256": settings_hash(settings),
        "settings": settings.to_dict(),
        "codex_fsm_version": __version__,
        "started_at": started_at,
    }


def dump_line(data: dict) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"


class TransitionLog:
    def __init__(self, path: Path, stream: IO[str]) -> None:
        self.path = path
        self._stream = stream

    @classmethod
    def create(cls, path: Path, chart: Chart, settings: SessionSettings,
               started_at: float | None = None) -> "TransitionLog":
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        except OSError as exc:
            raise LogWriteError(f"cannot create the transition log {path}: {exc.strerror or exc}") from exc
        stream = os.fdopen(fd, "w", encoding="utf-8")
        log = cls(path, stream)
        log._write(make_header(chart, settings, time.time() if started_at is None else started_at))
        return log

    def append(self, record: TransitionRecord | RejectedRecord) -> None:
        self._write(record.to_dict())

    def _write(self, data: dict) -> None:
        self._stream.write(dump_line(data))
        self._stream.flush()

    def close(self) -> None:
        if not self._stream.closed:
            self._stream.close()

    def __enter__(self) -> "TransitionLog":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
