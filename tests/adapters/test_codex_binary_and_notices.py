"""Finding the real Codex (never codex-fsm itself, native binary behind npm's launcher), the child's
environment, and the one-line notices (masked labels only)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from supervisor.adapters.codex_binary import CodexBinary, child_env, find_codex_binary
from supervisor.core.commands import Notify
from supervisor.errors import ChildSpawnError
from supervisor.notices import render

REPO = Path(__file__).resolve().parents[2]


def _script(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)
    return path


def test_a_codex_that_is_codex_fsm_is_skipped_on_path(tmp_path):
    shim = _script(tmp_path / "shim" / "codex", "#!/usr/bin/python3\nfrom supervisor.cli import main\nmain()\n")
    real = _script(tmp_path / "real" / "codex", "#!/bin/sh\necho real\n")
    found = find_codex_binary({"PATH": f"{shim.parent}:{real.parent}"})
    assert found.path == real.resolve()
    with pytest.raises(ChildSpawnError, match="codex-fsm itself"):
        find_codex_binary({"CODEX_FSM_CODEX_BIN": str(shim)})
    with pytest.raises(ChildSpawnError, match="CODEX_FSM_CODEX_BIN = /nope: not an executable"):
        find_codex_binary({"CODEX_FSM_CODEX_BIN": "/nope"})
    with pytest.raises(ChildSpawnError, match="not found on PATH"):
        find_codex_binary({"PATH": str(shim.parent)})


def test_npm_launcher_resolves_to_the_native_binary():
    launcher = REPO / "node_modules" / ".bin" / "codex"
    assert launcher.exists(), "run `make codex` (npm ci) first"
    found = find_codex_binary({"PATH": str(launcher.parent)})
    if (os.uname().sysname, os.uname().machine) == ("Linux", "x86_64"):
        assert found.path.parts[-4:] == ("vendor", "x86_64-unknown-linux-musl", "bin", "codex")
    assert found.extra_env["CODEX_MANAGED_BY_NPM"] == "1"


def test_child_env_drops_codex_fsm_variables_and_sets_the_account_home(tmp_path):
    env = child_env({"PATH": "/bin", "CODEX_FSM_HOME": "/x", "codex_fsm_debug": "1", "CODEX_HOME": "/user"},
                    CodexBinary(Path("/bin/true"), {"CODEX_MANAGED_BY_NPM": "1"}), tmp_path)
    assert env == {"PATH": "/bin", "CODEX_HOME": str(tmp_path), "CODEX_MANAGED_BY_NPM": "1"}


def test_rotation_notice_is_one_line_with_masked_labels_and_figures():
    notice = Notify(kind="rotated", params=(("from", "a-1"), ("to", "a-2"), ("reason", "quota"),
                                            ("used_5h", 96.0), ("used_weekly", 40.0), ("session_id", "s-1")))
    labels = {"a-1": "work (u…@e…)", "a-2": "home (v…@e…)"}
    line = render(notice, labels.__getitem__)
    assert line == ("codex-fsm: session s-1 moved from work (u…@e…) to home (v…@e…): quota near its limit "
                    "(5h 96% used, weekly 40% used)")
    assert "\n" not in line


def test_give_up_notice_says_how_to_resume_by_hand_and_when():
    line = render(Notify(kind="gave_up", params=(("reason", "all benched"), ("reset_at", 0.0),
                                                  ("session_id", "s-1"))), str)
    assert "resume by hand with `codex resume s-1`" in line and "soonest reset" in line


def test_give_up_notice_of_an_exec_run_names_the_wait_it_would_have_exceeded():
    line = render(Notify(kind="gave_up", params=(("reason", "every account is cooling down"), ("reset_at", 0.0),
                                                  ("max_wait_s", 60.0), ("session_id", "s-1"))), str, headless=True)
    assert "the soonest reset is" in line and "beyond the 60 s codex-fsm may wait" in line
    assert "resume by hand with `codex exec resume s-1`" in line


def _npm_tree(root: Path, package: str, platform_at: str) -> tuple[Path, Path]:
    """A launcher at node_modules/<package>/bin/codex.js and its platform package at ``platform_at``."""
    launcher = _script(root / "node_modules" / package / "bin" / "codex.js", "#!/usr/bin/env node\n")
    system = os.uname()
    triples = {("Linux", "x86_64"): ("codex-linux-x64", "x86_64-unknown-linux-musl"),
               ("Linux", "aarch64"): ("codex-linux-arm64", "aarch64-unknown-linux-musl"),
               ("Darwin", "x86_64"): ("codex-darwin-x64", "x86_64-apple-darwin"),
               ("Darwin", "arm64"): ("codex-darwin-arm64", "aarch64-apple-darwin")}
    platform, triple = triples[(system.sysname, system.machine)]
    native = _script(root / platform_at / "@openai" / platform / "vendor" / triple / "bin" / "codex", "#!/bin/sh\n")
    return launcher, native


@pytest.mark.parametrize("package, platform_at", [
    ("@openai/codex", "node_modules"),  # a plain install: the platform package beside it
    ("codex-newest", "node_modules"),  # an alias whose platform package npm put at the top
    ("codex-oldest", "node_modules/codex-oldest/node_modules"),  # the other alias: nested inside it
])
def test_the_launcher_finds_its_platform_package_where_node_would(tmp_path, package, platform_at):
    launcher, native = _npm_tree(tmp_path, package, platform_at)
    found = find_codex_binary({"CODEX_FSM_CODEX_BIN": str(launcher)})
    assert found.path == native.resolve()
    assert found.extra_env["CODEX_MANAGED_PACKAGE_ROOT"] == str(launcher.parent.parent)


def test_a_nested_platform_package_wins_over_the_one_at_the_top(tmp_path):
    launcher, nested = _npm_tree(tmp_path, "codex-oldest", "node_modules/codex-oldest/node_modules")
    _npm_tree(tmp_path, "codex-newest", "node_modules")  # the newest's, at the top
    assert find_codex_binary({"CODEX_FSM_CODEX_BIN": str(launcher)}).path == nested.resolve()
