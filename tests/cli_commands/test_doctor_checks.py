"""doctor's checks of the Codex binary, CODEX_HOME, codex-fsm's config and the logs folder."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from supervisor.cli import main
from supervisor.cli_commands import doctor
from supervisor.pool.homes import AccountHomes
from supervisor.pool.store import PoolStore

from ..pinned_codex import PINNED, launcher, pinned_version


def fake_codex(folder: Path, body: str, name: str = "codex") -> Path:
    """A tiny script standing in for Codex (PATH holds only test folders, so tools are named in full)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def setup(tmp_path: Path):
    real, fsm, empty_path = tmp_path / "codex-home", tmp_path / "fsm", tmp_path / "empty-bin"
    for folder in (real, fsm, empty_path):
        folder.mkdir()
    env = {"CODEX_HOME": str(real), "CODEX_FSM_HOME": str(fsm), "PATH": str(empty_path),
           "CODEX_FSM_CONFIG": str(tmp_path / "fsm.toml"), "HOME": str(tmp_path)}
    (tmp_path / "fsm.toml").write_text("")
    ctx = doctor.DoctorContext(store=PoolStore(fsm / "pool.json", 1.0), homes=AccountHomes(fsm / "homes", real),
                               now=0.0, env=env)
    return ctx, tmp_path


def only(findings: list[doctor.Finding]) -> doctor.Finding:
    assert len(findings) == 1, findings
    return findings[0]


@pytest.mark.parametrize("printed, severity, said", [
    ("codex-cli 0.169.0", "ok", "Codex 0.169.0 (tested: 0.169.0 to 0.171.0)"),
    ("codex-cli 0.170.2", "ok", "Codex 0.170.2 (tested"),
    ("codex-cli 0.171.0", "ok", "Codex 0.171.0 (tested"),
    ("codex-cli 0.168.9", "warning", "0.168.9, older than 0.169.0, the oldest release codex-fsm supports"),
    ("codex-cli 0.172.0", "warning", "0.172.0, newer than 0.171.0, the newest release codex-fsm was tested with"),
    ("codex-cli 1.0.0-alpha.3", "warning", "1.0.0, newer than 0.171.0"),
])
def test_version_against_the_oldest_supported_and_the_newest_tested_release(setup, printed, severity, said):
    ctx, tmp_path = setup
    binary = fake_codex(tmp_path / "bin", f'echo "{printed}"')
    ctx.env["CODEX_FSM_CODEX_BIN"] = str(binary)
    finding = only(doctor.check_codex_binary(ctx))
    assert finding.severity == severity
    assert str(binary) in finding.message and said in finding.message
    if printed.endswith("0.168.9"):
        assert "npm install -g @openai/codex@latest" in finding.fix
    if printed.endswith("0.172.0"):
        assert "@openai/codex@0.171.0" in finding.fix


def test_found_on_path_and_run_without_network_or_our_variables(setup):
    ctx, tmp_path = setup
    seen = tmp_path / "seen-env"
    fake_codex(tmp_path / "bin", f'{shutil.which("env")} > "{seen}"; echo "codex-cli 0.169.0"')
    ctx.env["PATH"] = f"{tmp_path / 'empty-bin'}{os.pathsep}{tmp_path / 'bin'}"
    ctx.env["CODEX_FSM_QUOTA_ROTATE_5H"] = "7"
    assert only(doctor.check_codex_binary(ctx)).severity == "ok"
    child_env = dict(line.split("=", 1) for line in seen.read_text().splitlines() if "=" in line)
    assert child_env["HTTPS_PROXY"] == "http://127.0.0.1:9" and child_env["NO_PROXY"] == "127.0.0.1,localhost"
    assert not [name for name in child_env if name.startswith("CODEX_FSM_")]


def test_the_configured_binary_from_the_config_file(setup):
    ctx, tmp_path = setup
    binary = fake_codex(tmp_path / "bin", 'echo "codex-cli 0.169.0"', name="real-codex")
    Path(ctx.env["CODEX_FSM_CONFIG"]).write_text(f'[codex]\nbin = "{binary}"\n')
    assert str(binary) in only(doctor.check_codex_binary(ctx)).message


