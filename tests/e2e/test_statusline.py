"""codex-fsm's status line inside the real Codex (0.171+): the account label on Codex's own footer,
before and after a rotation, read from the screen model."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from supervisor.adapters.codex_features import STATUS_LINE_SINCE as SINCE
from supervisor.adapters.codex_release import parse_version
from supervisor.demo.fake_backend import FakeChatGPTBackend
from supervisor.demo.fake_backend.world import SupervisedWorld
from supervisor.demo.terminal import Terminal
from tests.pinned_codex import REPO, native_binary

pytestmark = pytest.mark.e2e

COMPOSER_READY = r"Ask Codex to do anything"


@pytest.fixture
def statusline_codex() -> Path:
    """The newest pinned Codex, whichever release the rest of the e2e pass runs: the provider is a 0.171
    feature (with 0.169 codex-fsm adds none, which the unit tests check)."""
    path = native_binary("newest")
    done = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=30)
    version = parse_version(done.stdout)
    if version is None or version < SINCE:
        pytest.fail(f"{path} is Codex {done.stdout.strip()!r}; the status line needs 0.171+ (package.json's "
                    "codex-newest)")
    return path


@pytest.fixture
def statusline_world(tmp_path: Path, fake_backend: FakeChatGPTBackend, statusline_codex: Path) -> SupervisedWorld:
    world = SupervisedWorld(tmp_path / "world", fake_backend, statusline_codex)
    world.settings["PYTHONPATH"] = str(REPO)
    return world.create()


@pytest.fixture
def terminals() -> Iterator[list[Terminal]]:
    started: list[Terminal] = []
    yield started
    for terminal in started:
        terminal.close()


def test_the_status_line_shows_the_account_before_and_after_a_rotation(
        statusline_world: SupervisedWorld, fake_backend: FakeChatGPTBackend, terminals: list[Terminal]) -> None:
    world = statusline_world
    fake_backend.set_account("acct-a", primary_used_percent=10.0, next_turn_used_percent=97.0)
    fake_backend.set_account("acct-b", primary_used_percent=30.0)
    world.add_account("acct-a", "alpha")
    world.add_account("acct-b", "bravo")
    world.codex_fsm("accounts", "order", "alpha", "bravo")
    terminal = Terminal([sys.executable, "-m", "supervisor.cli"], world.env(), world.work_dir)
    terminals.append(terminal)
    terminal.wait_for(COMPOSER_READY, 30)

    terminal.wait_for(r"codex-fsm alpha +5h 90% left", 20)
    submitted = terminal.submit("first prompt on A")
    done = terminal.wait_for_osc("done", 30, since=submitted)
    cleared = terminal.wait_for_osc("clear", 30, since=done)
    terminal.wait_for_osc("idle", 30, since=cleared)
    terminal.wait_for(r"codex-fsm bravo +5h 70% left .*moved from alpha just now", 20)
    assert "codex-fsm alpha" not in terminal.screen_text()

    # Codex's own snapshot, recorded by the provider: the account Codex runs on now, no request made.
    [limits] = list((world.fsm_home / "run").glob("*.codex-limits"))
    assert '"used_percent": 30.0' in limits.read_text()
    terminal.send("\x03")
    assert terminal.wait_exit(20) == 0
    assert list((world.fsm_home / "run").iterdir()) == []
    assert fake_backend.violations() == []
