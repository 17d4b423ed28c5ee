"""The user's stdin as an event source: keys and the terminal's replies go to the child unchanged,
in order; keys (never replies) make the draft and the idle clock; a quit key typed while no child
runs is the QuitKeyPressed event, the user's to decide.
"""

from __future__ import annotations

import os

from ..core import events as ev
from ..ports import ReadOnlySource
from .child_watch import ChildWatch
from .input_tracker import InputTracker
from .terminal_replies import AskedQueries, InputSplitter


class KeyboardSource(ReadOnlySource):
    def __init__(self, stdin_fd: int, child: ChildWatch, keys: InputTracker, asked: AskedQueries) -> None:
        self._fd = stdin_fd
        self._child = child
        self.keys = keys  # the tracker these keys feed (the draft, the idle clock)
        self._splitter = InputSplitter(asked)
        self._open = True

    def fileno(self) -> int | None:
        return self._fd if self._open else None

    def poll(self, now: float) -> list[ev.Event]:
        try:
            data = os.read(self._fd, 65536)
        except OSError:
            data = b""
        if not data:
            self._open = False
            return []
        child_running = self._child.running
        self._child.send_keys(data)
        events: list[ev.Event] = []
        for part in self._splitter.feed(data, now):
            if part.is_reply:
                continue  # not a keystroke: never the draft nor the idle clock; with no child, nobody asked
            # Keys typed while no child runs become the draft; a quit key then is the user's to decide.
            quit_key = self.keys.note(part.data, part.at)
            if quit_key is not None and not child_running:
                events.append(ev.QuitKeyPressed(at=now, key=quit_key))
        return events
