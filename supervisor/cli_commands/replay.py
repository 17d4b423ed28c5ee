"""``codex-fsm replay LOG``: check that a transition log replays exactly on the current core."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..chartfile import default_chart_path, load_chart_file
from ..errors import ReplayDivergence
from ..replay import replay_file
from ..terminal_text import for_terminal


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="codex-fsm replay",
                                     description="Re-drive a fresh core with a transition log and check every step.")
    parser.add_argument("log", type=Path, help="a transition log (.jsonl)")
    parser.add_argument("--chart", type=Path, default=None, help="statechart to use (default: the installed one)")
    parser.add_argument("--allow-chart-change", action="store_true",
                        help="replay even though the log was recorded with another chart")
    args = parser.parse_args(argv)
    chart = load_chart_file(args.chart or default_chart_path())
    shown = for_terminal(args.log)  # a file name, and what the log holds, can carry escape sequences
    try:
        result = replay_file(args.log, chart, args.allow_chart_change)
    except ReplayDivergence as exc:
        print(f"{shown}: diverged at seq {exc.seq}: {for_terminal(exc.what)}")
        print(f"  expected: {for_terminal(repr(exc.expected))}")
        print(f"  got:      {for_terminal(repr(exc.got))}")
        return 1
    status = "" if result.exit_status is None else f", exit {result.exit_status}"
    print(f"{shown}: replayed {result.events} events ({result.transitions} transitions, "
          f"{result.rejected} rejected): {for_terminal(result.first_state)} -> "
          f"{for_terminal(result.final_state)}{status}")
    return 0
