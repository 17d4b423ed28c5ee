"""`codex-fsm replay`: the log's file name and what the log holds reach the terminal sanitized."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from supervisor.cli import main as cli_main

REPLAYS = Path(__file__).resolve().parents[1] / "replays"
HOSTILE_NAME = "log\x1b]0;owned\x07\x1b[2J\r\nfake.jsonl"


def test_a_hostile_log_name_is_shown_as_visible_escapes(tmp_path, capsys):
    log = tmp_path / HOSTILE_NAME
    shutil.copyfile(REPLAYS / "child_crash.jsonl", log)
    assert cli_main(["replay", str(log)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\r" not in out and out.count("\n") == 1
    assert "log\\x1b]0;owned\\x07\\x1b[2J\\x0d\\x0afake.jsonl: replayed" in out
    records = [json.loads(line) for line in log.read_text().splitlines()]
    records[3]["commands"] = [{"type": "Notify", "kind": "\x1b]52;c;ZWNobw==\x07", "params": []}]
    log.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    cli_main(["replay", str(log)])
    captured = capsys.readouterr()
    assert "\x1b" not in captured.out + captured.err and "\x07" not in captured.out + captured.err


def test_a_log_of_the_first_chart_is_refused_naming_both_chart_hashes(capsys):
    """A log recorded under the schema-1 chart (no chart_schema in its header) cannot be re-driven, not
    even with --allow-chart-change: its rows and their priorities are not this chart's."""
    v1 = REPLAYS / "chart_v1" / "child_crash.jsonl"
    header = json.loads(v1.read_text().splitlines()[0])
    assert "chart_schema" not in header
    for extra in ([], ["--allow-chart-change"]):
        status = cli_main(["replay", str(v1), *extra])
        err = capsys.readouterr().err
        assert status != 0
        assert f"chart of schema 1 (sha256 {header['chart_sha256'][:12]})" in err
        assert "runs chart schema 2 (sha256 " in err and "cannot be replayed" in err
