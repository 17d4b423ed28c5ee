"""The executor's Notify: the notice's line and its terminal notification reach the screen together."""

from __future__ import annotations

from types import SimpleNamespace

from supervisor.adapters.terminal_notification import TerminalNotifier
from supervisor.command_executor import CommandExecutor
from supervisor.core import commands as cmd

ROTATED = cmd.Notify(kind="rotated", params=(("from", "acct-a"), ("to", "acct-b"), ("reason", "usage_limit"),
                                             ("session_id", "s-1")))


class RecordingScreen:
    def __init__(self) -> None:
        self.notices: list[tuple[bytes, bytes, float]] = []

    def notice(self, line: bytes, notification: bytes = b"", now: float = 0.0) -> None:
        self.notices.append((line, notification, now))


def executor(screen: RecordingScreen, notification=None, headless: bool = False) -> CommandExecutor:
    nothing = SimpleNamespace()
    labels = {"acct-a": "alpha", "acct-b": "bravo"}
    return CommandExecutor(nothing, nothing, nothing, nothing, screen, labels.__getitem__, lambda: 250.0,
                           headless=headless, notification=notification)


def test_a_notice_goes_out_with_its_notification_stamped_now() -> None:
    screen = RecordingScreen()
    executor(screen, TerminalNotifier("osc9", {})).execute(ROTATED, 200.0)
    [(line, notification, now)] = screen.notices
    assert line == b"codex-fsm: session s-1 moved from alpha to bravo: usage limit reached"
    assert notification == b"\x1b]9;" + line + b"\x07"
    assert now == 250.0  # the clock, not the event's moment: the hold is measured from when it was written


def test_osc777_carries_the_text_without_the_prefix_under_codex_fsm_as_title() -> None:
    screen = RecordingScreen()
    executor(screen, TerminalNotifier("osc777", {})).execute(ROTATED, 200.0)
    [(_, notification, _)] = screen.notices
    assert notification == (b"\x1b]777;notify;codex-fsm;session s-1 moved from alpha to bravo: "
                            b"usage limit reached\x07")


def test_without_a_notifier_or_with_off_only_the_line_goes_out() -> None:
    for notification in (None, TerminalNotifier("off", {})):
        screen = RecordingScreen()
        executor(screen, notification, headless=True).execute(ROTATED, 200.0)
        [(line, sent, _)] = screen.notices
        assert line.startswith(b"codex-fsm: exec moved") and sent == b""
