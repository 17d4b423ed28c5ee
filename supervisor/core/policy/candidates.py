"""Pool and candidate: leasing, probing, benching and waiting for accounts, for the session and for its successor."""

from __future__ import annotations

from .. import commands as cmd
from .. import events as ev
from ..context import SessionContext
from ..quota import has_headroom
from .notices import rotation_notice, wait_notice
from .common import cool_down, cooldown_until, release, release_held, thresholds
from .registry import action, deadline, guard


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
        event.snapshot.for_model(ctx.model), thresholds(ctx, event.account), event.at)


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
def prewarm_retry_due(ctx: SessionContext, event: ev.Event) -> bool:
    return (ctx.prewarm_retry_at is not None and event.at >= ctx.prewarm_retry_at
            and ctx.successor is None and ctx.candidate is None)


@guard
def successor_ready(ctx: SessionContext, event: ev.Event) -> bool:
    return ctx.successor is not None


@guard
def candidate_in_flight(ctx: SessionContext, event: ev.Event) -> bool:
    return ctx.candidate is not None


@guard
def lost_candidate(ctx: SessionContext, event: ev.Event) -> bool:
    assert isinstance(event, ev.LeaseLost)
    return event.account == ctx.candidate


@action
def lease_candidate(ctx: SessionContext, event: ev.Event) -> list[cmd.Command]:
    ctx.candidate = None
    ctx.wait_until = None
    ctx.next_countdown_at = None
    return [cmd.LeaseCandidate(purpose="session", model=ctx.model)]


@action
def hold_candidate(ctx: SessionContext, event: ev.Event) -> list[cmd.Command]:
    assert isinstance(event, ev.AccountLeased)
    ctx.candidate = event.account
    return []


@action
def probe_candidate(ctx: SessionContext, event: ev.Event) -> list[cmd.Command]:
    return [cmd.ProbeQuota(account=ctx.candidate or "")]


@action
def record_probe(ctx: SessionContext, event: ev.Event) -> list[cmd.Command]:
    assert isinstance(event, ev.QuotaProbed)
    return [cmd.RecordQuota(account=event.account, snapshot=event.snapshot)]


@action
def adopt_candidate(ctx: SessionContext, event: ev.Event) -> list[cmd.Command]:
    assert isinstance(event, ev.QuotaProbed)
    ctx.account, ctx.candidate = ctx.candidate, None
    ctx.last_snapshot = event.snapshot
    ctx.wait_started_at = ctx.wait_until = ctx.next_countdown_at = None
    return []


@action
def probe_unknown_accounts(ctx: SessionContext, event: ev.Event) -> list[cmd.Command]:
    """Learn never-probed accounts' headroom while the child runs, bounded by the settings."""
    if ctx.settings.background_probes <= 0:
        return []
    return [cmd.ProbeUnknownAccounts(limit=ctx.settings.background_probes,
                                     exclude=tuple(a for a in (ctx.account,) if a))]


@action
def bench_candidate(ctx: SessionContext, event: ev.Event) -> list[cmd.Command]:
    assert isinstance(event, ev.QuotaProbed)
    until = cooldown_until(ctx, event.snapshot, event.account, event.at)
    ctx.candidate = None
    return [cool_down(ctx, event.account, until, "quota below floor", event.snapshot),
            *release(event.account)]


@action
def cool_candidate_briefly(ctx: SessionContext, event: ev.Event) -> list[cmd.Command]:
    assert isinstance(event, ev.ProbeFailed)
    wait = event.retry_after_s if event.retry_after_s is not None else ctx.settings.probe_failure_cooldown_s
    ctx.candidate = None
    return [cmd.CoolDown(account=event.account, until=event.at + wait, reason=f"probe {event.kind}"),
            *release(event.account)]


