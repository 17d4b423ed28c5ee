"""Several processes mutating one pool: no lost updates, no corrupt files (the benchmark at CI size),
and a SIGKILLed lease holder's account is usable again at once with its newest credentials."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "tools" / "bench" / "bench_pool.py"


def test_interleaved_processes_lose_nothing_and_crashed_holders_clear() -> None:
    run = subprocess.run([sys.executable, str(BENCH), "--processes", "4", "--mutations", "25", "--json"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    figures = json.loads(run.stdout)
    concurrent = figures["concurrent"]
    assert concurrent["processes"] == 4 and concurrent["mutations_each"] == 25
    assert concurrent["failed_workers"] == 0
    assert concurrent["lost_updates"] == 0
    assert concurrent["corrupt_reads"] == 0 and concurrent["corrupt_files"] == 0
    crash = figures["crashed_holder"]
    assert crash["usable_after_s"] < crash["lease_ttl_s"]
    assert crash["newest_credentials_kept"] is True
