"""``codex-fsm diagram``: the statechart as Mermaid, DOT or SVG, optionally with a log's path."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..chartfile import default_chart_path, load_chart_file
from ..diagram import PATH_RENDERERS, RENDERERS
from ..replay import replay_file
from ..terminal_text import for_terminal


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="codex-fsm diagram",
                                     description="Render the session statechart.")
    parser.add_argument("--format", choices=sorted(RENDERERS), default="mermaid")
    parser.add_argument("--log", type=Path, default=None,
                        help="draw the path of the session this transition log recorded, as numbered steps")
    parser.add_argument("--chart", type=Path, default=None, help="statechart to draw (default: the installed one)")
    parser.add_argument("-o", "--output", type=Path, default=None, help="write here instead of stdout")
    args = parser.parse_args(argv)
    chart = load_chart_file(args.chart or default_chart_path())
    if args.log is not None:
        fired = replay_file(args.log, chart).fired
        text = PATH_RENDERERS[args.format](chart, fired, args.log.name)
    else:
        text = RENDERERS[args.format](chart)
    if args.output is None:
        # The chart's words and the log's name came from files: shown, never obeyed, by the terminal.
        sys.stdout.write("\n".join(for_terminal(line) for line in text.split("\n")))
    else:
        args.output.write_text(text, encoding="utf-8")
    return 0
