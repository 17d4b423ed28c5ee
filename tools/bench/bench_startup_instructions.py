"""Start-up in instructions, not seconds: a count that does not move with the machine's load.

    .venv/bin/python tools/bench/bench_startup_instructions.py [CHECKOUT ...]

Runs one whole supervised session under ``valgrind --tool=callgrind`` for each checkout given (default: this
one), three times: the installed console script with ``PYTHONPATH`` at the checkout, a pool of two fake logins
with fresh stored quota snapshots (no request), and a fake Codex that answers --version and --help and
otherwise exits at once, so the count is start-up, spawn and shutdown. The first run of each checkout fills
its caches (validated chart, config, pool file and, where the checkout learns them, Codex's option tables);
the others are what a user's every start costs. ``python -c pass`` is the interpreter's own floor.
Wall-clock figures on a shared machine swing 1.5-2x from minute to minute; instruction counts repeat to
within 0.1 %.
"""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
from pathlib import Path

import pexpect
from _table import print_table  # beside this script

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
CODEX_FSM = Path(sys.executable).parent / "codex-fsm"
RUNS = 3


def _instructions(argv: list[str], env: dict[str, str], log: Path) -> int:
    child = pexpect.spawn("valgrind", ["--tool=callgrind", "--trace-children=no", "--callgrind-out-file=/dev/null",
                                       f"--log-file={log}", *argv], env=env, dimensions=(40, 120), timeout=600,
                          cwd=str(log.parent))
    child.expect(pexpect.EOF)
    child.close()
    found = re.search(r"Collected : (\d+)", log.read_text())
    if child.exitstatus != 0 or found is None:
        raise SystemExit(f"{' '.join(argv)} failed (exit {child.exitstatus}): {log.read_text()[-400:]}")
    return int(found.group(1))


def main(argv: list[str]) -> int:
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (Debian's package valgrind)")
    from bench_startup import _world

    from tests.fakes.codex_help import fake_codex

    checkouts = [Path(a).resolve() for a in argv] or [REPO]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        env = _world(work)
        # Codex 0.171.0 as far as its --version and --help go (a checkout that learns the option tables
        # does so in its first run), and a session that exits at once.
        fake_codex(work, version="codex-cli 0.171.0", otherwise="exit 0")
        floor = _instructions([sys.executable, "-c", "pass"], env, work / "floor.log")
        rows.append(["python -c pass", f"{floor / 1e6:.0f}", "", ""])
        for checkout in checkouts:
            counts = [_instructions([str(CODEX_FSM)], dict(env, PYTHONPATH=str(checkout)), work / f"run{i}.log")
                      for i in range(RUNS)]
            steady = min(counts[1:])
            rows.append([str(checkout), f"{counts[0] / 1e6:.0f}", f"{steady / 1e6:.0f}",
                         f"{steady / floor:.1f} x"])
    print_table(["supervised session (child exits at once)", "first run, M instr", "later runs, M instr",
                 "vs python -c pass"], rows)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
