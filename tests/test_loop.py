"""The loop in-process, on a pty pair: rejected events are logged and the loop goes on; the user's
terminal mode is restored on every way out, including an exception."""

from __future__ import annotations

import os
import signal
import termios
import time

import pytest

from supervisor.adapters.codex_args import classify
from supervisor.chartfile import load_default_chart
from supervisor.core import events as ev
from supervisor.core.quota import QuotaSnapshot
from supervisor.core.session import Session
from supervisor.composition import LoopPorts, assemble_loop
from supervisor.loop import SupervisorLoop


class ListLog:
    def __init__(self) -> None:
        self.records: list = []

    def append(self, record) -> None:
        self.records.append(record)


class SilentQuota:
    """A probe that never answers: the session stays in probing."""

    def __init__(self) -> None:
        self._r, self._w = os.pipe()
        self.requested: list[str] = []

    def request_probe(self, account: str) -> None:
        self.requested.append(account)

    def poll(self) -> list:
        return []

    def fileno(self) -> int:
        return self._r

    def close(self) -> None:
        os.close(self._r)
        os.close(self._w)


class OnePool:
    def __init__(self, on_heartbeat) -> None:
        self._on_heartbeat = on_heartbeat
        self.closed = False

    def lease_candidate(self, purpose, exclude, now, model=None):
        return ev.AccountLeased(at=now, account="acct-a")

    def never_probed(self, limit, exclude, now): return []
    def release(self, account, now): pass
    def cool_down(self, account, until, reason, now, family=None, workspace=False): pass
    def record_quota(self, account, snapshot: QuotaSnapshot, now): pass
    def codex_home(self, account): raise AssertionError("no child in these tests")

    def heartbeat(self, now):
        return self._on_heartbeat(now)

    def close(self, now):
        self.closed = True


class ExplodingLauncher:
    invocation = classify([])
    session_cwd = "/"

    def spawn(self, account, resume_session_id, size):
        raise RuntimeError("adapter bug")


def _loop(tty, pool, quota, log, launcher=None) -> SupervisorLoop:
    ports = LoopPorts(pool=pool, quota=quota, log=log, launcher=launcher or ExplodingLauncher(), clock=time.time,
                      label_of=str, heartbeat_s=0.0)
    return assemble_loop(Session(load_default_chart()), ports, stdin_fd=tty, stdout_fd=tty)


def test_rejected_event_is_logged_and_the_loop_goes_on(tty_pair):
    master, slave = tty_pair
    beats = []

    def heartbeat(now):
        beats.append(now)
        if len(beats) == 2:  # a turn while probing, when no child runs: no row accepts it there
            return [ev.TurnStarted(at=now)]
        if len(beats) == 3:
            os.kill(os.getpid(), signal.SIGTERM)  # then the user asks to quit
        return []

    log, quota, pool = ListLog(), SilentQuota(), OnePool(heartbeat)
    before = termios.tcgetattr(slave)
    status = _loop(slave, pool, quota, log).run()
    assert status == 128 + signal.SIGTERM
    kinds = [(type(r).__name__, r.event.trigger) for r in log.records]
    assert ("RejectedRecord", "turn_started") in kinds
    assert kinds[-1] == ("TransitionRecord", "interrupted")
    assert quota.requested == ["acct-a"] and pool.closed
    assert termios.tcgetattr(slave) == before
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_terminal_mode_is_restored_when_an_adapter_raises(tty_pair):
    master, slave = tty_pair

    class HealthyQuota(SilentQuota):
        def request_probe(self, account):
            super().request_probe(account)
            os.write(self._w, b"!")

        def poll(self):
            os.read(self._r, 16)
            return [ev.QuotaProbed(at=time.time(), account="acct-a", snapshot=QuotaSnapshot(observed_at=time.time()))]

    before = termios.tcgetattr(slave)
    pool = OnePool(lambda now: [])
    with pytest.raises(RuntimeError, match="adapter bug"):
        _loop(slave, pool, HealthyQuota(), ListLog()).run()
    assert termios.tcgetattr(slave) == before
    assert pool.closed


class UnreadableRollout:
    def __init__(self) -> None:
        self.polls = 0

    def poll(self, now):
        from supervisor.errors import RolloutError

        self.polls += 1
        raise RolloutError("rollout.jsonl: Permission denied")


def _child_watch(tty):
    from supervisor.adapters.child_watch import ChildWatch
    from supervisor.adapters.input_tracker import InputTracker
    from supervisor.adapters.terminal import Screen
    from supervisor.adapters.terminal_replies import AskedQueries

    return ChildWatch(ExplodingLauncher(), Screen(tty, tty), AskedQueries(), InputTracker(), time.time)


def test_an_unreadable_rollout_costs_the_quota_watch_not_the_session(tty_pair):
    """A RolloutError from the reader is survived; the same reader is tried again later."""
    from types import SimpleNamespace

    master, slave = tty_pair
    watch = _child_watch(slave)
    reader = UnreadableRollout()
    running = SimpleNamespace(rollout=reader, next_rollout_at=0.0, turn_seen_in_pty=False)
    events: list = []
    watch._poll_rollout(running, 100.0, events)
    assert reader.polls == 1 and running.rollout is reader
    assert running.next_rollout_at == 105.0
    assert events == []


def test_leaving_with_a_child_still_running_ends_it_and_closes_its_rollout(tty_pair):
    """The way out after an error: terminate, then kill, and release the child's pty and rollout fds."""
    from types import SimpleNamespace

    master, slave = tty_pair
    watch = _child_watch(slave)
    steps: list[str] = []
    closed: list[str] = []
    child = SimpleNamespace(stop=lambda step, now: steps.append(step),
                            wait_exit=lambda timeout_s: "killed" if steps[-1] == "kill" else None,
                            close=lambda: closed.append("child"))
    watch._running = SimpleNamespace(child=child, rollout=SimpleNamespace(close=lambda: closed.append("rollout")))
    watch.abandon()
    assert steps == ["terminate", "kill"]
    assert closed == ["rollout", "child"] and not watch.running


