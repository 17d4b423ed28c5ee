"""Golden transition logs replay exactly, say what their scenario promises, and hold no secrets."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from supervisor.chartfile import load_default_chart
from supervisor.cli import main as cli_main
from supervisor.errors import LogFormatError, ReplayDivergence
from supervisor.replay import parse_log, replay, replay_file
from tools.golden_scenarios import SCENARIOS

REPLAYS = Path(__file__).resolve().parent / "replays"
CHART = load_default_chart()
SCENARIO_BY_NAME = {f().name: f() for f in SCENARIOS}
LOGS = sorted(REPLAYS.glob("*.jsonl"))


def test_every_scenario_has_a_golden_log():
    names = {p.stem for p in LOGS}
    assert set(SCENARIO_BY_NAME) <= names


@pytest.mark.parametrize("path", LOGS, ids=[p.stem for p in LOGS])
def test_golden_log_replays(path):
    result = replay_file(path, CHART)
    assert result.final_state == "exited"
    scenario = SCENARIO_BY_NAME.get(path.stem)
    if scenario is not None:
        assert result.exit_status == scenario.exit_status
        visited = {CHART.row(r).source for r in result.path} | {CHART.row(r).dest for r in result.path}
        assert set(scenario.visits) <= visited, scenario.doc


@pytest.mark.parametrize("path", LOGS, ids=[p.stem for p in LOGS])
def test_golden_logs_hold_no_secrets(path):
    text = path.read_text()
    assert not re.search(r"[\w.+-]+@[\w-]+\.[\w.]+", text), "an email address"
    assert "eyJ" not in text, "a JWT"
    assert "refresh_token" not in text and "access_token" not in text


def _records(name: str) -> tuple[dict, list[dict]]:
    return parse_log((REPLAYS / f"{name}.jsonl").read_text(), name)


def test_a_changed_command_is_reported_at_its_seq():
    header, records = _records("prewarm_rotate_resume_quit")
    target = next(r for r in records if r["trigger"] == "child_exited" and r["dest"] == "resuming")
    target["commands"][-1]["account"] = "a-someoneelse"
    with pytest.raises(ReplayDivergence) as info:
        replay(header, records, CHART)
    assert info.value.seq == target["seq"] and info.value.what == "commands"


def test_a_changed_destination_is_reported():
    header, records = _records("usage_limit_reselect_resume")
    records[2]["dest"] = "acquiring"
    with pytest.raises(ReplayDivergence, match=r"seq 3: dest differs: expected 'acquiring', got 'running'"):
        replay(header, records, CHART)


def test_a_log_from_another_chart_is_refused_unless_allowed():
    header, records = _records("normal_session_and_quit")
    header["chart_sha256"] = "0" * 64
    with pytest.raises(LogFormatError, match="pass --allow-chart-change"):
        replay(header, records, CHART)
    assert replay(header, records, CHART, allow_chart_change=True).final_state == "exited"


def test_malformed_logs_name_the_line():
    with pytest.raises(LogFormatError, match=r"x:2: not JSON"):
        parse_log('{"kind":"header","schema":1}\n{oops\n', "x")
    with pytest.raises(LogFormatError, match="the first record must be the header"):
        parse_log('{"kind":"transition"}\n', "x")
    with pytest.raises(LogFormatError, match="empty log"):
        parse_log("", "x")


def test_cli_replay_reports_success_and_divergence(tmp_path, capsys):
    good = REPLAYS / "child_crash.jsonl"
    assert cli_main(["replay", str(good)]) == 0
    assert "replayed" in capsys.readouterr().out
    lines = good.read_text().splitlines()
    tampered = [json.loads(line) for line in lines]
    tampered[3]["commands"] = []
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(json.dumps(r) for r in tampered) + "\n")
    assert cli_main(["replay", str(bad)]) == 1
    out = capsys.readouterr().out
    assert "diverged at seq 3: commands" in out and "expected: []" in out


def test_cli_replay_refuses_foreign_chart_unless_told(tmp_path, capsys):
    records = [json.loads(line) for line in (REPLAYS / "nothing_usable.jsonl").read_text().splitlines()]
    records[0]["chart_sha256"] = "f" * 64
    path = tmp_path / "foreign.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    assert cli_main(["replay", str(path)]) == 1
    assert "allow-chart-change" in capsys.readouterr().err
    assert cli_main(["replay", "--allow-chart-change", str(path)]) == 0
