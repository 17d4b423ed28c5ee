"""The real Codex TUI queries its terminal when it starts and when it exits (kitty keyboard flags, device
attributes, cursor position, foreground and background colours), and asks for focus reports. The terminal
model answers like a real terminal; codex-fsm must not take any of that for the user's typing."""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from supervisor.chartfile import load_default_chart
from supervisor.demo.fake_backend import FakeChatGPTBackend
from supervisor.demo.fake_backend.world import SupervisedWorld
from supervisor.demo.terminal import Terminal
from supervisor.replay import replay_file
from tests.e2e.test_supervised_codex import COMPOSER_READY, CTRL_C, wait_for_rotation

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
DRAFT = "half typed draft"
FOCUS_OUT = b"\x1b[O"  # what the terminal sends when the user switches to another window


@pytest.fixture
def world(tmp_path: Path, fake_backend: FakeChatGPTBackend, codex_binary: Path) -> SupervisedWorld:
    return SupervisedWorld(tmp_path / "world", fake_backend, codex_binary).create()


@pytest.fixture
def run_this_codex_fsm(world: SupervisedWorld) -> Iterator[Callable[[], Terminal]]:
    """codex-fsm from this checkout (the world's environment alone would import the installed package)."""
    terminals: list[Terminal] = []

    def run() -> Terminal:
        terminal = Terminal([sys.executable, "-m", "supervisor.cli"], world.env({"PYTHONPATH": str(REPO)}),
                            world.work_dir)
        terminals.append(terminal)
        terminal.wait_for(COMPOSER_READY, 30)
        return terminal

    yield run
    for terminal in terminals:
        terminal.close()


def composer_line(terminal: Terminal) -> str:
    """The composer is the last line that starts with the prompt mark (history cells above have it too)."""
    marked = [line for line in terminal.screen_text().splitlines() if line.lstrip().startswith("›")]
    return marked[-1] if marked else ""


def test_a_half_typed_draft_survives_a_rotation_and_the_terminal_replies_are_not_typing(
        world: SupervisedWorld, fake_backend: FakeChatGPTBackend, run_this_codex_fsm: Callable[[], Terminal]) -> None:
    fake_backend.set_account("acct-a", primary_used_percent=10.0, next_turn_used_percent=97.0)
    fake_backend.set_account("acct-b", primary_used_percent=30.0)
    world.add_account("acct-a", "alpha")
    world.add_account("acct-b", "bravo")
    world.codex_fsm("accounts", "order", "alpha", "bravo")
    terminal = run_this_codex_fsm()
    assert b"\x1b[6n" in terminal.queries and b"\x1b[c" in terminal.queries  # Codex asked; the model answered

    submitted = terminal.submit("first prompt on A")
    terminal.send(DRAFT)  # typed while the turn runs, never sent
    terminal.wait_for(re.escape(DRAFT), 10)
    terminal.wait_for_osc("done", 30, since=submitted)
    away_at = time.time()
    terminal.send(FOCUS_OUT)  # the user leaves; the rotation waits for them to be idle, not for the terminal
    asked_before = len(terminal.queries)
    wait_for_rotation(terminal, since=submitted)
    assert len(terminal.queries) > asked_before  # the leaving and the resumed Codex queried the terminal

    terminal.wait_for(r"› " + re.escape(DRAFT), 20)  # re-typed into the resumed composer
    assert composer_line(terminal).strip() == f"› {DRAFT}"

    terminal.send(CTRL_C)  # clears the re-typed draft
    terminal.wait_for(r"Ask Codex to do anything", 10)
    terminal.send(CTRL_C)
    assert terminal.wait_exit(20) == 0
    [log] = world.transition_logs()
    replay_file(log, load_default_chart())  # this checkout's chart, as the run used it
    records = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    [stop] = [r for r in records if r.get("kind") == "transition" and r["dest"] == "restarting" != r["source"]]
    event = stop["event"]
    assert isinstance(event, dict)
    typed_at = event.get("last_input_at")
    # The idle clock stopped at the user's last key: the focus report and the replies did not move it.
    assert typed_at is not None and typed_at < away_at
    assert [t.account_id for t in fake_backend.turns()] == ["acct-a"]
    assert fake_backend.violations() == []
