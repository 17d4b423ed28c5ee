"""Guards, actions and deadlines: the functions the statechart names.

``statecharts/session.json`` decides *which* row fires; this module says what each named predicate
means and what each named action asks the adapters to do. Guards read ``(ctx, event)`` and return a
real bool. Actions may update the session context and return the commands to execute, in order.
Deadlines read the context and return the next moment a ``tick`` is wanted, or None.

Nothing here reads a clock, a file or the network: time arrives as ``event.at``.
"""

from __future__ import annotations

import math
from typing import Callable

from . import commands as cmd
from . import events as ev
from .context import SessionContext
from .quota import Pressure, QuotaSnapshot, blocked_until, has_headroom, plausible_reset, pressure

Guard = Callable[[SessionContext, ev.Event], bool]
Action = Callable[[SessionContext, ev.Event], list]
Deadline = Callable[[SessionContext], "float | None"]

GUARDS: dict[str, Guard] = {}
ACTIONS: dict[str, Action] = {}
DEADLINES: dict[str, Deadline] = {}

STOP_LADDER: tuple[str, ...] = ("interrupt", "terminate", "kill")
# A quit key pressed while no child runs ends codex-fsm as Ctrl-C's SIGINT would: 128 + 2.
QUIT_KEY_STATUS = 130
# Signals that mean "somebody asked this process to end" rather than "it crashed".
_REQUESTED_SIGNALS = frozenset({1, 2, 15})  # SIGHUP, SIGINT, SIGTERM


def guard(fn: Guard) -> Guard:
    GUARDS[fn.__name__] = fn
    return fn


def action(fn: Action) -> Action:
    ACTIONS[fn.__name__] = fn
    return fn


def deadline(fn: Deadline) -> Deadline:
    DEADLINES[fn.__name__] = fn
    return fn


# ---------------------------------------------------------------------------------------------
# Helpers (not named by the chart)


def _thresholds(ctx: SessionContext, account: str | None):
    return ctx.settings.thresholds_for(account)


def _restarts_in_window(ctx: SessionContext, now: float) -> int:
    return sum(1 for t in ctx.rotation_times if now - t <= ctx.settings.thrash_window_s)


def _thrashing(ctx: SessionContext, now: float) -> bool:
    return _restarts_in_window(ctx, now) >= ctx.settings.thrash_rotations


def _budget_spent(ctx: SessionContext) -> bool:
    return ctx.restarts >= ctx.settings.max_restarts


def _quota_figures(snapshot: QuotaSnapshot | None, now: float) -> tuple[tuple[str, object], ...]:
    if snapshot is None:
        return ()
    figures = []
    for w in sorted(snapshot.windows, key=lambda w: w.window_minutes):
        figures.append((f"used_{w.kind.value}", round(w.used_at(now), 1)))
    return tuple(figures)


def _release(*accounts: str | None) -> list:
    return [cmd.ReleaseAccount(account=a) for a in accounts if a]


def _release_held(ctx: SessionContext, *, including_account: bool = True) -> list:
    """Give back every lease this session holds (the running account, a candidate, a successor)."""
    released = _release(ctx.account if including_account else None, ctx.candidate, ctx.successor)
    ctx.candidate = ctx.successor = None
    return released


def _last_input(ctx: SessionContext, event: ev.Event) -> float | None:
    if isinstance(event, (ev.Tick, ev.TurnFinished)) and event.last_input_at is not None:
        return event.last_input_at
    return ctx.last_input_at


def _cooldown_until(ctx: SessionContext, snapshot: QuotaSnapshot | None, account: str | None,
                    now: float, resets_at: float | None = None) -> float:
    """Bench an exhausted account until it is usable again; never for ~0 s.

    The reset the usage-limit error named and the snapshot's own block (``quota.blocked_until``,
    the same moment ranking waits for) both count; the later one wins, since both must have passed.
    Only without either does the unknown-reset default apply.
    """
    # plausible_reset also drops the snapshot's "blocked with no known end" (an infinite moment).
    known = [moment for moment in (plausible_reset(resets_at, now),
                                   plausible_reset(blocked_until(snapshot, _thresholds(ctx, account)), now))
             if moment is not None]
    if known:
        return max(known)
    return now + ctx.settings.unknown_reset_cooldown_s


