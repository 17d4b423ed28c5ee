"""Scripted sessions for the golden transition logs in tests/replays/.

Each scenario is a list of events as the adapters would report them, plus what it must show (the
states it passes through, the final exit status). ``tools/record_golden.py`` runs them through the
core and writes the logs; ``tests/test_replay_golden_logs.py`` replays the files and checks the facts, so a
change in behaviour shows up as a divergence at a named seq.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from supervisor.core import events as ev
from supervisor.core.quota import LimitFamily, QuotaSnapshot, QuotaWindow
from supervisor.core.settings import SessionSettings

T0 = 1795562000.0
HOUR = 3600.0
WEEK = 7 * 24 * HOUR
SESSION = "01a20fd6-0841-7b11-bef0-67e429d6e15c"
ALPHA, BRAVO, CHARLIE = "a-1f0c9e2d7b", "a-5e8a41c0d3", "a-9b27f6e4a1"


def snap(used_5h: float, used_weekly: float, at: float, *, reset_5h: float | None = None,
         reset_weekly: float | None = None, limit_reached: bool = False) -> QuotaSnapshot:
    return QuotaSnapshot(
        windows=(QuotaWindow(used_5h, 300, reset_5h if reset_5h is not None else at + 2 * HOUR),
                 QuotaWindow(used_weekly, 10080, reset_weekly if reset_weekly is not None else at + 4 * 24 * HOUR)),
        observed_at=at, limit_reached=limit_reached)


@dataclass
class Scenario:
    name: str
    doc: str
    events: list[ev.Event]
    exit_status: int
    visits: tuple[str, ...]
    settings: SessionSettings = field(default_factory=SessionSettings)


def _launch(t: float, account: str = ALPHA, used: float = 20.0) -> list[ev.Event]:
    return [ev.SessionStarted(at=t), ev.AccountLeased(at=t + 0.01, account=account),
            ev.QuotaProbed(at=t + 0.2, account=account, snapshot=snap(used, 10, t + 0.2)),
            ev.ChildReady(at=t + 0.7), ev.SessionBound(at=t + 2.0, session_id=SESSION)]


def _turn(t: float, used_5h: float, used_weekly: float = 10.0, typed_at: float | None = None) -> list[ev.Event]:
    return [ev.TurnStarted(at=t), ev.QuotaObserved(at=t + 1.0, snapshot=snap(used_5h, used_weekly, t + 1.0)),
            ev.TurnFinished(at=t + 1.1, last_input_at=typed_at if typed_at is not None else t - 0.5)]


def normal_session_and_quit() -> Scenario:
    t = T0
    events = _launch(t) + _turn(t + 10, 25) + _turn(t + 40, 31) + [ev.ChildExited(at=t + 60, code=0)]
    return Scenario("normal_session_and_quit", "one account, two turns, the user quits with Ctrl-C twice",
                    events, 0, ("acquiring", "probing", "running", "exited"))


def prewarm_rotate_resume_quit() -> Scenario:
    t = T0
    events = _launch(t, used=80) + _turn(t + 10, 91)  # 9 % left: prewarm (floor 10 %)
    events += [ev.AccountLeased(at=t + 12, account=BRAVO),
               ev.QuotaProbed(at=t + 12.3, account=BRAVO, snapshot=snap(5, 2, t + 12.3))]
    events += _turn(t + 30, 96, typed_at=t + 29)  # 4 % left: rotation due, user typed 2.1 s ago
    events += [ev.ChildExited(at=t + 31.6, code=0),
               ev.ChildReady(at=t + 32.2), ev.SessionBound(at=t + 32.3, session_id=SESSION)]
    events += _turn(t + 50, 7)
    events += [ev.ChildExited(at=t + 90, code=0)]
    return Scenario("prewarm_rotate_resume_quit", "prewarm B near the limit, rotate at the turn boundary, resume, quit",
                    events, 0, ("running", "prewarming", "restarting", "resuming", "exited"))


def usage_limit_reselect_resume() -> Scenario:
    t = T0
    events = _launch(t, used=50) + _turn(t + 10, 60)
    events += [ev.TurnStarted(at=t + 30),
               ev.QuotaObserved(at=t + 30.5, snapshot=snap(100, 12, t + 30.5, limit_reached=False)),
               ev.UsageLimitHit(at=t + 30.6, resets_at=t + 3 * HOUR),
               ev.ChildExited(at=t + 31.0, code=0),
               ev.AccountLeased(at=t + 31.05, account=CHARLIE),
               ev.QuotaProbed(at=t + 31.4, account=CHARLIE, snapshot=snap(3, 1, t + 31.4)),
               ev.ChildReady(at=t + 32.0), ev.SessionBound(at=t + 32.1, session_id=SESSION)]
    events += _turn(t + 33, 5) + [ev.ChildExited(at=t + 80, code=0)]
    return Scenario("usage_limit_reselect_resume",
                    "a usage limit with no successor ready: stop, fresh selection, resume, re-submit the prompt",
                    events, 0, ("running", "restarting", "acquiring", "probing", "resuming", "exited"))


def pool_exhausted_wait_resume() -> Scenario:
    t = T0
    reset = t + 31 + 150.0
    events = _launch(t, used=50) + [
        ev.TurnStarted(at=t + 30), ev.UsageLimitHit(at=t + 30.6, resets_at=t + 3 * HOUR),
        ev.ChildExited(at=t + 31.0, code=0),
        ev.PoolExhausted(at=t + 31.05, soonest_reset_at=reset, reason="every account is cooling down"),
        ev.Tick(at=t + 91.05), ev.Tick(at=t + 151.05), ev.Tick(at=reset),
        ev.AccountLeased(at=reset + 0.01, account=BRAVO),
        ev.QuotaProbed(at=reset + 0.3, account=BRAVO, snapshot=snap(0, 40, reset + 0.3)),
        ev.ChildReady(at=reset + 1.0), ev.SessionBound(at=reset + 1.1, session_id=SESSION),
        ev.ChildExited(at=reset + 30, code=0)]
    return Scenario("pool_exhausted_wait_resume", "whole pool exhausted: count down to the soonest reset, then resume",
                    events, 0, ("restarting", "acquiring", "probing", "resuming", "running", "exited"))


def quit_while_waiting_for_the_pool() -> Scenario:
    t = T0
    reset = t + 31 + HOUR
    events = _launch(t, used=50) + [
        ev.TurnStarted(at=t + 30), ev.UsageLimitHit(at=t + 30.6, resets_at=t + 3 * HOUR),
        ev.ChildExited(at=t + 31.0, code=0),
        ev.PoolExhausted(at=t + 31.05, soonest_reset_at=reset, reason="every account is cooling down"),
        ev.Tick(at=t + 91.05),
        ev.QuitKeyPressed(at=t + 100.0, key="ctrl-c")]
    return Scenario("quit_while_waiting_for_the_pool",
                    "whole pool exhausted for an hour: the user presses Ctrl-C and leaves at once, status 130",
                    events, 130, ("restarting", "acquiring", "exited"))


def probe_failures_with_cooldowns() -> Scenario:
    t = T0
    events = [ev.SessionStarted(at=t),
              ev.AccountLeased(at=t + 0.01, account=ALPHA),
              ev.ProbeFailed(at=t + 2.5, account=ALPHA, kind="unavailable"),
              ev.AccountLeased(at=t + 2.51, account=BRAVO),
              ev.QuotaProbed(at=t + 2.8, account=BRAVO, snapshot=snap(97, 30, t + 2.8)),
              ev.AccountLeased(at=t + 2.81, account=CHARLIE),
              ev.QuotaProbed(at=t + 3.1, account=CHARLIE, snapshot=snap(10, 10, t + 3.1)),
              ev.ChildReady(at=t + 3.6), ev.ChildExited(at=t + 20, code=0)]
    return Scenario("probe_failures_with_cooldowns",
                    "startup gate: an unavailable probe (short cooldown), an exhausted one (cooldown to reset), "
                    "a healthy one",
                    events, 0, ("acquiring", "probing", "running", "exited"))


def restart_budget_exhausted() -> Scenario:
    t = T0
    settings = SessionSettings(max_restarts=1)
    events = _launch(t, used=50) + [
        ev.TurnStarted(at=t + 10), ev.UsageLimitHit(at=t + 10.5, resets_at=t + 3 * HOUR),
        ev.ChildExited(at=t + 11, code=0),
        ev.AccountLeased(at=t + 11.01, account=BRAVO),
        ev.QuotaProbed(at=t + 11.3, account=BRAVO, snapshot=snap(50, 20, t + 11.3)),
        ev.ChildReady(at=t + 12), ev.SessionBound(at=t + 12.1, session_id=SESSION)]
    events += _turn(t + 20, 97)  # at the floor again, but the budget is spent: keep running, tell the user
    events += _turn(t + 40, 99) + [ev.ChildExited(at=t + 60, code=0)]
    return Scenario("restart_budget_exhausted", "the restart budget is spent: rotation stops, the user is told",
                    events, 0, ("resuming", "running", "exited"), settings)


def thrash_guard() -> Scenario:
    t = T0
    settings = SessionSettings(thrash_rotations=2, thrash_window_s=600)
    events = _launch(t, used=50)
    clock = t
    for account in (BRAVO, CHARLIE):
        clock += 20
        events += [ev.TurnStarted(at=clock), ev.UsageLimitHit(at=clock + 0.5, resets_at=clock + HOUR),
                   ev.ChildExited(at=clock + 1, code=0),
                   ev.AccountLeased(at=clock + 1.01, account=account),
                   ev.QuotaProbed(at=clock + 1.3, account=account, snapshot=snap(40, 20, clock + 1.3)),
                   ev.ChildReady(at=clock + 2), ev.SessionBound(at=clock + 2.1, session_id=SESSION)]
    events += [ev.TurnStarted(at=clock + 20), ev.UsageLimitHit(at=clock + 20.5, resets_at=clock + HOUR),
               ev.ChildExited(at=clock + 40, code=0)]
    return Scenario("thrash_guard", "two rotations within the window: the third is refused and the user told",
                    events, 0, ("restarting", "resuming", "running", "exited"), settings)


def interrupt_during_restarting() -> Scenario:
    t = T0
    events = _launch(t, used=50) + [
        ev.TurnStarted(at=t + 10), ev.UsageLimitHit(at=t + 10.5, resets_at=t + HOUR),
        ev.Interrupted(at=t + 10.7, signal=15),
        ev.Tick(at=t + 13.5),  # Codex ignored Ctrl-C: SIGTERM
        ev.ChildExited(at=t + 13.6, signal=15)]
    return Scenario("interrupt_during_restarting", "SIGTERM to codex-fsm while it stops the child: quit, status 143",
                    events, 143, ("running", "restarting", "exited"))


def child_crash() -> Scenario:
    t = T0
    events = _launch(t) + _turn(t + 10, 30) + [
        ev.ChildExited(at=t + 20, signal=11),
        ev.ChildReady(at=t + 20.6), ev.SessionBound(at=t + 20.7, session_id=SESSION)]
    events += _turn(t + 30, 33) + [ev.ChildExited(at=t + 50, code=0)]
    return Scenario("child_crash", "Codex dies of SIGSEGV: resume the same session on the same account, then quit",
                    events, 0, ("running", "resuming", "exited"))


def stop_ladder_escalation() -> Scenario:
    t = T0
    events = _launch(t, used=50) + [
        ev.TurnStarted(at=t + 10), ev.UsageLimitHit(at=t + 10.5, resets_at=t + HOUR),
        ev.Tick(at=t + 13.5), ev.Tick(at=t + 15.5), ev.ChildExited(at=t + 15.6, signal=9),
        ev.AccountLeased(at=t + 15.7, account=BRAVO),
        ev.QuotaProbed(at=t + 16.0, account=BRAVO, snapshot=snap(10, 10, t + 16.0)),
        ev.Tick(at=t + 31.0),  # no readiness signal: assume ready after the timeout
        ev.Interrupted(at=t + 40, signal=2), ev.ChildExited(at=t + 40.4, code=0)]
    return Scenario("stop_ladder_escalation",
                    "Codex ignores Ctrl-C and SIGTERM: SIGKILL; the resumed child never signals ready; "
                    "the user interrupts",
                    events, 130, ("restarting", "acquiring", "probing", "resuming", "running", "exited"))


def exhausted_at_start_reset_then_launch() -> Scenario:
    """Every account hit its limit before the start: wait for the 5-hour reset, re-probe, start Codex."""
    t = T0
    reset = t + 150.0
    events = [ev.SessionStarted(at=t),
              ev.PoolExhausted(at=t + 0.01, soonest_reset_at=reset,
                               reason="every account is leased, cooling down, or below its quota floor"),
              ev.Tick(at=t + 60.01), ev.Tick(at=t + 120.01), ev.Tick(at=reset),
              ev.AccountLeased(at=reset + 0.01, account=ALPHA),
              ev.QuotaProbed(at=reset + 0.3, account=ALPHA, snapshot=snap(0, 20, reset + 0.3)),
              ev.ChildReady(at=reset + 1.0), ev.SessionBound(at=reset + 1.1, session_id=SESSION),
              ev.ChildExited(at=reset + 30, code=0)]
    return Scenario("exhausted_at_start_reset_then_launch",
                    "every account exhausted at start: count down to the soonest reset, re-probe, start Codex",
                    events, 0, ("acquiring", "probing", "running", "exited"))


def nothing_usable() -> Scenario:
    t = T0
    events = [ev.SessionStarted(at=t),
              ev.PoolExhausted(at=t + 0.01, soonest_reset_at=None, reason="no enabled accounts")]
    return Scenario("nothing_usable", "no enabled account at all: give up at once with a clear message",
                    events, 75, ("acquiring", "exited"))


def _exec_launch(t: float, used: float) -> list[ev.Event]:
    """A headless run (``codex-fsm exec``): ready at its spawn, bound once its rollout appears."""
    return [ev.SessionStarted(at=t, headless=True), ev.AccountLeased(at=t + 0.01, account=ALPHA),
            ev.QuotaProbed(at=t + 0.2, account=ALPHA, snapshot=snap(used, 10, t + 0.2)),
            ev.ChildReady(at=t + 0.21), ev.SessionBound(at=t + 0.6, session_id=SESSION)]


def exec_prewarmed_handoff_at_the_limit() -> Scenario:
    t = T0
    events = _exec_launch(t, used=85) + [
        ev.TurnStarted(at=t + 0.7), ev.QuotaObserved(at=t + 5.0, snapshot=snap(92, 10, t + 5.0)),  # prewarm
        ev.AccountLeased(at=t + 5.01, account=BRAVO),
        ev.QuotaProbed(at=t + 5.3, account=BRAVO, snapshot=snap(4, 2, t + 5.3)),
        # Past the rotate floor with nobody typing: a headless run is not stopped for it.
        ev.QuotaObserved(at=t + 20.0, snapshot=snap(97, 10, t + 20.0)),
        ev.TurnFinished(at=t + 20.1), ev.TurnStarted(at=t + 20.2),
        ev.QuotaObserved(at=t + 30.0, snapshot=snap(100, 10, t + 30.0, limit_reached=False)),
        ev.UsageLimitHit(at=t + 30.01, resets_at=t + 3 * HOUR),
        ev.ChildExited(at=t + 30.05, code=1),
        ev.ChildReady(at=t + 30.06), ev.TurnStarted(at=t + 30.5),
        ev.QuotaObserved(at=t + 31.5, snapshot=snap(6, 2, t + 31.5)), ev.TurnFinished(at=t + 31.6),
        ev.ChildExited(at=t + 31.8, code=0)]
    return Scenario("exec_prewarmed_handoff_at_the_limit",
                    "codex-fsm exec: a successor prewarmed near the limit, no stop at the rotate floor, "
                    "the run continued on it with `codex exec resume` once the usage limit ended it",
                    events, 0, ("running", "prewarming", "restarting", "resuming", "running", "exited"))


def exec_pool_exhausted_tempfail() -> Scenario:
    t = T0
    events = _exec_launch(t, used=50) + [
        ev.TurnStarted(at=t + 0.7), ev.UsageLimitHit(at=t + 3.0, resets_at=t + 3 * HOUR),
        ev.ChildExited(at=t + 3.05, code=1),
        ev.PoolExhausted(at=t + 3.1, soonest_reset_at=t + 3 * HOUR, reason="every account is cooling down")]
    return Scenario("exec_pool_exhausted_tempfail",
                    "codex-fsm exec: the only account hit its limit and the soonest reset lies beyond the "
                    "maximum wait: exit 75 (EX_TEMPFAIL) so the script retries later",
                    events, 75, ("running", "restarting", "acquiring", "exited"),
                    SessionSettings(max_pool_wait_s=600.0))


SPARK_ID, SPARK_NAME = "codex_bengalfox", "GPT-5.3-Codex-Spark"
SPARK_MODEL, MAIN_MODEL = "gpt-5.3-codex-spark", "gpt-5.5"


def with_spark(snapshot: QuotaSnapshot, used_5h: float, *, reached: bool = False) -> QuotaSnapshot:
    """``snapshot`` plus the Spark model's own family, as Codex and the usage endpoint report it."""
    at = snapshot.observed_at
    spark = LimitFamily(SPARK_ID, SPARK_NAME, (QuotaWindow(used_5h, 300, at + HOUR), QuotaWindow(30, 10080, at + WEEK)),
                        limit_reached=reached, reached_type="rate_limit_reached" if reached else None)
    return QuotaSnapshot(snapshot.windows, at, snapshot.limit_reached, families=(spark,))


