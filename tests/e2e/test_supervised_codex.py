"""codex-fsm supervising the real Codex TUI against the fake ChatGPT backend (issue 6, end-to-end).

Each test builds a throwaway world (pool, account homes, the "real" CODEX_HOME), runs `codex-fsm` under a
pty like a user would, and checks what the user sees, what the backend was asked (account, conversation),
the rollout, and that the transition log replays with `codex-fsm replay`.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator

import pytest

from supervisor.demo.fake_backend import ConversationItem, FakeChatGPTBackend, read_refresh_token
from supervisor.demo.fake_backend.world import SupervisedWorld
from supervisor.demo.terminal import Terminal
from supervisor.adapters.launcher import CONTINUATION_PROMPT
from tests.e2e.codex_files import resume_session_id, rollout_files, rollout_lines
from tests.e2e.transition_logs import assert_logs_replay, rows

pytestmark = pytest.mark.e2e

COMPOSER_READY = r"Ask Codex to do anything"
CTRL_C = "\x03"
RESTORE_SEQUENCES = b"\x1b[<u\x1b[>4;0m\x1b[?2004l\x1b[?25h\x1b[?1049l"


@pytest.fixture
def run_codex_fsm(world: SupervisedWorld) -> Iterator[Callable[..., Terminal]]:
    terminals: list[Terminal] = []

    def run(*args: str) -> Terminal:
        terminal = Terminal([sys.executable, "-m", "supervisor.cli", *args], world.env(), world.work_dir)
        terminals.append(terminal)
        terminal.wait_for(COMPOSER_READY, 30)
        return terminal

    yield run
    for terminal in terminals:
        terminal.close()


def answered_turn(terminal: Terminal, prompt: str, expected_answer: str) -> int:
    """Submit; wait for the turn's end and its answer. Returns the raw offset just after OSC done."""
    submitted = terminal.submit(prompt)
    done = terminal.wait_for_osc("done", 30, since=submitted)
    terminal.wait_for(expected_answer, 10)
    return done


def wait_for_rotation(terminal: Terminal, since: int) -> int:
    """The supervised child quits (OSC clear) and a resumed one draws a ready composer (OSC idle)."""
    cleared = terminal.wait_for_osc("clear", 30, since=since)
    ready = terminal.wait_for_osc("idle", 30, since=cleared)
    terminal.wait_for(COMPOSER_READY, 10)
    return ready


def test_rotates_after_a_turn_that_crosses_the_threshold_and_continues_on_b(
        world: SupervisedWorld, fake_backend: FakeChatGPTBackend, run_codex_fsm: Callable[..., Terminal]) -> None:
    fake_backend.set_account("acct-a", primary_used_percent=10.0, next_turn_used_percent=97.0)
    fake_backend.set_account("acct-b", primary_used_percent=30.0)
    world.add_account("acct-a", "alpha")
    world.add_account("acct-b", "bravo")
    world.codex_fsm("accounts", "order", "alpha", "bravo")
    terminal = run_codex_fsm()

    done = answered_turn(terminal, "first prompt on A", r"PONG-1 \[acct-a\]: first prompt on A")
    wait_for_rotation(terminal, since=done)
    assert b"codex-fsm: " in terminal.raw[done:]
    answered_turn(terminal, "second prompt on B", r"PONG-2 \[acct-b\]: second prompt on B")

    [turn_a] = fake_backend.turns("acct-a")
    [turn_b] = fake_backend.turns("acct-b")
    assert turn_b.session_id == turn_a.session_id
    assert turn_b.conversation == (
        ConversationItem("user", "first prompt on A"),
        ConversationItem("assistant", "PONG-1 [acct-a]: first prompt on A"),
        ConversationItem("user", "second prompt on B"),
    )
    [rollout] = rollout_files(world.codex_home)
    assert rollout.name.endswith(f"-{turn_a.session_id}.jsonl")
    assert sum(line["type"] == "session_meta" for line in rollout_lines(rollout)) == 1

    terminal.send(CTRL_C)
    assert terminal.wait_exit(20) == 0
    assert resume_session_id(terminal.raw_text()) == turn_a.session_id
    assert any("child_exited->resuming" in row for row in rows(assert_logs_replay(world)))
    assert fake_backend.violations() == []