# ---------------------------------------------------------------------------------------------
# Guards


@guard
def wait_is_bounded(ctx: SessionContext, event: ev.Event) -> bool:
    """A reset will come, and waiting for it keeps the whole wait within max_pool_wait_s."""
    assert isinstance(event, ev.PoolExhausted)
    if event.soonest_reset_at is None:
        return False
    started = ctx.wait_started_at if ctx.wait_started_at is not None else event.at
    return event.soonest_reset_at - started <= ctx.settings.max_pool_wait_s


@guard
def wait_elapsed(ctx: SessionContext, event: ev.Event) -> bool:
    return ctx.wait_until is not None and event.at >= ctx.wait_until


@guard
def countdown_due(ctx: SessionContext, event: ev.Event) -> bool:
    return ctx.next_countdown_at is not None and event.at >= ctx.next_countdown_at


@guard
def candidate_has_headroom(ctx: SessionContext, event: ev.Event) -> bool:
    assert isinstance(event, ev.QuotaProbed)
    return event.account == ctx.candidate and has_headroom(
        event.snapshot, _thresholds(ctx, event.account), event.at)


@guard
def probe_of_bystander(ctx: SessionContext, event: ev.Event) -> bool:
    """A probe answer about an account this session is not choosing: a background probe, or an
    answer that arrives after its candidate was dropped. It informs the pool, it decides nothing."""
    assert isinstance(event, (ev.QuotaProbed, ev.ProbeFailed))
    return event.account != ctx.candidate


@guard
def child_has_run(ctx: SessionContext, event: ev.Event) -> bool:
    return ctx.child_has_run


@guard
def pressure_rotate(ctx: SessionContext, event: ev.Event) -> bool:
    assert isinstance(event, ev.QuotaObserved)
    return pressure(event.snapshot, _thresholds(ctx, ctx.account), event.at) is Pressure.ROTATE


@guard
def pressure_prewarm(ctx: SessionContext, event: ev.Event) -> bool:
    assert isinstance(event, ev.QuotaObserved)
    return pressure(event.snapshot, _thresholds(ctx, ctx.account), event.at) is not Pressure.NONE


@guard
def rotation_blocked(ctx: SessionContext, event: ev.Event) -> bool:
    """The restart budget is spent or the thrash guard tripped."""
    return _budget_spent(ctx) or _thrashing(ctx, event.at)


@guard
def rotation_suspended(ctx: SessionContext, event: ev.Event) -> bool:
    """Rotation was paused (the user was told) and its reason still holds.

    A spent restart budget holds for good; the thrash guard only until the window has passed, after
    which the account's pressure leads to a rotation again.
    """
    return ctx.rotation_suspended and rotation_blocked(ctx, event)


@guard
def rotation_due(ctx: SessionContext, event: ev.Event) -> bool:
    return ctx.rotation_reason is not None


@guard
def quiet_moment(ctx: SessionContext, event: ev.Event) -> bool:
    """No turn is running and the user has been away from the keyboard long enough."""
    turn_active = False if isinstance(event, ev.TurnFinished) else ctx.turn_active
    if turn_active:
        return False
    last_input = _last_input(ctx, event)
    return last_input is None or event.at - last_input >= ctx.settings.idle_before_rotate_s


@guard
def prewarm_retry_due(ctx: SessionContext, event: ev.Event) -> bool:
    return (ctx.prewarm_retry_at is not None and event.at >= ctx.prewarm_retry_at
            and ctx.successor is None and ctx.candidate is None)


@guard
def crash_resumable(ctx: SessionContext, event: ev.Event) -> bool:
    """Killed by a signal nobody asked for, with a session to resume and budget left."""
    assert isinstance(event, ev.ChildExited)
    crashed = event.signal is not None and event.signal not in _REQUESTED_SIGNALS
    return (crashed and ctx.session_id is not None and not _budget_spent(ctx)
            and not _thrashing(ctx, event.at))


@guard
def quit_requested(ctx: SessionContext, event: ev.Event) -> bool:
    return ctx.quit_signal is not None


