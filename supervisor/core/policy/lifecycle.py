"""The child's lifecycle: spawn, turns and input, the stop ladder, exit, resume and readiness."""

from __future__ import annotations

from .. import commands as cmd
from .. import events as ev
from ..context import SessionContext
from .common import budget_spent, input_moment, release_held, thrashing
from .registry import action, deadline, guard


STOP_LADDER: tuple[str, ...] = ("interrupt", "terminate", "kill")


# A quit key pressed while no child runs ends codex-fsm as Ctrl-C's SIGINT would: 128 + 2.
QUIT_KEY_STATUS = 130


# Signals that mean "somebody asked this process to end" rather than "it crashed"; SIGPIPE: the reader
# of its output went away (``codex-fsm exec … | head``), which a resumed run would only meet again.
_REQUESTED_SIGNALS = frozenset({1, 2, 13, 15})  # SIGHUP, SIGINT, SIGPIPE, SIGTERM


@guard
def crash_resumable(ctx: SessionContext, event: ev.Event) -> bool:
    """Killed by a signal nobody asked for, with a session to resume and budget left."""
    assert isinstance(event, ev.ChildExited)
    crashed = event.signal is not None and event.signal not in _REQUESTED_SIGNALS
    return (crashed and ctx.session_id is not None and not budget_spent(ctx)
            and not thrashing(ctx, event.at))


@guard
def headless(ctx: SessionContext, event: ev.Event) -> bool:
    """The child is ``codex exec``: nobody types into it, so there is no quiet moment to wait for and
    no composer to type into; a resumed run carries its continuation prompt on its command line."""
    return ctx.headless


@guard
def quit_requested(ctx: SessionContext, event: ev.Event) -> bool:
    return ctx.quit_signal is not None


@guard
def no_session_bound(ctx: SessionContext, event: ev.Event) -> bool:
    return ctx.session_id is None


@guard
def stop_overdue(ctx: SessionContext, event: ev.Event) -> bool:
    return ctx.stop_deadline is not None and event.at >= ctx.stop_deadline


@guard
def ladder_has_next_step(ctx: SessionContext, event: ev.Event) -> bool:
    return ctx.stop_step < len(STOP_LADDER) - 1


@guard
def ready_overdue(ctx: SessionContext, event: ev.Event) -> bool:
    return ctx.ready_deadline is not None and event.at >= ctx.ready_deadline


@action
def remember_start(ctx: SessionContext, event: ev.Event) -> list[cmd.Command]:
    assert isinstance(event, ev.SessionStarted)
    ctx.session_id = event.session_id
    ctx.headless = event.headless
    ctx.model = event.model
    return []


@action
def quit_on_interrupt(ctx: SessionContext, event: ev.Event) -> list[cmd.Command]:
    assert isinstance(event, ev.Interrupted)
    ctx.exit_status = 128 + event.signal
    return [*release_held(ctx, including_account=False), cmd.Exit(status=ctx.exit_status)]


@action
def quit_on_key(ctx: SessionContext, event: ev.Event) -> list[cmd.Command]:
    assert isinstance(event, ev.QuitKeyPressed)
    ctx.exit_status = QUIT_KEY_STATUS
    return [*release_held(ctx, including_account=False), cmd.Exit(status=QUIT_KEY_STATUS)]


@action
def spawn_child(ctx: SessionContext, event: ev.Event) -> list[cmd.Command]:
    ctx.child_has_run = True
    ctx.turn_active = False
    return [cmd.SpawnChild(account=ctx.account or "", bind_to=ctx.session_id)]


@action
def spawn_resumed_child(ctx: SessionContext, event: ev.Event) -> list[cmd.Command]:
    ctx.child_has_run = True
    ctx.turn_active = False
    ctx.rotation_reason = None
    ctx.ready_deadline = event.at + ctx.settings.resume_ready_timeout_s
    return [cmd.SpawnChild(account=ctx.account or "", resume_session_id=ctx.session_id, bind_to=ctx.session_id)]


@action
def bind_session(ctx: SessionContext, event: ev.Event) -> list[cmd.Command]:
    assert isinstance(event, ev.SessionBound)
    ctx.session_id = event.session_id
    return []


@action
def note_turn_started(ctx: SessionContext, event: ev.Event) -> list[cmd.Command]:
    ctx.turn_active = True
    return []