def test_usage_limit_429_rotates_and_resubmits_the_interrupted_prompt_once_on_b(
        world: SupervisedWorld, fake_backend: FakeChatGPTBackend, run_codex_fsm: Callable[..., Terminal]) -> None:
    fake_backend.set_account("acct-a", exhaust_after_turns=1)
    fake_backend.set_account("acct-b", primary_used_percent=30.0)
    world.add_account("acct-a", "alpha")
    world.add_account("acct-b", "bravo")
    world.codex_fsm("accounts", "order", "alpha", "bravo")
    terminal = run_codex_fsm()
    answered_turn(terminal, "first prompt", r"PONG-1 \[acct-a\]")

    submitted = terminal.submit("prompt hit by the limit")
    terminal.wait_for(rf"PONG-\d+ \[acct-b\]: {re.escape(CONTINUATION_PROMPT)}", 60)
    terminal.wait_for_osc("done", 30, since=submitted)

    # The resumed thread already holds the interrupted prompt, so codex-fsm types only a continuation.
    assert [(t.account_id, t.prompt, t.status) for t in fake_backend.turns()] == [
        ("acct-a", "first prompt", 200), ("acct-a", "prompt hit by the limit", 429),
        ("acct-b", CONTINUATION_PROMPT, 200)]
    # The model sees the user's words once in the first request after the rotation, and the continuation once.
    user_texts = [item.text for item in fake_backend.turns()[2].conversation if item.role == "user"]
    assert sum(text.count("prompt hit by the limit") for text in user_texts) == 1, user_texts
    assert sum(text.count(CONTINUATION_PROMPT) for text in user_texts) == 1, user_texts
    terminal.send(CTRL_C)
    assert terminal.wait_exit(20) == 0
    assert_logs_replay(world)
    assert fake_backend.violations() == []


# A complete escape sequence of any kind a terminal parses: CSI, OSC (BEL or ST), DCS/APC/PM/SOS (ST),
# and the two- and three-byte escapes. Written independently of supervisor/adapters/escape_state.py, so
# that the test does not grade the tracker with itself.
_COMPLETE_SEQUENCE = re.compile(
    rb"\x1b\[[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]"
    rb"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"
    rb"|\x1b[P_^X].*?\x1b\\"
    rb"|\x1b[NO][\x20-\x7e]|\x1b[\x20-\x2f]+[\x30-\x7e]|\x1b[\x30-\x7e]", re.S)


def ends_at_a_boundary(stream: bytes) -> bool:
    """Whether `stream` ends outside every escape sequence and every UTF-8 character."""
    position = 0
    while (start := stream.find(b"\x1b", position)) != -1:
        match = _COMPLETE_SEQUENCE.match(stream, start)
        if match is None:
            return False
        position = match.end()
    try:
        stream[position:].decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def in_alternate_screen(stream: bytes) -> bool:
    return stream.rfind(b"\x1b[?1049h") > stream.rfind(b"\x1b[?1049l")


def limited_world(world: SupervisedWorld, fake_backend: FakeChatGPTBackend, **settings: str) -> None:
    world.settings.update({"CODEX_FSM_NOTIFY_METHOD": "osc9", **settings})
    fake_backend.set_account("acct-a", exhaust_after_turns=1)
    fake_backend.set_account("acct-b", primary_used_percent=30.0)
    world.add_account("acct-a", "alpha")
    world.add_account("acct-b", "bravo")
    world.codex_fsm("accounts", "order", "alpha", "bravo")


def test_a_usage_limit_rotation_notifies_the_terminal_between_codexs_sequences(
        world: SupervisedWorld, fake_backend: FakeChatGPTBackend, run_codex_fsm: Callable[..., Terminal]) -> None:
    """The move is announced once the old Codex has left (its alternate screen too) and before the successor
    draws: at a boundary of the byte stream, with the line in the normal screen where it stays."""
    limited_world(world, fake_backend)
    terminal = run_codex_fsm()
    answered_turn(terminal, "first prompt", r"PONG-1 \[acct-a\]")
    assert terminal.notifications() == []

    submitted = terminal.submit("prompt hit by the limit")
    terminal.wait_for(rf"PONG-\d+ \[acct-b\]: {re.escape(CONTINUATION_PROMPT)}", 60)
    terminal.wait_for_osc("done", 30, since=submitted)

    [(offset, text), *later] = terminal.notifications(since=submitted)
    assert text.startswith("codex-fsm: session ") and "moved from alpha to bravo: usage limit reached" in text
    raw = bytes(terminal.raw)
    for at, _ in [(offset, text), *later]:
        assert ends_at_a_boundary(raw[:at]), raw[max(0, at - 200):at]
    assert not in_alternate_screen(raw[:offset])
    assert in_alternate_screen(raw)  # the successor runs in it, and nothing of the notification is drawn
    # The notice's text is not drawn (Codex 0.171's footer may show codex-fsm's own status line, "bravo
    # … moved from alpha just now", which is another thing).
    assert "moved from alpha to bravo" not in terminal.screen_text()
    terminal.send(CTRL_C)
    assert terminal.wait_exit(20) == 0
    assert_logs_replay(world)


