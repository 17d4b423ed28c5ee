"""codex-fsm's management words against the pinned Codex's own subcommands, and the pass-through word."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import supervisor.cli as cli

ROOT = Path(__file__).resolve().parent.parent
CODEX = ROOT / "node_modules" / "@openai" / "codex" / "bin" / "codex.js"
DEAD_PROXIES = {"HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9",
                "NO_PROXY": "127.0.0.1,localhost"}


def codex_subcommands() -> set[str]:
    assert CODEX.exists(), "the pinned Codex CLI is missing: `make test` installs it with npm ci"
    env = dict(os.environ, **DEAD_PROXIES)
    out = subprocess.run(["node", str(CODEX), "--help"], capture_output=True, text=True, timeout=60,
                         env=env, check=True).stdout
    commands = out.split("Commands:", 1)[1].split("Arguments:", 1)[0]
    return {m.group(1) for m in re.finditer(r"^\s{2}([a-z][a-z0-9-]*)\s", commands, re.MULTILINE)}


def test_only_doctor_collides_and_codex_doctor_stays_reachable():
    subcommands = codex_subcommands()
    assert {"exec", "resume", "login"} <= subcommands  # the parse found the real list
    assert set(cli.MANAGEMENT_COMMANDS) & subcommands == {"doctor"}
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
