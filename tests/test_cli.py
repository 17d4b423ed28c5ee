"""codex-fsm's management words against the pinned Codex's own subcommands, and the pass-through word."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import supervisor.cli as cli

ROOT = Path(__file__).resolve().parent.parent
CODEX = ROOT / "node_modules" / "codex-newest" / "bin" / "codex.js"
DEAD_PROXIES = {"HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9",
                "NO_PROXY": "127.0.0.1,localhost"}


def codex_subcommands() -> set[str]:
    assert CODEX.exists(), "the pinned Codex CLI is missing: `make test` installs it with npm ci"
    env = dict(os.environ, **DEAD_PROXIES)
    out = subprocess.run(["node", str(CODEX), "--help"], capture_output=True, text=True, timeout=60,
                         env=env, check=True).stdout
    commands = out.split("Commands:", 1)[1].split("Arguments:", 1)[0]
    return {m.group(1) for m in re.finditer(r"^\s{2}([a-z][a-z0-9-]*)\s", commands, re.MULTILINE)}


def test_only_doctor_and_help_collide_and_codex_s_own_stay_reachable():
    subcommands = codex_subcommands()
    assert {"exec", "resume", "login"} <= subcommands  # the parse found the real list
    # Codex's `help` is clap's; codex-fsm's own `help` is the only way to reach codex-fsm's words, because
    # `codex-fsm --help` goes to Codex. `codex-fsm codex doctor|help` reach Codex's, and `help` says so.
    assert set(cli.MANAGEMENT_COMMANDS) & subcommands == {"doctor", "help"}
    assert cli.PASS_THROUGH_WORD not in subcommands


def test_pass_through_word_sends_the_rest_to_the_wrapper(monkeypatch):
    seen = []

    class FakeWrapper:
        @staticmethod
        def main(argv):
            seen.append(argv)
            return 7

    monkeypatch.setitem(__import__("sys").modules, cli.WRAPPER_MODULE, FakeWrapper)
    assert cli.main(["codex", "doctor", "--json"]) == 7
    assert cli.main(["-m", "o3"]) == 7
    assert seen == [["doctor", "--json"], ["-m", "o3"]]


# -- codex-fsm's own help --------------------------------------------------------------------------

def test_help_lists_every_command_and_this_user_s_files(tmp_path, monkeypatch, capsys):
    home = tmp_path / "state \x1b]0;owned\x07"
    monkeypatch.setenv("CODEX_FSM_HOME", str(home))
    monkeypatch.setenv("CODEX_FSM_CONFIG", str(tmp_path / "fsm.toml"))
    monkeypatch.setenv("CODEX_HOME", str(tmp_path / "codex"))
    assert cli.main(["help"]) == 0
    out = capsys.readouterr().out
    for name in cli.MANAGEMENT_COMMANDS:
        assert re.search(rf"^  {name} +\S", out, re.MULTILINE), name
    assert "\x1b" not in out
    shown_home = str(tmp_path / "state \\x1b]0;owned\\x07")
    for line in (f"config file      {tmp_path / 'fsm.toml'} (not there yet) ($CODEX_FSM_CONFIG)",
                 f"codex-fsm home   {shown_home} (not there yet) ($CODEX_FSM_HOME)",
                 f"transition logs  {shown_home}/logs (not there yet)",
                 f"your Codex home  {tmp_path / 'codex'} (not there yet) ($CODEX_HOME)"):
        assert line in out
    assert "`codex-fsm codex doctor`" in out and "`codex-fsm codex help`" in out
    assert "import ChatGPT logins into the pool" in out  # summaries come from the commands' docstrings


def test_help_with_a_command_shows_that_command_s_options(capsys):
    try:
        cli.main(["help", "status"])
    except SystemExit as exc:  # argparse's --help exits 0
        assert exc.code == 0
    assert "usage: codex-fsm status" in capsys.readouterr().out


# -- errors, pipes and broken environments -----------------------------------------------------------

HOSTILE = "\x1b]0;owned\x07\x1b]52;c;ZWNobw==\x07\x1b[2J\r\nfake"


def test_error_messages_are_sanitized_in_the_one_place_that_prints_them(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CODEX_FSM_CONFIG", str(tmp_path / f"c{HOSTILE}.toml"))
    assert cli.main(["config"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("codex-fsm: config file ") and err.count("\n") == 1
    assert "\x1b" not in err and "\r" not in err and "\\x1b]52;c;ZWNobw==\\x07" in err


_MAIN = "import sys; from supervisor.cli import main; sys.exit(main())"


def _run(args, env, **kwargs):
    return subprocess.run([sys.executable, "-c", _MAIN, *args], env=env, capture_output=True, text=True,
                          timeout=120, **kwargs)


def _env(tmp_path, **extra):
    env = {"PATH": str(tmp_path / "empty-bin"), "HOME": str(tmp_path), "PYTHONPATH": str(ROOT),
           "CODEX_HOME": str(tmp_path / "codex"), "CODEX_FSM_HOME": str(tmp_path / "fsm"),
           "CODEX_FSM_CONFIG": str(tmp_path / "fsm.toml")}
    (tmp_path / "fsm.toml").write_text("")
    return {**env, **extra}


@pytest.mark.parametrize("args", [["help"], ["config"], ["status"], ["doctor"]], ids=" ".join)
def test_output_into_a_closed_pipe_ends_quietly(tmp_path, args):
    read_end, write_end = os.pipe()
    os.close(read_end)  # like `| head -1` after head has exited: every write fails with EPIPE
    try:
        result = subprocess.run([sys.executable, "-c", _MAIN, *args], env=_env(tmp_path), stdout=write_end,
                                stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(write_end)
    assert result.stderr == ""
    assert result.returncode == cli.BROKEN_PIPE_STATUS


@pytest.mark.parametrize("args", [["help"], ["status"], ["config", "--json"]], ids=" ".join)
@pytest.mark.parametrize("closed", ["<&-", ">&-", "2>&-", "<&- >&- 2>&-"])
def test_a_closed_standard_descriptor_is_no_traceback(tmp_path, args, closed):
    import shlex

    command = " ".join(shlex.quote(a) for a in [sys.executable, "-c", _MAIN, *args])
    result = subprocess.run(f"exec {command} {closed}", shell=True, env=_env(tmp_path), capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr


def _file_as_home(tmp_path):
    (tmp_path / "fsm").write_text("not a folder")


def _home_loop(tmp_path):
    (tmp_path / "fsm").symlink_to(tmp_path / "fsm")  # unusable like an unreadable folder, even for root


def _run_is_a_file(tmp_path):
    (tmp_path / "fsm").mkdir()
    (tmp_path / "fsm" / "run").write_text("")


def _run_loop(tmp_path):
    (tmp_path / "fsm").mkdir()
    (tmp_path / "fsm" / "run").symlink_to(tmp_path / "fsm" / "run")


def _pool_is_a_folder(tmp_path):
    (tmp_path / "fsm" / "pool.json").mkdir(parents=True)


def _config(raw: bytes):
    return lambda tmp_path: (tmp_path / "fsm.toml").write_bytes(raw)


def _config_is_a_folder(tmp_path):
    (tmp_path / "fsm.toml").unlink()
    (tmp_path / "fsm.toml").mkdir()


BROKEN = {"file-as-home": _file_as_home, "home-symlink-loop": _home_loop, "run-is-a-file": _run_is_a_file,
          "run-symlink-loop": _run_loop, "pool-is-a-folder": _pool_is_a_folder,
          "config-not-utf8": _config(b"\xff\xfe[logs]\n"), "config-nested": _config(b"a = " + b"[" * 100_000),
          "config-huge-number": _config(b"[pool]\nlock_timeout_s = 1e308\n"),
          "config-is-a-folder": _config_is_a_folder}
COMMANDS = [["help"], ["config"], ["config", "--json"], ["status"], ["status", "--json"], ["doctor"],
            ["accounts", "list"], ["replay", "missing.jsonl"]]


@pytest.mark.parametrize("broken", sorted(BROKEN))
def test_no_management_command_shows_a_traceback_in_a_broken_environment(tmp_path, broken):
    env = _env(tmp_path)
    BROKEN[broken](tmp_path)
    for args in COMMANDS:
        result = _run(args, env, cwd=tmp_path)
        what = f"codex-fsm {' '.join(args)} with {broken}"
        assert "Traceback" not in result.stderr, f"{what}:\n{result.stderr}"
        assert result.returncode in (0, 1, 2), f"{what}: exit {result.returncode}\n{result.stderr}"
        for line in result.stderr.splitlines():
            assert line.startswith(("codex-fsm", "usage:")), f"{what}: {line}"
