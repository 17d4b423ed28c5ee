"""The committed diagrams are exactly what the chart renders to; rendering is byte-stable; the SVG fits a
screen and reads at a glance (size, font, lines per edge, no self-loops); a log draws as numbered steps."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from supervisor.chartfile import load_default_chart
from supervisor.cli import main as cli_main
from supervisor.diagram import (edges, render_dot, render_mermaid, render_path_table, render_svg, render_table,
                                stable_svg, summarize_moves)
from supervisor.replay import replay_file
from tools.embed_diagram import embed, embed_table

ROOT = Path(__file__).resolve().parent.parent
CHART = load_default_chart()
PX_PER_PT = 4 / 3  # an SVG's pt shown on a screen
ROTATION_LOG = ROOT / "tests" / "replays" / "prewarm_rotate_resume_quit.jsonl"


def test_graphviz_is_installed():
    assert shutil.which("dot"), "Graphviz's dot is missing: `make test` installs Debian's graphviz"


def test_committed_mermaid_is_fresh():
    assert (ROOT / "statecharts" / "session.mmd").read_text() == render_mermaid(CHART)


def test_committed_svg_is_fresh():
    committed = (ROOT / "statecharts" / "session.svg").read_text()
    assert stable_svg(committed) == stable_svg(render_svg(CHART))


def test_committed_table_is_fresh():
    assert (ROOT / "statecharts" / "session.md").read_text() == render_table(CHART)


def test_readme_embeds_the_current_diagram_and_table():
    readme = (ROOT / "README.md").read_text()
    assert embed(readme, render_mermaid(CHART)) == readme
    assert embed_table(readme, render_table(CHART)) == readme


def test_rendering_is_byte_stable():
    assert render_mermaid(CHART) == render_mermaid(load_default_chart())
    assert render_dot(CHART) == render_dot(CHART)
    assert render_table(CHART) == render_table(CHART)


def test_svg_fits_a_screen_at_a_readable_font():
    svg = (ROOT / "statecharts" / "session.svg").read_text()
    width, height = (float(v) for v in re.search(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"', svg).groups())
    assert width * PX_PER_PT <= 1600 and height * PX_PER_PT <= 1200, (width, height)
    view = [float(v) for v in re.search(r'viewBox="([\d. -]+)"', svg).group(1).split()]
    scale = width / view[2]  # 1 unless Graphviz shrank the drawing to fit
    sizes = [float(v) for v in re.findall(r'font-size="([\d.]+)"', svg)]
    assert sizes and min(sizes) * scale * PX_PER_PT >= 11, min(sizes)


def test_the_mermaid_edges_keep_the_same_budget():
    for line in render_mermaid(CHART).splitlines():
        if " --> " in line and ": " in line:
            tail, head = line.strip().split(":", 1)[0].split(" --> ")
            assert tail != head, line
            assert line.count("<br/>") <= 2, line


def test_no_edge_carries_more_than_three_lines_and_none_loops():
    for edge in edges(CHART):
        assert len(edge.lines) <= 3, edge
        assert edge.tail != edge.head, edge
    dot = render_dot(CHART)
    assert not re.search(r"^  (\w+) -> \1\b", dot, re.MULTILINE)


def test_the_dot_labels_keep_the_budget_after_long_lines_are_broken_before_their_guard():
    dot = render_dot(CHART)
    labels = re.findall(r'__label\d+ \[shape=plaintext, fontsize=9, label="([^"]*)"', dot)
    assert len(labels) == len(edges(CHART))
    for label in labels:
        assert label.count("\\n") <= 2, label
    # probing -> running had one long line: it is drawn as the trigger over its guard.
    assert "quota_probed\\n②[candidate_has_headroom ∧ ¬child_has_run]" in labels


def test_a_guard_that_only_chooses_the_actions_is_one_line_of_its_edge():
    """resuming --child_ready--> running is taken in both modes; [headless] picks only what is typed."""
    [edge] = [e for e in edges(CHART) if (e.tail, e.head) == ("resuming", "running")]
    assert "child_ready" in edge.lines
    assert not any(line.startswith("child_ready [") for line in edge.lines)
    assert "| resuming | `child_ready` | headless → running; not headless → running |" in render_table(CHART)


def test_every_state_and_transition_is_drawn_and_reactions_are_not():
    mermaid, dot = render_mermaid(CHART), render_dot(CHART)
    for state in CHART.states:
        assert f"{state} -->" in mermaid or f"--> {state}" in mermaid
        assert f"  {state} [label=" in dot
    for row in CHART.transitions:
        tail = row.declared_in if f"state {row.declared_in} {{" in mermaid else row.source
        assert f"{tail} --> {row.dest}: " in mermaid
        assert row.trigger in mermaid
    for state in CHART.states:
        assert f"    {state} --> {state}:" not in mermaid
    assert mermaid.startswith("stateDiagram-v2\n    [*] --> acquiring\n")


def test_the_fallback_of_a_cell_is_marked_else_and_priorities_are_numbered():
    lines = {line for edge in edges(CHART) for line in edge.lines}
    assert "child_exited [else]" in lines  # restarting -> acquiring: the last of five rows
    assert "child_exited ①[quit_requested]" in lines
    assert "account_leased" in lines  # alone in its cell: no mark


def test_table_lists_every_reaction_and_each_multi_row_cell():
    table = render_table(CHART)
    for row in CHART.reactions:
        assert f"`{row.trigger}`" in table
    assert "| restarting | `child_exited` | ①quit_requested → exited; ②no_session_bound → exited; " in table


def test_a_log_draws_as_numbered_steps_with_times(tmp_path):
    fired = replay_file(ROTATION_LOG, CHART).fired
    summary = summarize_moves(CHART, fired)
    assert summary[0].startswith("1. ") and " acquiring → probing (account_leased)" in summary[0]
    assert any("prewarming → restarting" in line for line in summary)
    assert summary[-1].startswith("(and ") and "reactions" in summary[-1]
    table = render_path_table(CHART, fired)
    assert "| 1 | " in table and "`account_leased`" in table
    out = tmp_path / "path.svg"
    assert cli_main(["diagram", "--log", str(ROTATION_LOG), "--format", "svg", "-o", str(out)]) == 0
    svg = out.read_text()
    assert svg.lstrip().startswith("<?xml") and "1. " in svg and "account_leased" in svg


def test_cli_writes_each_format(tmp_path, capsys):
    assert cli_main(["diagram"]) == 0
    assert capsys.readouterr().out == render_mermaid(CHART)
    assert cli_main(["diagram", "--format", "table"]) == 0
    assert capsys.readouterr().out == render_table(CHART)
    assert cli_main(["diagram", "--format", "dot", "-o", str(tmp_path / "d.dot")]) == 0
    assert (tmp_path / "d.dot").read_text() == render_dot(CHART)


def test_words_from_files_reach_the_terminal_as_visible_escapes(tmp_path, capsys):
    """A chart's free text and a log's file name are printed, never obeyed: no escape reaches stdout raw."""
    import json

    document = json.loads((ROOT / "statecharts" / "session.json").read_text())
    document["reactions"][0]["why"] = "fine\x1b]52;c;ZWNobw==\x07\x1b[2J"
    document["superstates"]["live"]["doc"] = "doc\r\x1b[31mred"
    chart_file = tmp_path / "chart.json"
    chart_file.write_text(json.dumps(document))
    assert cli_main(["diagram", "--chart", str(chart_file), "--format", "table"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "\r" not in out
    assert "fine\\x1b]52;c;ZWNobw==\\x07\\x1b[2J" in out
    log = tmp_path / "log\x1b]0;owned\x07.jsonl"
    log.write_bytes(ROTATION_LOG.read_bytes())
    assert cli_main(["diagram", "--log", str(log), "--format", "dot"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "owned" in out
    out_svg = tmp_path / "path.svg"
    assert cli_main(["diagram", "--log", str(log), "--format", "svg", "-o", str(out_svg)]) == 0
    assert "\x1b" not in out_svg.read_text()