@guard
def no_session_bound(ctx: SessionContext, event: ev.Event) -> bool:
    return ctx.session_id is None


@guard
def successor_ready(ctx: SessionContext, event: ev.Event) -> bool:
    return ctx.successor is not None


@guard
def candidate_in_flight(ctx: SessionContext, event: ev.Event) -> bool:
    return ctx.candidate is not None


@guard
def stop_overdue(ctx: SessionContext, event: ev.Event) -> bool:
    return ctx.stop_deadline is not None and event.at >= ctx.stop_deadline


@guard
def ladder_has_next_step(ctx: SessionContext, event: ev.Event) -> bool:
    return ctx.stop_step < len(STOP_LADDER) - 1


@guard
def lost_current_account(ctx: SessionContext, event: ev.Event) -> bool:
    assert isinstance(event, ev.LeaseLost)
    return event.account == ctx.account


@guard
def lost_candidate(ctx: SessionContext, event: ev.Event) -> bool:
    assert isinstance(event, ev.LeaseLost)
    return event.account == ctx.candidate


@guard
def ready_overdue(ctx: SessionContext, event: ev.Event) -> bool:
    return ctx.ready_deadline is not None and event.at >= ctx.ready_deadline


# ---------------------------------------------------------------------------------------------
# Actions: startup gate and selection


@action
def remember_start(ctx: SessionContext, event: ev.Event) -> list:
    assert isinstance(event, ev.SessionStarted)
    ctx.session_id = event.session_id
    return []


@action
def lease_candidate(ctx: SessionContext, event: ev.Event) -> list:
    ctx.candidate = None
    ctx.wait_until = None
    ctx.next_countdown_at = None
    return [cmd.LeaseCandidate(purpose="session")]


@action
def hold_candidate(ctx: SessionContext, event: ev.Event) -> list:
    assert isinstance(event, ev.AccountLeased)
    ctx.candidate = event.account
    return []


@action
def probe_candidate(ctx: SessionContext, event: ev.Event) -> list:
    return [cmd.ProbeQuota(account=ctx.candidate or "")]


@action
def record_probe(ctx: SessionContext, event: ev.Event) -> list:
    assert isinstance(event, ev.QuotaProbed)
    return [cmd.RecordQuota(account=event.account, snapshot=event.snapshot)]


@action
def adopt_candidate(ctx: SessionContext, event: ev.Event) -> list:
    assert isinstance(event, ev.QuotaProbed)
    ctx.account, ctx.candidate = ctx.candidate, None
    ctx.last_snapshot = event.snapshot
    ctx.wait_started_at = ctx.wait_until = ctx.next_countdown_at = None
    return []


@action
def probe_unknown_accounts(ctx: SessionContext, event: ev.Event) -> list:
    """Learn never-probed accounts' headroom while the child runs, bounded by the settings."""
    if ctx.settings.background_probes <= 0:
        return []
    return [cmd.ProbeUnknownAccounts(limit=ctx.settings.background_probes,
                                     exclude=tuple(a for a in (ctx.account,) if a))]


@action
def bench_candidate(ctx: SessionContext, event: ev.Event) -> list:
    assert isinstance(event, ev.QuotaProbed)
    until = _cooldown_until(ctx, event.snapshot, event.account, event.at)
    ctx.candidate = None
    return [cmd.CoolDown(account=event.account, until=until, reason="quota below floor"),
            *_release(event.account)]


@action
def cool_candidate_briefly(ctx: SessionContext, event: ev.Event) -> list:
    assert isinstance(event, ev.ProbeFailed)
    wait = event.retry_after_s if event.retry_after_s is not None else ctx.settings.probe_failure_cooldown_s
    ctx.candidate = None
    return [cmd.CoolDown(account=event.account, until=event.at + wait, reason=f"probe {event.kind}"),
            *_release(event.account)]


@action
def start_waiting(ctx: SessionContext, event: ev.Event) -> list:
    assert isinstance(event, ev.PoolExhausted) and event.soonest_reset_at is not None
    if ctx.wait_started_at is None:
        ctx.wait_started_at = event.at
    ctx.wait_until = max(event.soonest_reset_at, event.at + ctx.settings.min_pool_retry_s)
    ctx.next_countdown_at = event.at + ctx.settings.countdown_every_s
    return [_wait_notice(ctx, event.at)]


