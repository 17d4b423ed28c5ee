"""A terminal that a script drives: a program under a pty (pexpect) rendered by a screen model (pyte).

It answers the program's queries (cursor position, device attributes, colours, modes, kitty keyboard flags)
as a real terminal does, so the real Codex runs under it as under xterm. ``codex-fsm demo --auto``, the
end-to-end tests and the benchmarks all drive Codex through this one class.

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
from typing import BinaryIO

import pexpect
import pyte

from ..errors import CodexFsmError

# The control sequences a terminal acts on beyond drawing: CSI (queries, modes, kitty keyboard flags) and OSC
# colour queries. Anything longer than _QUERY_TAIL bytes is none of these.
CONTROL = re.compile(rb"\x1b\[(?P<lead>[?>=<]?)(?P<params>[0-9;]*)(?P<dollar>\$?)(?P<final>[a-zA-Z])"
                     rb"|\x1b\](?P<osc>1[0-2]|4;[0-9]+);\?(?P<st>\x07|\x1b\\)")
_QUERY_TAIL = 32
# What this terminal says it is, as xterm 390 with a dark background would.
DEVICE_ATTRIBUTES = b"\x1b[?62;22c"
SECONDARY_DEVICE_ATTRIBUTES = b"\x1b[>41;390;0c"
VERSION = b"\x1bP>|xterm(390)\x1b\\"
COLOURS = {"10": "c7c7/c7c7/c7c7", "11": "1e1e/1e1e/1e1e", "12": "ffff/ffff/ffff"}
PALETTE_COLOUR = "8080/8080/8080"
OSC_7501 = re.compile(rb"\x1b\]7501;state=([a-z]+)")
# Desktop notifications (OSC 9, OSC 777 notify). xterm acts on neither: the screen model draws nothing for
# them (pyte skips OSC strings it does not know, as xterm does), and they are only recorded.
NOTIFICATION = re.compile(rb"\x1b\](?:9|777;notify;[^;\x07\x1b]*);(?P<text>[^\x07\x1b]*)(?:\x07|\x1b\\)")


class TerminalTimeout(CodexFsmError):
    """A waited-for condition did not hold in time; the message carries the screen (a CodexFsmError, so
    that the demo reports it as a message rather than a traceback)."""


class Terminal:
    def __init__(self, argv: list[str], env: Mapping[str, str], cwd: Path, rows: int = 40, cols: int = 120,
                 *, echo: BinaryIO | None = None) -> None:
        """`echo`, when given, receives every byte the program prints (the demo shows the session on the
        user's own terminal while this one answers the queries)."""
        self.argv = argv
        self.echo = echo
        self.screen = pyte.Screen(cols, rows)
        self._stream = pyte.ByteStream(self.screen)
        self.raw = bytearray()
        self.queries: list[bytes] = []  # every query the program sent, in order
        self.replies = bytearray()  # everything this terminal answered
        self._tail = b""  # the end of the output that may be a query cut by a read
        self._modes: dict[tuple[bool, int], bool] = {}  # (DEC private?, mode) -> set
        self._kitty_flags: list[int] = [0]
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
        self._render(data)
        if self.echo is not None:
            self.echo.write(data)
            self.echo.flush()
        return True

    def _render(self, data: bytes) -> None:
        """Draw `data` and answer its queries as a real terminal does: each at the point it is read."""
        buffer = self._tail + data
        drawn = len(self._tail)
        handled = 0
        for match in CONTROL.finditer(buffer):
            if match.end() <= drawn:
                continue
            self._stream.feed(buffer[drawn:match.end()])
            drawn = handled = match.end()
            self._act(match)
        self._stream.feed(buffer[drawn:])
        self._tail = buffer[max(handled, len(buffer) - _QUERY_TAIL):]

    def _act(self, match: re.Match[bytes]) -> None:
        if match.group("osc") is not None:
            self.queries.append(match.group(0))
            name = match.group("osc").decode()
            colour = COLOURS.get(name, PALETTE_COLOUR)
            self._reply(f"\x1b]{name};rgb:{colour}".encode() + match.group("st"))
            return
        lead, final, dollar = match.group("lead"), match.group("final"), match.group("dollar")
        params = [int(p) for p in match.group("params").split(b";") if p]
        if final in (b"h", b"l") and lead in (b"", b"?"):
            for mode in params:
                self._modes[(lead == b"?", mode)] = final == b"h"
            return
        if final == b"u" and lead in (b">", b"<", b"="):  # kitty keyboard: push, pop, set
            if lead == b">":
                self._kitty_flags.append(params[0] if params else 0)
            elif lead == b"<":
                for _ in range(params[0] if params else 1):
                    if len(self._kitty_flags) > 1:
                        self._kitty_flags.pop()
            else:
                self._kitty_flags[-1] = params[0] if params else 0
            return
        answer = self._answer(lead, params, dollar, final)
        if answer is not None:
            self.queries.append(match.group(0))
            self._reply(answer)

    def _answer(self, lead: bytes, params: list[int], dollar: bytes, final: bytes) -> bytes | None:
        row, col = self.screen.cursor.y + 1, self.screen.cursor.x + 1
        first = params[0] if params else 0
        if final == b"n" and not lead and first == 6:
            return f"\x1b[{row};{col}R".encode()
        if final == b"n" and lead == b"?" and first == 6:
            return f"\x1b[?{row};{col}R".encode()
        if final == b"n" and not lead and first == 5:
            return b"\x1b[0n"
        if final == b"c" and not lead and first == 0:
            return DEVICE_ATTRIBUTES
        if final == b"c" and lead == b">" and first == 0:
            return SECONDARY_DEVICE_ATTRIBUTES
        if final == b"u" and lead == b"?":
            return f"\x1b[?{self._kitty_flags[-1]}u".encode()
        if final == b"q" and lead == b">" and first == 0:
            return VERSION
        if final == b"p" and dollar and lead in (b"", b"?") and params:
            state = 1 if self._modes.get((lead == b"?", first)) else 2
            return f"\x1b[{lead.decode()}{first};{state}$y".encode()
        return None

    def _reply(self, answer: bytes) -> None:
        self.replies += answer
        self.child.write(answer)

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

    def notifications(self, since: int = 0) -> list[tuple[int, str]]:
        """The desktop notifications (OSC 9, OSC 777) seen since `since`: (raw offset, text)."""
        return [(m.start(), m.group("text").decode("utf-8", "replace"))
                for m in NOTIFICATION.finditer(bytes(self.raw), since)]

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

    def submit(self, text: str, timeout: float = 10.0, *, paste_gap: float = 0.0) -> int:
        """Type `text` into Codex's composer, press Enter once it is on screen; returns the raw offset of
        the submit, after which the turn's OSC states appear. Codex takes an Enter that follows typed text
        too closely for part of a paste; `paste_gap` seconds between them rule that out (not
        synchronisation: the text is already on screen)."""
        self.send(text)
        self.wait_for(re.escape(text), timeout)
        if paste_gap > 0:
            time.sleep(paste_gap)
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