class LockedPool(OnePool):
    """A pool whose lock another process holds for longer than the wait: every call times out."""

    def __init__(self) -> None:
        super().__init__(lambda now: [])

    def _timeout(self, *args):
        from supervisor.errors import PoolLockTimeout

        raise PoolLockTimeout("timed out after 10 s waiting for the pool lock /x/pool.json.lock")

    lease_candidate = release = cool_down = record_quota = heartbeat = _timeout


def _executor(tty, pool, quota):
    from supervisor.adapters.input_tracker import InputTracker
    from supervisor.adapters.pool_guard import GuardedPool
    from supervisor.adapters.terminal import Screen
    from supervisor.command_executor import CommandExecutor

    return CommandExecutor(GuardedPool(pool), quota, _child_watch(tty), InputTracker(), Screen(tty, tty), str,
                           time.time)


def test_a_pool_that_cannot_be_locked_leases_nothing_now_instead_of_ending_the_session(tty_pair):
    from supervisor.adapters.pool_guard import GuardedPool, PoolHeartbeat
    from supervisor.core import commands as cmd

    master, slave = tty_pair
    quota = SilentQuota()
    executor = _executor(slave, LockedPool(), quota)
    [answer] = executor.execute(cmd.LeaseCandidate(purpose="successor"), 100.0)
    assert isinstance(answer, ev.PoolExhausted)
    assert answer.soonest_reset_at == pytest.approx(answer.at + 30.0)
    assert "the pool is unavailable: timed out" in answer.reason
    # Bookkeeping that fails is survived: nothing raised, no event.
    assert executor.execute(cmd.ReleaseAccount(account="acct-a"), 100.0) == []
    assert executor.execute(cmd.CoolDown(account="acct-a", until=200.0, reason="quota"), 100.0) == []
    assert executor.execute(cmd.RecordQuota(account="acct-a", snapshot=QuotaSnapshot()), 100.0) == []
    heartbeat = PoolHeartbeat(GuardedPool(LockedPool()), 10.0)
    heartbeat.start(90.0)
    assert heartbeat.next_due() == 100.0
    assert heartbeat.poll(100.0) == [] and heartbeat.next_due() == 110.0
    quota.close()


class OneBatch:
    """A source with no descriptor that is due once and then brings ``events`` in a single poll."""

    def __init__(self, events) -> None:
        self._events = list(events)

    def fileno(self):
        return None

    def write_fileno(self):
        return None

    def next_due(self):
        return 0.0 if self._events else None

    def poll(self, now):
        events, self._events = self._events, []
        return events


class HandledInOrder:
    """A stand-in core that notes which state each event reaches: a usage limit asks for a successor
    (answered "no account"), the exit moves on and asks for an account to run on, and the session
    ends with whichever lease answer the "acquiring" state is handed."""

    def __init__(self) -> None:
        from supervisor.core import commands as cmd

        self._cmd = cmd
        self.state = "running"
        self.handled: list[tuple[str, str]] = []
        self.finished = False
        self.exit_status = None
        self.context = None

    def next_deadline(self):
        return None

    def handle(self, event):
        from supervisor.core.records import TransitionRecord

        cmd, source = self._cmd, self.state
        self.handled.append((source, event.trigger))
        commands: tuple = ()
        if isinstance(event, ev.UsageLimitHit):
            self.state, commands = "restarting", (cmd.LeaseCandidate(purpose="successor", exclude=("acct-a",)),)
        elif isinstance(event, ev.ChildExited):
            self.state, commands = "acquiring", (cmd.LeaseCandidate(purpose="session"),)
        elif isinstance(event, ev.PoolExhausted) and source == "acquiring":
            self.finished, self.exit_status = True, 0 if event.soonest_reset_at is not None else 75
        return TransitionRecord(seq=len(self.handled), event=event, source=source, dest=self.state,
                                row=f"{source}-{event.trigger}->{self.state}", commands=commands)


class LeaseAnswers:
    """The pool's answers: no successor (none ever: the only other account is the one excluded), and
    for the session, the spent account back after its reset."""

    exit_status = None

    def execute(self, command, at):
        if command.purpose == "successor":
            return [ev.PoolExhausted(at=at, soonest_reset_at=None, reason="no other account")]
        return [ev.PoolExhausted(at=at, soonest_reset_at=at + 600.0, reason="cooling down")]


def test_what_a_command_answers_is_handled_before_the_events_already_waiting():
    """A headless Codex's usage limit and its exit come in one poll: the answer to the successor search
    the limit asked for belongs to that state, not to the one the exit leads to."""
    from supervisor.loop import LoopWiring

    core = HandledInOrder()
    one_poll = OneBatch([ev.UsageLimitHit(at=10.0, resets_at=610.0), ev.ChildExited(at=10.0, code=1)])
    wiring = LoopWiring(sources=[one_poll],
                        executor=LeaseAnswers(), log=ListLog(), clock=lambda: 10.0,
                        start=lambda now: ev.TurnStarted(at=now), last_input_at=lambda: None)
    assert SupervisorLoop(core, wiring).run() == 0
    assert core.handled == [("running", "turn_started"), ("running", "usage_limit_hit"),
                            ("restarting", "pool_exhausted"), ("restarting", "child_exited"),
                            ("acquiring", "pool_exhausted")]