def spark_only_exhaustion() -> Scenario:
    t = T0
    events = _launch(t)
    for offset, spark_used in ((10, 96), (40, 100)):
        events += [ev.TurnStarted(at=t + offset),
                   ev.QuotaObserved(at=t + offset + 1, model=MAIN_MODEL,
                                    snapshot=with_spark(snap(25, 10, t + offset + 1), spark_used,
                                                        reached=spark_used >= 100)),
                   ev.TurnFinished(at=t + offset + 1.1, last_input_at=t + offset - 5)]
    events += [ev.ChildExited(at=t + 60, code=0)]
    return Scenario("spark_only_exhaustion",
                    "the Spark model's own limit family is exhausted while the session runs the main model: "
                    "it is recorded, and the session keeps running on its account",
                    events, 0, ("acquiring", "probing", "running", "exited"))


def weekly_snap(used_weekly: float, at: float) -> QuotaSnapshot:
    return QuotaSnapshot(windows=(QuotaWindow(used_weekly, 10080, at + 3 * 24 * HOUR),), observed_at=at)


def weekly_only_plan() -> Scenario:
    t = T0
    events = [ev.SessionStarted(at=t), ev.AccountLeased(at=t + 0.01, account=ALPHA),
              ev.QuotaProbed(at=t + 0.2, account=ALPHA, snapshot=weekly_snap(60, t + 0.2)),
              ev.ChildReady(at=t + 0.7), ev.SessionBound(at=t + 2.0, session_id=SESSION)]
    events += [ev.TurnStarted(at=t + 10), ev.QuotaObserved(at=t + 11, snapshot=weekly_snap(70, t + 11)),
               ev.TurnFinished(at=t + 11.1, last_input_at=t + 5)]
    events += [ev.TurnStarted(at=t + 20), ev.QuotaObserved(at=t + 21, snapshot=weekly_snap(93, t + 21)),  # prewarm
               ev.AccountLeased(at=t + 21.01, account=BRAVO),
               ev.QuotaProbed(at=t + 21.3, account=BRAVO, snapshot=weekly_snap(10, t + 21.3)),
               ev.QuotaObserved(at=t + 25, snapshot=weekly_snap(96, t + 25)),  # 4 % left: rotation due
               ev.TurnFinished(at=t + 25.1, last_input_at=t + 15),
               ev.ChildExited(at=t + 26.5, code=0),
               ev.ChildReady(at=t + 27.2), ev.SessionBound(at=t + 27.3, session_id=SESSION)]
    events += [ev.TurnStarted(at=t + 40), ev.QuotaObserved(at=t + 41, snapshot=weekly_snap(11, t + 41)),
               ev.TurnFinished(at=t + 41.1, last_input_at=t + 35), ev.ChildExited(at=t + 60, code=0)]
    return Scenario("weekly_only_plan",
                    "a plan with a weekly window only: headroom from it, prewarm and rotate at its floor",
                    events, 0, ("running", "prewarming", "restarting", "resuming", "running", "exited"))


