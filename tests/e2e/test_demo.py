"""`codex-fsm demo --auto`: the scripted session on the embedded default, real Codex, fake backend."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tools.fake_backend.env import OFFLINE_PROXY_ENV

pytestmark = pytest.mark.e2e


def test_auto_demo_rotates_in_front_of_the_user_and_keeps_only_log_and_diagram(tmp_path: Path,
                                                                               codex_binary: Path) -> None:
    scratch, kept, user_home = tmp_path / "tmp", tmp_path / "kept", tmp_path / "home"
    for path in (scratch, user_home):
        path.mkdir()
    env = {"PATH": os.environ["PATH"], "HOME": str(user_home), "TMPDIR": str(scratch), "LANG": "C.UTF-8",
           "CODEX_FSM_HOME": str(tmp_path / "fsm-home"), **OFFLINE_PROXY_ENV}

    done = subprocess.run([sys.executable, "-m", "supervisor.cli", "demo", "--auto", "--output-dir", str(kept)],
                          env=env, cwd=tmp_path, capture_output=True, text=True, timeout=180)

    assert done.returncode == 0, done.stdout + done.stderr
    [log] = kept.glob("demo-*.jsonl")
    [diagram] = kept.glob("demo-*.mmd")
    assert f"transition log: {log}" in done.stdout
    assert "restarting-child_exited->resuming" in done.stdout
    assert "classDef visited" in diagram.read_text()
    replayed = subprocess.run([sys.executable, "-m", "supervisor.cli", "replay", str(log)], env=env,
                              capture_output=True, text=True, timeout=60)
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert list(scratch.iterdir()) == [], "the demo left files behind in its temporary directory"
    assert not (user_home / ".codex").exists()
