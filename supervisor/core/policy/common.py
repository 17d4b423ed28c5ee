"""Helpers shared by the policy's concerns (not named by the chart)."""

from __future__ import annotations

from .. import commands as cmd
from .. import events as ev
from ..context import SessionContext
from ..quota import MAIN_FAMILY, QuotaSnapshot, Thresholds, blocked_until, plausible_reset


def thresholds(ctx: SessionContext, account: str | None) -> Thresholds:
    return ctx.settings.thresholds_for(account)


def restarts_in_window(ctx: SessionContext, now: float) -> int:
    return sum(1 for t in ctx.rotation_times if now - t <= ctx.settings.thrash_window_s)


def thrashing(ctx: SessionContext, now: float) -> bool:
    return restarts_in_window(ctx, now) >= ctx.settings.thrash_rotations


def budget_spent(ctx: SessionContext) -> bool:
    return ctx.restarts >= ctx.settings.max_restarts


def release(*accounts: str | None) -> list[cmd.Command]:
    return [cmd.ReleaseAccount(account=a) for a in accounts if a]


def release_held(ctx: SessionContext, *, including_account: bool = True) -> list[cmd.Command]:
    """Give back every lease this session holds (the running account, a candidate, a successor)."""
    released = release(ctx.account if including_account else None, ctx.candidate, ctx.successor)
    ctx.candidate = ctx.successor = None
    return released


def cool_down(ctx: SessionContext, account: str, until: float, reason: str,
              snapshot: QuotaSnapshot | None) -> cmd.CoolDown:
    """Bench ``account`` for the family the session's model uses, or its whole workspace when the
    snapshot says the workspace is stopped (rotating within it would be pointless)."""
    workspace = None if snapshot is None else snapshot.workspace_limit
    if workspace is not None:
        return cmd.CoolDown(account=account, until=until, reason=f"{reason}: {workspace}", workspace=True)
    family = MAIN_FAMILY if snapshot is None else snapshot.family_for(ctx.model)
    return cmd.CoolDown(account=account, until=until, reason=reason, family=family)


def input_moment(ctx: SessionContext, event: ev.Event) -> float | None:
    if isinstance(event, (ev.Tick, ev.TurnFinished)) and event.last_input_at is not None:
        return event.last_input_at
    return ctx.last_input_at


def cooldown_until(ctx: SessionContext, snapshot: QuotaSnapshot | None, account: str | None,
                    now: float, resets_at: float | None = None) -> float:
    """Bench an exhausted account until it is usable again; never for ~0 s.

    The reset the usage-limit error named and the snapshot's own block (``quota.blocked_until``,
    the same moment ranking waits for) both count; the later one wins, since both must have passed.
    Only without either does the unknown-reset default apply.
    """
    # plausible_reset also drops the snapshot's "blocked with no known end" (an infinite moment).
    family = None if snapshot is None else snapshot.for_model(ctx.model)
    known = [moment for moment in (plausible_reset(resets_at, now),
                                   plausible_reset(blocked_until(family, thresholds(ctx, account)), now))
             if moment is not None]
    if known:
        return max(known)
    return now + ctx.settings.unknown_reset_cooldown_s
