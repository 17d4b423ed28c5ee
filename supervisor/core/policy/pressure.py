"""Quota pressure: when the running account must be left, and when rotating pauses (restart budget, thrash guard)."""

from __future__ import annotations

from .. import commands as cmd
from .. import events as ev
from ..context import SessionContext
from ..quota import Pressure, QuotaSnapshot, pressure
from .common import budget_spent, input_moment, thrashing, thresholds
from .registry import action, deadline, guard


def _session_family(ctx: SessionContext, event: ev.QuotaObserved) -> QuotaSnapshot:
    """The observed figures of the family the session's model uses; other families never rotate it."""
    return event.snapshot.for_model(event.model or ctx.model)


@guard
def pressure_rotate(ctx: SessionContext, event: ev.Event) -> bool:
    assert isinstance(event, ev.QuotaObserved)
    return pressure(_session_family(ctx, event), thresholds(ctx, ctx.account), event.at) is Pressure.ROTATE


@guard
def pressure_prewarm(ctx: SessionContext, event: ev.Event) -> bool:
    assert isinstance(event, ev.QuotaObserved)
    return pressure(_session_family(ctx, event), thresholds(ctx, ctx.account), event.at) is not Pressure.NONE


@guard
def rotation_blocked(ctx: SessionContext, event: ev.Event) -> bool:
    """The restart budget is spent or the thrash guard tripped."""
    return budget_spent(ctx) or thrashing(ctx, event.at)


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
    last_input = input_moment(ctx, event)
    return last_input is None or event.at - last_input >= ctx.settings.idle_before_rotate_s


@guard
def lost_current_account(ctx: SessionContext, event: ev.Event) -> bool:
    assert isinstance(event, ev.LeaseLost)
    return event.account == ctx.account


@action
def count_restart(ctx: SessionContext, event: ev.Event) -> list[cmd.Command]:
    ctx.restarts += 1
    ctx.rotation_times.append(event.at)
    return []


@action
def record_quota(ctx: SessionContext, event: ev.Event) -> list[cmd.Command]:
    assert isinstance(event, ev.QuotaObserved)
    ctx.last_snapshot = event.snapshot
    if event.model is not None:
        ctx.model = event.model
    return [cmd.RecordQuota(account=ctx.account or "", snapshot=event.snapshot)]


@action
def mark_rotation_due(ctx: SessionContext, event: ev.Event) -> list[cmd.Command]:
    ctx.rotation_reason = "quota"
    ctx.rotation_suspended = False  # a pause that no longer holds is over: a new one is announced again
    return []


@action
def mark_usage_limit(ctx: SessionContext, event: ev.Event) -> list[cmd.Command]:
    assert isinstance(event, ev.UsageLimitHit)
    ctx.rotation_reason = "usage_limit"
    ctx.usage_limit_resets_at = event.resets_at
    ctx.turn_active = False
    ctx.resubmit_pending = ctx.settings.resubmit_interrupted_prompt
    return []


@action
def mark_lease_lost(ctx: SessionContext, event: ev.Event) -> list[cmd.Command]:
    ctx.rotation_reason = "lease_lost"
    return [cmd.Notify(kind="lease_lost", params=(("account", ctx.account),))]


@action
def suspend_rotation(ctx: SessionContext, event: ev.Event) -> list[cmd.Command]:
    """Stop rotating and say so once: the usage limit that follows the quota reading which paused
    rotation (the same turn) is not news to the user."""
    announced, ctx.rotation_suspended = ctx.rotation_suspended, True
    ctx.rotation_reason = None
    if announced:
        return []
    why = "restart budget spent" if budget_spent(ctx) else "too many rotations"
    return [cmd.Notify(kind="rotation_suspended", params=(
        ("why", why), ("restarts", ctx.restarts), ("session_id", ctx.session_id)))]


@deadline
def rotation_idle_deadline(ctx: SessionContext) -> float | None:
    if ctx.rotation_reason is None or ctx.turn_active:
        return None
    if ctx.last_input_at is None:
        return None
    return ctx.last_input_at + ctx.settings.idle_before_rotate_s