def test_missing_or_codex_fsm_itself_is_an_error(setup):
    ctx, tmp_path = setup
    finding = only(doctor.check_codex_binary(ctx))
    assert finding.severity == "error" and "not found on PATH" in finding.message
    shim = fake_codex(tmp_path / "shim", 'exec python3 -m supervisor.cli "$@"')
    ctx.env["PATH"] = str(shim.parent)
    assert only(doctor.check_codex_binary(ctx)).severity == "error"  # an alias to us is skipped
    ctx.env["CODEX_FSM_CODEX_BIN"] = str(shim)
    finding = only(doctor.check_codex_binary(ctx))
    assert finding.severity == "error" and "codex-fsm itself" in finding.message


@pytest.mark.parametrize("body, expected", [
    ("echo garbage", "printed no version (exit status 0)"),
    ('echo "codex-cli 0.169.0"; exit 3', "printed no version (exit status 3)"),
    (f"exec {shutil.which('sleep')} 5", "did not answer within"),
])
def test_a_binary_that_does_not_answer_is_a_warning(setup, monkeypatch, body, expected):
    ctx, tmp_path = setup
    monkeypatch.setattr(doctor, "VERSION_TIMEOUT_S", 0.5)
    ctx.env["CODEX_FSM_CODEX_BIN"] = str(fake_codex(tmp_path / "bin", body))
    finding = only(doctor.check_codex_binary(ctx))
    assert finding.severity == "warning" and expected in finding.message


def test_codex_home(setup):
    ctx, tmp_path = setup
    assert only(doctor.check_codex_home(ctx)).severity == "ok"
    ctx.homes.real_home = tmp_path / "nowhere"
    finding = only(doctor.check_codex_home(ctx))
    assert finding.severity == "error" and "does not exist" in finding.message and "CODEX_HOME" in finding.fix
    ctx.homes.real_home = Path(ctx.env["CODEX_FSM_CONFIG"])
    assert "is not a folder" in only(doctor.check_codex_home(ctx)).message


def test_config_errors_name_the_file_or_the_variable(setup):
    ctx, _ = setup
    config = Path(ctx.env["CODEX_FSM_CONFIG"])
    finding = only(doctor.check_fsm_config(ctx))
    assert finding.severity == "ok" and f"{config} loaded" in finding.message
    config.write_text("[quota\nrotate_5h = 1\n")
    finding = only(doctor.check_fsm_config(ctx))
    assert finding.severity == "error" and str(config) in finding.message and "TOML" in finding.message
    config.write_text("[quota]\nrotate_5hh = 1\n")
    assert "unknown key 'rotate_5hh'" in only(doctor.check_fsm_config(ctx)).message
    config.write_text("")
    ctx.env["CODEX_FSM_QUOTA_ROTATE_5H"] = "lots"
    finding = only(doctor.check_fsm_config(ctx))
    assert finding.severity == "error" and "CODEX_FSM_QUOTA_ROTATE_5H" in finding.message
    assert str(config) in finding.fix
    del ctx.env["CODEX_FSM_QUOTA_ROTATE_5H"]
    config.unlink()
    assert only(doctor.check_fsm_config(ctx)).severity == "error"  # named by $CODEX_FSM_CONFIG, so it must exist
    del ctx.env["CODEX_FSM_CONFIG"]
    ctx.env["XDG_CONFIG_HOME"] = str(config.parent / "xdg")
    finding = only(doctor.check_fsm_config(ctx))
    assert finding.severity == "ok" and "is absent: defaults" in finding.message


def test_logs_dir(setup):
    ctx, _ = setup
    logs = Path(ctx.env["CODEX_FSM_HOME"]) / "logs"
    finding = only(doctor.check_logs_dir(ctx))
    assert finding.severity == "ok" and "will be created" in finding.message
    logs.mkdir(parents=True)
    for name in ("session-20261124T235900Z-1.jsonl", "session-20261124T235901Z-2.jsonl", "notes.txt"):
        (logs / name).write_text("{}\n")
    finding = only(doctor.check_logs_dir(ctx))
    assert finding.severity == "ok" and "writable, 2 transition log(s)" in finding.message
    assert sorted(p.name for p in logs.iterdir()) == [
        "notes.txt", "session-20261124T235900Z-1.jsonl", "session-20261124T235901Z-2.jsonl"]  # probe removed
    for child in logs.iterdir():
        child.unlink()
    logs.rmdir()
    logs.write_text("oops")
    finding = only(doctor.check_logs_dir(ctx))
    assert finding.severity == "error" and "is not a folder" in finding.message


