"""The user's keyboard and terminal around the fake Codex, under a real pty: quit keys while no child
runs, and the terminal's replies to Codex's queries around a rotation."""

from __future__ import annotations

import termios
import time

import pexpect
import pytest

from .fakes.rig import quit_codex, submit, wait_for

QUERIES = b"\x1b[6n\x1b[c\x1b]11;?\x1b\\"  # what the fake asks when it starts and when it exits


def _answer(child: pexpect.spawn, replies: bytes) -> None:
    """Be the terminal: wait for the child's queries and answer them."""
    child.expect_exact(QUERIES)
    child.send(replies)


def _raw(child: pexpect.spawn) -> bool:
    return not termios.tcgetattr(child.child_fd)[3] & termios.ICANON


@pytest.mark.parametrize("key", ["\x03", "\x04", "q"], ids=["ctrl-c", "ctrl-d", "q"])
def test_a_quit_key_while_waiting_for_the_pool_exits_at_once_and_restores_the_terminal(rig, key):
    rig.touch("limit-acct-a")
    rig.touch("probe-acct-b", "99 5")
    child = rig.start()  # the default max_pool_wait_s (an hour) would let the wait run on
    child.expect("Ask Codex")
    submit(child, "x")
    child.expect(r"waiting \d+ s for the soonest reset at [^\r\n]* \(Ctrl-C to quit\)")
    assert _raw(child)
    pressed = time.monotonic()
    child.send(key)
    child.expect(pexpect.EOF, timeout=5)
    assert time.monotonic() - pressed < 5
    assert not _raw(child)  # the user's terminal mode is back
    child.close()
    assert child.exitstatus == 130
    assert rig.fired()[-1] == "acquiring-quit_key_pressed->exited"
    assert rig.pool_calls()[-1] == {"call": "close", "leased": []}
    assert not rig.rejected()
    assert rig.replays()


def test_terminal_replies_around_a_rotation_keep_the_draft_and_reach_the_child_that_asked(rig):
    rig.touch("query-terminal")
    rig.touch("quota-acct-a", "97 5")  # at the rotate floor after the first turn
    child = rig.start()
    _answer(child, b"\x1b[3;1R\x1b[?62;22c\x1b]11;rgb:0000/0000/0000\x1b\\")
    child.expect("Ask Codex")
    submit(child, "one")
    child.expect("ANSWER to one on acct-a")
    child.send("half typed")  # not submitted; the user then goes idle and the rotation begins
    # The leaving child's queries: their answers reach codex-fsm while no child runs (or the next one).
    _answer(child, b"\x1b[5;11R\x1b[?62;22c\x1b]11;rgb:0000/0000/0000\x1b\\")
    child.expect(r"resumed [0-9a-f-]{36} on acct-b")
    started_replies = b"\x1b[2;1R\x1b[?62;22c\x1b]11;rgb:1e1e/1e1e/2e2e\x07"
    _answer(child, started_replies)
    child.expect("Ask Codex")
    resumed_pid = rig.spawns()[1]["pid"]
    composer = rig.control / f"composer-{resumed_pid}"
    wait_for(lambda: composer.exists() and composer.read_text() == "half typed",
             what="draft retyped into the resumed composer")
    # The resumed child gets its answers byte for byte (the leaving child's may precede them). The child
    # reads them whenever it next reads its input, which may be after it showed its composer.
    replies = rig.control / f"replies-{resumed_pid}"
    wait_for(lambda: replies.exists() and replies.read_bytes().endswith(started_replies),
             what="the resumed child's own replies")
    child.send("\x15")
    quit_codex(child)
    _answer(child, b"\x1b[1;1R\x1b[?62;22c\x1b]11;rgb:0/0/0\x1b\\")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert "restarting-child_exited->resuming" in rig.fired()
    assert not rig.rejected()


def test_the_draft_is_taken_when_the_stop_begins_so_keys_into_the_leaving_codex_cannot_spoil_it(rig):
    rig.touch("hang-on-sigint")  # the first Codex ignores Ctrl-C: the stop ladder waits, then SIGTERM
    rig.touch("quota-acct-a", "97 5")
    child = rig.start()
    child.expect("Ask Codex")
    submit(child, "one")
    child.expect("ANSWER to one on acct-a")
    child.send("half typed")
    wait_for(lambda: "prewarming-tick->restarting" in rig.fired(), what="the stop began")
    (rig.control / "hang-on-sigint").unlink()  # the resumed Codex quits on Ctrl-C again
    child.send("\x1b[D")  # an arrow into the leaving Codex: the draft as typed is no longer known exactly
    child.expect(r"resumed [0-9a-f-]{36} on acct-b")
    child.expect("Ask Codex")
    composer = rig.control / f"composer-{rig.spawns()[1]['pid']}"
    wait_for(lambda: composer.exists() and composer.read_text() == "half typed",
             what="the draft of the stop retyped into the resumed composer")
    child.send("\x15")
    quit_codex(child)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    steps = [c["step"] for r in rig.transitions() for c in r.get("commands", []) if c["type"] == "StopChild"]
    assert steps == ["interrupt", "terminate"]
    assert not rig.rejected()
