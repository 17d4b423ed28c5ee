"""Finding and reading the statechart file (the only I/O around the chart)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from .core.chart import Chart, parse_chart
from .errors import ChartError

CHART_ENV = "CODEX_FSM_CHART"


def default_chart_path() -> Path:
    """``$CODEX_FSM_CHART``, else the repo's statecharts/session.json, else the installed copy."""
    override = os.environ.get(CHART_ENV)
    if override:
        return Path(override)
    in_repo = Path(__file__).resolve().parent.parent / "statecharts" / "session.json"
    if in_repo.is_file():
        return in_repo
    return Path(sys.prefix) / "share" / "codex-fsm" / "statecharts" / "session.json"


def load_chart_file(path: Path) -> Chart:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ChartError(f"{path}: cannot read the statechart: {exc.strerror or exc}") from None
    return parse_chart(text, origin=str(path))


_cached: dict[Path, Chart] = {}


def load_default_chart() -> Chart:
    path = default_chart_path()
    if path not in _cached:
        _cached[path] = load_chart_file(path)
    return _cached[path]