@action
def show_countdown(ctx: SessionContext, event: ev.Event) -> list:
    ctx.next_countdown_at = event.at + ctx.settings.countdown_every_s
    return [_wait_notice(ctx, event.at)]


def _wait_notice(ctx: SessionContext, now: float) -> cmd.Notify:
    until = ctx.wait_until or now
    return cmd.Notify(kind="pool_wait", params=(
        ("reset_at", until), ("seconds", max(0, math.ceil(until - now))),
        ("session_id", ctx.session_id)))


@action
def give_up(ctx: SessionContext, event: ev.Event) -> list:
    assert isinstance(event, ev.PoolExhausted)
    ctx.exit_status = 1
    return [cmd.Notify(kind="gave_up", params=(
                ("reason", event.reason), ("reset_at", event.soonest_reset_at),
                ("session_id", ctx.session_id))),
            *_release_held(ctx, including_account=False),
            cmd.Exit(status=1)]


@action
def quit_on_interrupt(ctx: SessionContext, event: ev.Event) -> list:
    assert isinstance(event, ev.Interrupted)
    ctx.exit_status = 128 + event.signal
    return [*_release_held(ctx, including_account=False), cmd.Exit(status=ctx.exit_status)]


@action
def quit_on_key(ctx: SessionContext, event: ev.Event) -> list:
    assert isinstance(event, ev.QuitKeyPressed)
    ctx.exit_status = QUIT_KEY_STATUS
    return [*_release_held(ctx, including_account=False), cmd.Exit(status=QUIT_KEY_STATUS)]


# ---------------------------------------------------------------------------------------------
# Actions: launch and live monitoring


@action
def spawn_child(ctx: SessionContext, event: ev.Event) -> list:
    ctx.child_has_run = True
    ctx.turn_active = False
    return [cmd.SpawnChild(account=ctx.account or "")]


@action
def spawn_resumed_child(ctx: SessionContext, event: ev.Event) -> list:
    ctx.child_has_run = True
    ctx.turn_active = False
    ctx.rotation_reason = None
    ctx.ready_deadline = event.at + ctx.settings.resume_ready_timeout_s
    return [cmd.SpawnChild(account=ctx.account or "", resume_session_id=ctx.session_id)]


@action
def count_restart(ctx: SessionContext, event: ev.Event) -> list:
    ctx.restarts += 1
    ctx.rotation_times.append(event.at)
    return []


@action
def bind_session(ctx: SessionContext, event: ev.Event) -> list:
    assert isinstance(event, ev.SessionBound)
    ctx.session_id = event.session_id
    return []


@action
def note_turn_started(ctx: SessionContext, event: ev.Event) -> list:
    ctx.turn_active = True
    return []


@action
def note_turn_finished(ctx: SessionContext, event: ev.Event) -> list:
    ctx.turn_active = False
    ctx.last_input_at = _last_input(ctx, event)
    return []


@action
def note_input(ctx: SessionContext, event: ev.Event) -> list:
    ctx.last_input_at = _last_input(ctx, event)
    return []


@action
def record_quota(ctx: SessionContext, event: ev.Event) -> list:
    assert isinstance(event, ev.QuotaObserved)
    ctx.last_snapshot = event.snapshot
    return [cmd.RecordQuota(account=ctx.account or "", snapshot=event.snapshot)]


@action
def report_spawn_failure(ctx: SessionContext, event: ev.Event) -> list:
    assert isinstance(event, ev.SpawnFailed)
    return [cmd.Notify(kind="spawn_failed", params=(("reason", event.reason),))]


@action
def release_all(ctx: SessionContext, event: ev.Event) -> list:
    return _release_held(ctx)


@action
def exit_with_failure(ctx: SessionContext, event: ev.Event) -> list:
    ctx.exit_status = 1
    return [cmd.Exit(status=1)]


# ---------------------------------------------------------------------------------------------
# Actions: prewarm and rotation decisions


