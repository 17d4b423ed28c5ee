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


class Screen:
    """The user's terminal as the supervisor writes to it: the child's output, our one-line notices,
    the restore sequences. It remembers whether the cursor is at a line start, so a notice never lands
    in the middle of a line the child left unfinished."""

    def __init__(self, stdout_fd: int, size_fd: int) -> None:
        self._fd = stdout_fd
        self._size_fd = size_fd
        self._at_line_start = True

    def show_output(self, data: bytes) -> None:
        write_all(self._fd, data)
        self._at_line_start = data.endswith(b"\n")

    def show_leftover(self, data: bytes) -> None:
        """What a dead child left in its pty: shown as it was, the line position left to the notices."""
        write_all(self._fd, data)

    def notice(self, line: bytes) -> None:
        lead = b"" if self._at_line_start else b"\r\n"
        write_all(self._fd, lead + line + b"\r\n")
        self._at_line_start = True

    def restore(self) -> None:
        restore(self._fd)

    def size(self) -> tuple[int, int]:
        return window_size(self._size_fd)
