"""``codex-fsm status [--json]``: the live supervised sessions and the pool at a glance.

A session is one process that holds the pool's leases or writes a status file here: in a pool shared
across machines, the sessions of every host (known from their leases), those of this host with what their
status files add (state, session id). A process of this host is shown once, its status and its leases
together (matched by host and pid).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

from .. import paths
from ..adapters.status_file import live_sessions
from ..composition import Composition
from ..pool import admin
from ..terminal_text import for_terminal

_BAR_WIDTH = 10
# A host name comes from whoever wrote the lease: one too long for a column is cut.
_HOST_WIDTH = 24


@dataclass
class _Session:
    host: str
    pid: int
    status: dict | None = None  # this host's status file of the process, when it writes one
    leases: list[dict] = field(default_factory=list)


def main(argv: list[str], clock: Callable[[], float] = time.time) -> int:
    summary = __doc__.split(":", 1)[1].split("\n")[0].strip()
    parser = argparse.ArgumentParser(prog="codex-fsm status", description=summary)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    root = Composition.load()
    now = clock()
    here = root.owner.host
    pool = root.pool_store.load()
    sessions = [{**asdict(s), "host": here} for s in live_sessions(paths.run_dir(root.env))]
    leases = admin.lease_rows(pool, now, root.alive)
    merged = _merged(sessions, leases, here)
    accounts = admin.account_rows(pool, now, root.alive)
    if args.json:
        print(json.dumps({"sessions": sessions, "leases": leases, "accounts": accounts}, sort_keys=True))
        return 0
    # Every text below comes from files (status files, the pool) that anything could have written; in a
    # shared pool the hosts were written by other machines.
    print(f"sessions ({len(merged)}):" if merged else "sessions: none running")
    hosts = [_host(s.host, here) for s in merged]
    width = max(map(len, hosts), default=0)
    for s, host in zip(merged, hosts, strict=True):
        print(f"  {host:<{width}}  pid {s.pid:<7} {_session_text(s, here)}".rstrip())
        for lease in s.leases:
            print(f"      lease {for_terminal(_clipped(lease['account'], 16)):<16} "
                  f"{for_terminal(lease['purpose']):<9}  expires in {max(0.0, lease['expires_at'] - now):.0f} s")
    print(f"accounts ({len(accounts)}):" if accounts else "accounts: none (add one with `codex-fsm accounts import`)")
    for row in accounts:
        quota = row['quota_remaining_percent']
        print(f"  {for_terminal(row['label']):<16} {_bars(quota)}  "
              f"{for_terminal(row['state'])}{_cooldown(row)}")
        for family in (quota or {}).get("families", []):
            # Another model's own limit (Spark's, say): shown, never the reason this account is left.
            name = family.get("limit_name") or family["limit_id"]
            print(f"    {for_terminal(_clipped(name, 14)):<14} {_bars(family)}{_refused(family)}")
    return 0


def _merged(sessions: list[dict], leases: list[dict], here: str) -> list[_Session]:
    """One entry per process: this host's first, then by host and pid. Marks each lease ``local`` when
    its holder also has a status file here."""
    by_process: dict[tuple[str, int], _Session] = {}
    for status in sessions:
        by_process[(here, status["pid"])] = _Session(here, status["pid"], status=status)
    for lease in leases:
        key = (lease["host"], lease["pid"])
        holder = by_process.setdefault(key, _Session(*key))
        holder.leases.append(lease)
        lease["local"] = holder.status is not None
    return sorted(by_process.values(), key=lambda s: (s.host != here, s.host, s.pid))


def _host(host: str, here: str) -> str:
    shown = for_terminal(host, max_chars=_HOST_WIDTH)
    return f"{shown} (this host)" if host == here else shown


def _session_text(session: _Session, here: str) -> str:
    s = session.status
    if s is None:
        # A process of this host without a status file is not a supervised session (an `accounts`
        # command refreshing a token, say); one of another host has its status file there.
        return "(no status file)" if session.host == here else ""
    return (f"{s['kind']:<4} {for_terminal(s['state']):<11} "
            f"since {_clock(s['state_since'], '%H:%M:%S')}  "
            f"account {for_terminal(s['account'] or '-')}  "
            f"session {for_terminal(s['session_id'] or '(not yet known)')}")


def _clipped(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1] + "~"


def _refused(figures: dict) -> str:
    reached = figures.get("reached_type")
    if figures.get("allowed") is False or figures.get("limit_reached"):
        return f"  refused ({for_terminal(reached)})" if reached else "  refused"
    return ""


def _clock(epoch: float, layout: str) -> str:
    try:
        return time.strftime(layout, time.localtime(epoch))
    except (OverflowError, OSError, ValueError):
        return "?"  # a time no clock can show: the file says something odd, the rest still prints


def _bar(remaining: float | None) -> str:
    if remaining is None:
        return "?" * _BAR_WIDTH
    filled = round(max(0.0, min(100.0, remaining)) / 100 * _BAR_WIDTH)
    return "#" * filled + "." * (_BAR_WIDTH - filled)


def _bars(quota: dict | None) -> str:
    if quota is None:
        return f"5h [{_bar(None)}] wk [{_bar(None)}] (no snapshot)"
    plan = _plan_windows(quota)
    return (f"5h [{_window_bar(quota, '5h', plan)}] wk [{_window_bar(quota, 'weekly', plan)}] "
            f"({_pct(quota.get('5h'), '5h', plan)} / {_pct(quota.get('weekly'), 'weekly', plan)} left)")


def _plan_windows(quota: dict) -> set[str]:
    """The window kinds the plan has; a kind it lacks (a weekly-only plan's 5 h) is not unknown."""
    windows = quota.get("windows")
    return set(windows) if isinstance(windows, list) else {"5h", "weekly"}


def _window_bar(quota: dict, kind: str, plan: set[str]) -> str:
    if quota.get(kind) is None and plan and kind not in plan:
        return "none".center(_BAR_WIDTH)
    return _bar(quota.get(kind))


def _pct(value: float | None, kind: str, plan: set[str]) -> str:
    if value is None and plan and kind not in plan:
        return "no " + ("5h" if kind == "5h" else "weekly") + " window"
    return "?" if value is None else f"{value:.0f}%"


def _cooldown(row: dict) -> str:
    cooldown = row.get("cooldown")
    if not cooldown:
        return ""
    family = cooldown.get("family")
    scope = f", {for_terminal(family)} only" if family else ""
    return f" until {_clock(cooldown['until'], '%Y-%m-%d %H:%M')} ({for_terminal(cooldown['reason'])}{scope})"