def test_doctor_command_runs_the_new_checks(setup, monkeypatch, capsys):
    ctx, tmp_path = setup
    ctx.env["CODEX_FSM_CODEX_BIN"] = str(fake_codex(tmp_path / "bin", 'echo "codex-cli 0.169.0"'))
    (Path(ctx.env["CODEX_HOME"]) / "config.toml").write_text('cli_auth_credentials_store = "file"\n')
    for name, value in ctx.env.items():
        monkeypatch.setenv(name, value)
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    for subject in ("codex binary", "codex home", "codex-fsm config", "logs"):
        assert f"OK      {subject}: " in out
    monkeypatch.setenv("CODEX_FSM_CODEX_BIN", str(tmp_path / "missing"))
    assert main(["doctor", "--quiet"]) == 1
    assert "ERROR   codex binary: $CODEX_FSM_CODEX_BIN" in capsys.readouterr().out


@pytest.mark.parametrize("release", PINNED)
def test_each_pinned_codex_itself_passes(setup, release):
    """The real npm launcher (installed by `make codex`) resolves to its native binary and reports its release."""
    ctx, _ = setup
    ctx.env["CODEX_FSM_CODEX_BIN"] = str(launcher(release))
    finding = only(doctor.check_codex_binary(ctx))
    assert finding.severity == "ok" and f": Codex {pinned_version(release)} (tested: " in finding.message


@pytest.mark.parametrize("mode", [0o1777, 0o775, 0o702])
def test_a_home_and_logs_folder_writable_by_others_are_warned_about_and_left_as_they_are(setup, mode, capsys,
                                                                                        monkeypatch):
    ctx, tmp_path = setup
    fsm = Path(ctx.env["CODEX_FSM_HOME"])
    (fsm / "logs").mkdir()
    for folder in (fsm, fsm / "logs"):
        folder.chmod(mode)
    home, = doctor.check_fsm_home(ctx)
    logs, = doctor.check_logs_dir(ctx)
    for finding, folder in ((home, fsm), (logs, fsm / "logs")):
        assert finding.severity == "warning" and f"{folder} is writable by other users" in finding.message
        assert f"`chmod go-w {folder}`" in finding.fix
    for name, value in ctx.env.items():
        monkeypatch.setenv(name, value)
    main(["doctor"])
    assert "WARNING codex-fsm home" in capsys.readouterr().out
    assert [(p.stat().st_mode & 0o7777) for p in (fsm, fsm / "logs")] == [mode, mode]


def test_a_private_home_is_fine_and_a_file_as_home_is_an_error(setup):
    ctx, tmp_path = setup
    fsm = Path(ctx.env["CODEX_FSM_HOME"])
    fsm.chmod(0o700)
    assert only(doctor.check_fsm_home(ctx)).severity == "ok"
    fsm.rmdir()
    assert "will be created" in only(doctor.check_fsm_home(ctx)).message
    fsm.write_text("")
    finding = only(doctor.check_fsm_home(ctx))
    assert finding.severity == "error" and f"{fsm} is not a folder" in finding.message
    logs = only(doctor.check_logs_dir(ctx))
    assert logs.severity == "error" and logs.message == f"{fsm / 'logs'} cannot be created: {fsm} is not a folder"


@pytest.mark.parametrize("raw", [b"\xff\xfe[quota]\n", b"a = " + b"[" * 100_000], ids=["utf16", "deep"])
def test_a_broken_config_is_one_finding_and_every_other_check_still_runs(setup, raw, monkeypatch, capsys):
    ctx, tmp_path = setup
    (tmp_path / "fsm.toml").write_bytes(raw)
    for name, value in ctx.env.items():
        monkeypatch.setenv(name, value)
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert f"ERROR   codex-fsm config: config file {tmp_path / 'fsm.toml'}" in out
    for subject in ("codex-fsm home", "pool file", "codex binary", "codex home", "logs"):
        assert f" {subject}: " in out, subject
    assert (tmp_path / "fsm.toml").read_bytes() == raw