def test_a_notice_while_codex_runs_notifies_inside_its_alternate_screen_and_its_line_waits(
        world: SupervisedWorld, fake_backend: FakeChatGPTBackend, run_codex_fsm: Callable[..., Terminal]) -> None:
    """No relaunch allowed: the usage limit pauses rotation while Codex stays on screen. The notification goes
    out inside Codex's alternate screen, never inside one of its sequences; the line waits for Codex to leave."""
    limited_world(world, fake_backend, CODEX_FSM_SESSION_MAX_RESTARTS="0")
    terminal = run_codex_fsm()
    answered_turn(terminal, "first prompt", r"PONG-1 \[acct-a\]")
    submitted = terminal.submit("prompt hit by the limit")
    terminal.wait_for(r"\x1b\]9;codex-fsm: rotation paused: ", 30, raw=True, since=submitted)

    [(offset, text)] = terminal.notifications(since=submitted)  # the quota reading and the limit: one pause
    assert text.startswith("codex-fsm: rotation paused: restart budget spent"), text
    raw = bytes(terminal.raw)
    assert in_alternate_screen(raw[:offset]), raw[max(0, offset - 200):offset]
    assert ends_at_a_boundary(raw[:offset]), raw[max(0, offset - 200):offset]
    assert plain_lines(raw, b"codex-fsm: rotation paused") == []  # no line written into Codex's screen
    assert "rotation paused" not in terminal.screen_text()

    terminal.send(CTRL_C)
    assert terminal.wait_exit(20) == 0
    raw = bytes(terminal.raw)
    lines = plain_lines(raw, b"codex-fsm: rotation paused")
    assert len(lines) == 1 and not in_alternate_screen(raw[:lines[0]])
    assert "rotation paused" in terminal.screen_text()
    assert_logs_replay(world)


def plain_lines(raw: bytes, text: bytes) -> list[int]:
    """Where `text` appears as a line of its own, not as an OSC 9 notification's payload."""
    return [m.start() for m in re.finditer(re.escape(text), raw) if raw[max(0, m.start() - 4):m.start()] != b"\x1b]9;"]


def test_user_quit_exits_0_without_rotation_and_restores_the_terminal(
        world: SupervisedWorld, fake_backend: FakeChatGPTBackend, run_codex_fsm: Callable[..., Terminal]) -> None:
    world.add_account("acct-a", "alpha")
    world.add_account("acct-b", "bravo")
    terminal = run_codex_fsm()
    answered_turn(terminal, "just one prompt", r"PONG-1 \[acct-")
    terminal.send("a draft the user gives up on")
    terminal.wait_for("a draft the user gives up on", 10)
    before_quit = terminal.mark()

    # Codex 0.169: the first Ctrl-C clears the draft, the second quits (on an empty composer one is enough,
    # and a second one racing Codex's shutdown can make it exit 130).
    terminal.send(CTRL_C)
    terminal.wait_for(COMPOSER_READY, 10)
    terminal.send(CTRL_C)
    assert terminal.wait_exit(20) == 0

    assert RESTORE_SEQUENCES in terminal.raw[before_quit:]
    assert len({t.account_id for t in fake_backend.turns()}) == 1
    assert not any("resuming" in row for row in rows(assert_logs_replay(world)))
    assert fake_backend.violations() == []


def test_codex_refreshes_an_expired_token_and_the_pool_keeps_the_refreshed_login(
        world: SupervisedWorld, fake_backend: FakeChatGPTBackend, run_codex_fsm: Callable[..., Terminal]) -> None:
    world.add_account("acct-a", "alpha", access_token_expired=True)
    terminal = run_codex_fsm()
    answered_turn(terminal, "prompt with a refreshed token", r"PONG-1 \[acct-a\]")
    terminal.send(CTRL_C)
    assert terminal.wait_exit(20) == 0

    refreshed = [r for r in fake_backend.refreshes() if r.outcome == "refreshed"]
    assert [(r.presented_label, r.issued_label) for r in refreshed] == [("acct-a#1", "acct-a#2")]
    [pool_auth] = list((world.fsm_home / "homes").glob("*/auth.json"))
    assert fake_backend.label_of(read_refresh_token(pool_auth)) == "acct-a#2"
    assert [t.credentials_label for t in fake_backend.turns()] == ["acct-a#2"]
    assert_logs_replay(world)
    assert fake_backend.violations() == []


