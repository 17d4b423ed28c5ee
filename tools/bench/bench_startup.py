"""Start-up, memory and handoff of codex-fsm, side by side with starting the child directly.

* start-up: launch → child process running, for `codex-fsm` (the installed console script, a real pool
  of two fake logins holding fresh quota snapshots, so no probe) and for the same child spawned directly;
* resident memory of the codex-fsm process while the child runs;
* handoff: a usage-limit rotation with the fake Codex; codex-fsm's own time from the old child's
  reaping to the resumed child's spawn (the child's stop and start are excluded).

Run: .venv/bin/python tools/bench/bench_startup.py
Targets: child spawned within 100 ms of a direct start; resident memory < 60 MB; handoff <= 150 ms.
Run with PYTHONPATH set to the checkout to measure it (the console script imports the installed package).
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pexpect
from _table import print_table  # beside this script

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
CODEX_FSM = Path(sys.executable).parent / "codex-fsm"
RUNS = 7

STAMP = """#!/bin/sh
date +%s.%N > "$STAMP_FILE"
read line
"""


def _world(work: Path) -> dict[str, str]:
    from supervisor.core.quota import QuotaSnapshot, QuotaWindow
    from supervisor.pool.locations import pool_store
    from tests.pool.fakes import write_auth

    env = {k: v for k, v in os.environ.items() if not k.startswith("CODEX")}
    env.update(CODEX_FSM_HOME=str(work / "fsm"), CODEX_HOME=str(work / "user-codex"),
               CODEX_FSM_CONFIG=str(work / "config.toml"), CODEX_FSM_CODEX_BIN=str(work / "codex"),
               STAMP_FILE=str(work / "stamp"), HTTPS_PROXY="http://127.0.0.1:9", HTTP_PROXY="http://127.0.0.1:9",
               NO_PROXY="127.0.0.1,localhost")
    (work / "config.toml").write_text("")
    for n in (1, 2):
        auth = write_auth(work / f"login{n}" / "auth.json", account=f"acct-fake-000{n}",
                          user=f"user-fake-000{n}", email=f"user{n}@example.invalid")
        subprocess.run([str(CODEX_FSM), "accounts", "import", str(auth)], env=env, check=True, capture_output=True)

    def seed(pool) -> None:
        # Observed now: a snapshot stamped in the future is not current, and the start would probe instead.
        now = time.time()
        for record in pool.accounts:
            record.quota = QuotaSnapshot(windows=(QuotaWindow(20.0, 300, now + 3600),), observed_at=now)

    pool_store(env).mutate(seed)
    stamp = work / "codex"
    stamp.write_text(STAMP)
    stamp.chmod(0o755)
    return env


def _start(argv: list[str], env: dict[str, str], stamp: Path) -> tuple[float, float]:
    """(ms from launch to the child's first instruction, resident MB of the launched process)."""
    stamp.unlink(missing_ok=True)
    launched = time.time()
    child = pexpect.spawn(argv[0], argv[1:], env=env, dimensions=(40, 120))
    deadline = time.monotonic() + 30
    while not (stamp.exists() and stamp.read_text().strip()):
        if time.monotonic() > deadline:
            raise SystemExit(f"the child never started: {child.read_nonblocking(4096, timeout=1)!r}")
        time.sleep(0.001)
    started = float(stamp.read_text())
    rss = 0.0
    for line in Path(f"/proc/{child.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) / 1024
    child.sendline("")
    child.expect(pexpect.EOF, timeout=30)
    child.close()
    return (started - launched) * 1000, rss


def handoff_ms(work: Path) -> float:
    """codex-fsm's own time in a usage-limit rotation: old child reaped → resumed child spawned."""
    from supervisor.adapters.launcher import CONTINUATION_PROMPT
    from tests.fakes.rig import Rig, submit

    rig_root = work / "handoff"
    rig_root.mkdir()
    rig = Rig(rig_root)
    rig.touch("limit-acct-a")
    outer = rig.start()
    outer.delaybeforesend = None
    outer.expect("Ask Codex")
    submit(outer, "x")
    outer.expect("resumed .* on acct-b")
    outer.expect(f"ANSWER to {re.escape(CONTINUATION_PROMPT)} on acct-b")  # the resumed thread goes on
    outer.send("\x03")  # quits Codex from an empty composer
    outer.expect(pexpect.EOF)
    outer.close()
    records = rig.transitions()
    # Whether a successor was ready (straight to resuming) or had to be chosen afresh, the handoff starts
    # when the stopped child is reaped.
    exited = next(r for r in records if r.get("trigger") == "child_exited" and r.get("source") == "restarting")
    spawned = rig.spawns()[1]["started_at"]
    return (spawned - exited["at"]) * 1000


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="codex-fsm-bench-") as tmp:
        work = Path(tmp)
        env = _world(work)
        stamp = work / "stamp"
        direct, supervised, rss = [], [], []
        for _ in range(RUNS):
            direct.append(_start([str(work / "codex")], env, stamp)[0])
            ms, mb = _start([str(CODEX_FSM), "-m", "o3"], env, stamp)
            supervised.append(ms)
            rss.append(mb)
        handoffs = []
        for i in range(3):
            (work / f"h{i}").mkdir()
            handoffs.append(handoff_ms(work / f"h{i}"))
    rows = [
        (f"launch → child running, ms (median of {RUNS})", f"{statistics.median(direct):.1f}",
         f"{statistics.median(supervised):.1f}", f"+{statistics.median(supervised) - statistics.median(direct):.1f} ms",
         "<= +100 ms"),
        ("codex-fsm resident memory, MB (max)", "-", f"{max(rss):.1f}", "", "< 60 MB"),
        ("handoff own time, ms (median of 3)", "-", f"{statistics.median(handoffs):.1f}", "", "<= 150 ms"),
    ]
    header = ("measure", "direct", "codex-fsm", "delta", "target")
    print_table(header, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
