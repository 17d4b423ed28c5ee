"""`codex-fsm demo --auto`: the scripted session on the embedded default, real Codex, fake backend."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from supervisor.demo.fake_backend.env import OFFLINE_PROXY_ENV
from supervisor.demo.terminal import Terminal
from tests.fakes.demo_run import run_auto_demo

pytestmark = pytest.mark.e2e
COMPOSER_READY = r"Ask Codex to do anything"
REPO = Path(__file__).resolve().parents[2]


def demo_env(tmp_path: Path) -> dict[str, str]:
    """A user environment whose temporary directory and homes are all under `tmp_path`; PYTHONPATH is this
    checkout, so that the demo run from `tmp_path` is the code under test rather than whatever an editable
    install points at."""
    for name in ("tmp", "home"):
        (tmp_path / name).mkdir()
    return {"PATH": os.environ["PATH"], "HOME": str(tmp_path / "home"), "TMPDIR": str(tmp_path / "tmp"),
            "LANG": "C.UTF-8", "TERM": "xterm-256color", "CODEX_FSM_HOME": str(tmp_path / "fsm-home"),
            "PYTHONPATH": str(REPO), **OFFLINE_PROXY_ENV}


def test_auto_demo_rotates_in_front_of_the_user_and_keeps_only_log_and_diagram(tmp_path: Path,
                                                                               codex_binary: Path) -> None:
    run_auto_demo([sys.executable, "-m", "supervisor.cli"], demo_env(tmp_path), tmp_path)


def test_interactive_demo_the_user_types_and_sees_the_rotation_after_two_prompts(tmp_path: Path,
                                                                                  codex_binary: Path) -> None:
    kept = tmp_path / "kept"
    terminal = Terminal([sys.executable, "-m", "supervisor.cli", "demo", "--output-dir", str(kept)],
                        demo_env(tmp_path), tmp_path)
    try:
        terminal.wait_for(COMPOSER_READY, 30)
        done = 0
        for number, prompt in enumerate(("first prompt", "second prompt", "third prompt"), start=1):
            if number == 3:
                terminal.wait_for_osc("idle", 30, since=terminal.wait_for_osc("clear", 30, since=done))
                terminal.wait_for(COMPOSER_READY, 10)
            done = terminal.wait_for_osc("done", 30, since=terminal.submit(prompt))
            account = "a" if number < 3 else "b"
            terminal.wait_for(rf"PONG-{number} \[acct-demo-{account}\]: {prompt}", 10)
        assert b"codex-fsm: session " in terminal.raw
        terminal.send("\x03")
        assert terminal.wait_exit(30) == 0
    finally:
        terminal.close()
    assert len(list(kept.glob("demo-*.jsonl"))) == len(list(kept.glob("demo-*.svg"))) == 1
    assert list((tmp_path / "tmp").iterdir()) == []
