"""The real Codex TUI (npm @openai/codex, native binary) against the fake ChatGPT backend, no codex-fsm.

These pin down the behaviour of Codex that codex-fsm relies on: answered turns, rate-limit headers landing
in the rollout, the usage-limit 429, the quit hint, resuming one session under another account's home, and
a single token refresh.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from supervisor.demo.fake_backend import ConversationItem, FakeChatGPTBackend, read_refresh_token
from supervisor.demo.terminal import Terminal
from tests.e2e.codex_files import event_payloads, resume_session_id, rollout_files, rollout_lines
from tests.e2e.conftest import CodexHome

pytestmark = pytest.mark.e2e

COMPOSER_READY = r"Ask Codex to do anything"
CTRL_C = "\x03"


def start(spawn_codex: Callable[..., Terminal], home: CodexHome, *args: str) -> Terminal:
    terminal = spawn_codex(home, *args)
    terminal.wait_for(COMPOSER_READY, 20)
    return terminal


def answered_turn(terminal: Terminal, prompt: str, expected_answer: str) -> None:
    """Submit and wait for the end of the turn (OSC 7501 done; Codex 0.169 sends the next idle only on input)."""
    submitted = terminal.submit(prompt)
    terminal.wait_for_osc("done", 20, since=submitted)
    terminal.wait_for(expected_answer, 5)


def quit_with_ctrl_c(terminal: Terminal) -> str:
    """Ctrl-C on the idle, empty composer: Codex 0.169 quits at once (a second Ctrl-C racing its shutdown can
    turn the exit status into 130). Returns the session id from the resume hint."""
    terminal.send(CTRL_C)
    assert terminal.wait_exit(10) == 0
    return resume_session_id(terminal.raw_text())


def test_turn_is_answered_and_rate_limit_headers_land_in_the_rollout(
        fake_backend: FakeChatGPTBackend, make_codex_home: Callable[..., CodexHome],
        spawn_codex: Callable[..., Terminal]) -> None:
    state = fake_backend.set_account("acct-a", primary_used_percent=42.0, secondary_used_percent=7.0)
    home = make_codex_home("acct-a")
    terminal = start(spawn_codex, home)

    answered_turn(terminal, "Say hello", r"PONG-1 \[acct-a\]: Say hello")
    session_id = quit_with_ctrl_c(terminal)

    [turn] = fake_backend.turns()
    assert (turn.account_id, turn.status, turn.credentials_label) == ("acct-a", 200, "acct-a#1")
    assert turn.conversation == (ConversationItem("user", "Say hello"),)
    [rollout] = rollout_files(home.path)
    assert rollout.name.endswith(f"-{session_id}.jsonl")
    [token_count] = event_payloads(rollout, "token_count")
    limits = token_count["rate_limits"]
    assert limits["primary"] == {"used_percent": 42.0, "window_minutes": 300, "resets_at": state.primary.resets_at}
    assert limits["secondary"] == {"used_percent": 7.0, "window_minutes": 10080,
                                   "resets_at": state.secondary.resets_at}
    assert fake_backend.violations() == []


def test_ctrl_c_twice_clears_the_draft_then_quits_with_status_0_and_the_resume_hint(
        fake_backend: FakeChatGPTBackend, make_codex_home: Callable[..., CodexHome],
        spawn_codex: Callable[..., Terminal]) -> None:
    home = make_codex_home("acct-a")
    terminal = start(spawn_codex, home)
    answered_turn(terminal, "One turn so there is a session", r"PONG-1 \[acct-a\]")
    terminal.send("an unsent draft")
    terminal.wait_for("an unsent draft", 10)
    before_quit = terminal.mark()

    terminal.send(CTRL_C)
    terminal.wait_for(COMPOSER_READY, 10)
    assert terminal.child.isalive() and "an unsent draft" not in terminal.screen_text()
    terminal.send(CTRL_C)
    assert terminal.wait_exit(10) == 0
    session_id = resume_session_id(terminal.raw_text(before_quit))

    assert terminal.osc_states(since=before_quit)[-1] == "clear"
    assert [line["payload"]["id"] for line in rollout_lines(rollout_files(home.path)[0])
            if line["type"] == "session_meta"] == [session_id]
    assert fake_backend.violations() == []


def test_usage_limit_429_is_shown_and_ends_the_task_with_usage_limit_exceeded(
        fake_backend: FakeChatGPTBackend, make_codex_home: Callable[..., CodexHome],
        spawn_codex: Callable[..., Terminal]) -> None:
    state = fake_backend.set_account("acct-a", exhaust_after_turns=1)
    home = make_codex_home("acct-a")
    terminal = start(spawn_codex, home)
    answered_turn(terminal, "First prompt", r"PONG-1 \[acct-a\]")

    submitted = terminal.submit("Second prompt")
    terminal.wait_for(r"You.ve hit your usage limit", 20)
    terminal.wait_for_osc("error", 10, since=submitted)
    assert "done" not in terminal.osc_states(since=submitted)
    quit_with_ctrl_c(terminal)

    assert [(t.prompt, t.status) for t in fake_backend.turns()] == [("First prompt", 200), ("Second prompt", 429)]
    [rollout] = rollout_files(home.path)
    [failed] = [p for p in event_payloads(rollout, "task_complete") if p.get("error")]
    assert failed["error"]["codex_error_info"] == "usage_limit_exceeded"
    primary_used = [p["rate_limits"]["primary"]["used_percent"] for p in event_payloads(rollout, "token_count")]
    assert primary_used == [10.0, 100.0]
    assert fake_backend.account("acct-a").primary.resets_at == state.primary.resets_at
    assert fake_backend.violations() == []


def test_resume_under_a_second_account_continues_the_same_rollout(
        fake_backend: FakeChatGPTBackend, make_codex_home: Callable[..., CodexHome],
        spawn_codex: Callable[..., Terminal]) -> None:
    home_a = make_codex_home("acct-a")
    first = start(spawn_codex, home_a)
    answered_turn(first, "hello from account A", r"PONG-1 \[acct-a\]: hello from account A")
    session_id = quit_with_ctrl_c(first)
    [rollout] = rollout_files(home_a.path)
    lines_after_a = len(rollout_lines(rollout))

    home_b = make_codex_home("acct-b", share_from=home_a)
    resumed = start(spawn_codex, home_b, "resume", session_id)
    resumed.wait_for(r"PONG-1 \[acct-a\]: hello from account A", 10)
    answered_turn(resumed, "next turn from account B", r"PONG-2 \[acct-b\]: next turn from account B")
    assert quit_with_ctrl_c(resumed) == session_id

    turn_b = fake_backend.turns("acct-b")[-1]
    assert turn_b.session_id == session_id
    assert turn_b.credentials_label == "acct-b#1"
    assert turn_b.conversation == (
        ConversationItem("user", "hello from account A"),
        ConversationItem("assistant", "PONG-1 [acct-a]: hello from account A"),
        ConversationItem("user", "next turn from account B"),
    )
    assert rollout_files(home_b.path) == [home_b.path / rollout.relative_to(home_a.path)]
    lines = rollout_lines(rollout)
    assert len(lines) > lines_after_a
    assert sum(line["type"] == "session_meta" for line in lines) == 1
    assert fake_backend.violations() == []


def test_expired_access_token_is_refreshed_once_through_the_token_endpoint(
        fake_backend: FakeChatGPTBackend, make_codex_home: Callable[..., CodexHome],
        spawn_codex: Callable[..., Terminal]) -> None:
    home = make_codex_home("acct-a", access_token_expired=True)
    old_refresh_token = home.credentials.refresh_token
    terminal = start(spawn_codex, home)
    answered_turn(terminal, "Prompt after refresh", r"PONG-1 \[acct-a\]")
    quit_with_ctrl_c(terminal)

    assert [(r.outcome, r.presented_label, r.issued_label) for r in fake_backend.refreshes()] == [
        ("refreshed", "acct-a#1", "acct-a#2")]
    assert [t.credentials_label for t in fake_backend.turns()] == ["acct-a#2"]
    new_refresh_token = read_refresh_token(home.auth_json)
    assert fake_backend.label_of(new_refresh_token) == "acct-a#2"
    assert fake_backend.is_spent(old_refresh_token)
    assert fake_backend.violations() == []
