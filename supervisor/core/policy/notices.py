"""What the user is told: the notices the chart's actions ask for."""

from __future__ import annotations

import math

from .. import commands as cmd
from .. import events as ev
from ..context import SessionContext
from ..quota import QuotaSnapshot
from .registry import action


def quota_figures(snapshot: QuotaSnapshot | None, now: float) -> tuple[tuple[str, object], ...]:
    if snapshot is None:
        return ()
    figures = []
    for w in sorted(snapshot.windows, key=lambda w: w.window_minutes):
        figures.append((f"used_{w.kind.value}", round(w.used_at(now), 1)))
    return tuple(figures)


def wait_notice(ctx: SessionContext, now: float) -> cmd.Notify:
    until = ctx.wait_until or now
    return cmd.Notify(kind="pool_wait", params=(
        ("reset_at", until), ("seconds", max(0, math.ceil(until - now))),
        ("session_id", ctx.session_id)))


@action
def report_spawn_failure(ctx: SessionContext, event: ev.Event) -> list[cmd.Command]:
    assert isinstance(event, ev.SpawnFailed)
    return [cmd.Notify(kind="spawn_failed", params=(("reason", event.reason),))]


@action
def announce_reselected(ctx: SessionContext, event: ev.Event) -> list[cmd.Command]:
    """The session continues on a freshly selected account: from the one it retired, if any."""
    return [rotation_notice(ctx, ctx.retired_account, event.at, ctx.retired_snapshot)]


@action
def announce_crash_resume(ctx: SessionContext, event: ev.Event) -> list[cmd.Command]:
    assert isinstance(event, ev.ChildExited)
    return [cmd.Notify(kind="crash_resume", params=(
        ("signal", event.signal), ("session_id", ctx.session_id)))]


def rotation_notice(ctx: SessionContext, previous: str | None, now: float,
                    figures_of: QuotaSnapshot | None) -> cmd.Notify:
    """The move to ``ctx.account`` from ``previous``, with the figures of the account left (``figures_of``)."""
    # A usage limit names when the old account resets; a move for any other reason shows figures only.
    resets = (("resets_at", ctx.usage_limit_resets_at),) \
        if ctx.rotation_reason == "usage_limit" and ctx.usage_limit_resets_at is not None else ()
    return cmd.Notify(kind="rotated", params=(
        ("from", previous), ("to", ctx.account), ("reason", ctx.rotation_reason), *resets,
        *quota_figures(None if figures_of is None else figures_of.for_model(ctx.model), now),
        ("session_id", ctx.session_id)))
