"""codex-fsm's own signals as an event source: handlers only wake the loop (through the wakeup fd).

SIGINT, SIGTERM and SIGHUP become Interrupted events; SIGWINCH resizes the child's pty; SIGCHLD asks
the child watch whether the child has ended. Installed for the ``with`` block, restored on every way out.
"""

from __future__ import annotations

import os
import signal

from ..core import events as ev
from ..ports import ReadOnlySource
from .child_watch import ChildWatch

_HANDLED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGWINCH, signal.SIGCHLD)
_STOP_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM, signal.SIGHUP})


class SignalSource(ReadOnlySource):
    def __init__(self, child: ChildWatch) -> None:
        self._child = child
        self._wake_r = self._wake_w = -1
        self._previous: dict = {}

    def __enter__(self) -> "SignalSource":
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._previous = {number: signal.signal(number, _note_signal) for number in _HANDLED_SIGNALS}
        self._previous["wakeup"] = signal.set_wakeup_fd(self._wake_w, warn_on_full_buffer=False)
        return self

    def __exit__(self, *exc_info: object) -> None:
        signal.set_wakeup_fd(self._previous.pop("wakeup"))
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        os.close(self._wake_r)
        os.close(self._wake_w)
        self._wake_r = self._wake_w = -1

    def fileno(self) -> int | None:
        return self._wake_r if self._wake_r >= 0 else None

    def poll(self, now: float) -> list[ev.Event]:
        try:
            numbers = os.read(self._wake_r, 512)
        except BlockingIOError:
            return []
        events: list[ev.Event] = []
        for number in numbers:
            if number in _STOP_SIGNALS:
                events.append(ev.Interrupted(at=now, signal=number))
            elif number == signal.SIGWINCH:
                self._child.resize()
        if signal.SIGCHLD in numbers:
            events.extend(self._child.check_exit(now))
        return events


def _note_signal(number: int, frame: object) -> None:
    """Signals only wake the loop (through the wakeup fd); the loop turns them into events."""
