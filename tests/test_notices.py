"""The session's notices: whatever a label, session id, reason or server text holds, a notice is one
printable line, and a command to resume by hand is quoted for the shell."""

from __future__ import annotations

import shlex

import pytest

from supervisor.core.commands import Notify
from supervisor.notices import render

# An OSC title change, an OSC 52 clipboard write, a screen clear, and a CR/LF that paints a fake line.
HOSTILE = ["\x1b]0;owned\x07", "\x1b]52;c;ZWNobyBwd25lZA==\x07", "\x1b[2J\x1b[H",
           "x\r\ncodex-fsm: session moved to a safe account"]

KINDS = {
    "rotated": ("from", "to", "reason", "session_id"),
    "gave_up": ("reason", "session_id"),
    "rotation_suspended": ("why", "restarts", "session_id"),
    "spawn_failed": ("reason",),
    "lease_lost": ("account",),
    "child_unkillable": ("session_id",),
    "resume_hint": ("session_id",),
    "crash_resume": ("signal", "session_id"),
    "pool_wait": ("seconds",),
}


@pytest.mark.parametrize("hostile", HOSTILE, ids=["osc-title", "osc52", "clear", "fake-line"])
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_parameter_from_outside_is_shown_as_visible_escapes(kind, hostile):
    params = tuple((name, f"v{hostile}") for name in KINDS[kind])
    line = render(Notify(kind=kind, params=params), lambda account: f"label {account}")
    assert line.startswith("codex-fsm: ")
    assert not any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in line), repr(line)
    assert "\\x1b" in line or "\\x0d\\x0a" in line


def test_a_label_lookup_that_returns_escapes_is_sanitized_too():
    line = render(Notify(kind="lease_lost", params=(("account", "a-1"),)), lambda account: HOSTILE[1])
    assert "\x1b" not in line and "took \\x1b]52;c;ZWNobyBwd25lZA==\\x07;" in line


@pytest.mark.parametrize("session_id", ["s-1", "my session", "$(rm -rf ~)", "a'b"])
def test_the_resume_command_is_quoted_for_the_shell(session_id):
    line = render(Notify(kind="resume_hint", params=(("session_id", session_id),)), str)
    command = line.split("`")[1]
    assert shlex.split(command) == ["codex", "resume", session_id]


def test_an_unhashable_reason_is_shown_not_a_crash():
    line = render(Notify(kind="rotated", params=(("to", "a-2"), ("reason", ["odd"]))), str)
    assert line.endswith("to a-2: ['odd']")
