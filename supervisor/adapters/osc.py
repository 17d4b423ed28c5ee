"""Codex's own turn signals in the pty stream: ``ESC ] 7501 ; state=<s>[:app=codex] ESC \\``.

The scanner does not care how the stream is chunked: a sequence split across reads (even byte by
byte) is found once. ``TurnSignals`` turns states into core events: ``working`` → TurnStarted,
``done`` → TurnFinished, the first ``idle`` after a spawn → ChildReady. A later ``idle`` is not a
turn end (Codex 0.169 can send a spurious working→idle pair before any prompt). ``clear``
(Codex is exiting) sets ``exiting``.
"""

from __future__ import annotations

from typing import Callable

from ..core import events as ev

MARKER = b"\x1b]7501;"
_ST = b"\x1b\\"
_BEL = b"\x07"
# A state sequence is short; anything longer without a terminator is not one of ours.
_MAX_BODY = 128


class OscScanner:
    def __init__(self) -> None:
        self._carry = b""

    @property
    def pending(self) -> bool:
        """A sequence (or its start) was cut by the last chunk boundary."""
        return bool(self._carry)

    def feed(self, data: bytes) -> list[str]:
        """The states completed by ``data`` (e.g. ``["working"]``), in stream order."""
        if self._carry:
            data = self._carry + data
            self._carry = b""
        states: list[str] = []
        start = data.find(MARKER)
        while start != -1:
            body_start = start + len(MARKER)
            end, width = _terminator(data, body_start)
            nested = data.find(MARKER, body_start, end if end != -1 else len(data))
            if nested != -1:  # an unterminated sequence: the next one starts inside it
                start = nested
                continue
            if end == -1:
                if len(data) - body_start <= _MAX_BODY:
                    self._carry = data[start:]
                    return states
                break
            body = data[body_start:end]
            if body.startswith(b"state="):
                states.append(body[6:].split(b":", 1)[0].decode("ascii", "replace"))
            start = data.find(MARKER, end + width)
        self._carry = _marker_prefix_tail(data)
        return states


def _terminator(data: bytes, offset: int) -> tuple[int, int]:
    st = data.find(_ST, offset)
    bel = data.find(_BEL, offset)
    if bel != -1 and (st == -1 or bel < st):
        return bel, 1
    return (st, 2) if st != -1 else (-1, 0)


def _marker_prefix_tail(data: bytes) -> bytes:
    """The end of ``data`` that could be the start of a marker cut by the chunk boundary."""
    tail = data[-(len(MARKER) - 1):]
    index = tail.rfind(b"\x1b")
    if index == -1:
        return b""
    candidate = tail[index:]
    return candidate if MARKER.startswith(candidate) else b""


class TurnSignals:
    """States → core events for one child; ``reset`` on every spawn."""

    def __init__(self, last_input: Callable[[], float | None]) -> None:
        self._scanner = OscScanner()
        self._last_input = last_input
        self._ready_seen = False
        self.exiting = False

    def reset(self) -> None:
        self._scanner = OscScanner()
        self._ready_seen = False
        self.exiting = False

    def feed(self, data: bytes, at: float) -> list[ev.Event]:
        if MARKER[:1] not in data and not self._scanner.pending:
            return []
        found: list[ev.Event] = []
        for state in self._scanner.feed(data):
            if state == "working":
                found.append(ev.TurnStarted(at=at))
            elif state in ("done", "error"):
                # A failed turn (a usage-limit 429, a stream error) ends with "error" and no "done".
                found.append(ev.TurnFinished(at=at, last_input_at=self._last_input()))
            elif state == "idle" and not self._ready_seen:
                self._ready_seen = True
                found.append(ev.ChildReady(at=at))
            elif state == "clear":
                self.exiting = True  # Codex is leaving: not an event for the core, a fact for the pty
        return found
