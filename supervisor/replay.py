"""Replay a transition log: re-drive a fresh core with the logged events and check every step.

This works only because the core is pure: time, quota figures and exit codes all arrive inside the
events, so the same events through the same chart and settings must give the same states and
commands. The first difference is reported as a ``ReplayDivergence`` (seq, what, expected, got).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .core.chart import SCHEMA_VERSION as CHART_SCHEMA_VERSION
from .core.chart import Chart
from .core.records import LOG_SCHEMA_VERSION, decode_event, decode_settings, encode_command
from .core.session import Session
from .core.settings import SessionSettings
from .errors import EventDecodeError, InvalidTransition, LogFormatError, ReplayDivergence


@dataclass(frozen=True, slots=True)
class ReplayResult:
    events: int
    transitions: int
    rejected: int
    first_state: str
    final_state: str
    exit_status: int | None
    path: tuple[str, ...]  # row ids in the order they fired
    fired: tuple[tuple[int, float, str], ...] = ()  # (seq, event time, row id) of each accepted event


def read_log(path: Path) -> tuple[dict, list[dict]]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LogFormatError(f"{path}: cannot read the log: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise LogFormatError(f"{path}:{line}: not UTF-8 text (byte {exc.start})") from None
    return parse_log(text, str(path))


def parse_log(text: str, origin: str = "log") -> tuple[dict, list[dict]]:
    # Only "\n" ends a record: the log is written with ensure_ascii=False, so other line separators
    # (U+2028, form feed ...) may sit inside a JSON string.
    lines = text.split("\n")
    records: list[dict] = []
    header: dict | None = None
    header_line = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise LogFormatError(f"{origin}:{number}: not JSON ({exc.msg})") from None
        except RecursionError:
            raise LogFormatError(f"{origin}:{number}: JSON nested too deeply") from None
        if not isinstance(data, dict) or "kind" not in data:
            raise LogFormatError(f"{origin}:{number}: a record must be an object with a 'kind'")
        if header is None:
            if data["kind"] != "header":
                raise LogFormatError(f"{origin}:{number}: the first record must be the header")
            header = data
            header_line = number
            continue
        if data["kind"] not in ("transition", "rejected"):
            raise LogFormatError(f"{origin}:{number}: unknown record kind {data['kind']!r}")
        data["_line"] = number
        records.append(data)
    if header is None:
        raise LogFormatError(f"{origin}: empty log (no header)")
    if header.get("schema") != LOG_SCHEMA_VERSION:
        raise LogFormatError(f"{origin}:{header_line}: log schema {header.get('schema')!r} is not {LOG_SCHEMA_VERSION}")
    _header_settings(header, f"{origin}:{header_line}")  # a wrong type is named here, where the line is known
    return header, records


def _header_settings(header: dict, where: str) -> SessionSettings:
    try:
        return decode_settings(header.get("settings", {}))
    except EventDecodeError as exc:
        raise LogFormatError(f"{where}: header {exc}") from None


def check_chart(header: dict, chart: Chart, allow_chart_change: bool, origin: str = "log") -> None:
    recorded = header.get("chart_schema", 1)  # logs of the first chart carry no chart_schema
    if recorded != CHART_SCHEMA_VERSION:
        # Even --allow-chart-change cannot help: a schema-1 chart's rows, ids and priorities differ.
        raise LogFormatError(
            f"{origin}: recorded with a chart of schema {recorded!r} (sha256 {str(header.get('chart_sha256'))[:12]}); "
            f"this codex-fsm runs chart schema {CHART_SCHEMA_VERSION} (sha256 {chart.sha256[:12]}), whose rows "
            f"differ, so the log cannot be replayed: record the session again")
    if header.get("chart_sha256") != chart.sha256 and not allow_chart_change:
        raise LogFormatError(
            f"{origin}: recorded with chart {str(header.get('chart_sha256'))[:12]}, the current chart is "
            f"{chart.sha256[:12]}; re-record the log or pass --allow-chart-change")


def replay(header: dict, records: list[dict], chart: Chart, allow_chart_change: bool = False,
           origin: str = "log") -> ReplayResult:
    check_chart(header, chart, allow_chart_change, origin)
    settings = _header_settings(header, origin)
    compare_rows = header.get("chart_sha256") == chart.sha256
    session = Session(chart, settings)
    first_state = session.state
    transitions = rejected = 0
    path: list[str] = []
    fired: list[tuple[int, float, str]] = []
    for record in records:
        seq = record.get("seq")
        try:
            event = decode_event(record.get("event"))
        except EventDecodeError as exc:
            raise LogFormatError(f"{origin}:{record['_line']}: {exc}") from None
        if record["kind"] == "rejected":
            _expect(seq, "state", record.get("state"), session.state)
            try:
                session.handle(event)
            except InvalidTransition:
                rejected += 1
                continue
            raise ReplayDivergence(seq, "outcome", "rejected", f"accepted, now in {session.state!r}")
        _expect(seq, "source", record.get("source"), session.state)
        try:
            result = session.handle(event)
        except InvalidTransition as exc:
            raise ReplayDivergence(seq, "outcome", f"-> {record.get('dest')}", f"rejected ({exc})") from None
        _expect(seq, "dest", record.get("dest"), result.dest)
        if compare_rows:
            _expect(seq, "row", record.get("row"), result.row)
        _expect(seq, "commands", record.get("commands"), [encode_command(c) for c in result.commands])
        transitions += 1
        path.append(result.row)
        fired.append((result.seq, event.at, result.row))
    return ReplayResult(len(records), transitions, rejected, first_state, session.state,
                        session.exit_status, tuple(path), tuple(fired))


def _expect(seq: object, what: str, expected: object, got: object) -> None:
    if expected != got:
        raise ReplayDivergence(int(seq) if isinstance(seq, int) else -1, what, expected, got)


def replay_file(path: Path, chart: Chart, allow_chart_change: bool = False) -> ReplayResult:
    header, records = read_log(path)
    return replay(header, records, chart, allow_chart_change, origin=str(path))
