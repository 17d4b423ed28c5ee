"""The supervisor under a real pty around the fake Codex: passthrough, quitting, exit status."""

from __future__ import annotations

import pexpect

from supervisor.adapters.terminal import RESTORE_SEQUENCES

from .fakes.rig import quit_codex, submit, wait_for
from supervisor.adapters.codex_args import NO_DAEMON_ARGS


def test_plain_session_passes_through_binds_exactly_and_exits_with_codex_status(rig):
    child = rig.start("-m", "gpt-test")
    child.expect("Ask Codex to do anything")
    submit(child, "hello")
    child.expect("ANSWER to hello on acct-a")
    quit_codex(child)
    child.expect(r"codex resume ([0-9a-f-]{36})")
    hinted = child.match.group(1).decode()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0

    [spawn] = rig.spawns()
    assert spawn["argv"][:4] == list(NO_DAEMON_ARGS)
    assert spawn["argv"][4:] == ["-m", "gpt-test"]
    assert spawn["account"] == "acct-a"
    assert "CODEX_FSM_TEST_MARKER" not in spawn["env"]
    bound = [r["event"]["session_id"] for r in rig.transitions() if r["trigger"] == "session_bound"]
    assert bound and set(bound) == {hinted}
    [rollout] = rig.rollouts()
    assert rollout.name.endswith(f"-{hinted}.jsonl")
    assert "running-child_exited->exited" in rig.fired()
    calls = rig.pool_calls()
    assert {"call": "release", "account": "acct-a"} in calls


def test_exit_code_of_codex_is_codex_fsm_exit_code(rig):
    rig.touch("exit-code", "3")
    child = rig.start()
    child.expect("Ask Codex")
    quit_codex(child)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 3


def test_prompt_form_is_supervised_and_keystrokes_reach_codex_unchanged(rig):
    child = rig.start("fix the bug")
    child.expect("Ask Codex")
    child.send("ab\x7fc")
    wait_for(lambda: any(p.read_text() == "ac" for p in rig.control.glob("composer-*")), what="composer text")
    child.send("\r")
    child.expect("ANSWER to ac on acct-a")
    quit_codex(child)
    child.expect(pexpect.EOF)
    child.close()
    assert rig.spawns()[0]["argv"][4:] == ["fix the bug"]
    assert child.exitstatus == 0


def test_resize_reaches_the_child(rig):
    child = rig.start(size=(33, 101))
    child.expect("size 33x101")
    child.expect("Ask Codex")
    child.setwinsize(30, 100)
    child.expect("size 30x100")
    quit_codex(child)
    child.expect(pexpect.EOF)


def test_restore_sequences_written_after_child_exits(rig):
    child = rig.start()
    child.expect("Ask Codex")
    quit_codex(child)
    child.expect(pexpect.EOF)
    assert RESTORE_SEQUENCES in child.before