@action
def lease_successor(ctx: SessionContext, event: ev.Event) -> list:
    ctx.candidate = None
    ctx.prewarm_retry_at = None
    return [cmd.LeaseCandidate(purpose="successor", exclude=tuple(a for a in (ctx.account,) if a))]


@action
def hold_successor(ctx: SessionContext, event: ev.Event) -> list:
    ctx.successor, ctx.candidate = ctx.candidate, None
    return []


@action
def schedule_prewarm_retry(ctx: SessionContext, event: ev.Event) -> list:
    ctx.candidate = None
    ctx.prewarm_retry_at = event.at + ctx.settings.prewarm_retry_s
    return []


@action
def release_successor(ctx: SessionContext, event: ev.Event) -> list:
    return _release_held(ctx, including_account=False)


@action
def mark_rotation_due(ctx: SessionContext, event: ev.Event) -> list:
    ctx.rotation_reason = "quota"
    ctx.rotation_suspended = False  # a pause that no longer holds is over: a new one is announced again
    return []


@action
def mark_usage_limit(ctx: SessionContext, event: ev.Event) -> list:
    assert isinstance(event, ev.UsageLimitHit)
    ctx.rotation_reason = "usage_limit"
    ctx.usage_limit_resets_at = event.resets_at
    ctx.turn_active = False
    ctx.resubmit_pending = ctx.settings.resubmit_interrupted_prompt
    return []


@action
def mark_lease_lost(ctx: SessionContext, event: ev.Event) -> list:
    ctx.rotation_reason = "lease_lost"
    return [cmd.Notify(kind="lease_lost", params=(("account", ctx.account),))]


@action
def forget_lost_lease(ctx: SessionContext, event: ev.Event) -> list:
    """The pool says another process holds this account now: stop counting on it, release nothing."""
    assert isinstance(event, ev.LeaseLost)
    if ctx.candidate == event.account:
        ctx.candidate = None
    if ctx.successor == event.account:
        ctx.successor = None
    return []


@action
def suspend_rotation(ctx: SessionContext, event: ev.Event) -> list:
    ctx.rotation_suspended = True
    ctx.rotation_reason = None
    why = "restart budget spent" if _budget_spent(ctx) else "too many rotations"
    return [cmd.Notify(kind="rotation_suspended", params=(
        ("why", why), ("restarts", ctx.restarts), ("session_id", ctx.session_id)))]


# ---------------------------------------------------------------------------------------------
# Actions: stop ladder, handoff and resume


@action
def stop_child(ctx: SessionContext, event: ev.Event) -> list:
    ctx.stop_step = 0
    ctx.stop_deadline = event.at + ctx.settings.stop_interrupt_s
    return [cmd.StopChild(step=STOP_LADDER[0])]


@action
def escalate_stop(ctx: SessionContext, event: ev.Event) -> list:
    ctx.stop_step += 1
    step = STOP_LADDER[ctx.stop_step]
    budget = ctx.settings.stop_terminate_s if step == "terminate" else ctx.settings.stop_kill_s
    ctx.stop_deadline = event.at + budget
    return [cmd.StopChild(step=step)]


@action
def abandon_child(ctx: SessionContext, event: ev.Event) -> list:
    ctx.exit_status = 1
    return [cmd.RestoreTerminal(), cmd.Notify(kind="child_unkillable", params=(
        ("session_id", ctx.session_id),)), *_release_held(ctx), cmd.Exit(status=1)]


@action
def note_exit(ctx: SessionContext, event: ev.Event) -> list:
    assert isinstance(event, ev.ChildExited)
    ctx.last_exit_status = event.status
    ctx.turn_active = False
    ctx.stop_step = -1
    ctx.stop_deadline = None
    ctx.ready_deadline = None
    return []


@action
def restore_terminal(ctx: SessionContext, event: ev.Event) -> list:
    return [cmd.RestoreTerminal()]


@action
def request_quit(ctx: SessionContext, event: ev.Event) -> list:
    assert isinstance(event, ev.Interrupted)
    ctx.quit_signal = event.signal
    return []


