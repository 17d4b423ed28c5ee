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


def _valid_header(**settings) -> str:
    return json.dumps({"kind": "header", "schema": 1, "chart_sha256": CHART.sha256, "settings": settings})


@pytest.mark.parametrize("header, named", [
    (_valid_header(max_restarts="x"), r"x:1: header settings\.max_restarts must be int, got 'x'"),
    (_valid_header(max_restarts=True), r"settings\.max_restarts must be int"),
    (_valid_header(idle_before_rotate_s=[1]), r"settings\.idle_before_rotate_s must be float"),
    (_valid_header(resubmit_interrupted_prompt=1), r"settings\.resubmit_interrupted_prompt must be bool"),
    (_valid_header(thresholds={"rotate_5h": "5"}), r"settings\.thresholds\.rotate_5h must be float"),
    (_valid_header(thresholds=[1]), r"settings\.thresholds must be an object"),
    (_valid_header(thresholds={"nope": 1}), r"settings\.thresholds: unknown field 'nope'"),
    (_valid_header(account_thresholds=[["a", 3]]), r"settings\.account_thresholds\[0\] must be an object"),
    (_valid_header(account_thresholds=[3]), r"settings\.account_thresholds\[0\] must be \[account, thresholds\]"),
    (_valid_header(account_thresholds={}), r"settings\.account_thresholds must be a list"),
    (_valid_header(surprise=1), r"settings: unknown field 'surprise'"),
    ('{"kind":"header","schema":1,"settings":[1,2]}', r"x:1: header settings must be an object"),
    ('\n{"kind":"header","schema":1,"settings":"s"}', r"x:2: header settings must be an object"),
])
def test_header_settings_of_the_wrong_type_name_the_line_and_field(header, named):
    with pytest.raises(LogFormatError, match=named):
        parse_log(header + "\n", "x")


def test_a_header_that_is_not_an_object_names_the_line():
    with pytest.raises(LogFormatError, match=r"x:1: a record must be an object"):
        parse_log('["kind", "header"]\n', "x")


def test_a_non_utf8_log_is_a_format_error_naming_file_and_line(tmp_path):
    log = tmp_path / "session.jsonl"
    log.write_bytes(_valid_header().encode() + b'\n{"kind":"transition","x":"\xff"}\n')
    with pytest.raises(LogFormatError, match=re.escape(f"{log}:2: not UTF-8")):
        replay_file(log, CHART)


def test_deeply_nested_json_is_a_format_error_not_a_recursion_error():
    nested = "[" * 100_000 + "]" * 100_000
    with pytest.raises(LogFormatError, match=r"x:2: JSON nested too deeply"):
        parse_log(_valid_header() + "\n" + nested + "\n", "x")


def test_a_line_separator_inside_a_string_does_not_split_the_record():
    text = _valid_header() + "\n" + '{"kind":"transition","seq":0,"note":"a\u2028b\x85c"}' + "\n"
    _header, [record] = parse_log(text, "x")
    assert record["note"] == "a\u2028b\x85c" and record["_line"] == 2


def test_every_cli_replay_of_a_bad_log_is_an_error_message_not_a_traceback(tmp_path, capsys):
    log = tmp_path / "bad.jsonl"
    log.write_text(_valid_header(max_restarts="x") + "\n")
    assert cli_main(["replay", str(log)]) == 1
    assert f"codex-fsm: {log}:1: header settings.max_restarts" in capsys.readouterr().err


_GOLDEN_BYTES = [path.read_bytes() for path in LOGS[:2]]


def _log_bytes():
    from hypothesis import strategies as st

    json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                               lambda inner: st.lists(inner, max_size=4)
                               | st.dictionaries(st.sampled_from(["kind", "seq", "event", "type", "settings",
                                                                  "schema", "at", "commands", "x"]), inner,
                                                 max_size=5), max_leaves=12)
    json_line = json_values.map(lambda v: json.dumps(v).encode())
    mutated_golden = st.tuples(st.sampled_from(_GOLDEN_BYTES), st.integers(0, 5000), st.binary(max_size=8)).map(
        lambda t: t[0][:t[1] % (len(t[0]) + 1)] + t[2] + t[0][t[1] % (len(t[0]) + 1) + len(t[2]):])
    return st.binary(max_size=200) | st.lists(json_line | st.binary(max_size=20), max_size=4).map(
        lambda lines: _valid_header().encode() + b"\n" + b"\n".join(lines)) | mutated_golden


def test_any_bytes_as_a_log_replay_or_a_codex_fsm_error_and_the_file_is_unchanged(tmp_path):
    from hypothesis import given, settings

    from supervisor.errors import CodexFsmError

    log = tmp_path / "any.jsonl"

    @settings(derandomize=True, deadline=None, max_examples=400)
    @given(_log_bytes())
    def check(data: bytes) -> None:
        log.write_bytes(data)
        try:
            replay_file(log, CHART)
        except CodexFsmError:
            pass
        assert log.read_bytes() == data

    check()
