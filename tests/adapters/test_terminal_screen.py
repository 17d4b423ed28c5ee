"""Screen: notices and their notifications are written only where Codex's output is at a boundary,
and a notice's line waits while Codex is in the alternate screen."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from supervisor.adapters.terminal import CANCEL, NOTIFY_HOLD_S, RESTORE_SEQUENCES, Screen

ALT_ON, ALT_OFF = b"\x1b[?1049h", b"\x1b[?1049l"
LINE, NOTE = b"codex-fsm: moved", b"\x1b]9;codex-fsm: moved\x07"


class Tty:
    def __init__(self) -> None:
        self.read_fd, self.write_fd = os.pipe()
        os.set_blocking(self.read_fd, False)
        self.screen = Screen(self.write_fd, self.write_fd)

    def written(self) -> bytes:
        try:
            return os.read(self.read_fd, 1 << 16)
        except BlockingIOError:
            return b""

    def close(self) -> None:
        os.close(self.read_fd)
        os.close(self.write_fd)


@pytest.fixture
def tty() -> Iterator[Tty]:
    terminal = Tty()
    yield terminal
    terminal.close()


def test_outside_the_alternate_screen_both_go_out_at_once(tty: Tty) -> None:
    tty.screen.show_output(b"inline codex\r\n")
    tty.written()
    tty.screen.notice(LINE, NOTE, now=100.0)
    assert tty.written() == NOTE + LINE + b"\r\n"


def test_a_notice_after_an_unfinished_line_starts_its_own(tty: Tty) -> None:
    tty.screen.show_output(b"half a line")
    tty.written()
    tty.screen.notice(LINE, b"", now=100.0)
    assert tty.written() == b"\r\n" + LINE + b"\r\n"


@pytest.mark.parametrize("sequence", [b"\x1b[38;5;208m", b"\x1b]0;title\x1b\\", b"\x1b_Gpayload\x1b\\",
                                      "✓".encode()])
def test_inside_a_cut_sequence_the_notification_waits_for_its_end(tty: Tty, sequence: bytes) -> None:
    tty.screen.show_output(ALT_ON)
    for cut in range(1, len(sequence)):
        tty.written()
        tty.screen.show_output(sequence[:cut])
        tty.screen.notice(LINE, NOTE, now=100.0)
        assert tty.written() == sequence[:cut]  # nothing of ours inside Codex's sequence
        tty.screen.show_output(sequence[cut:] + b"rest")
        assert tty.written() == sequence[cut:] + b"rest" + NOTE  # after the chunk that closed it


def test_in_the_alternate_screen_the_line_waits_until_codex_leaves_it(tty: Tty) -> None:
    tty.screen.show_output(ALT_ON + b"frame")
    tty.written()
    tty.screen.notice(LINE, NOTE, now=100.0)
    tty.screen.notice(b"codex-fsm: second", b"", now=101.0)
    assert tty.written() == NOTE
    tty.screen.show_output(b"next frame")
    assert tty.written() == b"next frame"
    tty.screen.show_output(b"bye" + ALT_OFF)
    assert tty.written() == b"bye" + ALT_OFF + b"\r\n" + LINE + b"\r\ncodex-fsm: second\r\n"


def test_the_restore_after_a_stop_releases_the_waiting_lines(tty: Tty) -> None:
    tty.screen.show_output(ALT_ON + b"frame\r\n")
    tty.screen.notice(LINE, b"", now=100.0)
    tty.written()
    tty.screen.restore()
    assert tty.written() == RESTORE_SEQUENCES + LINE + b"\r\n"


def test_a_child_stalled_inside_a_sequence_loses_the_notification_not_the_line(tty: Tty) -> None:
    tty.screen.show_output(b"\x1b[38;5")
    tty.written()
    tty.screen.notice(LINE, NOTE, now=100.0)
    assert tty.screen.next_due() == 100.0 + NOTIFY_HOLD_S
    tty.screen.expire(100.0 + NOTIFY_HOLD_S - 0.01)
    assert tty.screen.next_due() is not None
    tty.screen.expire(100.0 + NOTIFY_HOLD_S)
    assert tty.screen.next_due() is None
    tty.screen.show_output(b";208m")
    assert tty.written() == b";208m\r\n" + LINE + b"\r\n"


def test_a_child_that_died_inside_a_sequence_is_cancelled_before_anything_of_ours(tty: Tty) -> None:
    tty.screen.show_output(ALT_ON + b"\x1b]0;half a tit")
    tty.screen.notice(LINE, NOTE, now=100.0)
    tty.written()
    tty.screen.child_output_ended()
    assert tty.written() == CANCEL + NOTE
    tty.screen.restore()
    assert tty.written() == RESTORE_SEQUENCES + b"\r\n" + LINE + b"\r\n"


def test_a_restore_inside_a_sequence_cancels_it_first(tty: Tty) -> None:
    tty.screen.show_output(b"\x1b[?10")
    tty.written()
    tty.screen.restore()
    assert tty.written() == CANCEL + RESTORE_SEQUENCES


def test_at_a_boundary_nothing_extra_is_written(tty: Tty) -> None:
    tty.screen.show_output(b"\x1b[0m")
    tty.written()
    tty.screen.child_output_ended()
    tty.screen.restore()
    assert tty.written() == RESTORE_SEQUENCES
