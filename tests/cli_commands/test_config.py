"""``codex-fsm config [--json]``: every effective setting with its origin."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from supervisor.cli import main as cli_main
from supervisor.config import SETTINGS


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "config.toml"
    path.write_text('[quota]\nrotate_5h = 20\n[quota.accounts."main"]\nrotate_weekly = 30\n')
    monkeypatch.setenv("CODEX_FSM_CONFIG", str(path))
    monkeypatch.setenv("CODEX_FSM_LOGS_KEEP_DAYS", "3")
    return path


def test_json_lists_every_setting_with_value_and_origin(config_file: Path, capsys) -> None:
    assert cli_main(["config", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    by_name = {entry["name"]: entry for entry in document["settings"]}
    assert set(by_name) == {s.name for s in SETTINGS}
    assert document["file"] == str(config_file) and document["file_found"] is True
    assert (by_name["quota.rotate_5h"]["value"], by_name["quota.rotate_5h"]["origin"],
            by_name["quota.rotate_5h"]["source"]) == (20.0, "file", str(config_file))
    assert (by_name["logs.keep_days"]["value"], by_name["logs.keep_days"]["origin"],
            by_name["logs.keep_days"]["source"]) == (3, "env", "CODEX_FSM_LOGS_KEEP_DAYS")
    assert (by_name["probe.cache_ttl_s"]["value"], by_name["probe.cache_ttl_s"]["origin"]) == (300.0, "default")
    assert by_name["probe.cache_ttl_s"]["bounds"] == "30..86400"
    assert document["accounts"] == [{"name": "main", "rotate_weekly": 30.0}]


def test_table_shows_each_origin(config_file: Path, capsys) -> None:
    assert cli_main(["config"]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:]}
    assert rows["quota.rotate_5h"][1:] == ["20.0", "file"]
    assert rows["logs.keep_days"][1:] == ["3", "env:CODEX_FSM_LOGS_KEEP_DAYS"]
    assert rows["session.max_restarts"][1:] == ["16", "default"]
    assert rows['quota.accounts."main".rotate_weekly'][1:] == ["30.0", "file"]
    assert out.splitlines()[0] == f"config file: {config_file}"


def test_a_bad_config_is_reported_with_status_2(config_file: Path, capsys) -> None:
    config_file.write_text("[quota]\nrotate5h = 1\n")
    assert cli_main(["config"]) == 2
    assert "did you mean 'rotate_5h'" in capsys.readouterr().err


def test_the_table_shows_file_names_account_names_and_values_as_visible_escapes(tmp_path: Path, monkeypatch,
                                                                               capsys) -> None:
    folder = tmp_path / "conf\x1b]0;owned\x07"
    folder.mkdir()
    path = folder / "config.toml"
    path.write_text('[codex]\nbin = "codex\\u001b[2J"\nextra_args = ["--x\\r\\nfake  row"]\n'
                    '[quota.accounts."\\u001b]52;c;ZWNobw==\\u0007"]\nrotate_5h = 9\n')
    monkeypatch.setenv("CODEX_FSM_CONFIG", str(path))
    assert cli_main(["config"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\r" not in out and "\x07" not in out
    assert "codex\\x1b[2J" in out and "--x\\x0d\\x0afake  row" in out
    assert 'quota.accounts."\\x1b]52;c;ZWNobw==\\x07".rotate_5h' in out
    assert out.splitlines()[0] == f"config file: {tmp_path}/conf\\x1b]0;owned\\x07/config.toml"
    assert len(out.splitlines()) == 1 + len(SETTINGS) + 1


POOL_SECRET = "hunter2-not-a-real-password"


@pytest.mark.parametrize("url, shown", [
    (f"redis://:{POOL_SECRET}@pool.internal:6379/0", "redis://***@pool.internal:6379/0"),
    (f"rediss://pool.internal:6380/1?password={POOL_SECRET}", "rediss://pool.internal:6380/1?password=***"),
])
def test_the_pool_url_is_shown_without_its_password(tmp_path: Path, monkeypatch, capsys, url: str,
                                                     shown: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f'[pool]\nurl = "{url}"\n')
    monkeypatch.setenv("CODEX_FSM_CONFIG", str(path))
    assert cli_main(["config"]) == 0
    table = capsys.readouterr().out
    assert POOL_SECRET not in table
    assert {line.split()[0]: line.split()[1:] for line in table.splitlines()[1:]}["pool.url"] == [shown, "file"]
    assert cli_main(["config", "--json"]) == 0
    document = capsys.readouterr().out
    assert POOL_SECRET not in document
    entry = {e["name"]: e for e in json.loads(document)["settings"]}["pool.url"]
    assert (entry["value"], entry["origin"], entry["env"]) == (shown, "file", "CODEX_FSM_POOL_URL")


def test_the_pool_url_from_the_environment_is_shown_without_its_password(config_file: Path, monkeypatch,
                                                                         capsys) -> None:
    monkeypatch.setenv("CODEX_FSM_POOL_URL", f"unix://:{POOL_SECRET}@/run/redis/redis.sock")
    assert cli_main(["config", "--json"]) == 0
    document = capsys.readouterr().out
    entry = {e["name"]: e for e in json.loads(document)["settings"]}["pool.url"]
    assert (entry["value"], entry["source"]) == ("unix://***@/run/redis/redis.sock", "CODEX_FSM_POOL_URL")
    assert POOL_SECRET not in document
    assert cli_main(["config"]) == 0
    assert POOL_SECRET not in capsys.readouterr().out


def test_a_refused_pool_url_is_reported_without_its_password(config_file: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("CODEX_FSM_POOL_URL", f"http://:{POOL_SECRET}@pool.internal/")
    assert cli_main(["config"]) == 2
    err = capsys.readouterr().err
    assert POOL_SECRET not in err and "CODEX_FSM_POOL_URL = 'http://***@pool.internal/': Not a Redis URL" in err
