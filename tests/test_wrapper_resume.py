"""`codex-fsm resume --last` and `codex-fsm resume` go through the cross-account catalog in wrapper.main."""

from __future__ import annotations

import os
import time

import pytest

from supervisor import wrapper

from .fakes.rollouts import session_id, write_rollout


@pytest.fixture
def supervised(monkeypatch, tmp_path):
    """wrapper.main up to the point it would start supervising: record the invocation instead."""
    seen = []
    monkeypatch.setattr(wrapper, "supervise", lambda invocation, env: seen.append(invocation) or 0)
    monkeypatch.setattr(wrapper.os, "isatty", lambda fd: True)
    codex_home = tmp_path / "codex"
    monkeypatch.setenv("CODEX_HOME", str(codex_home))
    # wrapper.main reads the config and asks the Codex on PATH for its options (cached under CODEX_FSM_HOME).
    monkeypatch.setenv("CODEX_FSM_HOME", str(tmp_path / "fsm"))
    monkeypatch.setenv("CODEX_FSM_CONFIG", str(tmp_path / "config.toml"))
    (tmp_path / "config.toml").write_text("")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    now = time.time()
    # B's session is the newest in this folder, whichever account created it.
    write_rollout(codex_home / "sessions", session_id(1), str(work), now - 600, account="acct-A")
    write_rollout(codex_home / "sessions", session_id(2), str(work), now - 300, account="acct-B")
    return seen


def test_resume_last_names_the_newest_session_of_any_account(supervised):
    assert wrapper.main(["resume", "--last", "-m", "o3"]) == 0
    [invocation] = supervised
    assert invocation.resume_id == session_id(2)
    assert invocation.command == "resume" and "-m" in invocation.argv


def test_resume_without_id_asks_the_picker_and_a_cancel_starts_nothing(supervised, monkeypatch):
    shown = []
    monkeypatch.setattr("supervisor.adapters.picker.choose_session",
                        lambda sessions, stdin, stdout: shown.append([s.session_id for s in sessions]))
    assert wrapper.main(["resume"]) == 0
    assert shown == [[session_id(2), session_id(1)]]
    assert supervised == []


def test_an_explicit_id_is_left_alone(supervised):
    assert wrapper.main(["resume", session_id(1)]) == 0
    assert supervised[0].resume_id == session_id(1)


def test_the_command_line_is_read_with_the_installed_codexs_own_options(supervised, monkeypatch, tmp_path):
    """A newer Codex's new value option before `resume`: its value is not taken for a prompt, so this is
    still `resume --last` (with the built-in tables it would have been a new session with a prompt)."""
    from .fakes.codex_help import fake_codex, pages_of, with_new_value_option

    newer = fake_codex(tmp_path / "newer-codex", pages=pages_of(with_new_value_option("--tunnel", "root")))
    monkeypatch.setenv("PATH", f"{newer.parent}{os.pathsep}/usr/bin:/bin")
    assert wrapper.main(["--tunnel", "wss://relay", "resume", "--last"]) == 0
    [invocation] = supervised
    assert invocation.command == "resume" and invocation.resume_id == session_id(2)
    assert invocation.leading == ("--tunnel", "wss://relay")
