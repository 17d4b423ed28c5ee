"""The demo's closing words: the session's moves, one line each, and the path kept as a diagram, or as a
table where Graphviz is missing (the demo still ends well)."""

from __future__ import annotations

from pathlib import Path

from supervisor.cli_commands import demo

LOG = Path(__file__).resolve().parents[1] / "replays" / "prewarm_rotate_resume_quit.jsonl"


def test_the_summary_lists_the_moves_not_every_reaction(tmp_path, capsys):
    demo._summarise(LOG, tmp_path)
    out = capsys.readouterr().out
    assert "1. 23:13:20 acquiring → probing (account_leased)" in out
    assert "7. 23:14:50 running → exited (child_exited)" in out
    assert "(and 13 reactions that kept the state)" in out
    assert "-turn_started->" not in out
    [svg] = tmp_path.glob("demo-*.svg")
    assert "4. 23:13:51 turn_finished" in svg.read_text()
    assert oct(svg.stat().st_mode & 0o777) == "0o600"


def test_without_graphviz_the_path_is_kept_as_a_table(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("supervisor.diagram.shutil.which", lambda name: None)
    demo._summarise(LOG, tmp_path)
    captured = capsys.readouterr()
    assert "Graphviz's 'dot' is not installed" in captured.err
    [table] = tmp_path.glob("demo-*.md")
    assert "| 4 | 23:13:51 | 13 | `turn_finished` | prewarming | restarting |" in table.read_text()
    assert not list(tmp_path.glob("demo-*.svg"))
