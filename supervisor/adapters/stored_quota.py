"""A QuotaPort that answers from the pool's stored snapshot while it is fresh, and only otherwise
asks the real usage probe, which it builds on first use.

Start-up is on the critical path (typing ``codex-fsm`` → Codex spawned): with a fresh snapshot in the
pool no network request and no HTTP library import happen before the child starts. "Fresh" means
young (``fresh_for_s``) and taken after the last reset of its windows.
"""

from __future__ import annotations

import os
from typing import Callable

from ..core import events as ev
from ..core.quota import QuotaSnapshot
from ..ports import QuotaPort

StoredSnapshot = Callable[[str], "QuotaSnapshot | None"]


class StoredFirstQuota:
    def __init__(self, stored: StoredSnapshot, make_probe: Callable[[], QuotaPort], fresh_for_s: float,
                 clock: Callable[[], float]) -> None:
        self._stored = stored
        self._make_probe = make_probe
        self._fresh_for_s = fresh_for_s
        self._clock = clock
        self._probe: QuotaPort | None = None
        self._answers: list[ev.Event] = []
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)

    def request_probe(self, account: str) -> None:
        now = self._clock()
        snapshot = self._stored(account)
        # A snapshot from before a reset (a usage limit that has since ended) says nothing now: probe.
        if snapshot is not None and snapshot.current_at(now, self._fresh_for_s):
            self._answers.append(ev.QuotaProbed(at=now, account=account, snapshot=snapshot))
            os.write(self._wake_w, b"!")
            return
        if self._probe is None:
            self._probe = self._make_probe()
        self._probe.request_probe(account)

    def poll(self) -> list[ev.Event]:
        events: list[ev.Event] = []
        if self._answers:
            try:
                os.read(self._wake_r, 4096)
            except BlockingIOError:
                pass
            events, self._answers = self._answers, []
        if self._probe is not None:
            events.extend(self._probe.poll())
        return events

    def fileno(self) -> int:
        """Our own pipe while answers are queued or no probe exists yet, else the probe's."""
        if self._answers or self._probe is None:
            return self._wake_r
        return self._probe.fileno()

    def close(self) -> None:
        if self._probe is not None:
            self._probe.close()
        os.close(self._wake_r)
        os.close(self._wake_w)
