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
