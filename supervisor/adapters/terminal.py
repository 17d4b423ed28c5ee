"""The user's terminal: raw mode for the passthrough, its size, and the restore sequences.

A Codex that is stopped by a signal never undoes the modes it set (openai/codex#19553, #31865):
kitty keyboard enhancement, modifyOtherKeys, bracketed paste, a hidden cursor, the alternate screen.
After every stop the supervisor writes the undo sequences before anything else is shown.
"""

from __future__ import annotations

import fcntl
import os
import struct
import termios
import tty

from ..errors import TerminalError
from .escape_state import EscapeState

RESTORE_SEQUENCES: bytes = b"".join((
    b"\x1b[<u",  # pop the kitty keyboard enhancement flags
    b"\x1b[>4;0m",  # modifyOtherKeys off
    b"\x1b[?2004l",  # bracketed paste off
    b"\x1b[?25h",  # cursor visible
    b"\x1b[?1049l",  # leave the alternate screen
))
DEFAULT_SIZE = (24, 80)


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except InterruptedError:
            continue
        except BlockingIOError:
            import select

            select.select([], [fd], [])
            continue
        view = view[written:]


def restore(fd: int) -> None:
    write_all(fd, RESTORE_SEQUENCES)


def window_size(fd: int) -> tuple[int, int]:
    """(rows, cols) of the terminal on ``fd``; a sane default when it reports none."""
    try:
        rows, cols, _, _ = struct.unpack("HHHH", fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8))
    except OSError:
        return DEFAULT_SIZE
    return (rows or DEFAULT_SIZE[0], cols or DEFAULT_SIZE[1])


class RawMode:
    """Raw mode on ``fd`` for the ``with`` block, restored on every way out (including exceptions).

    Restoring uses TCSADRAIN, not TCSAFLUSH: keys the user typed ahead are not thrown away.
    """

    def __init__(self, fd: int) -> None:
        if not os.isatty(fd):
            raise TerminalError(f"stdin (fd {fd}) is not a terminal; interactive Codex needs one "
                                "(non-interactive commands such as `codex-fsm exec` work without)")
        self._fd = fd
        self._saved: list | None = None

    def __enter__(self) -> "RawMode":
        self._saved = termios.tcgetattr(self._fd)
        tty.setraw(self._fd, termios.TCSANOW)
        return self

    def restore(self) -> None:
        if self._saved is not None:
            termios.tcsetattr(self._fd, termios.TCSADRAIN, self._saved)

    def __exit__(self, *exc_info: object) -> None:
        self.restore()
        self._saved = None


# How long a notification waits for Codex's output to reach a boundary. Codex writes each frame in one
# go, so a sequence cut by a read is completed within milliseconds; a child that stays inside one this
# long has stalled, and its notification is dropped rather than written into its sequence (the notice
# line is still shown at the next boundary).
NOTIFY_HOLD_S = 2.0
# CAN: ends whatever sequence the terminal is parsing, and does nothing at ground. Written only after the
# child's output has ended inside a sequence that will never be finished.
CANCEL = b"\x18"


class Screen:
    """The user's terminal as the supervisor writes to it: the child's output, our one-line notices
    with their terminal notifications, the restore sequences.

    It follows the child's output (``EscapeState``) and writes its own bytes only where that stream
    is at a boundary, never inside one of Codex's escape sequences or characters. It remembers whether
    the cursor is at a line start, so a notice never lands in the middle of a line the child left
    unfinished.

    While Codex is in the alternate screen, a notice's line is kept and written once Codex leaves it
    (its exit, or the restore after a stop): a line written into the alternate screen is painted over
    by Codex's next frame, and its line feed can scroll Codex's screen under Codex's own drawing. Written
    after, the line stays in the normal screen where the user sees it, in order. The notification goes
    out at once (at the next boundary): it is what the user sees during the session.
    """

    def __init__(self, stdout_fd: int, size_fd: int) -> None:
        self._fd = stdout_fd
        self._size_fd = size_fd
        self._at_line_start = True
        self._stream = EscapeState()
        self._held_notifications: list[tuple[bytes, float]] = []  # (bytes, drop after this moment)
        self._held_lines: list[bytes] = []  # waiting for a boundary
        self._lines_after_alternate: list[bytes] = []  # waiting for Codex to leave the alternate screen

    def show_output(self, data: bytes) -> None:
        write_all(self._fd, data)
        self._at_line_start = data.endswith(b"\n")
        self._stream.feed(data)
        self._release()

    def show_leftover(self, data: bytes) -> None:
        """What a dead child left in its pty: shown as it was, the line position left to the notices."""
        write_all(self._fd, data)
        self._stream.feed(data)
        self._release()

    def notice(self, line: bytes, notification: bytes = b"", now: float = 0.0) -> None:
        """``line`` for the screen and ``notification`` (terminal notification bytes, may be empty),
        each written as soon as the child's output allows (see the class)."""
        if notification:
            self._held_notifications.append((notification, now + NOTIFY_HOLD_S))
        self._held_lines.append(line)
        self._release()

    def child_output_ended(self) -> None:
        """The child is gone and so is the rest of its output: a sequence it left open is ended (CAN),
        so that the terminal does not swallow what codex-fsm writes next."""
        if not self._stream.at_boundary:
            write_all(self._fd, CANCEL)
            self._stream.reset()
        self._release()

    def next_due(self) -> float | None:
        """When the oldest held notification is dropped, if one waits."""
        return min((due for _, due in self._held_notifications), default=None)

    def expire(self, now: float) -> None:
        self._held_notifications = [(data, due) for data, due in self._held_notifications if due > now]

    def restore(self) -> None:
        if not self._stream.at_boundary:  # a stopped child's half sequence would swallow the restore
            write_all(self._fd, CANCEL)
            self._stream.reset()
        restore(self._fd)
        self._stream.feed(RESTORE_SEQUENCES)
        self._release()

    def size(self) -> tuple[int, int]:
        return window_size(self._size_fd)

    def _release(self) -> None:
        if not self._stream.at_boundary or not (self._held_notifications or self._held_lines
                                                or self._lines_after_alternate):
            return
        out = bytearray()
        for data, _ in self._held_notifications:
            out += data
        self._held_notifications.clear()
        self._lines_after_alternate += self._held_lines
        self._held_lines = []
        if not self._stream.alternate_screen:
            for line in self._lines_after_alternate:
                out += (b"" if self._at_line_start else b"\r\n") + line + b"\r\n"
                self._at_line_start = True
            self._lines_after_alternate.clear()
        if out:
            write_all(self._fd, bytes(out))