def workspace_wide_limit() -> Scenario:
    t = T0
    stopped = QuotaSnapshot(windows=snap(40, 20, t + 11).windows, observed_at=t + 11, limit_reached=True,
                            reached_type="workspace_member_usage_limit_reached")
    events = _launch(t) + [
        ev.TurnStarted(at=t + 10), ev.QuotaObserved(at=t + 11, snapshot=stopped),
        # The pool benches every seat of ALPHA's workspace: the successor is from another workspace.
        ev.AccountLeased(at=t + 11.01, account=CHARLIE),
        ev.QuotaProbed(at=t + 11.3, account=CHARLIE, snapshot=snap(5, 5, t + 11.3)),
        ev.TurnFinished(at=t + 12, last_input_at=t + 5),
        ev.ChildExited(at=t + 13.5, code=0),
        ev.ChildReady(at=t + 14.2), ev.SessionBound(at=t + 14.3, session_id=SESSION),
        ev.ChildExited(at=t + 40, code=0)]
    return Scenario("workspace_wide_limit",
                    "the workspace's owner limit stops every seat: the account is benched workspace-wide, "
                    "the session moves to an account of another workspace",
                    events, 0, ("running", "prewarming", "restarting", "resuming", "running", "exited"))


SCENARIOS = [normal_session_and_quit, prewarm_rotate_resume_quit, usage_limit_reselect_resume,
             pool_exhausted_wait_resume, quit_while_waiting_for_the_pool, probe_failures_with_cooldowns,
             restart_budget_exhausted, thrash_guard, interrupt_during_restarting, child_crash, stop_ladder_escalation,
             exhausted_at_start_reset_then_launch,
             nothing_usable, exec_prewarmed_handoff_at_the_limit, exec_pool_exhausted_tempfail,
             spark_only_exhaustion, weekly_only_plan, workspace_wide_limit]
