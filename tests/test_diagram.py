"""The committed diagrams are exactly what the table renders to; rendering is byte-stable."""

from __future__ import annotations

import shutil
from pathlib import Path

from supervisor.chartfile import load_default_chart
from supervisor.cli import main as cli_main
from supervisor.diagram import render_dot, render_mermaid, render_svg, stable_svg
from supervisor.replay import replay_file
from tools.embed_diagram import embed

ROOT = Path(__file__).resolve().parent.parent
CHART = load_default_chart()


def test_graphviz_is_installed():
    assert shutil.which("dot"), "Graphviz's dot is missing: `make test` installs Debian's graphviz"


def test_committed_mermaid_is_fresh():
    assert (ROOT / "statecharts" / "session.mmd").read_text() == render_mermaid(CHART)


def test_committed_svg_is_fresh():
    committed = (ROOT / "statecharts" / "session.svg").read_text()
    assert stable_svg(committed) == stable_svg(render_svg(CHART))


def test_readme_embeds_the_current_diagram():
    readme = (ROOT / "README.md").read_text()
    assert embed(readme, render_mermaid(CHART)) == readme


def test_rendering_is_byte_stable():
    assert render_mermaid(CHART) == render_mermaid(load_default_chart())
    assert render_dot(CHART) == render_dot(CHART)


def test_every_state_and_row_is_drawn():
    mermaid, dot = render_mermaid(CHART), render_dot(CHART)
    for state in CHART.states:
        assert f"{state} -->" in mermaid or f"--> {state}" in mermaid
        assert f"  {state} [label=" in dot
    for row in CHART.rows:
        assert row.trigger in mermaid
    assert mermaid.startswith("stateDiagram-v2\n    [*] --> acquiring\n")


def test_log_path_is_highlighted():
    path = replay_file(ROOT / "tests" / "replays" / "prewarm_rotate_resume_quit.jsonl", CHART).path
    mermaid = render_mermaid(CHART, path)
    assert "class acquiring,probing,running,prewarming,restarting,resuming,exited visited" in mermaid
    assert "✔1× turn_finished [rotation_due and quiet_moment]" in mermaid
    plain = replay_file(ROOT / "tests" / "replays" / "nothing_usable.jsonl", CHART).path
    assert "class acquiring,exited visited" in render_mermaid(CHART, plain)
    dot = render_dot(CHART, path)
    edge = dot[dot.index("  prewarming -> restarting ["):]
    edge = edge[:edge.index("];")]
    assert "[1x] turn_finished [rotation_due and quiet_moment]" in edge and "penwidth=2.5" in edge
    assert "visited" not in render_mermaid(CHART)


def test_cli_writes_each_format(tmp_path, capsys):
    assert cli_main(["diagram"]) == 0
    assert capsys.readouterr().out == render_mermaid(CHART)
    out = tmp_path / "d.svg"
    assert cli_main(["diagram", "--format", "svg", "-o", str(out),
                     "--log", str(ROOT / "tests" / "replays" / "child_crash.jsonl")]) == 0
    assert out.read_text().lstrip().startswith("<?xml")
    assert cli_main(["diagram", "--format", "dot", "-o", str(tmp_path / "d.dot")]) == 0
    assert (tmp_path / "d.dot").read_text() == render_dot(CHART)
