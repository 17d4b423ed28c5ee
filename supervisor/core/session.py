"""The pure session core: events in, transition records (with commands) out.

``Session`` wraps a ``transitions`` machine built from the chart. Guards and actions are the named
functions of ``policy``; transitions never sees a string callback, so it can never import one, and
``auto_transitions=False`` leaves no ``to_<state>`` back door. The session never spawns, sleeps,
reads the clock, touches files or the network.
"""

from __future__ import annotations

from typing import Any, Callable

from transitions import Machine, MachineError

from ..errors import InvalidTransition
from . import policy
from .chart import Chart, Row
from .context import SessionContext
from .commands import Command
from .events import Event
from .records import RejectedRecord, TransitionRecord
from .settings import SessionSettings


class _Model:
    """What transitions drives: only the state attribute lives here."""

    state: str


class Session:
    def __init__(self, chart: Chart, settings: SessionSettings | None = None) -> None:
        self.chart = chart
        self.settings = settings or SessionSettings()
        self.context = SessionContext(settings=self.settings)
        self._model = _Model()
        self._seq = 0
        self._fired: Row | None = None
        self._pending: list[Command] = []
        self._event: Event | None = None
        self._machine = Machine(
            model=self._model,
            states=list(chart.states),
            initial=chart.initial,
            transitions=[self._transition_spec(row) for row in chart.rows],
            auto_transitions=False,
            ignore_invalid_triggers=False,
            send_event=False,
            model_attribute="state",
        )

    # -- building --------------------------------------------------------------------------

    def _transition_spec(self, row: Row) -> dict[str, Any]:
        guards = [self._guard(name) for name in row.guards]
        unless = [self._guard(name) for name in row.unless]
        actions = [policy.ACTIONS[name] for name in row.actions]

        def run_actions() -> None:
            self._fired = row
            event = self._event
            assert event is not None  # transitions calls back only from inside handle()
            for fn in actions:
                self._pending.extend(fn(self.context, event))

        # A reaction is an internal transition (dest None): the state is neither left nor re-entered.
        # The chart's rows arrive in the order they are to be tried, which is the order transitions
        # evaluates the rows of one trigger and source.
        return {"trigger": row.trigger, "source": row.source, "dest": None if row.is_reaction else row.dest,
                "conditions": guards, "unless": unless, "after": [run_actions]}

    def _guard(self, name: str) -> Callable[[], bool]:
        fn = policy.GUARDS[name]

        def check() -> bool:
            assert self._event is not None  # transitions calls back only from inside handle()
            return bool(fn(self.context, self._event))

        check.__name__ = name
        return check

    # -- API ------------------------------------------------------------------------------

    @property
    def state(self) -> str:
        return self._model.state

    @property
    def finished(self) -> bool:
        return self.state in self.chart.final

    @property
    def exit_status(self) -> int | None:
        return self.context.exit_status

    def handle(self, event: Event) -> TransitionRecord:
        """Apply one event. Raises InvalidTransition (state unchanged) when no row accepts it."""
        self._seq += 1
        source = self.state
        self._event, self._fired, self._pending = event, None, []
        try:
            fired = self._machine.events[event.trigger].trigger(self._model) \
                if event.trigger in self._machine.events else False
        except MachineError:
            fired = False
        finally:
            self._event = None
        if not fired or self._fired is None:
            error = InvalidTransition(source, event.trigger,
                                      "no guard held" if self.chart.rows_for(source, event.trigger) else "")
            error.record = RejectedRecord(self._seq, event, source, "InvalidTransition")
            raise error
        commands = tuple(self._pending)
        self._pending = []
        return TransitionRecord(self._seq, event, source, self.state, self._fired.id, commands)

    def next_deadline(self) -> float | None:
        """The earliest moment this state wants a ``tick``, from the deadlines the chart names."""
        moments = [policy.DEADLINES[name](self.context) for name in self.chart.state_deadlines.get(self.state, ())]
        present = [m for m in moments if m is not None]
        return min(present) if present else None
