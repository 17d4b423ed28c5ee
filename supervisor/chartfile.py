"""Finding and reading the statechart file (the only I/O around the chart)."""

from __future__ import annotations

import os
import site
import sys
from pathlib import Path

from .core.chart import Chart, parse_chart
from .errors import ChartError

CHART_ENV = "CODEX_FSM_CHART"
# Where setup.cfg's data_files puts the chart, below the installation's data root.
INSTALLED_CHART = Path("share") / "codex-fsm" / "statecharts" / "session.json"


def default_chart_path() -> Path:
    """``$CODEX_FSM_CHART``, else the repo's statecharts/session.json, else the installed copy: under the
    environment's prefix (a venv, pipx, a system install), else under the user base (``pip install --user``).
    When none exists, the prefix's path, so that the error names where the chart should have been."""
    override = os.environ.get(CHART_ENV)
    if override:
        return Path(override)
    in_repo = Path(__file__).resolve().parent.parent / "statecharts" / "session.json"
    if in_repo.is_file():
        return in_repo
    installed = [Path(sys.prefix) / INSTALLED_CHART]
    if site.ENABLE_USER_SITE and site.getuserbase():
        installed.append(Path(site.getuserbase()) / INSTALLED_CHART)
    return next((path for path in installed if path.is_file()), installed[0])


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
