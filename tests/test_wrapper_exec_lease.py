"""`codex-fsm exec` holds its account's lease for the whole run: renewed every heartbeat, so no other
session can take the account while that Codex still runs on it, and given back when it ends."""

from __future__ import annotations

import subprocess
import time

from supervisor.composition import Composition
from supervisor.core import events as ev
from supervisor.pool.locations import pool_store

from .fakes.rig import wait_for
from .test_wrapper_real_pool import CODEX_FSM, _world

SHORT_TTL = {"CODEX_FSM_POOL_LEASE_TTL_S": "1", "CODEX_FSM_POOL_HEARTBEAT_S": "0.1"}


def _start_held_exec(rig):
    env = {**_world(rig), **SHORT_TTL}
    rig.touch("hold-exec")
    stderr = open(rig.root / "exec.stderr", "w+")
    child = subprocess.Popen([str(CODEX_FSM), "exec", "do it"], env=env, cwd=rig.cwd, stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=stderr)
    [running] = wait_for(lambda: list(rig.control.glob("exec-running-*")), what="the exec's Codex to start")
    return env, child, running.read_text(), stderr


def _lease(env, account: str):
    return pool_store(env).load().get(account).lease


def _finish(rig, child, stderr) -> str:
    rig.touch("release-exec")
    assert child.wait(timeout=60) == 0
    stderr.seek(0)
    text = stderr.read()
    stderr.close()
    return text


def test_exec_renews_its_lease_past_the_ttl_so_no_other_session_takes_the_account(rig):
    env, child, account, stderr = _start_held_exec(rig)
    try:
        first_expiry = _lease(env, account).expires_at
        wait_for(lambda: time.time() > first_expiry + 0.5, what="the first lease term to pass")
        lease = _lease(env, account)
        assert lease.owner_pid == child.pid and lease.expires_at > time.time()  # renewed, still the exec's
        other = next(r.id for r in pool_store(env).load().accounts if r.id != account)
        root = Composition.load(env)
        second = root.session_pool(root.session_settings().thresholds_for)
        answer = second.lease_candidate("session", (other,), time.time())
        assert isinstance(answer, ev.PoolExhausted), answer  # a second process cannot lease that account
        second.close(time.time())
    finally:
        text = _finish(rig, child, stderr)
    assert "codex-fsm:" not in text, text
    assert _lease(env, account) is None  # given back when the exec ended


def test_exec_whose_lease_is_taken_warns_once_and_keeps_running(rig):
    env, child, account, stderr = _start_held_exec(rig)
    try:
        pool_store(env).mutate(lambda pool: setattr(pool.get(account), "lease", None))
        wait_for(lambda: "another session took" in (rig.root / "exec.stderr").read_text(), what="the notice")
        assert child.poll() is None  # the user's command goes on
    finally:
        text = _finish(rig, child, stderr)
    assert text.count("another session took") == 1, text
    assert "this run goes on there until it ends" in text
