"""The running Codex child as one event source: its output, its session binding, its rollout, its exit.

Output goes to the user's screen unchanged and is scanned for Codex's OSC 7501 turn signals; the
binder learns which session (and rollout file) the child writes; the rollout reader reports the
quota Codex recorded and usage-limit errors; the exit is reaped and reported after every byte the
child left was shown. Each of these is mechanical: it only turns what the child did into events.

Which session the child may be bound to comes from the core, through the spawn it is told to make:
the watch keeps no session id of its own.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from ..core import events as ev
from ..errors import ChildSpawnError, PoolError, RolloutError
from .input_tracker import InputTracker
from .launcher import CodexLauncher, Launch
from .osc import TurnSignals
from .pty_child import SUBMIT_GAP_S
from .terminal import Screen
from .terminal_replies import AskedQueries

if TYPE_CHECKING:
    from .binding import SessionBinder
    from .rollout import RolloutReader

# Polling cadences (not decisions: they only turn files into events). Binding polls back off from
# BIND_POLL_S to BIND_POLL_MAX_S; a turn signal makes the next one immediate. The first polls come
# early: a headless run that hits its limit at once ends about 0.3 s after its spawn, and its open
# files are the exact witness only while it lives.
BIND_POLL_S = 0.05
BIND_POLL_MAX_S = 2.0
ROLLOUT_POLL_S = 0.5
ROLLOUT_RETRY_S = 5.0
_TAIL_BYTES = 4096
# Rollout lines carry milliseconds of the same clock the spawn moment is read from.
_TIMESTAMP_SLACK_S = 0.002
_PASTE_START, _PASTE_END = b"\x1b[200~", b"\x1b[201~"


class _Running:
    """The current child and the watchers that belong to it."""

    def __init__(self, launch: Launch, binder: SessionBinder, now: float) -> None:
        self.child = launch.child
        self.binder = binder
        self.rollout: RolloutReader | None = None
        self.next_bind_at = now
        self.bind_interval = BIND_POLL_S
        self.next_rollout_at = now + ROLLOUT_POLL_S
        self.tail = b""
        self.turn_seen_in_pty = False


class ChildWatch:
    def __init__(self, launcher: CodexLauncher, screen: Screen, asked: AskedQueries, keys: InputTracker,
                 clock: Callable[[], float]) -> None:
        self._launcher = launcher
        self._screen = screen
        self._asked = asked
        self._clock = clock
        self._signals = TurnSignals(lambda: keys.last_input_at)
        self._running: _Running | None = None
        # The session's rollout file: a resumed child appends to the same file, so its reader can
        # start at the end before the child writes anything.
        self._session_rollout: Path | None = None
        self.interrupted_prompt: bytes | None = None

    @property
    def running(self) -> bool:
        return self._running is not None

    @property
    def child_pid(self) -> int | None:
        """The running child's pid (Codex itself: the pty child is the native binary)."""
        return self._running.child.pid if self._running is not None else None

    # -- what the commands ask ------------------------------------------------------------------

    def start(self, account: str, resume_session_id: str | None, expected_session_id: str | None) -> list[ev.Event]:
        """Spawn Codex on ``account`` (``resume <resume_session_id>`` when given). ``expected_session_id``
        is the session the core holds: the only one this child may be bound to. A spawn that fails
        (the binary, the pty, the account home) is the SpawnFailed event, never an exception."""
        spawned_at = self._clock()  # before the spawn: the child's session cannot have started earlier
        try:
            launch = self._launcher.spawn(account, resume_session_id, self._screen.size())
        except (ChildSpawnError, PoolError) as exc:  # PoolError: the account home could not be prepared
            return [ev.SpawnFailed(at=self._clock(), reason=str(exc))]
        # The binder and the rollout reader are imported once the child runs: a start waits for neither.
        from .binding import SessionBinder
        from .rollout import RolloutReader

        now = self._clock()
        binder = SessionBinder(launch.child.pid, (launch.codex_home / "sessions").resolve(),
                               self._launcher.session_cwd, spawned_at, expected_session_id)
        running = _Running(launch, binder, now)
        if resume_session_id is not None and self._session_rollout is not None:
            running.rollout = RolloutReader(self._session_rollout, start_at_end=True)
        self._running = running
        self._signals.reset()
        return [ev.ChildReady(at=now)] if launch.ready_at_spawn else []

    def stop(self, step: str) -> None:
        if self._running is not None:
            self._running.child.stop(step, self._clock())

    def type_in(self, text: bytes, submit: bool = False) -> None:
        """Type ``text`` after whatever is already queued (then Enter, when ``submit``)."""
        running = self._running
        if running is None:
            return
        child = running.child
        now = self._clock()
        start = now if child.last_write_at is None else max(now, child.last_write_at) + SUBMIT_GAP_S
        child.write_at(start, _as_typed(text))
        if submit:
            child.write_at(start + SUBMIT_GAP_S, b"\r")

    def send_keys(self, data: bytes) -> None:
        """The user's keys and the terminal's replies, to the child unchanged, in order."""
        if self._running is not None:
            self._running.child.write(data)

    def resize(self) -> None:
        if self._running is not None:
            self._running.child.resize(self._screen.size())

    # -- the event source -----------------------------------------------------------------------

    def fileno(self) -> int | None:
        running = self._running
        return running.child.fd if running is not None and not running.child.output_closed else None

    def write_fileno(self) -> int | None:
        running = self._running
        return running.child.fd if running is not None and running.child.has_unsent else None

    def next_due(self) -> float | None:
        running = self._running
        held = self._screen.next_due()  # a notification waiting for the output to reach a boundary
        if running is None:
            return held
        moments = [running.child.next_write_at, held]
        if running.rollout is not None:
            moments.append(running.next_rollout_at)
        if not running.binder.complete:
            moments.append(running.next_bind_at)
        present = [m for m in moments if m is not None]
        return min(present) if present else None

    def poll(self, now: float) -> list[ev.Event]:
        self._screen.expire(now)
        running = self._running
        if running is None:
            return []
        events: list[ev.Event] = []
        running.child.flush_unsent()
        self._pump_output(running, now, events)
        if self._running is not running:
            return events
        running.child.flush_due_writes(now)
        if not running.binder.complete and now >= running.next_bind_at:
            self._poll_binding(running, now, events)
        if running.rollout is not None and now >= running.next_rollout_at:
            self._poll_rollout(running, now, events)
        return events

    def check_exit(self, now: float) -> list[ev.Event]:
        """After SIGCHLD: ChildExited (after what the child left) when the child has ended."""
        events: list[ev.Event] = []
        if self._running is not None:
            self._check_exit(self._running, now, events)
        return events

    def abandon(self) -> None:
        """On the way out with a child still running (an error, or it would not die): end it."""
        running = self._running
        if running is None:
            return
        for step in ("terminate", "kill"):
            running.child.stop(step, self._clock())
            if running.child.wait_exit(timeout_s=1.0) is not None:
                break
        self._screen.restore()
        if running.rollout is not None:
            running.rollout.close()
        running.child.close()
        self._running = None

    # -- the watchers ---------------------------------------------------------------------------

    def _pump_output(self, running: _Running, now: float, events: list[ev.Event]) -> None:
        data = running.child.read()
        if data:
            self._screen.show_output(data)
            self._asked.saw_output(data, now)
            running.tail = data[-_TAIL_BYTES:] if len(data) >= _TAIL_BYTES else (running.tail + data)[-_TAIL_BYTES:]
            found = self._signals.feed(data, now)
            if self._signals.exiting:
                running.child.cancel_writes()  # no more Ctrl-C into a Codex that is already leaving
            if found:
                running.turn_seen_in_pty = True
                events.extend(found)
                # A turn boundary is when the child has just touched its files: look now.
                running.next_bind_at = running.next_rollout_at = now
                running.bind_interval = BIND_POLL_S
        if running.child.output_closed:
            self._check_exit(running, now, events)

    def _poll_binding(self, running: _Running, now: float, events: list[ev.Event]) -> None:
        found = running.binder.poll()
        running.next_bind_at = now + running.bind_interval
        running.bind_interval = min(BIND_POLL_MAX_S, running.bind_interval * 2)
        if found is not None:
            self._adopt_binding(running, found.session_id, now, events)

    def _adopt_binding(self, running: _Running, session_id: str, now: float, events: list[ev.Event]) -> None:
        events.append(ev.SessionBound(at=now, session_id=session_id))
        path = running.binder.rollout_path
        if path is not None:
            self._session_rollout = path
        if running.rollout is None and path is not None:
            from .rollout import RolloutReader

            # Found only now: what the child wrote since its spawn is news, what the file held before is
            # an earlier run's (a resumed thread, by the id the core holds or by its name).
            running.rollout = RolloutReader(path, not_before=running.binder.spawned_at - _TIMESTAMP_SLACK_S)
            self._poll_rollout(running, now, events)

    def _poll_rollout(self, running: _Running, now: float, events: list[ev.Event]) -> None:
        running.next_rollout_at = now + ROLLOUT_POLL_S
        assert running.rollout is not None
        try:
            found = running.rollout.poll(now)
        except RolloutError:
            # An unreadable rollout (permissions, a vanished mount) costs the quota watch, never the
            # session: the reader keeps its offset and is tried again later.
            running.next_rollout_at = now + ROLLOUT_RETRY_S
            return
        for event in found:
            # The pty's OSC 7501 states are the prompt, exact signal of a turn; the rollout's copy of
            # the same fact arrives later and could land after the next turn began.
            if running.turn_seen_in_pty and isinstance(event, (ev.TurnStarted, ev.TurnFinished)):
                continue
            events.append(event)

    def _check_exit(self, running: _Running, now: float, events: list[ev.Event]) -> None:
        status = running.child.poll_exit()
        if status is None:
            return
        self._drain_remaining_output(running, now)
        self._screen.child_output_ended()
        found = running.binder.after_exit(running.tail, now)
        if found is not None:
            self._adopt_binding(running, found.session_id, now, events)
        if running.rollout is not None:
            self._poll_rollout(running, now, events)
            prompt = running.rollout.last_prompt
            if prompt:
                self.interrupted_prompt = prompt.encode("utf-8")
            running.rollout.close()
        running.child.close()
        self._running = None
        events.append(ev.ChildExited(at=now, code=status.code, signal=status.signal))

    def _drain_remaining_output(self, running: _Running, now: float) -> None:
        """Copy what the dead child left in the pty before anything else is written."""
        if running.child.fd is None:
            return  # a headless child wrote straight to the user's own descriptors
        while True:
            try:
                data = os.read(running.child.fd, 65536)
            except OSError:
                return
            if not data:
                return
            self._screen.show_leftover(data)
            self._asked.saw_output(data, now)  # a query on the way out is answered after the child left
            running.tail = (running.tail + data)[-_TAIL_BYTES:]


def _as_typed(text: bytes) -> bytes:
    """Multi-line text goes in as a bracketed paste, so its newlines do not submit it."""
    return _PASTE_START + text + _PASTE_END if b"\n" in text else text
