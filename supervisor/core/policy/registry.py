"""The registries the chart's names resolve to: guards, actions and deadlines, each added by its decorator."""

from __future__ import annotations

from typing import Callable

from .. import commands as cmd
from .. import events as ev
from ..context import SessionContext


Guard = Callable[[SessionContext, ev.Event], bool]


Action = Callable[[SessionContext, ev.Event], "list[cmd.Command]"]


Deadline = Callable[[SessionContext], "float | None"]


GUARDS: dict[str, Guard] = {}


ACTIONS: dict[str, Action] = {}


DEADLINES: dict[str, Deadline] = {}


def guard(fn: Guard) -> Guard:
    GUARDS[fn.__name__] = fn
    return fn


def action(fn: Action) -> Action:
    ACTIONS[fn.__name__] = fn
    return fn


def deadline(fn: Deadline) -> Deadline:
    DEADLINES[fn.__name__] = fn
    return fn
