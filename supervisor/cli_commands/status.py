"""``codex-fsm status [--json]``: the live supervised sessions and the pool at a glance."""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict

from .. import paths
from ..adapters.status_file import live_sessions
from ..composition import Composition
from ..pool import admin
from ..terminal_text import for_terminal

_BAR_WIDTH = 10


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="codex-fsm status", description=__doc__.split(":", 1)[1].strip())
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    root = Composition.load()
    now = time.time()
    sessions = [asdict(s) for s in live_sessions(paths.run_dir(root.env))]
    accounts = admin.account_rows(root.pool_store.load(), now, root.alive)
    if args.json:
        print(json.dumps({"sessions": sessions, "accounts": accounts}, sort_keys=True))
        return 0
    # Every text below comes from files (status files, the pool file) that anything could have written.
    print(f"sessions ({len(sessions)}):" if sessions else "sessions: none running")
    for s in sessions:
        print(f"  pid {s['pid']:<7} {s['kind']:<4} {for_terminal(s['state']):<11} "
              f"since {_clock(s['state_since'], '%H:%M:%S')}  "
              f"account {for_terminal(s['account'] or '-')}  "
              f"session {for_terminal(s['session_id'] or '(not yet known)')}")
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
