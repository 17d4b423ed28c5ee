"""Where a supervised start's own time goes: each stage timed in a fresh process, median of many.

The stages are what `codex-fsm` does before the child is spawned, in that order; each fresh process runs
them all once (imports are only ever cold once), so a row is its first-time cost. The chart rows are what
caching the validated chart would save; marshmallow's import is shared with the config and the pool file.

Run: .venv/bin/python tools/bench/bench_startup_stages.py [runs]
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _table import print_table  # beside this script

REPO = Path(__file__).resolve().parents[2]
RUNS = 15

STAGES = r'''
import json, sys, time
marks = [("", time.perf_counter())]
def mark(name):
    marks.append((name, time.perf_counter()))
import marshmallow
mark("import marshmallow (core chart, config, pool file)")
import transitions
mark("import transitions")
import supervisor.core.chart, supervisor.core.session
mark("import supervisor.core's own modules")
from supervisor.chartfile import default_chart_path
text = default_chart_path().read_text(encoding="utf-8")
mark("read statecharts/session.json")
from supervisor.core.chart import parse_chart
chart = parse_chart(text)
mark("parse and validate the chart")
from supervisor.core.session import Session
Session(chart)
mark("build the Session (transitions Machine)")
from supervisor.config import load_config
mark("import supervisor.config")
load_config()
mark("load_config (empty file)")
import supervisor.pool.session_pool, supervisor.pool.locations
mark("import supervisor.pool")
import supervisor.loop
mark("import supervisor.loop and the adapters it drives")
import supervisor.adapters.log_file, supervisor.adapters.log_retention, supervisor.adapters.stored_quota
mark("import the wrapper's other adapters")
json.dump([(name, (t - marks[i][1]) * 1000) for i, (name, t) in enumerate(marks[1:])], sys.stdout)
'''


def main(runs: int) -> int:
    with tempfile.TemporaryDirectory(prefix="codex-fsm-stages-") as tmp:
        config = Path(tmp) / "config.toml"
        config.write_text("")
        env = {**os.environ, "PYTHONPATH": str(REPO), "CODEX_FSM_CONFIG": str(config),
               "CODEX_FSM_HOME": str(Path(tmp) / "home")}
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # a user's start reads compiled modules
        subprocess.run([sys.executable, "-c", STAGES], env=env, check=True, capture_output=True)  # compile once
        bare, staged = [], []
        for _ in range(runs):
            bare.append(_wall_ms([sys.executable, "-c", "pass"], env))
            out = subprocess.run([sys.executable, "-c", STAGES], env=env, check=True, capture_output=True, text=True)
            staged.append(json.loads(out.stdout))
    rows = [("python -c pass (interpreter and site start-up)", f"{statistics.median(bare):.1f}")]
    for i, (name, _) in enumerate(staged[0]):
        rows.append((name, f"{statistics.median(run[i][1] for run in staged):.1f}"))
    total = sum(float(row[1]) for row in rows)
    rows.append(("sum", f"{total:.1f}"))
    print_table(("stage (fresh process)", f"ms, median of {runs}"), rows)
    return 0


def _wall_ms(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, env=env, check=True)
    return (time.perf_counter() - started) * 1000


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else RUNS))
