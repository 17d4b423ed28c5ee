"""The loop's input side in-process, with no child (the session waits in probing): the terminal's
replies are dropped without touching the draft or the idle clock; keys still make the draft."""

from __future__ import annotations

import os
import select
import signal

from supervisor.adapters.codex_args import classify
from supervisor.chartfile import load_default_chart
from supervisor.core import events as ev
from supervisor.core.session import Session
from supervisor.adapters.keyboard import KeyboardSource
from supervisor.composition import LoopPorts, assemble_loop
from supervisor.loop import SupervisorLoop

from .test_loop import ListLog, SilentQuota

REPLIES = (b"\x1b[?62;22c", b"\x1b[>41;390;0c", b"\x1b[0n", b"\x1b]11;rgb:0000/0000/0000\x1b\\",
           b"\x1b[?0u", b"\x1bP>|xterm(390)\x1b\\", b"\x1b[?2026;2$y", b"\x1b[I")


class ScriptedPool:
    """One account; every heartbeat (one per loop turn) runs the next step of the test's script."""

    def __init__(self, steps) -> None:
        self._steps = list(steps)
        self.released: list[str] = []

    def lease_candidate(self, purpose, exclude, now, model=None):
        return ev.AccountLeased(at=now, account="acct-a")

    def release(self, account, now): self.released.append(account)
    def cool_down(self, account, until, reason, now, family=None, workspace=False): pass
    def record_quota(self, account, snapshot, now): pass
    def codex_home(self, account): raise AssertionError("no child in this test")

    def heartbeat(self, now):
        if self._steps:
            self._steps.pop(0)()
        else:
            os.kill(os.getpid(), signal.SIGTERM)  # the script ran out without a quit: end the loop
        return []

    def close(self, now): pass


class NoLauncher:
    invocation = classify([])
    session_cwd = "/"

    def spawn(self, account, resume_session_id, size):
        raise AssertionError("no child in this test")


def test_replies_with_no_child_are_dropped_and_q_on_the_untouched_draft_quits():
    keys_r, keys_w = os.pipe()  # stdin: what the terminal sends (a pipe, so a write is readable at once)
    out_r, out_w = os.pipe()
    os.set_blocking(out_r, False)
    clock = [1000.0]
    seen: dict[str, object] = {}
    loop: SupervisorLoop

    def send_replies():
        clock[0] = 1001.0
        os.write(keys_w, b"".join(REPLIES))

    def look_then_press_q():
        keys = next(s for s in loop._wiring.sources if isinstance(s, KeyboardSource)).keys
        seen["last_input_at"] = keys.last_input_at
        seen["has_draft"] = keys.has_draft
        clock[0] = 1002.0
        os.write(keys_w, b"q")

    pool = ScriptedPool([send_replies, look_then_press_q])
    ports = LoopPorts(pool=pool, quota=SilentQuota(), log=(log := ListLog()), launcher=NoLauncher(),
                      clock=lambda: clock[0], label_of=str, heartbeat_s=0.0)
    loop = assemble_loop(Session(load_default_chart()), ports, stdin_fd=keys_r, stdout_fd=out_w)
    try:
        status = loop.run()
        written = os.read(out_r, 65536) if _readable(out_r) else b""
    finally:
        for fd in (keys_r, keys_w, out_r, out_w):
            os.close(fd)
    assert seen == {"last_input_at": None, "has_draft": False}  # replies: not keys, not activity
    assert status == 130
    last = log.records[-1]
    assert (type(last).__name__, last.row) == ("TransitionRecord", "probing-quit_key_pressed->exited")
    assert last.event == ev.QuitKeyPressed(at=1002.0, key="q")
    assert pool.released == ["acct-a"]
    assert not any(reply in written for reply in REPLIES)  # nobody asked: nothing echoed anywhere


def _readable(fd: int) -> bool:
    return bool(select.select([fd], [], [], 0)[0])
