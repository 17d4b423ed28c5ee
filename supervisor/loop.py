"""The thin run loop: events in, the core decides, commands out.

It waits (select) on the child's pty, the user's stdin, the quota port and a self-pipe that signals
write to, with a timeout from the core's next deadline. Everything that happens becomes a core event;
``Session.handle`` picks the chart row; each command of the record is executed by one small method
calling a port or an adapter; every record goes to the transition log. The loop makes no
orchestration decision of its own: when to prewarm, stop, resume or give up is a row in the chart.
An event no row accepts is logged as a rejected record and the loop goes on.
"""

from __future__ import annotations

import os
import select
import signal
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol

from .adapters import terminal
from .adapters.binding import SessionBinder
from .adapters.input_tracker import InputTracker
from .adapters.launcher import CodexLauncher, Launch
from .adapters.osc import TurnSignals
from .adapters.pty_child import SUBMIT_GAP_S
from .adapters.rollout import RolloutReader
from .adapters.status_file import StatusFile
from .adapters.terminal_replies import AskedQueries, InputSplitter
from .core import commands as cmd
from .core import events as ev
from .core.policy import STOP_LADDER
from .core.records import RejectedRecord, TransitionRecord
from .core.session import Session
from .errors import ChildSpawnError, InvalidTransition, PoolError, RolloutError
from .notices import LabelLookup, render
from .ports import PoolPort, QuotaPort

_HANDLED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGWINCH, signal.SIGCHLD)
_STOP_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM, signal.SIGHUP})
# Polling cadences of the mechanical watchers (not decisions: they only turn files into events).
# Binding polls back off from BIND_POLL_S to BIND_POLL_MAX_S; a turn signal makes the next one immediate.
BIND_POLL_S = 0.2
BIND_POLL_MAX_S = 2.0
ROLLOUT_POLL_S = 0.5
ROLLOUT_RETRY_S = 5.0
# After the pool could not be read or locked, ask again this much later.
POOL_RETRY_S = 30.0
_TAIL_BYTES = 4096
# Typed after a usage-limit rotation instead of the interrupted prompt: the resumed thread's history
# already holds that user message, so re-typing it would show the model the user's words twice.
CONTINUATION_PROMPT = "Please continue where you left off."
_PASTE_START, _PASTE_END = b"\x1b[200~", b"\x1b[201~"


class TransitionSink(Protocol):
    def append(self, record: TransitionRecord | RejectedRecord) -> None: ...


@dataclass
class LoopPorts:
    pool: PoolPort
    quota: QuotaPort
    log: TransitionSink
    launcher: CodexLauncher
    clock: Callable[[], float]
    label_of: LabelLookup
    status: StatusFile | None = None
    heartbeat_s: float = 10.0


class _Running:
    """The current child and the watchers that belong to it."""

    def __init__(self, launch: Launch, binder: SessionBinder, now: float) -> None:
        self.launch = launch
        self.child = launch.child
        self.binder = binder
        self.rollout: RolloutReader | None = None
        self.next_bind_at = now
        self.bind_interval = BIND_POLL_S
        self.next_rollout_at = now + ROLLOUT_POLL_S
        self.tail = b""
        self.turn_seen_in_pty = False


