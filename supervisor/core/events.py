"""Events: past-tense facts that drive the session machine.

Each event is a frozen record (``frozen.FrozenRecord``) whose ``trigger`` names the table column it
feeds, and each carries ``at``, the moment it happened (epoch seconds) as read by the caller's clock:
the core never reads a clock itself. Accounts are opaque ids; no event ever carries a token, an email or keystrokes.
"""

from __future__ import annotations

from typing import ClassVar

from .frozen import FrozenRecord

from .quota import QuotaSnapshot


class Event(FrozenRecord):
    trigger: ClassVar[str] = ""
    at: float


class SessionStarted(Event):
    """The supervisor started; ``session_id`` is set when the user asked to resume one.

    ``headless``: the child is ``codex exec`` (or ``review``), not the TUI: no composer, no draft and
    no user at a keyboard, so the chart rotates only at a usage limit or when a run ends."""

    trigger: ClassVar[str] = "session_started"
    session_id: str | None = None
    headless: bool = False
    # The model the user named for Codex (``-m``/``--model``, ``-c model=``), None when they named none.
    model: str | None = None


class AccountLeased(Event):
    """The pool leased ``account`` to this session (answer to LeaseCandidate)."""

    trigger: ClassVar[str] = "account_leased"
    account: str = ""


class PoolExhausted(Event):
    """No account can be leased now. ``soonest_reset_at`` is None when none ever will be."""

    trigger: ClassVar[str] = "pool_exhausted"
    soonest_reset_at: float | None = None
    reason: str = ""


class QuotaProbed(Event):
    """A usage probe of ``account`` answered."""

    trigger: ClassVar[str] = "quota_probed"
    account: str = ""
    snapshot: QuotaSnapshot = QuotaSnapshot()


class ProbeFailed(Event):
    """A usage probe of ``account`` could not answer (``kind``: unavailable, auth, malformed)."""

    trigger: ClassVar[str] = "probe_failed"
    account: str = ""
    kind: str = "unavailable"
    retry_after_s: float | None = None


class SpawnFailed(Event):
    """The Codex child could not be started."""

    trigger: ClassVar[str] = "spawn_failed"
    reason: str = ""


class SessionBound(Event):
    """The child's session id became known (open file, lock name or rollout)."""

    trigger: ClassVar[str] = "session_bound"
    session_id: str = ""


class ChildReady(Event):
    """The child's composer is ready for input (Codex's first OSC 7501 idle after spawn)."""

    trigger: ClassVar[str] = "child_ready"


class TurnStarted(Event):
    trigger: ClassVar[str] = "turn_started"


class TurnFinished(Event):
    """A turn ended (OSC 7501 done or the rollout's task_complete).

    ``last_input_at`` is when the user last typed, so the core can tell whether they are idle.
    """

    trigger: ClassVar[str] = "turn_finished"
    last_input_at: float | None = None


class QuotaObserved(Event):
    """The running account's rate limits as Codex recorded them in the rollout (no request made).

    ``model``: the model Codex ran the session's latest turn on (its ``turn_context``), when known."""

    trigger: ClassVar[str] = "quota_observed"
    snapshot: QuotaSnapshot = QuotaSnapshot()
    model: str | None = None


class UsageLimitHit(Event):
    """A turn failed with usage_limit_exceeded: the running account is exhausted now."""

    trigger: ClassVar[str] = "usage_limit_hit"
    resets_at: float | None = None


class ChildExited(Event):
    """The child process ended: ``code`` when it exited, ``signal`` when a signal killed it."""

    trigger: ClassVar[str] = "child_exited"
    code: int | None = None
    signal: int | None = None

    @property
    def status(self) -> int:
        """Shell-style status: the code, or 128+N for a death by signal N."""
        if self.signal is not None:
            return 128 + self.signal
        return self.code if self.code is not None else 1


class LeaseLost(Event):
    """Another process superseded this session's lease on ``account``."""

    trigger: ClassVar[str] = "lease_lost"
    account: str = ""


class Tick(Event):
    """Time passed: sent when a deadline the core asked for is reached."""

    trigger: ClassVar[str] = "tick"
    last_input_at: float | None = None


class Interrupted(Event):
    """codex-fsm itself received ``signal`` (SIGINT, SIGTERM, SIGHUP): the user wants out."""

    trigger: ClassVar[str] = "interrupted"
    signal: int = 2


class QuitKeyPressed(Event):
    """The user pressed a quit key (``key``: ctrl-c, ctrl-d or q) while no child ran to receive it.

    Only which of the three keys it was: never anything else the user typed."""

    trigger: ClassVar[str] = "quit_key_pressed"
    key: str = "ctrl-c"


EVENT_TYPES: tuple[type[Event], ...] = (
    SessionStarted, AccountLeased, PoolExhausted, QuotaProbed, ProbeFailed, SpawnFailed,
    SessionBound, ChildReady, TurnStarted, TurnFinished, QuotaObserved, UsageLimitHit,
    ChildExited, LeaseLost, Tick, Interrupted, QuitKeyPressed,
)
EVENTS_BY_TRIGGER: dict[str, type[Event]] = {cls.trigger: cls for cls in EVENT_TYPES}
