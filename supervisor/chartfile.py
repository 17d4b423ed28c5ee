"""Finding and reading the statechart file (the only I/O around the chart).

A supervised start-up validates the chart once per chart text and codex-fsm version: the validated,
expanded chart is kept in ``$CODEX_FSM_HOME/cache/`` and read back without loading the schema
library or re-checking every cell. Any doubt about a cached copy (unreadable, another shape, a name
that no longer resolves) means validating the text again; the cache never decides anything itself.
Review tools (``replay``, ``diagram``) always validate the file they are given.
"""

from __future__ import annotations

import hashlib
import json
import os
import site
import sys
from pathlib import Path
from typing import Mapping

from . import __version__
from .core.chart import Chart, chart_from_cache, chart_to_cache, parse_chart
from .errors import ChartError
from .paths import ensure_private_dir

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


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise ChartError(f"{path}: cannot read the statechart: {reason}") from None


def load_chart_file(path: Path) -> Chart:
    return parse_chart(_read(path), origin=str(path))


def cache_key(text: str) -> str:
    """Names one chart text as validated by this codex-fsm (a new version may name other guards)."""
    return hashlib.sha256(f"codex-fsm {__version__}\0{text}".encode("utf-8")).hexdigest()


def load_chart_cached(path: Path, cache_dir: Path) -> Chart:
    text = _read(path)
    cached_file = cache_dir / f"chart-{cache_key(text)[:32]}.json"
    try:
        chart = chart_from_cache(json.loads(cached_file.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        chart = None
    if chart is not None:
        return chart
    chart = parse_chart(text, origin=str(path))
    _save(cached_file, chart)
    return chart


def _save(cached_file: Path, chart: Chart) -> None:
    """Best effort: a start-up that cannot write its cache just validates again next time."""
    import tempfile  # only when the cache is written, not on a cached start

    try:
        # Every folder it creates is private: the first to create $CODEX_FSM_HOME may be this cache.
        ensure_private_dir(cached_file.parent)
        fd, tmp = tempfile.mkstemp(dir=cached_file.parent, prefix=".chart-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(chart_to_cache(chart), handle, ensure_ascii=False)
            os.replace(tmp, cached_file)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError:
        pass


_loaded: dict[Path, Chart] = {}


def load_default_chart() -> Chart:
    """The default chart, validated (once per process)."""
    path = default_chart_path()
    if path not in _loaded:
        _loaded[path] = load_chart_file(path)
    return _loaded[path]


def load_session_chart(env: Mapping[str, str] | None = None) -> Chart:
    """The default chart for a supervised session: validated once per chart text and version, then
    read from ``$CODEX_FSM_HOME/cache/``."""
    from .paths import fsm_home

    return load_chart_cached(default_chart_path(), fsm_home(env) / "cache")
