"""What a finished `codex-fsm demo --auto` must show and leave, whichever codex-fsm ran it (the checkout's or
an installed wheel's): shared by tests/e2e/test_demo.py and tests/demo/test_wheel_install.py."""

from __future__ import annotations

import subprocess
from pathlib import Path


def run_auto_demo(codex_fsm: list[str], env: dict[str, str], root: Path) -> None:
    """Run the demo with ``codex_fsm`` (the command line that starts codex-fsm) in ``root`` and check it."""
    scratch, kept, user_home = root / "tmp", root / "kept", root / "home"
    done = subprocess.run([*codex_fsm, "demo", "--auto", "--output-dir", str(kept)],
                          env=env, cwd=root, capture_output=True, text=True, timeout=180)

    assert done.returncode == 0, done.stdout + done.stderr
    [log] = kept.glob("demo-*.jsonl")
    [diagram] = kept.glob("demo-*.svg")  # the suite has Graphviz (make test installs it)
    assert f"transition log: {log}" in done.stdout
    assert "the session's moves (" in done.stdout
    assert " restarting → resuming (child_exited)" in done.stdout and "restarting-child_exited" not in done.stdout
    assert "on screen: codex-fsm: session " in done.stdout and " moved from demo-a to demo-b: " in done.stdout
    drawn = diagram.read_text()
    assert "<svg" in drawn and "1. " in drawn and "resuming" in drawn
    replayed = subprocess.run([*codex_fsm, "replay", str(log)], env=env, cwd=root,
                              capture_output=True, text=True, timeout=60)
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert list(scratch.iterdir()) == [], "the demo left files behind in its temporary directory"
    assert not (user_home / ".codex").exists()
