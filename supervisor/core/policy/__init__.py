"""Guards, actions and deadlines: the functions the statechart names, cut by concern.

``statecharts/session.json`` decides *which* row fires; these modules say what each named predicate
means and what each named action asks the adapters to do. Guards read ``(ctx, event)`` and return a
real bool. Actions may update the session context and return the commands to execute, in order.
Deadlines read the context and return the next moment a ``tick`` is wanted, or None.

- ``candidates``: leasing, probing, benching and waiting for accounts (the session's and its successor's);
- ``pressure``: when the running account must be left, and when rotating pauses;
- ``lifecycle``: the child's spawn, turns, stop ladder, exit, resume and readiness;
- ``notices``: what the user is told.

Nothing here reads a clock, a file or the network: time arrives as ``event.at``.
"""

from __future__ import annotations

from . import candidates, lifecycle, notices, pressure  # noqa: F401  (importing registers the names)
from .lifecycle import QUIT_KEY_STATUS, STOP_LADDER
from .registry import ACTIONS, DEADLINES, GUARDS, Action, Deadline, Guard

__all__ = ["ACTIONS", "DEADLINES", "GUARDS", "Action", "Deadline", "Guard", "QUIT_KEY_STATUS", "STOP_LADDER"]
