"""Helpers for driving the supervisor under a real pty around the fake Codex."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pexpect

REPO = Path(__file__).resolve().parents[2]
FAKE = REPO / "tests" / "fakes" / "fake_codex.py"
HARNESS = Path(__file__).resolve().parent / "harness.py"
FAST_SETTINGS = {"idle_before_rotate_s": 0.3, "stop_interrupt_s": 1.0, "stop_terminate_s": 1.0,
                 "stop_kill_s": 2.0, "resume_ready_timeout_s": 5.0}


def wait_for(condition, timeout: float = 10.0, what: str = "condition"):
    """Poll ``condition`` until it returns something truthy; fail loudly at the deadline."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def read_jsonl(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


class Rig:
    """One work folder: accounts' homes, shared sessions, the fake's control files, journals."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.control = root / "control"
        self.control.mkdir()
        (root / "sessions").mkdir()
        self.bin = root / "bin"
        self.bin.mkdir()
        codex = self.bin / "codex"
        codex.write_text(f"#!{sys.executable}\n" + FAKE.read_text())
        codex.chmod(0o755)
        self.cwd = root / "project"
        self.cwd.mkdir()
        self._started: list[pexpect.spawn] = []

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CODEX", "FAKE_CODEX"))}
        env.update(PATH=f"{self.bin}{os.pathsep}{env.get('PATH', '')}", FAKE_CODEX_CONTROL=str(self.control),
                   CODEX_FSM_TEST_MARKER="must-not-reach-the-child", TERM="xterm-256color")
        return env

    def start(self, *codex_args: str, accounts=("acct-a", "acct-b"), settings=None,
              size=(40, 120), heartbeat_s: float = 10.0) -> pexpect.spawn:
        scenario = {"work": str(self.root), "accounts": list(accounts), "settings": settings or FAST_SETTINGS,
                    "heartbeat_s": heartbeat_s}
        path = self.root / "scenario.json"
        path.write_text(json.dumps(scenario))
        child = pexpect.spawn(sys.executable, [str(HARNESS), str(path), *codex_args], env=self.env(),
                              cwd=str(self.cwd), dimensions=size, timeout=15)
        self._started.append(child)
        return child

    def close(self) -> None:
        """End every supervisor this rig started (a failed test leaves them mid-session) and reap it."""
        for child in self._started:
            if not child.closed:
                child.close(force=True)

    def touch(self, name: str, text: str = "") -> None:
        (self.control / name).write_text(text)

    def spawns(self) -> list[dict]:
        return read_jsonl(self.control / "spawns.jsonl")

    def prompts(self) -> list[dict]:
        return read_jsonl(self.control / "prompts.jsonl")

    def pool_calls(self) -> list[dict]:
        return read_jsonl(self.root / "pool.jsonl")

    def transitions(self) -> list[dict]:
        return [r for r in read_jsonl(self.root / "transitions.jsonl") if r.get("kind") != "header"]

    def rejected(self) -> list[dict]:
        return [r for r in self.transitions() if r["kind"] == "rejected"]

    def replays(self) -> bool:
        """The transition log replays through the core to the same states and commands."""
        from supervisor.chartfile import load_default_chart
        from supervisor.replay import replay_file

        replay_file(self.root / "transitions.jsonl", load_default_chart())
        return True

    def fired(self) -> list[str]:
        return [r.get("row") for r in self.transitions() if r.get("row")]

    def rollouts(self) -> list[Path]:
        return sorted((self.root / "sessions").rglob("rollout-*.jsonl"))


def submit(child: pexpect.spawn, text: str) -> None:
    child.send(text)
    child.send("\r")


def quit_codex(child: pexpect.spawn) -> None:
    """Ctrl-C on the empty composer: Codex 0.169 quits at once."""
    child.send("\x03")
