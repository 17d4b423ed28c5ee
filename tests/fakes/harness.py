"""Runs the real supervisor loop with in-test fakes of the pool and quota ports around the fake Codex.

Usage: harness.py <scenario.json> [codex args...]. The scenario names the work folder (accounts'
homes, shared sessions, the fake's control files, journals), the accounts and session settings.
The pool and quota fakes journal every call to ``pool.jsonl`` so tests assert what the loop did.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from supervisor.adapters.codex_args import classify  # noqa: E402
from supervisor.adapters.codex_binary import find_codex_binary  # noqa: E402
from supervisor.adapters.launcher import CodexLauncher  # noqa: E402
from supervisor.adapters.log_file import TransitionLog  # noqa: E402
from supervisor.adapters.status_file import StatusFile  # noqa: E402
from supervisor.chartfile import load_default_chart  # noqa: E402
from supervisor.core import events as ev  # noqa: E402
from supervisor.core.quota import QuotaSnapshot, QuotaWindow  # noqa: E402
from supervisor.core.session import Session  # noqa: E402
from supervisor.core.settings import SessionSettings  # noqa: E402
from supervisor.errors import CodexFsmError  # noqa: E402
from supervisor.composition import LoopPorts, assemble_loop  # noqa: E402


class Journal:
    def __init__(self, path: Path) -> None:
        self._path = path

    def write(self, call: str, **fields: object) -> None:
        with open(self._path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"call": call, **fields}) + "\n")


class FakePool:
    """First eligible account in order; cooldowns and leases in memory; every call journalled."""

    def __init__(self, accounts: list[str], work: Path, journal: Journal) -> None:
        self._accounts = accounts
        self._work = work
        self._journal = journal
        self._leased: set[str] = set()
        self._cooling: dict[str, float] = {}

    def lease_candidate(self, purpose: str, exclude: tuple[str, ...], now: float,
                        model: str | None = None) -> ev.Event:
        for account in self._accounts:
            if account in exclude or account in self._leased or self._cooling.get(account, 0) > now:
                continue
            self._leased.add(account)
            self._journal.write("lease", account=account, purpose=purpose)
            return ev.AccountLeased(at=now, account=account)
        resets = [until for until in self._cooling.values() if until > now]
        self._journal.write("exhausted", purpose=purpose)
        return ev.PoolExhausted(at=now, soonest_reset_at=min(resets) if resets else None, reason="all benched")

    def never_probed(self, limit: int, exclude: tuple[str, ...], now: float) -> list[str]:
        return []

    def release(self, account: str, now: float) -> None:
        self._leased.discard(account)
        self._journal.write("release", account=account)

    def cool_down(self, account: str, until: float, reason: str, now: float,
                  family: str | None = None, workspace: bool = False) -> None:
        self._cooling[account] = until
        self._journal.write("cool_down", account=account, reason=reason)

    def record_quota(self, account: str, snapshot: QuotaSnapshot, now: float) -> None:
        self._journal.write("record_quota", account=account, used=[w.used_percent for w in snapshot.windows])

    def codex_home(self, account: str) -> Path:
        home = self._work / "homes" / account
        if not home.exists():
            home.mkdir(parents=True)
            (home / "sessions").symlink_to(self._work / "sessions")
        return home

    def heartbeat(self, now: float) -> list[ev.Event]:
        """``lose-lease-<account>`` in the control folder: another process took that account."""
        lost = []
        for account in sorted(self._leased):
            marker = self._work / "control" / f"lose-lease-{account}"
            if marker.exists():
                marker.unlink()
                self._leased.discard(account)
                lost.append(ev.LeaseLost(at=now, account=account))
        return lost

    def close(self, now: float) -> None:
        self._journal.write("close", leased=sorted(self._leased))


class FakeQuota:
    """Probes answer at once from ``probe-<account>`` ("<5h used> <weekly used>", default "10 5")."""

    def __init__(self, control: Path, clock) -> None:
        self._control = control
        self._clock = clock
        self._ready: list[ev.Event] = []
        self._r, self._w = os.pipe()

    def request_probe(self, account: str) -> None:
        path = self._control / f"probe-{account}"
        five, weekly = path.read_text().split() if path.exists() else ("10", "5")
        now = self._clock()
        snapshot = QuotaSnapshot(windows=(QuotaWindow(float(five), 300, now + 3600),
                                          QuotaWindow(float(weekly), 10080, now + 86400)), observed_at=now)
        self._ready.append(ev.QuotaProbed(at=now, account=account, snapshot=snapshot))
        os.write(self._w, b"!")

    def poll(self) -> list[ev.Event]:
        os.read(self._r, 4096)
        ready, self._ready = self._ready, []
        return ready

    def fileno(self) -> int:
        return self._r

    def close(self) -> None:
        os.close(self._r)
        os.close(self._w)


def main() -> int:
    scenario = json.loads(Path(sys.argv[1]).read_text())
    work = Path(scenario["work"])
    control = work / "control"
    invocation = classify(sys.argv[2:])
    settings = SessionSettings.from_dict(scenario.get("settings", {}))
    journal = Journal(work / "pool.jsonl")
    pool = FakePool(scenario["accounts"], work, journal)
    try:
        binary = find_codex_binary(os.environ)
        from supervisor.adapters.terminal import RawMode

        RawMode(0)  # refuses a stdin that is not a terminal, before anything starts
    except CodexFsmError as exc:
        print(f"codex-fsm: {exc}", file=sys.stderr)
        return 1
    launcher = CodexLauncher(binary, invocation, os.environ, os.getcwd(), pool.codex_home)
    log = TransitionLog.create(work / "transitions.jsonl", load_default_chart(), settings)
    ports = LoopPorts(pool=pool, quota=FakeQuota(control, time.time), log=log, launcher=launcher,
                      clock=time.time, label_of=lambda a: f"{a[:2]}…{a[-1:]}",
                      status=StatusFile(work / "run", os.getpid(), time.time()),
                      heartbeat_s=scenario.get("heartbeat_s", 10.0))
    try:
        return assemble_loop(Session(load_default_chart(), settings), ports).run()
    finally:
        log.close()


if __name__ == "__main__":
    sys.exit(main())