@action
def finish_with_child_status(ctx: SessionContext, event: ev.Event) -> list:
    assert isinstance(event, ev.ChildExited)
    ctx.exit_status = event.status
    released = _release_held(ctx)
    # Codex prints its own resume hint when it exits by itself; a death by signal leaves none.
    hint = ([cmd.Notify(kind="resume_hint", params=(("session_id", ctx.session_id),))]
            if event.signal is not None and ctx.session_id else [])
    return [*hint, *released, cmd.Exit(status=event.status)]


@action
def finish_after_quit(ctx: SessionContext, event: ev.Event) -> list:
    ctx.exit_status = 128 + (ctx.quit_signal or 2)
    return [*_release_held(ctx), cmd.Exit(status=ctx.exit_status)]


@action
def report_no_session(ctx: SessionContext, event: ev.Event) -> list:
    status = ctx.last_exit_status if ctx.last_exit_status is not None else 1
    ctx.exit_status = status
    return [cmd.Notify(kind="no_session_to_resume", params=()), *_release_held(ctx), cmd.Exit(status=status)]


@action
def retire_account(ctx: SessionContext, event: ev.Event) -> list:
    """Leave the old account: bench it until its blocking reset, then release its lease."""
    old = ctx.account
    if old is None:
        return []
    commands: list = []
    if ctx.rotation_reason in ("quota", "usage_limit"):
        until = _cooldown_until(ctx, ctx.last_snapshot, old, event.at, ctx.usage_limit_resets_at)
        commands.append(cmd.CoolDown(account=old, until=until, reason=ctx.rotation_reason))
    commands.extend(_release(old))
    return commands


@action
def adopt_successor(ctx: SessionContext, event: ev.Event) -> list:
    previous, ctx.account, ctx.successor = ctx.account, ctx.successor, None
    return [_rotation_notice(ctx, previous, event.at)]


@action
def announce_reselected(ctx: SessionContext, event: ev.Event) -> list:
    return [_rotation_notice(ctx, None, event.at)]


@action
def announce_crash_resume(ctx: SessionContext, event: ev.Event) -> list:
    assert isinstance(event, ev.ChildExited)
    return [cmd.Notify(kind="crash_resume", params=(
        ("signal", event.signal), ("session_id", ctx.session_id)))]


def _rotation_notice(ctx: SessionContext, previous: str | None, now: float) -> cmd.Notify:
    return cmd.Notify(kind="rotated", params=(
        ("from", previous), ("to", ctx.account), ("reason", ctx.rotation_reason),
        *_quota_figures(ctx.last_snapshot, now), ("session_id", ctx.session_id)))


@action
def note_ready(ctx: SessionContext, event: ev.Event) -> list:
    ctx.ready_deadline = None
    ctx.rotation_reason = None
    ctx.usage_limit_resets_at = None
    return []


@action
def resubmit_interrupted_prompt(ctx: SessionContext, event: ev.Event) -> list:
    """Type the request a usage limit interrupted into the resumed composer, once, if one waits."""
    if not ctx.resubmit_pending:
        return []
    ctx.resubmit_pending = False
    return [cmd.ResubmitPrompt()]


@action
def retype_draft(ctx: SessionContext, event: ev.Event) -> list:
    return [cmd.RetypeDraft()]


# ---------------------------------------------------------------------------------------------
# Deadlines (named per state in the chart)


@deadline
def wait_deadline(ctx: SessionContext) -> float | None:
    return ctx.wait_until


@deadline
def countdown_deadline(ctx: SessionContext) -> float | None:
    return ctx.next_countdown_at


@deadline
def rotation_idle_deadline(ctx: SessionContext) -> float | None:
    if ctx.rotation_reason is None or ctx.turn_active:
        return None
    if ctx.last_input_at is None:
        return None
    return ctx.last_input_at + ctx.settings.idle_before_rotate_s


@deadline
def prewarm_retry_deadline(ctx: SessionContext) -> float | None:
    if ctx.successor is not None or ctx.candidate is not None:
        return None
    return ctx.prewarm_retry_at


@deadline
def stop_deadline(ctx: SessionContext) -> float | None:
    return ctx.stop_deadline


@deadline
def ready_deadline(ctx: SessionContext) -> float | None:
    return ctx.ready_deadline
