"""`codex-fsm pool ...` through the dispatcher: `pool new-key PATH` and the group's registrations."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from supervisor.cli import main
from supervisor.cli_commands import pool as pool_command
from supervisor.pool.pool_key import KEY_LENGTH, load_key


@pytest.fixture
def config_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "codex-fsm.toml"
    monkeypatch.setenv("CODEX_FSM_CONFIG", str(path))
    return path


def test_new_key_writes_a_private_key_and_says_what_to_do_next(tmp_path: Path, config_path: Path, capsys) -> None:
    path = tmp_path / "pool.key"
    assert main(["pool", "new-key", str(path)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert (path.stat().st_mode & 0o777) == 0o600
    assert len(path.read_bytes().strip()) == KEY_LENGTH and load_key(path)
    assert out.splitlines()[0] == f"Wrote a new pool key to {path} (mode 0600)."
    flat = " ".join(out.split())
    assert "Copy it to every machine that shares the pool, over a secure channel" in flat
    assert f'`key_file = "{path}"`' in flat and f"under [pool] in {config_path}" in flat
    assert f"export CODEX_FSM_POOL_KEY_FILE={path}" in flat
    assert "Never commit it" in flat
    assert path.read_bytes().strip().decode() not in out  # the key itself is never printed


def test_a_relative_path_is_shown_as_the_absolute_one_to_configure(tmp_path: Path, config_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["pool", "new-key", "my pool.key"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert (tmp_path / "my pool.key").is_file()
    assert f"Wrote a new pool key to {tmp_path}/my pool.key" in out
    assert f'`key_file = "{tmp_path}/my pool.key"`' in out
    assert f"CODEX_FSM_POOL_KEY_FILE='{tmp_path}/my pool.key'" in out


def test_an_existing_path_is_one_line_of_error_and_left_alone(tmp_path: Path, config_path: Path, capsys) -> None:
    path = tmp_path / "pool.key"
    path.write_bytes(b"an older key\n")
    assert main(["pool", "new-key", str(path)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (f"codex-fsm: {path} already exists; codex-fsm never overwrites a key file (the credentials it "
                   "encrypted would be lost). Choose another path\n")
    assert path.read_bytes() == b"an older key\n"


def test_a_path_that_cannot_be_created_is_one_line_of_error(tmp_path: Path, config_path: Path, capsys) -> None:
    path = tmp_path / "no such folder" / "pool.key"
    assert main(["pool", "new-key", str(path)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f"codex-fsm: cannot create the key file {path}: No such file or directory\n"


def test_a_hostile_path_is_shown_as_visible_escapes(tmp_path: Path, config_path: Path, capsys) -> None:
    folder = tmp_path / "keys\x1b]0;owned\x07"
    folder.mkdir()
    assert main(["pool", "new-key", str(folder / "pool.key")]) == 0
    assert main(["pool", "new-key", str(folder / "pool.key")]) == 1
    out, err = capsys.readouterr()
    for text in (out, err):
        assert "\x1b" not in text and "\x07" not in text
        assert "keys\\x1b]0;owned\\x07" in text


def test_the_group_needs_a_subcommand_and_lists_new_key(capsys) -> None:
    with pytest.raises(SystemExit) as usage:
        main(["pool"])
    assert usage.value.code == 2
    assert "usage: codex-fsm pool" in capsys.readouterr().err
    with pytest.raises(SystemExit) as shown:
        main(["help", "pool"])
    assert shown.value.code == 0
    assert "new-key" in capsys.readouterr().out


def test_a_subcommand_is_one_registration(monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[str] = []

    def register_check(sub: argparse._SubParsersAction) -> None:
        sub.add_parser("check").set_defaults(run=lambda args: ran.append(args.command) or 0)

    monkeypatch.setattr(pool_command, "SUBCOMMANDS", (*pool_command.SUBCOMMANDS, register_check))
    assert main(["pool", "check"]) == 0
    assert ran == ["check"]