class SupervisorLoop:
    def __init__(self, session: Session, ports: LoopPorts, resume_session_id: str | None,
                 stdin_fd: int = 0, stdout_fd: int = 1) -> None:
        self.session = session
        self.ports = ports
        self._resume_id = resume_session_id
        self._stdin = stdin_fd
        self._stdout = stdout_fd
        self._stdin_open = True
        self._queue: deque[ev.Event] = deque()
        self._input = InputTracker()
        self._asked = AskedQueries()
        self._keyboard = InputSplitter(self._asked)
        self._signals = TurnSignals(lambda: self._input.last_input_at)
        self._running: _Running | None = None
        self._interrupted_prompt: bytes | None = None
        # The session's rollout file: a resumed child appends to the same file, so its reader can
        # start at the end before the child writes anything.
        self._rollout_path: Path | None = None
        self._exit_status: int | None = None
        self._next_heartbeat = 0.0
        self._ticked_deadline: float | None = None
        self._at_line_start = True
        self._wake_r = self._wake_w = -1
        self._handlers: dict[type, Callable[[object, float], None]] = {
            cmd.LeaseCandidate: self._lease, cmd.ProbeQuota: self._probe,
            cmd.ProbeUnknownAccounts: self._probe_unknown, cmd.ReleaseAccount: self._release,
            cmd.CoolDown: self._cool_down, cmd.RecordQuota: self._record_quota, cmd.SpawnChild: self._spawn,
            cmd.StopChild: self._stop, cmd.RestoreTerminal: self._restore_terminal,
            cmd.RetypeDraft: self._retype_draft, cmd.ResubmitPrompt: self._resubmit,
            cmd.Notify: self._notify, cmd.Exit: self._exit,
        }

    # -- the loop ------------------------------------------------------------------------------

    def run(self) -> int:
        """Supervise until the chart reaches a final state; returns codex-fsm's exit status."""
        previous = self._install_signals()
        raw = terminal.RawMode(self._stdin) if os.isatty(self._stdin) else None
        try:
            if raw is not None:
                raw.__enter__()
            now = self.ports.clock()
            self._next_heartbeat = now + self.ports.heartbeat_s
            self._queue.append(ev.SessionStarted(at=now, session_id=self._resume_id))
            while True:
                self._dispatch_queue()
                if self.session.finished:
                    break
                self._wait()
        finally:
            self._abandon_child()
            if raw is not None:
                raw.__exit__(None, None, None)
            self._restore_signals(previous)
            self.ports.pool.close(self.ports.clock())
            self.ports.quota.close()
            if self.ports.status is not None:
                self.ports.status.remove()
        if self._exit_status is not None:
            return self._exit_status
        return self.session.exit_status if self.session.exit_status is not None else 1

    def _dispatch_queue(self) -> None:
        while self._queue and not self.session.finished:
            event = self._queue.popleft()
            try:
                record = self.session.handle(event)
            except InvalidTransition as rejected:
                self.ports.log.append(rejected.record)
                continue
            self.ports.log.append(record)
            for command in record.commands:
                self._handlers[type(command)](command, event.at)
            self._publish_status(event.at)

    def _wait(self) -> None:
        now = self.ports.clock()
        timeout = self._timeout(now)
        quota_fd = self.ports.quota.fileno()
        readable = [self._wake_r, quota_fd]
        running = self._running
        if running is not None and not running.child.output_closed:
            readable.append(running.child.fd)
        if self._stdin_open:
            readable.append(self._stdin)
        writable = [running.child.fd] if running is not None and running.child.has_unsent else []
        try:
            ready, can_write, _ = select.select(readable, writable, [], timeout)
        except InterruptedError:
            ready, can_write = [], []
        now = self.ports.clock()
        if running is not None and self._running is running and running.child.fd in can_write:
            running.child.flush_unsent()
        if self._wake_r in ready:
            self._on_signals(os.read(self._wake_r, 512), now)
        if running is not None and self._running is running and running.child.fd in ready:
            self._pump_output(running, now)
        if self._stdin in ready:
            self._pump_input(now)
        if quota_fd in ready:
            self._queue.extend(self.ports.quota.poll())
        self._run_watchers(now)
        deadline = self._pending_deadline()
        if deadline is not None and now >= deadline:
            self._ticked_deadline = deadline
            self._queue.append(ev.Tick(at=now, last_input_at=self._input.last_input_at))

    def _pending_deadline(self) -> float | None:
        """The core's next deadline, unless a tick for that very moment was already sent: a row that
        leaves its deadline in place must not make the loop spin."""
        deadline = self.session.next_deadline()
        return None if deadline == self._ticked_deadline else deadline

    def _timeout(self, now: float) -> float | None:
        moments = [self._pending_deadline(), self._next_heartbeat]
        running = self._running
        if running is not None:
            moments.append(running.child.next_write_at)
            if running.rollout is not None:
                moments.append(running.next_rollout_at)
            if not running.binder.complete:
                moments.append(running.next_bind_at)
        present = [m for m in moments if m is not None]
        return max(0.0, min(present) - now) if present else None

    # -- inputs --------------------------------------------------------------------------------

    def _on_signals(self, numbers: bytes, now: float) -> None:
        for number in numbers:
            if number in _STOP_SIGNALS:
                self._queue.append(ev.Interrupted(at=now, signal=number))
            elif number == signal.SIGWINCH and self._running is not None:
                self._running.child.resize(self._size())
        if self._running is not None and signal.SIGCHLD in numbers:
            self._check_exit(self._running, now)

    def _pump_output(self, running: _Running, now: float) -> None:
        data = running.child.read()
        if data:
            terminal.write_all(self._stdout, data)
            self._asked.saw_output(data, now)
            self._at_line_start = data.endswith(b"\n")
            running.tail = data[-_TAIL_BYTES:] if len(data) >= _TAIL_BYTES else (running.tail + data)[-_TAIL_BYTES:]
            found = self._signals.feed(data, now)
            if self._signals.exiting:
                running.child.cancel_writes()  # no more Ctrl-C into a Codex that is already leaving
            if found:
                running.turn_seen_in_pty = True
                self._queue.extend(found)
                # A turn boundary is when the child has just touched its files: look now.
                running.next_bind_at = running.next_rollout_at = now
                running.bind_interval = BIND_POLL_S
        if running.child.output_closed:
            self._check_exit(running, now)

    def _pump_input(self, now: float) -> None:
        try:
            data = os.read(self._stdin, 65536)
        except OSError:
            data = b""
        if not data:
            self._stdin_open = False
            return
        running = self._running
        if running is not None:
            # Keys and the terminal's replies to the child's queries go to it unchanged, in order.
            running.child.write(data)
        for part in self._keyboard.feed(data, now):
            if part.is_reply:
                continue  # not a keystroke: never the draft nor the idle clock; with no child, nobody asked
            # Keys typed while no child runs become the draft; a quit key then is the user's to decide.
            quit_key = self._input.note(part.data, part.at)
            if quit_key is not None and running is None:
                self._queue.append(ev.QuitKeyPressed(at=now, key=quit_key))

    def _run_watchers(self, now: float) -> None:
        running = self._running
        if running is not None:
            running.child.flush_due_writes(now)
            if not running.binder.complete and now >= running.next_bind_at:
                self._poll_binding(running, now)
            if running.rollout is not None and now >= running.next_rollout_at:
                self._poll_rollout(running, now)
        if now >= self._next_heartbeat:
            self._next_heartbeat = now + self.ports.heartbeat_s
            self._queue.extend(self._pool_bookkeeping(self.ports.pool.heartbeat, now) or [])

    def _poll_binding(self, running: _Running, now: float) -> None:
        found = running.binder.poll()
        running.next_bind_at = now + running.bind_interval
        running.bind_interval = min(BIND_POLL_MAX_S, running.bind_interval * 2)
        if found is not None:
            self._adopt_binding(running, now)

    def _adopt_binding(self, running: _Running, now: float) -> None:
        self._queue.append(ev.SessionBound(at=now, session_id=running.binder.session_id or ""))
        if running.binder.rollout_path is not None:
            self._rollout_path = running.binder.rollout_path
        if running.rollout is None and running.binder.rollout_path is not None:
            running.rollout = RolloutReader(running.binder.rollout_path, start_at_end=running.launch.resumed)
            self._poll_rollout(running, now)

    def _poll_rollout(self, running: _Running, now: float) -> None:
        running.next_rollout_at = now + ROLLOUT_POLL_S
        assert running.rollout is not None
        try:
            events = running.rollout.poll(now)
        except RolloutError:
            # An unreadable rollout (permissions, a vanished mount) costs the quota watch, never the
            # session: the reader keeps its offset and is tried again later.
            running.next_rollout_at = now + ROLLOUT_RETRY_S
            return
        for event in events:
            # The pty's OSC 7501 states are the prompt, exact signal of a turn; the rollout's copy of
            # the same fact arrives later and could land after the next turn began.
            if running.turn_seen_in_pty and isinstance(event, (ev.TurnStarted, ev.TurnFinished)):
                continue
            self._queue.append(event)

    def _check_exit(self, running: _Running, now: float) -> None:
        status = running.child.poll_exit()
        if status is None:
            return
        self._drain_remaining_output(running, now)
        if running.binder.after_exit(running.tail, now) is not None:
            self._adopt_binding(running, now)
        if running.rollout is not None:
            self._poll_rollout(running, now)
            prompt = running.rollout.last_prompt
            if prompt:
                self._interrupted_prompt = prompt.encode("utf-8")
            running.rollout.close()
        running.child.close()
        self._running = None
        self._queue.append(ev.ChildExited(at=now, code=status.code, signal=status.signal))

    def _drain_remaining_output(self, running: _Running, now: float) -> None:
        """Copy what the dead child left in the pty before anything else is written."""
        while True:
            try:
                data = os.read(running.child.fd, 65536)
            except OSError:
                return
            if not data:
                return
            terminal.write_all(self._stdout, data)
            self._asked.saw_output(data, now)  # a query on the way out is answered after the child left
            running.tail = (running.tail + data)[-_TAIL_BYTES:]

    # -- commands ------------------------------------------------------------------------------

    def _lease(self, command: cmd.LeaseCandidate, at: float) -> None:
        now = self.ports.clock()
        try:
            answer = self.ports.pool.lease_candidate(command.purpose, command.exclude, now)
        except PoolError as exc:
            # A pool that cannot be read or locked now leases nothing now: the same fact as an exhausted
            # pool, so the chart's rows wait (bounded) or retry the successor search later.
            answer = ev.PoolExhausted(at=now, soonest_reset_at=now + POOL_RETRY_S,
                                      reason=f"the pool is unavailable: {exc}")
        self._queue.append(answer)

    def _probe(self, command: cmd.ProbeQuota, at: float) -> None:
        self.ports.quota.request_probe(command.account)

    def _probe_unknown(self, command: cmd.ProbeUnknownAccounts, at: float) -> None:
        accounts = self._pool_bookkeeping(self.ports.pool.never_probed, command.limit, command.exclude,
                                          self.ports.clock())
        for account in accounts or []:
            self.ports.quota.request_probe(account)

    def _release(self, command: cmd.ReleaseAccount, at: float) -> None:
        self._pool_bookkeeping(self.ports.pool.release, command.account, at)

    def _cool_down(self, command: cmd.CoolDown, at: float) -> None:
        self._pool_bookkeeping(self.ports.pool.cool_down, command.account, command.until, command.reason, at)

    def _record_quota(self, command: cmd.RecordQuota, at: float) -> None:
        self._pool_bookkeeping(self.ports.pool.record_quota, command.account, command.snapshot, at)

    @staticmethod
    def _pool_bookkeeping(call: Callable, *args: object) -> object:
        """A pool write that fails (lock timeout, unreadable file) must not take the user's Codex with it.

        What is lost is bookkeeping: a lease not renewed expires and comes back as lease_lost, a lease
        not released expires, a cooldown or a snapshot is written again at the next chance.
        """
        try:
            return call(*args)
        except PoolError:
            return None

    def _spawn(self, command: cmd.SpawnChild, at: float) -> None:
        try:
            launch = self.ports.launcher.spawn(command.account, command.resume_session_id, self._size())
        except (ChildSpawnError, PoolError) as exc:  # PoolError: the account home could not be prepared
            self._queue.append(ev.SpawnFailed(at=self.ports.clock(), reason=str(exc)))
            return
        now = self.ports.clock()
        known = command.resume_session_id or self.ports.launcher.invocation.resume_id
        binder = SessionBinder(launch.child.pid, (launch.codex_home / "sessions").resolve(),
                               self.ports.launcher.session_cwd, now, known)
        self._running = _Running(launch, binder, now)
        if command.resume_session_id is not None and self._rollout_path is not None:
            self._running.rollout = RolloutReader(self._rollout_path, start_at_end=True)
        self._signals.reset()

    def _stop(self, command: cmd.StopChild, at: float) -> None:
        running = self._running
        if running is None:
            return
        if command.step == STOP_LADDER[0]:
            self._input.remember_draft()  # what follows (keys into a leaving Codex) cannot spoil it
        now = self.ports.clock()
        running.child.stop(command.step, now)

    def _restore_terminal(self, command: cmd.RestoreTerminal, at: float) -> None:
        terminal.restore(self._stdout)

    def _retype_draft(self, command: cmd.RetypeDraft, at: float) -> None:
        draft = self._input.take_draft()
        if draft and self._running is not None:
            self._running.child.write_at(self._after_queued_writes(), _as_typed(draft))

    def _resubmit(self, command: cmd.ResubmitPrompt, at: float) -> None:
        interrupted = self._input.last_prompt() or self._interrupted_prompt
        running = self._running
        if not interrupted or running is None:
            return
        start = self._after_queued_writes()
        running.child.write_at(start, _as_typed(CONTINUATION_PROMPT.encode("utf-8")))
        running.child.write_at(start + SUBMIT_GAP_S, b"\r")

    def _after_queued_writes(self) -> float:
        now = self.ports.clock()
        if self._running is None or self._running.child.last_write_at is None:
            return now
        return max(now, self._running.child.last_write_at) + SUBMIT_GAP_S

    def _notify(self, command: cmd.Notify, at: float) -> None:
        line = render(command, self.ports.label_of).encode("utf-8", "replace")
        lead = b"" if self._at_line_start else b"\r\n"
        terminal.write_all(self._stdout, lead + line + b"\r\n")
        self._at_line_start = True

    def _exit(self, command: cmd.Exit, at: float) -> None:
        self._exit_status = command.status

    # -- plumbing ------------------------------------------------------------------------------

    def _size(self) -> tuple[int, int]:
        fd = self._stdin if os.isatty(self._stdin) else self._stdout
        return terminal.window_size(fd)

    def _publish_status(self, now: float) -> None:
        status = self.ports.status
        if status is None:
            return
        account = self.session.context.account
        try:
            status.update(self.session.state, self.ports.label_of(account) if account else None,
                          self.session.context.session_id, now)
        except (OSError, PoolError):
            pass  # `codex-fsm status` loses this session's line; the session itself goes on

    def _install_signals(self) -> dict:
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        previous = {number: signal.signal(number, _note_signal) for number in _HANDLED_SIGNALS}
        previous["wakeup"] = signal.set_wakeup_fd(self._wake_w, warn_on_full_buffer=False)
        return previous

    def _restore_signals(self, previous: dict) -> None:
        signal.set_wakeup_fd(previous.pop("wakeup"))
        for number, handler in previous.items():
            signal.signal(number, handler)
        os.close(self._wake_r)
        os.close(self._wake_w)

    def _abandon_child(self) -> None:
        """On the way out with a child still running (an error, or it would not die): end it."""
        running = self._running
        if running is None:
            return
        for step in ("terminate", "kill"):
            running.child.stop(step, self.ports.clock())
            if running.child.wait_exit(timeout_s=1.0) is not None:
                break
        terminal.restore(self._stdout)
        if running.rollout is not None:
            running.rollout.close()
        running.child.close()
        self._running = None


def _note_signal(number: int, frame: object) -> None:
    """Signals only wake the loop (through the wakeup fd); the loop turns them into events."""


def _as_typed(text: bytes) -> bytes:
    """Multi-line text goes in as a bracketed paste, so its newlines do not submit it."""
    return _PASTE_START + text + _PASTE_END if b"\n" in text else text

