"""``codex-fsm diagram``: the statechart as Mermaid, DOT or SVG, optionally with a log's path."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..chartfile import default_chart_path, load_chart_file
from ..diagram import RENDERERS
from ..replay import replay_file


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="codex-fsm diagram",
                                     description="Render the session statechart.")
    parser.add_argument("--format", choices=sorted(RENDERERS), default="mermaid")
    parser.add_argument("--log", type=Path, default=None,
                        help="highlight the states and transitions this transition log went through")
    parser.add_argument("--chart", type=Path, default=None, help="statechart to draw (default: the installed one)")
    parser.add_argument("-o", "--output", type=Path, default=None, help="write here instead of stdout")
    args = parser.parse_args(argv)
    chart = load_chart_file(args.chart or default_chart_path())
    path = replay_file(args.log, chart).path if args.log else None
    text = RENDERERS[args.format](chart, path)
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text, encoding="utf-8")
    return 0
