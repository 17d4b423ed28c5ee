"""Carries out the core's commands: one small function per command type, found in a table.

Each call goes to one port or adapter; what it answers (a lease, a failed spawn) comes back as events
for the core. Nothing here decides: the chart said what to do, this only does it.
"""

from __future__ import annotations

from typing import Callable

from .adapters.child_watch import ChildWatch
from .adapters.input_tracker import InputTracker
from .adapters.launcher import CONTINUATION_PROMPT
from .adapters.pool_guard import GuardedPool
from .adapters.terminal import Screen
from .core import commands as cmd
from .core import events as ev
from .core.policy import STOP_LADDER
from .notices import LabelLookup, render
from .ports import QuotaPort


class CommandExecutor:
    """``execute(command, at)``: ``at`` is when the event that asked for it happened; anything that
    stamps a new fact (a lease, a spawn) reads the clock itself."""

    def __init__(self, pool: GuardedPool, quota: QuotaPort, child: ChildWatch, keys: InputTracker,
                 screen: Screen, label_of: LabelLookup, clock: Callable[[], float], headless: bool = False,
                 notification: Callable[[str], bytes] | None = None) -> None:
        self._pool = pool
        self._quota = quota
        self._child = child
        self._keys = keys
        self._screen = screen
        self._label_of = label_of
        self._clock = clock
        self._headless = headless  # only the notices' wording: "exec moved…", `codex exec resume <id>`
        # The terminal notification for a notice's line (OSC 9, OSC 777, BEL); None: none is sent.
        self._notification = notification
        self.exit_status: int | None = None
        self._table: dict[type, Callable] = {
            cmd.LeaseCandidate: self._lease, cmd.ProbeQuota: self._probe,
            cmd.ProbeUnknownAccounts: self._probe_unknown, cmd.ReleaseAccount: self._release,
            cmd.CoolDown: self._cool_down, cmd.RecordQuota: self._record_quota, cmd.SpawnChild: self._spawn,
            cmd.StopChild: self._stop, cmd.RestoreTerminal: self._restore_terminal,
            cmd.RetypeDraft: self._retype_draft, cmd.ResubmitPrompt: self._resubmit,
            cmd.Notify: self._notify, cmd.Exit: self._exit,
        }
        assert set(self._table) == set(cmd.COMMAND_TYPES), "every command type has exactly one handler"

    def execute(self, command: cmd.Command, at: float) -> list[ev.Event]:
        return self._table[type(command)](command, at) or []

    def _lease(self, command: cmd.LeaseCandidate, at: float) -> list[ev.Event]:
        return [self._pool.lease_candidate(command.purpose, command.exclude, self._clock(), command.model)]

    def _probe(self, command: cmd.ProbeQuota, at: float) -> None:
        self._quota.request_probe(command.account)

    def _probe_unknown(self, command: cmd.ProbeUnknownAccounts, at: float) -> None:
        for account in self._pool.never_probed(command.limit, command.exclude, self._clock()):
            self._quota.request_probe(account)

    def _release(self, command: cmd.ReleaseAccount, at: float) -> None:
        self._pool.release(command.account, at)

    def _cool_down(self, command: cmd.CoolDown, at: float) -> None:
        self._pool.cool_down(command.account, command.until, command.reason, at, command.family, command.workspace)

    def _record_quota(self, command: cmd.RecordQuota, at: float) -> None:
        self._pool.record_quota(command.account, command.snapshot, at)

    def _spawn(self, command: cmd.SpawnChild, at: float) -> list[ev.Event]:
        return self._child.start(command.account, command.resume_session_id, command.bind_to)

    def _stop(self, command: cmd.StopChild, at: float) -> None:
        if not self._child.running:
            return
        if command.step == STOP_LADDER[0]:
            self._keys.remember_draft()  # what follows (keys into a leaving Codex) cannot spoil it
        self._child.stop(command.step)

    def _restore_terminal(self, command: cmd.RestoreTerminal, at: float) -> None:
        self._screen.restore()

    def _retype_draft(self, command: cmd.RetypeDraft, at: float) -> None:
        draft = self._keys.take_draft()
        if draft:
            self._child.type_in(draft)

    def _resubmit(self, command: cmd.ResubmitPrompt, at: float) -> None:
        if self._keys.last_prompt() or self._child.interrupted_prompt:
            self._child.type_in(CONTINUATION_PROMPT.encode("utf-8"), submit=True)

    def _notify(self, command: cmd.Notify, at: float) -> None:
        line = render(command, self._label_of, self._headless)
        notification = self._notification(line) if self._notification is not None else b""
        self._screen.notice(line.encode("utf-8", "replace"), notification, self._clock())

    def _exit(self, command: cmd.Exit, at: float) -> None:
        self.exit_status = command.status