@action
def start_waiting(ctx: SessionContext, event: ev.Event) -> list[cmd.Command]:
    assert isinstance(event, ev.PoolExhausted) and event.soonest_reset_at is not None
    if ctx.wait_started_at is None:
        ctx.wait_started_at = event.at
    ctx.wait_until = max(event.soonest_reset_at, event.at + ctx.settings.min_pool_retry_s)
    ctx.next_countdown_at = event.at + ctx.settings.countdown_every_s
    return [wait_notice(ctx, event.at)]


@action
def show_countdown(ctx: SessionContext, event: ev.Event) -> list[cmd.Command]:
    ctx.next_countdown_at = event.at + ctx.settings.countdown_every_s
    return [wait_notice(ctx, event.at)]


# No account can run now, nor within the maximum wait: EX_TEMPFAIL from sysexits.h, so a script can
# tell "try again later" from Codex's own failures (which exit 1).
POOL_EXHAUSTED_STATUS = 75


@action
def give_up(ctx: SessionContext, event: ev.Event) -> list[cmd.Command]:
    assert isinstance(event, ev.PoolExhausted)
    ctx.exit_status = POOL_EXHAUSTED_STATUS
    return [cmd.Notify(kind="gave_up", params=(
                ("reason", event.reason), ("reset_at", event.soonest_reset_at),
                ("max_wait_s", ctx.settings.max_pool_wait_s), ("session_id", ctx.session_id))),
            *release_held(ctx, including_account=False),
            cmd.Exit(status=POOL_EXHAUSTED_STATUS)]


@action
def lease_successor(ctx: SessionContext, event: ev.Event) -> list[cmd.Command]:
    ctx.candidate = None
    ctx.prewarm_retry_at = None
    return [cmd.LeaseCandidate(purpose="successor", exclude=tuple(a for a in (ctx.account,) if a), model=ctx.model)]


@action
def hold_successor(ctx: SessionContext, event: ev.Event) -> list[cmd.Command]:
    ctx.successor, ctx.candidate = ctx.candidate, None
    return []


@action
def schedule_prewarm_retry(ctx: SessionContext, event: ev.Event) -> list[cmd.Command]:
    ctx.candidate = None
    ctx.prewarm_retry_at = event.at + ctx.settings.prewarm_retry_s
    return []


@action
def release_successor(ctx: SessionContext, event: ev.Event) -> list[cmd.Command]:
    return release_held(ctx, including_account=False)


@action
def forget_lost_lease(ctx: SessionContext, event: ev.Event) -> list[cmd.Command]:
    """The pool says another process holds this account now: stop counting on it, release nothing."""
    assert isinstance(event, ev.LeaseLost)
    if ctx.candidate == event.account:
        ctx.candidate = None
    if ctx.successor == event.account:
        ctx.successor = None
    return []


@action
def retire_account(ctx: SessionContext, event: ev.Event) -> list[cmd.Command]:
    """Leave the old account: bench it until its blocking reset, then release its lease."""
    old = ctx.account
    if old is None:
        return []
    ctx.retired_account, ctx.retired_snapshot = old, ctx.last_snapshot
    commands: list[cmd.Command] = []
    if ctx.rotation_reason in ("quota", "usage_limit"):
        until = cooldown_until(ctx, ctx.last_snapshot, old, event.at, ctx.usage_limit_resets_at)
        commands.append(cool_down(ctx, old, until, ctx.rotation_reason, ctx.last_snapshot))
    commands.extend(release(old))
    return commands


@action
def adopt_successor(ctx: SessionContext, event: ev.Event) -> list[cmd.Command]:
    previous, ctx.account, ctx.successor = ctx.account, ctx.successor, None
    return [rotation_notice(ctx, previous, event.at, ctx.last_snapshot)]  # still the old account's


@deadline
def wait_deadline(ctx: SessionContext) -> float | None:
    return ctx.wait_until


@deadline
def countdown_deadline(ctx: SessionContext) -> float | None:
    return ctx.next_countdown_at


@deadline
def prewarm_retry_deadline(ctx: SessionContext) -> float | None:
    if ctx.successor is not None or ctx.candidate is not None:
        return None
    return ctx.prewarm_retry_at
