"""A terminal for end-to-end tests: a program under a pty (pexpect) rendered by a screen model (pyte).

Every wait is on a condition with a deadline: text on the rendered screen, bytes in the raw stream, or
the process exiting. Nothing sleeps to let the program "settle".
"""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Mapping
from pathlib import Path

import pexpect
import pyte

CURSOR_POSITION_QUERY = b"\x1b[6n"
OSC_7501 = re.compile(rb"\x1b\]7501;state=([a-z]+)")


class TerminalTimeout(AssertionError):
    """A waited-for condition did not hold in time; the message carries the screen."""


class Terminal:
    def __init__(self, argv: list[str], env: Mapping[str, str], cwd: Path, rows: int = 40, cols: int = 120) -> None:
        self.argv = argv
        self.screen = pyte.Screen(cols, rows)
        self._stream = pyte.ByteStream(self.screen)
        self.raw = bytearray()
        self.exit_status: int | None = None
        self.started_at = time.monotonic()
        self.child = pexpect.spawn(argv[0], argv[1:], env=dict(env), cwd=str(cwd), dimensions=(rows, cols),
                                   encoding=None, timeout=None, echo=False)

    @property
    def pid(self) -> int:
        return int(self.child.pid)

    # ---- reading ---------------------------------------------------------------------------------------

    def pump(self, timeout: float) -> bool:
        """Read what arrives within `timeout` seconds (at least one chunk if any); False once the pty closed."""
        try:
            data = self.child.read_nonblocking(65536, timeout=max(timeout, 0.0))
        except pexpect.TIMEOUT:
            return True
        except pexpect.EOF:
            return False
        self.raw += data
        # Codex asks where the cursor is; a real terminal answers, so answer from the screen model.
        for _ in range(data.count(CURSOR_POSITION_QUERY)):
            self.child.write(f"\x1b[{self.screen.cursor.y + 1};{self.screen.cursor.x + 1}R".encode())
        self._stream.feed(data)
        return True

    def screen_text(self) -> str:
        return "\n".join(line.rstrip() for line in self.screen.display)

    def raw_text(self, since: int = 0) -> str:
        return self.raw[since:].decode("utf-8", "replace")

    def mark(self) -> int:
        """An offset into the raw stream, to wait for something that happens after this point."""
        return len(self.raw)

    def osc_states(self, since: int = 0) -> list[str]:
        """Codex's own OSC 7501 state reports (idle, working, done, clear) seen since `since`."""
        return [m.group(1).decode() for m in OSC_7501.finditer(bytes(self.raw[since:]))]

    def wait_for(self, pattern: str, timeout: float = 20.0, *, raw: bool = False, since: int = 0) -> re.Match[str]:
        """Wait until regex `pattern` matches the screen (or the raw stream after offset `since`)."""
        regex = re.compile(pattern, re.S)
        deadline = time.monotonic() + timeout
        while True:
            haystack = self.raw_text(since) if raw else self.screen_text()
            match = regex.search(haystack)
            if match:
                return match
            left = deadline - time.monotonic()
            if left <= 0 or not self.pump(min(left, 0.2)):
                if not raw and (match := regex.search(self.screen_text())):
                    return match
                where = "raw stream" if raw else "screen"
                raise TerminalTimeout(f"{pattern!r} not on the {where} within {timeout}s "
                                      f"(alive={self.child.isalive()}); screen:\n{self.screen_text()}")

    def wait_for_osc(self, state: str, timeout: float = 20.0, *, since: int = 0) -> int:
        """Wait for Codex's OSC 7501 `state` after raw offset `since`; returns the offset just past it."""
        regex = re.compile(rb"\x1b\]7501;state=" + state.encode() + rb"\b")
        deadline = time.monotonic() + timeout
        while not (match := regex.search(self.raw, since)):
            left = deadline - time.monotonic()
            if left <= 0 or not self.pump(min(left, 0.2)):
                raise TerminalTimeout(f"OSC 7501 state={state} not seen within {timeout}s (states since: "
                                      f"{self.osc_states(since)}); screen:\n{self.screen_text()}")
        return match.end()

    def wait_exit(self, timeout: float = 10.0) -> int:
        """Drain output until the program exits; returns its exit status (128+N for signal N)."""
        deadline = time.monotonic() + timeout
        while self.pump(min(max(deadline - time.monotonic(), 0.0), 0.2)):
            if time.monotonic() >= deadline:
                raise TerminalTimeout(f"{self.argv[0]} still running after {timeout}s; screen:\n{self.screen_text()}")
        self.child.wait()
        status = self.child.exitstatus
        self.exit_status = status if status is not None else 128 + int(self.child.signalstatus or 0)
        return self.exit_status

    # ---- writing ---------------------------------------------------------------------------------------

    def send(self, data: str | bytes) -> None:
        self.child.write(data.encode() if isinstance(data, str) else data)

    def submit(self, text: str, timeout: float = 10.0) -> int:
        """Type `text` into Codex's composer, press Enter once it is on screen; returns the raw offset of
        the submit, after which the turn's OSC states appear."""
        self.send(text)
        self.wait_for(re.escape(text), timeout)
        start = self.mark()
        self.send("\r")
        self.wait_for_osc("working", timeout, since=start)
        return start

    def close(self) -> None:
        """Kill the program's whole process group (Codex may have children) and reap it."""
        if self.child.isalive():
            try:
                os.killpg(self.child.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.child.close(force=True)
