"""Commands: what the core asks the adapters to do. Imperative names, data only.

Commands never carry secrets or keystrokes: a draft or an interrupted prompt is held by the adapter
that saw it, and the command only says "type it back".
"""

from __future__ import annotations

from typing import ClassVar

from .frozen import FrozenRecord

from .quota import QuotaSnapshot


class Command(FrozenRecord):
    name: ClassVar[str] = ""


class LeaseCandidate(Command):
    """Lease the best available account; answered by account_leased or pool_exhausted."""

    name: ClassVar[str] = "LeaseCandidate"
    purpose: str = "session"  # "session" (to run on now) or "successor" (prewarm)
    exclude: tuple[str, ...] = ()
    # The session's model: candidates are judged on the limit family that meters it.
    model: str | None = None


class ProbeQuota(Command):
    """Ask the usage endpoint about ``account``; answered by quota_probed or probe_failed."""

    name: ClassVar[str] = "ProbeQuota"
    account: str = ""


class ProbeUnknownAccounts(Command):
    """Probe, in the background, up to ``limit`` accounts the pool has never had a snapshot of
    (not ``exclude``); each answer comes back as quota_probed / probe_failed for that account."""

    name: ClassVar[str] = "ProbeUnknownAccounts"
    limit: int = 0
    exclude: tuple[str, ...] = ()


class ReleaseAccount(Command):
    name: ClassVar[str] = "ReleaseAccount"
    account: str = ""


class CoolDown(Command):
    """Bench ``account`` until ``until`` (epoch seconds) and say why.

    ``family``: the limit family that is exhausted (None: the account as a whole, e.g. a failed
    probe); sessions on a model another family meters may still use the account. ``workspace``:
    the account's whole workspace is stopped, so the pool benches every account of it."""

    name: ClassVar[str] = "CoolDown"
    account: str = ""
    until: float = 0.0
    reason: str = ""
    family: str | None = None
    workspace: bool = False


class RecordQuota(Command):
    """Store the latest snapshot of ``account`` in the pool, so the next start needs no probe."""

    name: ClassVar[str] = "RecordQuota"
    account: str = ""
    snapshot: QuotaSnapshot = QuotaSnapshot()


class SpawnChild(Command):
    """Start Codex on ``account``: the user's own command, or ``resume <resume_session_id>``.

    ``bind_to`` is the session the core holds (None while it knows none): the only one the child may
    be bound to, so no adapter keeps a copy of the session id of its own."""

    name: ClassVar[str] = "SpawnChild"
    account: str = ""
    resume_session_id: str | None = None
    bind_to: str | None = None


class StopChild(Command):
    """One rung of the stop ladder: ``interrupt`` (Ctrl-C twice), ``terminate``, ``kill``."""

    name: ClassVar[str] = "StopChild"
    step: str = "interrupt"


class RestoreTerminal(Command):
    """Write the terminal-restore sequences before anything else is shown."""

    name: ClassVar[str] = "RestoreTerminal"


class RetypeDraft(Command):
    """Type the user's unsent draft into the resumed composer."""

    name: ClassVar[str] = "RetypeDraft"


class ResubmitPrompt(Command):
    """Submit again, once, the prompt a usage-limit error interrupted."""

    name: ClassVar[str] = "ResubmitPrompt"


class Notify(Command):
    """Show the user one line. ``kind`` picks the template; ``params`` fill it (no secrets)."""

    name: ClassVar[str] = "Notify"
    kind: str = ""
    params: tuple[tuple[str, object], ...] = ()

    def param(self, key: str, default: object = None) -> object:
        for k, v in self.params:
            if k == key:
                return v
        return default


class Exit(Command):
    """The supervised session is over; codex-fsm exits with ``status``."""

    name: ClassVar[str] = "Exit"
    status: int = 0


COMMAND_TYPES: tuple[type[Command], ...] = (
    LeaseCandidate, ProbeQuota, ProbeUnknownAccounts, ReleaseAccount, CoolDown, RecordQuota, SpawnChild, StopChild,
    RestoreTerminal, RetypeDraft, ResubmitPrompt, Notify, Exit,
)
COMMANDS_BY_NAME: dict[str, type[Command]] = {cls.name: cls for cls in COMMAND_TYPES}
