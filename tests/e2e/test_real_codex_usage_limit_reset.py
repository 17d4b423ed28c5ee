"""The real Codex writes the usage-limit reset into its rollout, and RolloutReader reads it back.

Codex's rollout records a usage limit as ``task_complete`` with ``error.codex_error_info`` =
``usage_limit_exceeded`` and the message it shows in the TUI ("... try again at 3:05 PM."); that text is the
only place the 429's ``resets_at`` survives when the turn's last token_count did not show a full window.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from supervisor.adapters.rollout import RolloutReader, usage_limit_reset
from supervisor.core.events import UsageLimitHit
from supervisor.demo.fake_backend import FakeChatGPTBackend
from supervisor.demo.terminal import Terminal
from tests.e2e.codex_files import event_payloads, rollout_files
from tests.e2e.conftest import CodexHome
from tests.e2e.test_real_codex_backend import answered_turn, quit_with_ctrl_c, start

pytestmark = pytest.mark.e2e


def test_the_rollout_names_the_reset_of_a_real_usage_limit(
        fake_backend: FakeChatGPTBackend, make_codex_home: Callable[..., CodexHome],
        spawn_codex: Callable[..., Terminal]) -> None:
    fake_backend.set_account("acct-a", exhaust_after_turns=1)
    home = make_codex_home("acct-a")
    terminal = start(spawn_codex, home)
    answered_turn(terminal, "First prompt", r"PONG-1 \[acct-a\]")
    terminal.submit("Second prompt")
    terminal.wait_for(r"You.ve hit your usage limit", 20)
    quit_with_ctrl_c(terminal)

    reset = fake_backend.account("acct-a").limit_resets_at()
    [rollout] = rollout_files(home.path)
    [failed] = [p for p in event_payloads(rollout, "task_complete") if p.get("error")]
    now = time.time()
    named = usage_limit_reset(failed["error"], now)
    assert named is not None, failed["error"]
    assert reset <= named <= reset + 60  # Codex shows whole minutes: the reader waits out the shown one
    [*_, hit] = RolloutReader(rollout).poll(now)
    assert isinstance(hit, UsageLimitHit) and hit.resets_at is not None
