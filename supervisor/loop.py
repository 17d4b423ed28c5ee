"""The thin run loop: it only connects the event sources, the core and the command executor.

Wait (select) on the sources' descriptors until the earliest of their moments and the core's next
deadline; poll every source that is ready or due; hand each event to ``Session.handle``; log the
record; execute its commands; feed the events they answer back in, ahead of the events still
waiting. A reached deadline is a Tick.
The loop makes no orchestration decision of its own: when to prewarm, stop, resume or give up is a
row in the chart. An event no row accepts is logged as a rejected record and the loop goes on.
"""

from __future__ import annotations

import select
from collections import deque
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass, field
from typing import Callable, Protocol, Sequence

from .command_executor import CommandExecutor
from .core import events as ev
from .core.context import SessionContext
from .core.records import RejectedRecord, TransitionRecord
from .core.session import Session
from .errors import InvalidTransition
from .ports import EventSource


class TransitionSink(Protocol):
    def append(self, record: TransitionRecord | RejectedRecord) -> None: ...


class StatusSink(Protocol):
    def publish(self, state: str, context: SessionContext, now: float) -> None: ...


@dataclass
class LoopWiring:
    """What the composition root hands the loop: built once, connected here."""

    sources: Sequence[EventSource]
    executor: CommandExecutor
    log: TransitionSink
    clock: Callable[[], float]
    # The first event, stamped with the moment the loop starts (SessionStarted).
    start: Callable[[float], ev.Event]
    # When the user last typed: every Tick carries it, so the core can tell whether they are idle.
    last_input_at: Callable[[], float | None]
    status: StatusSink | None = None
    # Entered in order for the run, left in reverse on every way out (signals, raw mode, the child...).
    lifetimes: Sequence[AbstractContextManager] = field(default_factory=tuple)


class SupervisorLoop:
    def __init__(self, session: Session, wiring: LoopWiring) -> None:
        self.session = session
        self._wiring = wiring
        self._queue: deque[ev.Event] = deque()
        self._ticked_deadline: float | None = None

    def run(self) -> int:
        """Supervise until the chart reaches a final state; returns codex-fsm's exit status."""
        wiring = self._wiring
        with ExitStack() as stack:
            for lifetime in wiring.lifetimes:
                stack.enter_context(lifetime)
            self._queue.append(wiring.start(wiring.clock()))
            while True:
                self._dispatch_queue()
                if self.session.finished:
                    break
                self._queue.extend(self._wait())
        if wiring.executor.exit_status is not None:
            return wiring.executor.exit_status
        return self.session.exit_status if self.session.exit_status is not None else 1

    def _dispatch_queue(self) -> None:
        wiring = self._wiring
        while self._queue and not self.session.finished:
            event = self._queue.popleft()
            try:
                record = self.session.handle(event)
            except InvalidTransition as rejected:
                wiring.log.append(rejected.record)
                continue
            wiring.log.append(record)
            answers: list[ev.Event] = []
            for command in record.commands:
                answers.extend(wiring.executor.execute(command, event.at))
            # What the commands answer belongs to the state that asked: it is handled before the events
            # already waiting. One poll can bring several (a headless Codex's usage limit and its exit),
            # and the answer to a successor search must not reach the state the exit leads to, where it
            # would read as "no account for the session".
            self._queue.extendleft(reversed(answers))
            if wiring.status is not None:
                wiring.status.publish(self.session.state, self.session.context, event.at)

    def _wait(self) -> list[ev.Event]:
        sources = self._wiring.sources
        clock = self._wiring.clock
        now = clock()
        readable = [fd for fd in (s.fileno() for s in sources) if fd is not None]
        writable = [fd for fd in (s.write_fileno() for s in sources) if fd is not None]
        moments = [m for m in (self._pending_deadline(), *(s.next_due() for s in sources)) if m is not None]
        timeout = max(0.0, min(moments) - now) if moments else None
        try:
            ready_r, ready_w, _ = select.select(readable, writable, [], timeout)
        except InterruptedError:
            ready_r, ready_w = [], []
        ready = set(ready_r) | set(ready_w)
        now = clock()
        events: list[ev.Event] = []
        for source in sources:
            # Descriptors and moments are asked again: an earlier source's poll may have changed them
            # (a SIGCHLD that reaped the child closes the child's pty).
            due = source.next_due()
            if source.fileno() in ready or source.write_fileno() in ready or (due is not None and now >= due):
                events.extend(source.poll(now))
        deadline = self._pending_deadline()
        if deadline is not None and now >= deadline:
            self._ticked_deadline = deadline
            events.append(ev.Tick(at=now, last_input_at=self._wiring.last_input_at()))
        return events

    def _pending_deadline(self) -> float | None:
        """The core's next deadline, unless a tick for that very moment was already sent: a row that
        leaves its deadline in place must not make the loop spin."""
        deadline = self.session.next_deadline()
        return None if deadline == self._ticked_deadline else deadline
