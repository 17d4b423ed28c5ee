"""One test per row of statecharts/session.json: the row fires, lands where it says, and asks for
exactly these commands. A meta-test fails when a row has no case here or a case has no row."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import pytest

from supervisor.chartfile import load_default_chart
from supervisor.core import commands as cmd
from supervisor.core import events as ev
from supervisor.core.context import SessionContext
from supervisor.core.settings import SessionSettings

from .helpers import ALPHA, BRAVO, CHARLIE, SID, T, healthy, near_prewarm, near_rotate, reach, snap


@dataclass
class Case:
    state: str
    event: ev.Event
    commands: list
    context: dict = field(default_factory=dict)
    check: Callable[[SessionContext], bool] | None = None
    settings: SessionSettings | None = None


def lease_successor():
    return cmd.LeaseCandidate(purpose="successor", exclude=(ALPHA,))


SUSPENDED = cmd.Notify(kind="rotation_suspended", params=(("why", "restart budget spent"), ("restarts", 16),
                                                          ("session_id", SID)))
EXHAUSTED = snap(97, 10, T, reset_5h=T + 500)
STOP = cmd.StopChild(step="interrupt")
# Where a bystander's probe answer can arrive, with a candidate in flight where the state has one.
BYSTANDER_STATES = (("acquiring", "", {}), ("probing", "", {"candidate": ALPHA}), ("running", "", {}),
                    ("prewarming", "[probe_of_bystander]", {"candidate": BRAVO}),
                    ("restarting", "[probe_of_bystander]", {"candidate": BRAVO}), ("resuming", "", {}))

CASES: dict[str, Case] = {
    # startup gate
    "acquiring-session_started->acquiring": Case("fresh", ev.SessionStarted(at=T), [cmd.LeaseCandidate()]),
    "acquiring-session_started->acquiring (headless)": Case(
        "fresh", ev.SessionStarted(at=T, session_id=SID, headless=True), [cmd.LeaseCandidate()],
        check=lambda c: c.headless and c.session_id == SID),
    "acquiring-account_leased->probing": Case("acquiring", ev.AccountLeased(at=T, account=BRAVO),
                                              [cmd.ProbeQuota(account=BRAVO)], check=lambda c: c.candidate == BRAVO),
    "acquiring-pool_exhausted->acquiring": Case(
        "acquiring", ev.PoolExhausted(at=T, soonest_reset_at=T + 100),
        [cmd.Notify(kind="pool_wait", params=(("reset_at", T + 100), ("seconds", 100), ("session_id", None)))],
        check=lambda c: c.wait_until == T + 100 and c.next_countdown_at == T + 60),
    "acquiring-pool_exhausted->acquiring (a reset already due)": Case(
        "acquiring", ev.PoolExhausted(at=T, soonest_reset_at=T - 5),
        [cmd.Notify(kind="pool_wait", params=(("reset_at", T + 10), ("seconds", 10), ("session_id", None)))],
        check=lambda c: c.wait_until == T + 10),
    "acquiring-pool_exhausted->exited": Case(
        "acquiring", ev.PoolExhausted(at=T, soonest_reset_at=None, reason="no enabled accounts"),
        [cmd.Notify(kind="gave_up", params=(("reason", "no enabled accounts"), ("reset_at", None),
                                            ("max_wait_s", 3600.0), ("session_id", None))), cmd.Exit(status=75)],
        check=lambda c: c.exit_status == 75),
    "acquiring-tick->acquiring[wait_elapsed]": Case("acquiring", ev.Tick(at=T), [cmd.LeaseCandidate()],
                                                    {"wait_until": T - 1}, check=lambda c: c.wait_until is None),
    "acquiring-tick->acquiring[countdown_due]": Case(
        "acquiring", ev.Tick(at=T),
        [cmd.Notify(kind="pool_wait", params=(("reset_at", T + 50), ("seconds", 50), ("session_id", None)))],
        {"wait_until": T + 50, "next_countdown_at": T}),
    "acquiring-tick->acquiring[else]": Case("acquiring", ev.Tick(at=T), []),
    "acquiring-interrupted->exited": Case("acquiring", ev.Interrupted(at=T, signal=2), [cmd.Exit(status=130)]),
    "probing-interrupted->exited": Case("probing", ev.Interrupted(at=T, signal=1),
                                        [cmd.ReleaseAccount(account=ALPHA), cmd.Exit(status=129)]),
    "acquiring-quit_key_pressed->exited": Case(
        "acquiring", ev.QuitKeyPressed(at=T, key="ctrl-c"), [cmd.ReleaseAccount(account=BRAVO), cmd.Exit(status=130)],
        {"successor": BRAVO}, check=lambda c: c.exit_status == 130 and c.successor is None),
    "probing-quit_key_pressed->exited": Case("probing", ev.QuitKeyPressed(at=T, key="q"),
                                             [cmd.ReleaseAccount(account=ALPHA), cmd.Exit(status=130)],
                                             check=lambda c: c.candidate is None),
    "resuming-quit_key_pressed->resuming": Case("resuming", ev.QuitKeyPressed(at=T, key="ctrl-d"), []),
    # probing
    "probing-quota_probed->resuming": Case(
        "probing", ev.QuotaProbed(at=T, account=ALPHA, snapshot=healthy(T)),
        [cmd.RecordQuota(account=ALPHA, snapshot=healthy(T)),
         cmd.Notify(kind="rotated", params=(("from", None), ("to", ALPHA), ("reason", None), ("session_id", SID))),
         cmd.SpawnChild(account=ALPHA, resume_session_id=SID, bind_to=SID)],
        {"child_has_run": True, "session_id": SID}, check=lambda c: c.restarts == 1),
    "probing-quota_probed->resuming (after a usage limit on another account)": Case(
        "probing", ev.QuotaProbed(at=T, account=ALPHA, snapshot=healthy(T)),
        [cmd.RecordQuota(account=ALPHA, snapshot=healthy(T)),
         cmd.Notify(kind="rotated", params=(("from", CHARLIE), ("to", ALPHA), ("reason", "usage_limit"),
                                            ("resets_at", T + 900), ("used_5h", 97.0), ("used_weekly", 10.0),
                                            ("session_id", SID))),
         cmd.SpawnChild(account=ALPHA, resume_session_id=SID, bind_to=SID)],
        {"child_has_run": True, "session_id": SID, "retired_account": CHARLIE, "retired_snapshot": near_rotate(T),
         "rotation_reason": "usage_limit", "usage_limit_resets_at": T + 900}),
    "probing-quota_probed->running": Case(
        "probing", ev.QuotaProbed(at=T, account=ALPHA, snapshot=healthy(T)),
        [cmd.RecordQuota(account=ALPHA, snapshot=healthy(T)), cmd.SpawnChild(account=ALPHA),
         cmd.ProbeUnknownAccounts(limit=2, exclude=(ALPHA,))],
        check=lambda c: c.account == ALPHA and c.candidate is None),
    "probing-quota_probed->running (the user asked to resume a session)": Case(
        "probing", ev.QuotaProbed(at=T, account=ALPHA, snapshot=healthy(T)),
        [cmd.RecordQuota(account=ALPHA, snapshot=healthy(T)), cmd.SpawnChild(account=ALPHA, bind_to=SID),
         cmd.ProbeUnknownAccounts(limit=2, exclude=(ALPHA,))], {"session_id": SID}),
    "probing-quota_probed->running (background probes off)": Case(
        "probing", ev.QuotaProbed(at=T, account=ALPHA, snapshot=healthy(T)),
        [cmd.RecordQuota(account=ALPHA, snapshot=healthy(T)), cmd.SpawnChild(account=ALPHA)],
        settings=SessionSettings(background_probes=0)),
    "probing-quota_probed->acquiring": Case(
        "probing", ev.QuotaProbed(at=T, account=ALPHA, snapshot=EXHAUSTED),
        [cmd.RecordQuota(account=ALPHA, snapshot=EXHAUSTED),
         cmd.CoolDown(account=ALPHA, until=T + 500, reason="quota below floor", family="codex"),
         cmd.ReleaseAccount(account=ALPHA), cmd.LeaseCandidate()]),
    "probing-probe_failed->acquiring": Case(
        "probing", ev.ProbeFailed(at=T, account=ALPHA, kind="unavailable"),
        [cmd.CoolDown(account=ALPHA, until=T + 60, reason="probe unavailable"), cmd.ReleaseAccount(account=ALPHA),
         cmd.LeaseCandidate()]),
    "probing-tick->probing": Case("probing", ev.Tick(at=T), []),
    # live monitoring
    "running-session_bound->running": Case("running", ev.SessionBound(at=T, session_id="other"), [],
                                           check=lambda c: c.session_id == "other"),
    "prewarming-session_bound->prewarming": Case("prewarming", ev.SessionBound(at=T, session_id=SID), []),
    "resuming-session_bound->resuming": Case("resuming", ev.SessionBound(at=T, session_id=SID), []),
    "running-child_ready->running": Case("running", ev.ChildReady(at=T), []),
    "prewarming-child_ready->prewarming": Case("prewarming", ev.ChildReady(at=T), []),
    "running-turn_started->running": Case("running", ev.TurnStarted(at=T), [], check=lambda c: c.turn_active),
    "prewarming-turn_started->prewarming": Case("prewarming", ev.TurnStarted(at=T), [],
                                                check=lambda c: c.turn_active),
    "resuming-turn_started->resuming": Case("resuming", ev.TurnStarted(at=T), []),
    "running-turn_finished->running": Case("running", ev.TurnFinished(at=T, last_input_at=T - 5), [],
                                           {"turn_active": True},
                                           check=lambda c: not c.turn_active and c.last_input_at == T - 5),
    "resuming-turn_finished->resuming": Case("resuming", ev.TurnFinished(at=T), []),
    "running-tick->running": Case("running", ev.Tick(at=T, last_input_at=T - 1), [],
                                  check=lambda c: c.last_input_at == T - 1),
    "running-spawn_failed->exited": Case(
        "running", ev.SpawnFailed(at=T, reason="codex not found"),
        [cmd.Notify(kind="spawn_failed", params=(("reason", "codex not found"),)),
         cmd.ReleaseAccount(account=ALPHA), cmd.Exit(status=1)]),
    "prewarming-spawn_failed->exited": Case(
        "prewarming", ev.SpawnFailed(at=T, reason="codex not found"),
        [cmd.Notify(kind="spawn_failed", params=(("reason", "codex not found"),)),
         cmd.ReleaseAccount(account=ALPHA), cmd.ReleaseAccount(account=BRAVO), cmd.Exit(status=1)],
        {"successor": BRAVO}, check=lambda c: c.successor is None),
    "resuming-spawn_failed->exited": Case(
        "resuming", ev.SpawnFailed(at=T, reason="exec format error"),
        [cmd.Notify(kind="spawn_failed", params=(("reason", "exec format error"),)),
         cmd.ReleaseAccount(account=ALPHA), cmd.Exit(status=1)]),
    # quota observed from the rollout
    "running-quota_observed->running[rotation_suspended]": Case(
        "running", ev.QuotaObserved(at=T, snapshot=near_rotate(T)),
        [cmd.RecordQuota(account=ALPHA, snapshot=near_rotate(T))], {"rotation_suspended": True, "restarts": 16}),
    "running-quota_observed->running[rotation_suspended] (still within the thrash window)": Case(
        "running", ev.QuotaObserved(at=T, snapshot=near_rotate(T)),
        [cmd.RecordQuota(account=ALPHA, snapshot=near_rotate(T))],
        {"rotation_suspended": True, "rotation_times": [T - 300, T - 200, T - 100]},
        check=lambda c: c.rotation_suspended and c.rotation_reason is None),
    "running-quota_observed->prewarming[pressure_rotate] (a thrash pause whose window has passed)": Case(
        "running", ev.QuotaObserved(at=T, snapshot=near_rotate(T)),
        [cmd.RecordQuota(account=ALPHA, snapshot=near_rotate(T)), lease_successor()],
        {"rotation_suspended": True, "rotation_times": [T - 700, T - 650, T - 601]},
        check=lambda c: c.rotation_reason == "quota" and not c.rotation_suspended),
    "running-quota_observed->running[pressure_rotate and rotation_blocked]": Case(
        "running", ev.QuotaObserved(at=T, snapshot=near_rotate(T)),
        [cmd.RecordQuota(account=ALPHA, snapshot=near_rotate(T)), SUSPENDED], {"restarts": 16},
        check=lambda c: c.rotation_suspended),
    "running-quota_observed->prewarming[pressure_rotate]": Case(
        "running", ev.QuotaObserved(at=T, snapshot=near_rotate(T)),
        [cmd.RecordQuota(account=ALPHA, snapshot=near_rotate(T)), lease_successor()],
        check=lambda c: c.rotation_reason == "quota"),
    "running-quota_observed->prewarming[pressure_prewarm]": Case(
        "running", ev.QuotaObserved(at=T, snapshot=near_prewarm(T)),
        [cmd.RecordQuota(account=ALPHA, snapshot=near_prewarm(T)), lease_successor()],
        check=lambda c: c.rotation_reason is None),
    "running-quota_observed->running[else]": Case(
        "running", ev.QuotaObserved(at=T, snapshot=healthy(T)), [cmd.RecordQuota(account=ALPHA, snapshot=healthy(T))]),
    "resuming-quota_observed->resuming": Case(
        "resuming", ev.QuotaObserved(at=T, snapshot=healthy(T)), [cmd.RecordQuota(account=ALPHA, snapshot=healthy(T))]),
    "restarting-quota_observed->restarting": Case(
        "restarting", ev.QuotaObserved(at=T, snapshot=healthy(T)),
        [cmd.RecordQuota(account=ALPHA, snapshot=healthy(T))]),
    # usage limit, lease lost, exits, interrupts
    "running-usage_limit_hit->running": Case("running", ev.UsageLimitHit(at=T), [SUSPENDED], {"restarts": 16}),
    "running-usage_limit_hit->running (the pause was announced already)": Case(
        "running", ev.UsageLimitHit(at=T), [], {"restarts": 16, "rotation_suspended": True},
        check=lambda c: c.rotation_suspended),
    "resuming-usage_limit_hit->running": Case("resuming", ev.UsageLimitHit(at=T), [SUSPENDED], {"restarts": 16}),
    "running-usage_limit_hit->restarting": Case(
        "running", ev.UsageLimitHit(at=T, resets_at=T + 900), [STOP],
        check=lambda c: c.resubmit_pending and c.stop_deadline == T + 3 and c.rotation_reason == "usage_limit"),
    "resuming-usage_limit_hit->restarting": Case("resuming", ev.UsageLimitHit(at=T, resets_at=T + 900), [STOP]),
    "running-lease_lost->prewarming": Case(
        "running", ev.LeaseLost(at=T, account=ALPHA),
        [cmd.Notify(kind="lease_lost", params=(("account", ALPHA),)), lease_successor()],
        check=lambda c: c.rotation_reason == "lease_lost"),
    "resuming-lease_lost->prewarming": Case(
        "resuming", ev.LeaseLost(at=T, account=ALPHA),
        [cmd.Notify(kind="lease_lost", params=(("account", ALPHA),)), lease_successor()]),
    "running-child_exited->resuming": Case(
        "running", ev.ChildExited(at=T, signal=11),
        [cmd.RestoreTerminal(), cmd.Notify(kind="crash_resume", params=(("signal", 11), ("session_id", SID))),
         cmd.SpawnChild(account=ALPHA, resume_session_id=SID, bind_to=SID)], check=lambda c: c.restarts == 1),
    "prewarming-child_exited->resuming": Case(
        "prewarming", ev.ChildExited(at=T, signal=6),
        [cmd.RestoreTerminal(), cmd.ReleaseAccount(account=BRAVO),
         cmd.Notify(kind="crash_resume", params=(("signal", 6), ("session_id", SID))),
         cmd.SpawnChild(account=ALPHA, resume_session_id=SID, bind_to=SID)], {"successor": BRAVO}),
    "resuming-child_exited->resuming": Case(
        "resuming", ev.ChildExited(at=T, signal=11),
        [cmd.RestoreTerminal(), cmd.Notify(kind="crash_resume", params=(("signal", 11), ("session_id", SID))),
         cmd.SpawnChild(account=ALPHA, resume_session_id=SID, bind_to=SID)], check=lambda c: c.restarts == 2),
    "running-child_exited->exited": Case(
        "running", ev.ChildExited(at=T, code=0),
        [cmd.RestoreTerminal(), cmd.ReleaseAccount(account=ALPHA), cmd.Exit(status=0)]),
    "running-child_exited->exited (the reader of a headless run's output went away: SIGPIPE is no crash)": Case(
        "running", ev.ChildExited(at=T, signal=13),
        [cmd.RestoreTerminal(), cmd.Notify(kind="resume_hint", params=(("session_id", SID),)),
         cmd.ReleaseAccount(account=ALPHA), cmd.Exit(status=141)], {"headless": True}),
    "prewarming-child_exited->exited": Case(
        "prewarming", ev.ChildExited(at=T, code=0),
        [cmd.RestoreTerminal(), cmd.ReleaseAccount(account=ALPHA), cmd.ReleaseAccount(account=BRAVO),
         cmd.Exit(status=0)], {"successor": BRAVO}),
    "resuming-child_exited->exited": Case(
        "resuming", ev.ChildExited(at=T, code=3),
        [cmd.RestoreTerminal(), cmd.ReleaseAccount(account=ALPHA), cmd.Exit(status=3)]),
    "running-interrupted->restarting": Case("running", ev.Interrupted(at=T, signal=15), [STOP],
                                            check=lambda c: c.quit_signal == 15),
    "prewarming-interrupted->restarting": Case("prewarming", ev.Interrupted(at=T, signal=15),
                                               [cmd.ReleaseAccount(account=BRAVO), STOP], {"successor": BRAVO}),
    "resuming-interrupted->restarting": Case("resuming", ev.Interrupted(at=T, signal=2), [STOP]),
    # successor preparation (also late answers while stopping)
    "prewarming-account_leased->prewarming": Case("prewarming", ev.AccountLeased(at=T, account=BRAVO),
                                                  [cmd.ProbeQuota(account=BRAVO)]),
    "restarting-account_leased->restarting": Case("restarting", ev.AccountLeased(at=T, account=BRAVO),
                                                  [cmd.ProbeQuota(account=BRAVO)]),
    "prewarming-quota_probed->prewarming[candidate_has_headroom]": Case(
        "prewarming", ev.QuotaProbed(at=T, account=BRAVO, snapshot=healthy(T)),
        [cmd.RecordQuota(account=BRAVO, snapshot=healthy(T))], {"candidate": BRAVO},
        check=lambda c: c.successor == BRAVO and c.candidate is None),
    "restarting-quota_probed->restarting[candidate_has_headroom]": Case(
        "restarting", ev.QuotaProbed(at=T, account=BRAVO, snapshot=healthy(T)),
        [cmd.RecordQuota(account=BRAVO, snapshot=healthy(T))], {"candidate": BRAVO},
        check=lambda c: c.successor == BRAVO),
    "prewarming-quota_probed->prewarming[else]": Case(
        "prewarming", ev.QuotaProbed(at=T, account=BRAVO, snapshot=EXHAUSTED),
        [cmd.RecordQuota(account=BRAVO, snapshot=EXHAUSTED),
         cmd.CoolDown(account=BRAVO, until=T + 500, reason="quota below floor", family="codex"),
         cmd.ReleaseAccount(account=BRAVO), lease_successor()], {"candidate": BRAVO}),
    "restarting-quota_probed->restarting[else]": Case(
        "restarting", ev.QuotaProbed(at=T, account=BRAVO, snapshot=EXHAUSTED),
        [cmd.RecordQuota(account=BRAVO, snapshot=EXHAUSTED),
         cmd.CoolDown(account=BRAVO, until=T + 500, reason="quota below floor", family="codex"),
         cmd.ReleaseAccount(account=BRAVO), lease_successor()], {"candidate": BRAVO}),
    "prewarming-probe_failed->prewarming[else]": Case(
        "prewarming", ev.ProbeFailed(at=T, account=BRAVO, kind="unavailable", retry_after_s=30),
        [cmd.CoolDown(account=BRAVO, until=T + 30, reason="probe unavailable"), cmd.ReleaseAccount(account=BRAVO),
         lease_successor()], {"candidate": BRAVO}),
    "restarting-probe_failed->restarting[else]": Case(
        "restarting", ev.ProbeFailed(at=T, account=BRAVO, kind="auth"),
        [cmd.CoolDown(account=BRAVO, until=T + 60, reason="probe auth"), cmd.ReleaseAccount(account=BRAVO),
         lease_successor()], {"candidate": BRAVO}),
    "prewarming-pool_exhausted->prewarming": Case("prewarming", ev.PoolExhausted(at=T, soonest_reset_at=T + 99), [],
                                                  check=lambda c: c.prewarm_retry_at == T + 300),
    "restarting-pool_exhausted->restarting": Case("restarting", ev.PoolExhausted(at=T), [],
                                                  check=lambda c: c.prewarm_retry_at == T + 300),
    # rotation decisions while prewarming
    "prewarming-quota_observed->running": Case(
        "prewarming", ev.QuotaObserved(at=T, snapshot=near_rotate(T)),
        [cmd.RecordQuota(account=ALPHA, snapshot=near_rotate(T)), cmd.ReleaseAccount(account=BRAVO), SUSPENDED],
        {"restarts": 16, "successor": BRAVO}),
    "prewarming-quota_observed->restarting": Case(
        "prewarming", ev.QuotaObserved(at=T, snapshot=near_rotate(T)),
        [cmd.RecordQuota(account=ALPHA, snapshot=near_rotate(T)), STOP], {"last_input_at": T - 10}),
    "prewarming-quota_observed->prewarming[pressure_rotate]": Case(
        "prewarming", ev.QuotaObserved(at=T, snapshot=near_rotate(T)),
        [cmd.RecordQuota(account=ALPHA, snapshot=near_rotate(T))], {"turn_active": True},
        check=lambda c: c.rotation_reason == "quota"),
    # Headless: no quiet moment ends a run at the rotate floor; the successor waits for a limit or the end.
    "prewarming-quota_observed->prewarming[pressure_rotate] (headless)": Case(
        "prewarming", ev.QuotaObserved(at=T, snapshot=near_rotate(T)),
        [cmd.RecordQuota(account=ALPHA, snapshot=near_rotate(T))], {"headless": True},
        check=lambda c: c.rotation_reason == "quota"),
    "prewarming-turn_finished->prewarming (headless)": Case(
        "prewarming", ev.TurnFinished(at=T), [], {"headless": True, "rotation_reason": "quota", "turn_active": True},
        check=lambda c: not c.turn_active),
    "prewarming-tick->prewarming[else] (headless)": Case(
        "prewarming", ev.Tick(at=T), [], {"headless": True, "rotation_reason": "quota"}),
    "prewarming-quota_observed->prewarming[else]": Case(
        "prewarming", ev.QuotaObserved(at=T, snapshot=near_prewarm(T)),
        [cmd.RecordQuota(account=ALPHA, snapshot=near_prewarm(T))]),
    "prewarming-turn_finished->restarting": Case(
        "prewarming", ev.TurnFinished(at=T, last_input_at=T - 5), [STOP],
        {"rotation_reason": "quota", "turn_active": True}),
    "prewarming-turn_finished->prewarming": Case(
        "prewarming", ev.TurnFinished(at=T, last_input_at=T - 0.5), [],
        {"rotation_reason": "quota", "turn_active": True}),
    "prewarming-tick->restarting": Case("prewarming", ev.Tick(at=T, last_input_at=T - 2), [STOP],
                                        {"rotation_reason": "quota", "last_input_at": T - 2}),
    "prewarming-tick->prewarming[prewarm_retry_due]": Case("prewarming", ev.Tick(at=T), [lease_successor()],
                                                           {"prewarm_retry_at": T - 1}),
    "prewarming-tick->prewarming[else]": Case("prewarming", ev.Tick(at=T, last_input_at=T - 0.2), [],
                                                   {"rotation_reason": "quota"},
                                                   check=lambda c: c.last_input_at == T - 0.2),
    "prewarming-usage_limit_hit->running": Case(
        "prewarming", ev.UsageLimitHit(at=T), [cmd.ReleaseAccount(account=BRAVO), SUSPENDED],
        {"restarts": 16, "successor": BRAVO}),
    "prewarming-usage_limit_hit->restarting": Case("prewarming", ev.UsageLimitHit(at=T), [STOP]),
    "prewarming-lease_lost->prewarming[lost_current_account]": Case(
        "prewarming", ev.LeaseLost(at=T, account=ALPHA), [cmd.Notify(kind="lease_lost", params=(("account", ALPHA),))],
        check=lambda c: c.rotation_reason == "lease_lost"),
    "prewarming-lease_lost->prewarming[else]": Case(
        "prewarming", ev.LeaseLost(at=T, account=BRAVO), [lease_successor()], {"successor": BRAVO},
        check=lambda c: c.successor is None and c.rotation_reason is None),
    "running-lease_lost->running": Case("running", ev.LeaseLost(at=T, account=BRAVO), [],
                                        check=lambda c: c.rotation_reason is None),
    "resuming-lease_lost->resuming": Case("resuming", ev.LeaseLost(at=T, account=BRAVO), []),
    "probing-lease_lost->acquiring": Case("probing", ev.LeaseLost(at=T, account=ALPHA), [cmd.LeaseCandidate()],
                                          check=lambda c: c.candidate is None),
    "probing-lease_lost->probing": Case("probing", ev.LeaseLost(at=T, account=BRAVO), [],
                                        check=lambda c: c.candidate == ALPHA),
    "acquiring-lease_lost->acquiring": Case("acquiring", ev.LeaseLost(at=T, account=BRAVO), []),
    # answers about accounts this session is not choosing (background probes, late answers)
    **{f"{state}-quota_probed->{state}{label}": Case(
        state, ev.QuotaProbed(at=T, account=CHARLIE, snapshot=EXHAUSTED),
        [cmd.RecordQuota(account=CHARLIE, snapshot=EXHAUSTED)], context,
        check=lambda c, before=dict(context): all(getattr(c, k) == v for k, v in before.items()))
       for state, label, context in BYSTANDER_STATES},
    **{f"{state}-probe_failed->{state}{label}": Case(
        state, ev.ProbeFailed(at=T, account=CHARLIE, kind="unavailable"), [], context,
        check=lambda c, before=dict(context): all(getattr(c, k) == v for k, v in before.items()))
       for state, label, context in BYSTANDER_STATES},
    # stop ladder and handoff
    "restarting-tick->restarting[stop_overdue and ladder_has_next_step]": Case(
        "restarting", ev.Tick(at=T), [cmd.StopChild(step="terminate")],
        check=lambda c: c.stop_step == 1 and c.stop_deadline == T + 2),
    "restarting-tick->exited": Case(
        "restarting", ev.Tick(at=T),
        [cmd.RestoreTerminal(), cmd.Notify(kind="child_unkillable", params=(("session_id", SID),)),
         cmd.ReleaseAccount(account=ALPHA), cmd.Exit(status=1)], {"stop_step": 2, "stop_deadline": T - 1}),
    "restarting-tick->restarting[else]": Case("restarting", ev.Tick(at=T), [], {"stop_deadline": T + 10}),
    "restarting-child_exited->exited[quit_requested]": Case(
        "restarting", ev.ChildExited(at=T, code=0),
        [cmd.RestoreTerminal(), cmd.ReleaseAccount(account=ALPHA), cmd.Exit(status=143)], {"quit_signal": 15}),
    "restarting-child_exited->exited[no_session_bound]": Case(
        "restarting", ev.ChildExited(at=T, code=0),
        [cmd.RestoreTerminal(), cmd.Notify(kind="no_session_to_resume", params=()),
         cmd.ReleaseAccount(account=ALPHA), cmd.Exit(status=0)], {"session_id": None}),
    "restarting-child_exited->resuming": Case(
        "restarting", ev.ChildExited(at=T, code=0),
        [cmd.RestoreTerminal(), cmd.CoolDown(account=ALPHA, until=5000, reason="usage_limit", family="codex"),
         cmd.ReleaseAccount(account=ALPHA),
         cmd.Notify(kind="rotated", params=(("from", ALPHA), ("to", BRAVO), ("reason", "usage_limit"),
                                            ("resets_at", 5000), ("used_5h", 20.0), ("used_weekly", 10.0),
                                            ("session_id", SID))),
         cmd.SpawnChild(account=BRAVO, resume_session_id=SID, bind_to=SID)], {"successor": BRAVO},
        check=lambda c: c.account == BRAVO and c.restarts == 1 and c.ready_deadline == T + 15),
    "restarting-child_exited->probing": Case(
        "restarting", ev.ChildExited(at=T, code=0),
        [cmd.RestoreTerminal(), cmd.CoolDown(account=ALPHA, until=5000, reason="usage_limit", family="codex"),
         cmd.ReleaseAccount(account=ALPHA)], {"candidate": CHARLIE}),
    "restarting-child_exited->acquiring": Case(
        "restarting", ev.ChildExited(at=T, code=0),
        [cmd.RestoreTerminal(), cmd.CoolDown(account=ALPHA, until=5000, reason="usage_limit", family="codex"),
         cmd.ReleaseAccount(account=ALPHA), cmd.LeaseCandidate()]),
    "restarting-interrupted->restarting": Case("restarting", ev.Interrupted(at=T, signal=1), [],
                                               check=lambda c: c.quit_signal == 1),
    "restarting-usage_limit_hit->restarting": Case("restarting", ev.UsageLimitHit(at=T, resets_at=T + 60), [],
                                                   check=lambda c: c.usage_limit_resets_at == T + 60),
    "restarting-session_bound->restarting": Case("restarting", ev.SessionBound(at=T, session_id=SID), []),
    "restarting-turn_started->restarting": Case("restarting", ev.TurnStarted(at=T), []),
    "restarting-turn_finished->restarting": Case("restarting", ev.TurnFinished(at=T), []),
    "restarting-child_ready->restarting": Case("restarting", ev.ChildReady(at=T), []),
    "restarting-lease_lost->restarting": Case("restarting", ev.LeaseLost(at=T, account=BRAVO), [], {"successor": BRAVO},
                                              check=lambda c: c.successor is None),
    # resumed child ready
    "resuming-child_ready->running[not headless] (a prompt awaits resubmission)": Case(
        "resuming", ev.ChildReady(at=T), [cmd.ResubmitPrompt(), cmd.RetypeDraft()], {"resubmit_pending": True},
        check=lambda c: not c.resubmit_pending),
    "resuming-child_ready->running[not headless]": Case("resuming", ev.ChildReady(at=T), [cmd.RetypeDraft()]),
    # A headless run was given its continuation prompt when spawned: nothing is typed, even with a
    # prompt interrupted by the usage limit.
    "resuming-child_ready->running[headless]": Case(
        "resuming", ev.ChildReady(at=T), [], {"headless": True, "resubmit_pending": True, "ready_deadline": T + 9},
        check=lambda c: c.ready_deadline is None),
    "resuming-tick->running (a prompt awaits resubmission)": Case(
        "resuming", ev.Tick(at=T), [cmd.ResubmitPrompt(), cmd.RetypeDraft()],
        {"ready_deadline": T - 1, "resubmit_pending": True}, check=lambda c: not c.resubmit_pending),
    "resuming-tick->resuming (headless: its child_ready comes with the spawn)": Case(
        "resuming", ev.Tick(at=T), [], {"headless": True, "ready_deadline": T - 1}),
    "resuming-tick->running": Case("resuming", ev.Tick(at=T), [cmd.RetypeDraft()], {"ready_deadline": T - 1}),
    "resuming-tick->resuming": Case("resuming", ev.Tick(at=T), [], {"ready_deadline": T + 5}),
}

CHART = load_default_chart()


def row_of(case_id: str) -> str:
    """A case id is the row id, optionally followed by " (variant)" for a second case of one row."""
    return case_id.split(" (", 1)[0]


def test_every_row_has_a_case_and_every_case_a_row():
    rows = set(CHART.row_ids())
    covered = {row_of(case_id) for case_id in CASES}
    assert sorted(rows - covered) == [], "rows without a test"
    assert sorted(covered - rows) == [], "tests without a row"


@pytest.mark.parametrize("case_id", sorted(CASES))
def test_row(case_id):
    case = CASES[case_id]
    row_id = row_of(case_id)
    row = CHART.row(row_id)
    session = reach(case.state, case.settings, **case.context)
    assert session.state == row.source
    record = session.handle(case.event)
    assert record.row == row_id
    assert (record.source, record.dest) == (row.source, row.dest)
    assert session.state == row.dest
    assert list(record.commands) == case.commands
    if case.check is not None:
        assert case.check(session.context)