def test_every_account_exhausted_waits_for_the_soonest_reset_then_resumes_by_itself(
        world: SupervisedWorld, fake_backend: FakeChatGPTBackend, run_codex_fsm: Callable[..., Terminal]) -> None:
    resets_at = int(fake_backend.now()) + 5
    fake_backend.set_account("acct-a", exhaust_after_turns=1, primary_resets_at=resets_at)
    world.add_account("acct-a", "alpha")
    terminal = run_codex_fsm()
    answered_turn(terminal, "first prompt", r"PONG-1 \[acct-a\]")

    submitted = terminal.submit("prompt hit by the limit")
    notice = terminal.wait_for(r"codex-fsm: every account is at its limit; waiting (\d+) s for the soonest reset", 30,
                               raw=True, since=submitted)
    # The wait is the later of the two resets codex-fsm knows (the window's, and the one Codex's usage-limit
    # error names, which Codex rounds up to the minute): the resumed turn comes that long after the notice.
    announced = int(notice.group(1))
    terminal.wait_for(rf"PONG-\d+ \[acct-a\]: {re.escape(CONTINUATION_PROMPT)}", announced + 60)

    retried = fake_backend.turns()[-1]
    assert (retried.prompt, retried.status) == (CONTINUATION_PROMPT, 200)
    user_texts = [item.text for item in retried.conversation if item.role == "user"]
    assert sum(text.count("prompt hit by the limit") for text in user_texts) == 1, user_texts
    assert retried.at >= resets_at
    assert [t.status for t in fake_backend.turns()] == [200, 429, 200]
    terminal.send(CTRL_C)
    assert terminal.wait_exit(20) == 0
    assert "acquiring-tick->acquiring[wait_elapsed]" in rows(assert_logs_replay(world))
    assert fake_backend.violations() == []


def test_two_supervised_sessions_at_once_rotate_and_keep_their_own_conversations(
        world: SupervisedWorld, fake_backend: FakeChatGPTBackend, run_codex_fsm: Callable[..., Terminal]) -> None:
    for account, label in (("acct-a", "alpha"), ("acct-b", "bravo"), ("acct-c", "charlie"), ("acct-d", "delta")):
        if label in ("alpha", "bravo"):
            fake_backend.set_account(account, primary_used_percent=10.0, next_turn_used_percent=97.0)
        else:
            fake_backend.set_account(account, primary_used_percent=30.0)
        world.add_account(account, label)
    world.codex_fsm("accounts", "order", "alpha", "bravo", "charlie", "delta")
    first = run_codex_fsm()
    second = run_codex_fsm()

    done = {name: answered_turn(t, f"opening of session {name}", rf"PONG-\d+ \[acct-[ab]\]: opening of session {name}")
            for name, t in (("one", first), ("two", second))}
    for name, terminal in (("one", first), ("two", second)):
        wait_for_rotation(terminal, since=done[name])
        answered_turn(terminal, f"follow-up of session {name}", rf"\[acct-[cd]\]: follow-up of session {name}")

    turns = {t.prompt: t for t in fake_backend.turns()}
    for name in ("one", "two"):
        opening, follow_up = turns[f"opening of session {name}"], turns[f"follow-up of session {name}"]
        assert opening.account_id in ("acct-a", "acct-b") and follow_up.account_id in ("acct-c", "acct-d")
        assert follow_up.session_id == opening.session_id
        assert [i.text for i in follow_up.conversation if i.role == "user"] == [
            f"opening of session {name}", f"follow-up of session {name}"]
    assert turns["opening of session one"].session_id != turns["opening of session two"].session_id
    assert len({turns["follow-up of session one"].account_id, turns["follow-up of session two"].account_id}) == 2
    for terminal in (first, second):
        terminal.send(CTRL_C)
        assert terminal.wait_exit(20) == 0
    assert len(world.transition_logs()) == 2
    assert_logs_replay(world)
    assert fake_backend.violations() == []
