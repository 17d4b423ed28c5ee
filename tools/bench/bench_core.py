"""Replay speed of a 10,000-event transition log, and `codex-fsm diagram` time.

    .venv/bin/python tools/bench/bench_core.py

Targets (issue 2): replay of 10,000 events under 1 s; `codex-fsm diagram` under 0.5 s.
The log is a long supervised session: many turns with rate-limit lines, prewarms, rotations and resumes.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from supervisor.adapters.log_file import TransitionLog  # noqa: E402
from supervisor.chartfile import load_default_chart  # noqa: E402
from supervisor.core import events as ev  # noqa: E402
from supervisor.core.session import Session  # noqa: E402
from supervisor.core.settings import SessionSettings  # noqa: E402
from supervisor.diagram import render_mermaid, render_svg  # noqa: E402
from supervisor.replay import replay_file  # noqa: E402
from tools.golden_scenarios import SESSION, snap  # noqa: E402

ACCOUNTS = [f"a-bench{i:05d}" for i in range(8)]


def long_session(count: int) -> list[ev.Event]:
    t = 1795562000.0
    events: list[ev.Event] = [ev.SessionStarted(at=t), ev.AccountLeased(at=t, account=ACCOUNTS[0]),
                              ev.QuotaProbed(at=t, account=ACCOUNTS[0], snapshot=snap(10, 10, t)),
                              ev.ChildReady(at=t), ev.SessionBound(at=t, session_id=SESSION)]
    used, current = 10.0, 0
    while len(events) < count - 1:
        t += 30
        used += 4
        events += [ev.TurnStarted(at=t), ev.QuotaObserved(at=t + 1, snapshot=snap(used, 10, t + 1)),
                   ev.TurnFinished(at=t + 2, last_input_at=t - 5)]
        if used >= 91 and used < 95:  # prewarm: a successor is leased and probed
            nxt = ACCOUNTS[(current + 1) % len(ACCOUNTS)]
            events += [ev.AccountLeased(at=t + 3, account=nxt),
                       ev.QuotaProbed(at=t + 3, account=nxt, snapshot=snap(5, 10, t + 3))]
        if used >= 95:  # rotated at that turn boundary: the child exits and the successor resumes
            current = (current + 1) % len(ACCOUNTS)
            events += [ev.ChildExited(at=t + 4, code=0), ev.ChildReady(at=t + 5),
                       ev.SessionBound(at=t + 5, session_id=SESSION)]
            used = 5.0
    events = events[:count - 1]
    events.append(ev.ChildExited(at=t + 100, code=0))
    return events


def write_log(path: Path, events: list[ev.Event]) -> int:
    chart = load_default_chart()
    settings = SessionSettings(max_restarts=100000, thrash_rotations=100000)
    session = Session(chart, settings)
    with TransitionLog.create(path, chart, settings, started_at=events[0].at) as log:
        for event in events:
            log.append(session.handle(event))
    return len(events)


def best_of(n: int, fn) -> float:
    best = float("inf")
    for _ in range(n):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "long.jsonl"
        n = write_log(log, long_session(10_000))
        chart = load_default_chart()
        result = replay_file(log, chart)
        assert result.events == n and result.final_state == "exited", (result.events, result.final_state)
        replay_s = best_of(5, lambda: replay_file(log, chart))
        size_mb = log.stat().st_size / 1e6
    mermaid_s = best_of(20, lambda: render_mermaid(chart))
    svg_s = best_of(5, lambda: render_svg(chart))
    cli = [str(ROOT / ".venv" / "bin" / "codex-fsm"), "diagram"]
    cli_s = best_of(5, lambda: subprocess.run(cli, check=True, capture_output=True))
    python_s = best_of(5, lambda: subprocess.run([sys.executable, "-c", "pass"], check=True))
    print(f"{'measure':<44}{'value':>12}  target")
    print(f"{'replay of ' + str(n) + ' events (' + format(size_mb, '.1f') + ' MB log)':<44}{replay_s:>10.3f} s  < 1 s")
    print(f"{'  per event':<44}{replay_s / n * 1e6:>9.1f} µs")
    print(f"{'render mermaid (in process)':<44}{mermaid_s * 1e3:>9.2f} ms")
    print(f"{'render svg via dot (in process)':<44}{svg_s * 1e3:>9.1f} ms")
    print(f"{'`codex-fsm diagram` (whole command)':<44}{cli_s:>10.3f} s  < 0.5 s")
    print(f"{'  of which bare python start-up':<44}{python_s:>10.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