@action
def note_turn_finished(ctx: SessionContext, event: ev.Event) -> list[cmd.Command]:
    ctx.turn_active = False
    ctx.last_input_at = input_moment(ctx, event)
    return []


@action
def note_input(ctx: SessionContext, event: ev.Event) -> list[cmd.Command]:
    ctx.last_input_at = input_moment(ctx, event)
    return []


@action
def release_all(ctx: SessionContext, event: ev.Event) -> list[cmd.Command]:
    return release_held(ctx)


@action
def exit_with_failure(ctx: SessionContext, event: ev.Event) -> list[cmd.Command]:
    ctx.exit_status = 1
    return [cmd.Exit(status=1)]


@action
def stop_child(ctx: SessionContext, event: ev.Event) -> list[cmd.Command]:
    ctx.stop_step = 0
    ctx.stop_deadline = event.at + ctx.settings.stop_interrupt_s
    return [cmd.StopChild(step=STOP_LADDER[0])]


@action
def escalate_stop(ctx: SessionContext, event: ev.Event) -> list[cmd.Command]:
    ctx.stop_step += 1
    step = STOP_LADDER[ctx.stop_step]
    budget = ctx.settings.stop_terminate_s if step == "terminate" else ctx.settings.stop_kill_s
    ctx.stop_deadline = event.at + budget
    return [cmd.StopChild(step=step)]


@action
def abandon_child(ctx: SessionContext, event: ev.Event) -> list[cmd.Command]:
    ctx.exit_status = 1
    return [cmd.RestoreTerminal(), cmd.Notify(kind="child_unkillable", params=(
        ("session_id", ctx.session_id),)), *release_held(ctx), cmd.Exit(status=1)]


@action
def note_exit(ctx: SessionContext, event: ev.Event) -> list[cmd.Command]:
    assert isinstance(event, ev.ChildExited)
    ctx.last_exit_status = event.status
    ctx.turn_active = False
    ctx.stop_step = -1
    ctx.stop_deadline = None
    ctx.ready_deadline = None
    return []


@action
def restore_terminal(ctx: SessionContext, event: ev.Event) -> list[cmd.Command]:
    return [cmd.RestoreTerminal()]


@action
def request_quit(ctx: SessionContext, event: ev.Event) -> list[cmd.Command]:
    assert isinstance(event, ev.Interrupted)
    ctx.quit_signal = event.signal
    return []


@action
def finish_with_child_status(ctx: SessionContext, event: ev.Event) -> list[cmd.Command]:
    assert isinstance(event, ev.ChildExited)
    ctx.exit_status = event.status
    released = release_held(ctx)
    # Codex prints its own resume hint when it exits by itself; a death by signal leaves none.
    hint = ([cmd.Notify(kind="resume_hint", params=(("session_id", ctx.session_id),))]
            if event.signal is not None and ctx.session_id else [])
    return [*hint, *released, cmd.Exit(status=event.status)]


@action
def finish_after_quit(ctx: SessionContext, event: ev.Event) -> list[cmd.Command]:
    ctx.exit_status = 128 + (ctx.quit_signal or 2)
    return [*release_held(ctx), cmd.Exit(status=ctx.exit_status)]


@action
def report_no_session(ctx: SessionContext, event: ev.Event) -> list[cmd.Command]:
    status = ctx.last_exit_status if ctx.last_exit_status is not None else 1
    ctx.exit_status = status
    return [cmd.Notify(kind="no_session_to_resume", params=()), *release_held(ctx), cmd.Exit(status=status)]


@action
def note_ready(ctx: SessionContext, event: ev.Event) -> list[cmd.Command]:
    ctx.ready_deadline = None
    ctx.rotation_reason = None
    ctx.usage_limit_resets_at = None
    return []


@action
def resubmit_interrupted_prompt(ctx: SessionContext, event: ev.Event) -> list[cmd.Command]:
    """Type the request a usage limit interrupted into the resumed composer, once, if one waits."""
    if not ctx.resubmit_pending:
        return []
    ctx.resubmit_pending = False
    return [cmd.ResubmitPrompt()]


@action
def retype_draft(ctx: SessionContext, event: ev.Event) -> list[cmd.Command]:
    return [cmd.RetypeDraft()]


@deadline
def stop_deadline(ctx: SessionContext) -> float | None:
    return ctx.stop_deadline


@deadline
def ready_deadline(ctx: SessionContext) -> float | None:
    return ctx.ready_deadline
