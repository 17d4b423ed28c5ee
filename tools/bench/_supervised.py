"""Run one child under the real supervisor loop with static in-process ports (for the benches).

Usage: _supervised.py <work dir> <child argv...>. One account whose quota is always fresh and
healthy, so the chart goes straight to spawning; the transition log goes to <work dir>.
Also: _supervised.py --bare <child argv...> runs the same child in a bare pty copy loop.
"""

from __future__ import annotations

import os
import select
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def bare(argv: list[str]) -> int:
    """The baseline: pexpect pty, raw stdin, select copy loop, nothing else."""
    import pexpect

    from supervisor.adapters.terminal import RawMode, window_size, write_all

    child = pexpect.spawn(argv[0], argv[1:], dimensions=window_size(0))
    with RawMode(0):
        while True:
            ready, _, _ = select.select([child.child_fd, 0], [], [])
            if child.child_fd in ready:
                try:
                    data = os.read(child.child_fd, 65536)
                except OSError:
                    data = b""
                if not data:
                    break
                write_all(1, data)
            if 0 in ready:
                os.write(child.child_fd, os.read(0, 65536))
    child.close()
    return child.exitstatus or 0


class StaticPool:
    def __init__(self, home: Path) -> None:
        self._home = home

    def lease_candidate(self, purpose, exclude, now):
        from supervisor.core import events as ev

        return ev.AccountLeased(at=now, account="bench")

    def never_probed(self, limit, exclude, now): return []
    def release(self, account, now): pass
    def cool_down(self, account, until, reason, now): pass
    def record_quota(self, account, snapshot, now): pass
    def codex_home(self, account): return self._home
    def heartbeat(self, now): return []
    def close(self, now): pass


def supervised(work: Path, argv: list[str]) -> int:
    from supervisor.adapters.codex_args import classify
    from supervisor.adapters.codex_binary import CodexBinary
    from supervisor.adapters.launcher import CodexLauncher
    from supervisor.adapters.log_file import TransitionLog
    from supervisor.adapters.stored_quota import StoredFirstQuota
    from supervisor.chartfile import load_default_chart
    from supervisor.core.quota import QuotaSnapshot, QuotaWindow
    from supervisor.core.session import Session
    from supervisor.core.settings import SessionSettings
    from supervisor.composition import LoopPorts, assemble_loop

    home = work / "home"
    (home / "sessions").mkdir(parents=True, exist_ok=True)
    pool = StaticPool(home)
    now = time.time()
    fresh = QuotaSnapshot(windows=(QuotaWindow(10.0, 300, now + 3600),), observed_at=now)
    quota = StoredFirstQuota(lambda account: fresh, lambda: None, 3600.0, time.time)
    launcher = CodexLauncher(CodexBinary(Path(argv[0])), classify(argv[1:]), os.environ, os.getcwd(),
                             pool.codex_home)
    chart = load_default_chart()
    log = TransitionLog.create(work / f"transitions-{os.getpid()}.jsonl", chart, SessionSettings())
    ports = LoopPorts(pool=pool, quota=quota, log=log, launcher=launcher, clock=time.time, label_of=str)
    try:
        return assemble_loop(Session(chart, SessionSettings()), ports).run()
    finally:
        log.close()


if __name__ == "__main__":
    if sys.argv[1] == "--bare":
        sys.exit(bare(sys.argv[2:]))
    sys.exit(supervised(Path(sys.argv[1]), sys.argv[2:]))
