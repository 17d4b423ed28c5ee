"""What learning the installed Codex's option tables costs a supervised start: a fresh process each time,
the real pinned Codex (newest), median of many.

- learn: an empty cache, so `codex --version` and seven `--help` pages run (once per Codex release);
- cached: the tables read back (the binary's stat, two small JSON files), what every later start pays;
- fallback: the built-in tables alone (no lookup), the floor.
What every start imports anyway (the core, json, paths) is imported before the clock starts.

Run: .venv/bin/python tools/bench/bench_codex_options.py [runs]
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _table import print_table  # beside this script

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
RUNS = 9

# What every supervised start imports before it reads the command line is imported first, outside the timing.
MEASURE = r'''
import json, os, re, sys, time
from pathlib import Path
import supervisor.core.frozen, supervisor.paths, supervisor.errors
start = time.perf_counter()
from supervisor.adapters.learned_options import learned_options
from supervisor.adapters.codex_options import FALLBACK
if sys.argv[1] == "fallback":
    options = FALLBACK
else:
    options = learned_options(Path(sys.argv[2]), {"PATH": "/usr/bin:/bin"}, Path(sys.argv[3]))
json.dump([(time.perf_counter() - start) * 1000, options.version], sys.stdout)
'''


def _run(mode: str, binary: Path, cache: Path) -> tuple[float, str | None]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    out = subprocess.run([sys.executable, "-c", MEASURE, mode, str(binary), str(cache)], env=env, cwd=REPO,
                         capture_output=True, text=True, check=True).stdout
    elapsed, version = json.loads(out)
    return elapsed, version


def main(runs: int) -> int:
    from tests.pinned_codex import native_binary

    binary = native_binary("newest")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        learn, cached, fallback = [], [], []
        for i in range(runs):
            cache = Path(tmp) / f"cache-{i}"
            learn.append(_run("learn", binary, cache)[0])
            cached.append(_run("cached", binary, cache)[0])
            fallback.append(_run("fallback", binary, cache)[0])
        version = _run("cached", binary, Path(tmp) / "cache-0")[1]
    for name, values in (("learn (empty cache)", learn), ("cached", cached), ("fallback tables only", fallback)):
        rows.append([name, f"{statistics.median(values):.2f}", f"{min(values):.2f}", f"{max(values):.2f}"])
    print(f"option tables of Codex {version} ({binary}), {runs} fresh processes each")
    print_table(["lookup (imports included)", "median ms", "min ms", "max ms"], rows)
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else RUNS))
