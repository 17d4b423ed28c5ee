#!/usr/bin/env python3
"""Shared pool benchmark: several hosts leasing from one Redis, side by side with the pool file, and the
time another host needs to take over the account of a holder that was killed.

  .venv/bin/python tools/bench/bench_shared_pool.py                # 4 hosts x 4 sessions x 50 cycles, 5 takeovers
  .venv/bin/python tools/bench/bench_shared_pool.py --cycles 200   # the full size (a few minutes on 2 cores)
  .venv/bin/python tools/bench/bench_shared_pool.py --disk --json  # pool data on the disk, figures as JSON

Part 1, run for each backend in turn: every "host" is an OS process with its own identity (``host-<i>``)
and, for Redis, its own account homes; each of its sessions is a thread with its own SessionPool, store
and vault, owner ``ProcessIdentity(pid, "s<j>", host)``. A cycle is lease_candidate (retried while the pool
is exhausted) → on every other cycle codex_home and a "Codex refresh" that writes a unique token into the
login → heartbeat (renew and write back) → release. A ledger outside the pool and off the server checks
it: a marker file per held account, created with O_EXCL in a tmpfs folder all hosts see (one that exists
already is a double lease); every granted generation (the final generation of each account must equal its
grants, none granted twice); the last token written back per account (the stored login must be it, or a
write-back was lost). The Redis backend is a real redis-server on 127.0.0.1 (tests/fakes/redis_server.py:
its append-only file fsynced on every write); the file backend is the pool file and account homes in one
folder all hosts share, locked with ``flock``. Both keep their data on tmpfs unless ``--disk`` is given.
Then stale holders are played: two whose leases expired and were taken over release and renew (both must
be refused, and with Redis the logins they wrote must not reach the pool), and, Redis only, one paused in its
transaction past the lock's expiry while another host writes (its EXEC must be refused by the WATCH).

Part 2, Redis: a holder on host-1 (lease TTL T, heartbeat every H) is killed with SIGKILL; host-2 polls
lease_candidate every H. Time from the kill to host-2's lease: the lease expires T after the holder's last
renewal, which was up to H before the kill, and host-2 sees it at its next poll, so between T - H and T + H.
One more holder is killed inside its heartbeat's pool transaction, the pool lock held: the lock is a key
with an expiry (redis_store.LOCK_EXPIRY_S), which no one else may take before it expires.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import queue
import signal
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from _table import print_table  # beside this script

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from supervisor.core.events import AccountLeased, LeaseLost  # noqa: E402
from supervisor.core.quota import Thresholds  # noqa: E402
from supervisor.pool.admin import import_account  # noqa: E402
from supervisor.pool.homes import AccountHomes  # noqa: E402
from supervisor.pool.leases import OwnerCheck, ProcessIdentity, current_process  # noqa: E402
from supervisor.pool.session_pool import SessionPool  # noqa: E402
from supervisor.pool.store import PoolStore  # noqa: E402
from supervisor.pool.vault import LocalVault  # noqa: E402
from supervisor.terminal_text import for_terminal  # noqa: E402
from tests.pool.fakes import auth_bytes, write_auth  # noqa: E402

# 50 cycles keep `make bench` within about a minute on 2 cores: the Redis backend's run is the long one.
HOSTS, SESSIONS, CYCLES, ACCOUNTS = 4, 4, 50, 8
REFRESH_EVERY = 2  # every other cycle starts a "child" whose Codex refreshes the token
EXHAUSTED_WAIT_S = 0.010  # a session that found every account leased asks again after this long
WORK_TTL_S = 30.0
LOCK_WAIT_S = 120.0  # 16 sessions queue for one lock: never a timeout in the measurement
TAKEOVER_TTL_S, HEARTBEAT_S, TAKEOVERS = 2.0, 0.5, 5
STALE_ROUNDS = 5
KEY_NAME = "the benchmark's pool key (in memory)"
BACKENDS = ("redis", "file")
CASES = ("redis_alone", "redis", "file_alone", "file")


@dataclass(frozen=True)
class World:
    """What every process needs to open the pool of one backend (picklable: it crosses spawn)."""

    backend: str
    root: str
    url: str
    key: bytes
    accounts: tuple[tuple[str, int], ...]  # (account id, number of its fake login)
    markers: str  # the ledger's folder of held-account markers (tmpfs: no disk write in the measurement)
    lock_poll_s: float | None = None  # --lock-poll-ms: another wait between the Redis lock's attempts


@dataclass
class SessionStats:
    cycles: int = 0
    transactions: int = 0
    exhausted_polls: int = 0
    double_leases: int = 0
    leases_lost: int = 0
    grants: list[tuple[str, int]] = field(default_factory=list)  # (account, generation)
    written_back: list[tuple[float, str, str]] = field(default_factory=list)  # (when, account, token)
    errors: list[str] = field(default_factory=list)
    started: float = 0.0
    finished: float = 0.0


# -- the pool as one host sees it ---------------------------------------------------------------------------

def host_homes(world: World, host: int) -> AccountHomes:
    root = Path(world.root)
    if world.backend == "file":  # one machine: the account homes are the logins, shared by every "host"
        return AccountHomes(root / "shared" / "fsm" / "homes", root / "shared" / "codex")
    return AccountHomes(root / f"host-{host}" / "fsm" / "homes", root / f"host-{host}" / "codex")


def open_store(world: World):
    if world.backend == "file":
        return PoolStore(Path(world.root) / "shared" / "fsm" / "pool.json", LOCK_WAIT_S)
    from supervisor.pool.redis_client import connect
    from supervisor.pool.redis_store import RedisPoolStore

    return RedisPoolStore(connect(world.url, {}), world.url, LOCK_WAIT_S)


def open_vault(world: World, store, homes: AccountHomes, vault_class=None):
    if world.backend == "file":
        return LocalVault(homes)
    from cryptography.fernet import Fernet

    from supervisor.pool.redis_vault import RedisVault

    return (vault_class or RedisVault)(store, homes, Fernet(world.key), KEY_NAME)


def open_session(world: World, host: int, owner: ProcessIdentity, ttl_s: float, alive: OwnerCheck | None = None,
                 vault_class=None) -> tuple[SessionPool, AccountHomes]:
    store = open_store(world)
    homes = host_homes(world, host)
    vault = open_vault(world, store, homes, vault_class)
    return SessionPool(store, homes, lambda account: Thresholds(), owner=owner, lease_ttl_s=ttl_s, alive=alive,
                       vault=vault), homes


def threads_of_this_process(host: str) -> OwnerCheck:
    """The sessions of one host are threads of one process with made-up start tokens, which the pid check
    of ``owner_alive`` would find dead: they live while this process does. Other hosts: assumed alive."""
    pid = os.getpid()
    return lambda lease: lease.host != host or lease.owner_pid == pid


def expect(condition: bool, what: str) -> None:
    """A step the measurement depends on went otherwise: stop with what it was (no traceback)."""
    if not condition:
        raise SystemExit(f"bench_shared_pool: {what}")


def leased(event) -> str | None:
    return event.account if isinstance(event, AccountLeased) else None


def fake_login(n: int, refresh: str) -> bytes:
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return auth_bytes(account=f"acct-bench-{n}", user=f"user-bench-{n}", email=f"bench{n}@example.invalid",
                      refresh=refresh, last_refresh=stamp)


def imported_token(n: int) -> str:
    return f"rt_bench_{n}_imported"


def mark_held(world: World, account: str, holder: str) -> bool:
    """The ledger's marker of ``account``: False when one exists already (someone else holds it)."""
    try:
        fd = os.open(Path(world.markers) / account, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    os.write(fd, holder.encode())
    os.close(fd)
    return True


def stored_token(world: World, account: str, scratch: int) -> str:
    """The refresh token the pool holds for ``account`` (read by a vault that has no working copy)."""
    store = open_store(world)
    return open_vault(world, store, host_homes(world, scratch)).read(account).refresh_token


# -- part 1: the concurrent workload ------------------------------------------------------------------------

def run_session(world: World, host: int, slot: int, cycles: int, ready: threading.Barrier,
                stats: SessionStats) -> None:
    try:
        owner = ProcessIdentity(pid=os.getpid(), start=f"s{slot}", host=f"host-{host}")
        pool, homes = open_session(world, host, owner, WORK_TTL_S, threads_of_this_process(owner.host))
        numbers = dict(world.accounts)
        ready.wait()
        stats.started = time.monotonic()
        for cycle in range(cycles):
            one_cycle(world, pool, homes, numbers, f"h{host}s{slot}c{cycle}", cycle % REFRESH_EVERY == 0, stats)
        stats.finished = time.monotonic()
    except Exception as exc:  # noqa: BLE001 - counted and shown (safely), the run then fails
        stats.errors.append(f"host-{host}/s{slot}: {type(exc).__name__}: {for_terminal(str(exc))}")
        stats.finished = time.monotonic()
        ready.abort()


def one_cycle(world: World, pool: SessionPool, homes: AccountHomes, numbers: dict[str, int], name: str,
              refresh: bool, stats: SessionStats) -> None:
    while True:
        event = pool.lease_candidate("session", (), time.time())
        stats.transactions += 1
        if isinstance(event, AccountLeased):
            break
        stats.exhausted_polls += 1
        time.sleep(EXHAUSTED_WAIT_S)
    account = event.account
    generation = pool.held[account]
    marked = mark_held(world, account, name)
    if not marked:
        stats.double_leases += 1
    stats.grants.append((account, generation))
    token = None
    if refresh:
        pool.codex_home(account)
        stats.transactions += 1
        token = f"rt_bench_{name}"
        homes.write_auth(account, fake_login(numbers[account], token))
    lost = pool.heartbeat(time.time())
    stats.transactions += 1
    stats.leases_lost += sum(isinstance(e, LeaseLost) for e in lost)
    if token is not None and not lost:
        # Before the release: the next holder's write-back comes later on the (system-wide) monotonic clock.
        stats.written_back.append((time.monotonic(), account, token))
    if marked:  # a marker that another holder set stays, so the double lease is not hidden
        os.unlink(Path(world.markers) / account)
    pool.release(account, time.time())
    stats.transactions += 1
    stats.cycles += 1


def run_host(world: World, host: int, sessions: int, cycles: int, all_hosts: multiprocessing.Barrier,
             results) -> None:
    if world.lock_poll_s is not None and world.backend == "redis":
        from supervisor.pool import redis_store

        redis_store.LOCK_POLL_S = world.lock_poll_s  # read at every lock(): this host's sessions use it
    stats = [SessionStats() for _ in range(sessions)]
    # All sessions of all hosts are set up (imports, connections) before the first one starts.
    ready = threading.Barrier(sessions, action=all_hosts.wait)
    threads = [threading.Thread(target=run_session, args=(world, host, j, cycles, ready, stats[j]))
               for j in range(sessions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.put([asdict(s) for s in stats])


def seed(world: World, logins: Path) -> None:
    """An empty pool, then ACCOUNTS fake logins imported as a user would (``accounts import``)."""
    Path(world.markers).mkdir(parents=True)
    if world.backend == "redis":
        import redis

        redis.Redis.from_url(world.url).flushdb()
    store = open_store(world)
    homes = host_homes(world, 0) if world.backend == "file" else host_homes(world, 99)
    vault = open_vault(world, store, homes)
    for account, n in world.accounts:
        source = write_auth(logins / f"{n}" / "auth.json", account=f"acct-bench-{n}", user=f"user-bench-{n}",
                            email=f"bench{n}@example.invalid", refresh=imported_token(n))
        result = import_account(store, homes, source, time.time(), lambda lease: True, vault=vault)
        expect(result.account == account, f"fake login {n} was imported as another account")


def account_ids() -> tuple[tuple[str, int], ...]:
    """The pool's id of each fake login (``accounts import`` gives the same)."""
    from supervisor.pool.auth import account_id_for, parse_auth

    return tuple((account_id_for(parse_auth(fake_login(n, imported_token(n)), "a fake login").identity), n)
                 for n in range(ACCOUNTS))


def run_workload(world: World, hosts: int, sessions: int, cycles: int) -> dict:
    ctx = multiprocessing.get_context("spawn")
    all_hosts = ctx.Barrier(hosts, timeout=120)
    results = ctx.Queue()
    processes = [ctx.Process(target=run_host, args=(world, i, sessions, cycles, all_hosts, results))
                 for i in range(hosts)]
    for process in processes:
        process.start()
    stats = collect(processes, results)
    for process in processes:
        process.join()
    if not stats:
        raise SystemExit(f"{world.backend}: no host reported (did every host process die?)")
    started = min((s.started for s in stats if s.started), default=0.0)
    seconds = max(s.finished for s in stats) - started
    done = sum(s.cycles for s in stats)
    transactions = sum(s.transactions for s in stats)
    figures = {"backend": world.backend, "hosts": hosts, "sessions_per_host": sessions, "cycles": done,
               "seconds": round(seconds, 3), "cycles_per_s": round(done / seconds, 1),
               "transactions": transactions, "transactions_per_s": round(transactions / seconds, 1),
               "exhausted_polls": sum(s.exhausted_polls for s in stats),
               "double_leases": sum(s.double_leases for s in stats),
               "leases_lost": sum(s.leases_lost for s in stats),
               "errors": [e for s in stats for e in s.errors],
               "cycles_missing": hosts * sessions * cycles - done,
               "failed_hosts": sum(1 for p in processes if p.exitcode != 0)}
    figures.update(audit(world, done, stats))
    return figures


def collect(processes: list, results) -> list[SessionStats]:
    """Every host's session figures; a host that died without reporting stops the wait, not the run."""
    stats: list[SessionStats] = []
    reported = 0
    while reported < len(processes):
        try:
            stats += [SessionStats(**s) for s in results.get(timeout=1.0)]
            reported += 1
        except queue.Empty:
            if not any(process.is_alive() for process in processes):
                break
    return stats


def audit(world: World, cycles: int, stats: list[SessionStats]) -> dict:
    """The pool at the end against the ledger: generations, leases left, logins."""
    granted: dict[str, list[int]] = {account: [] for account, _ in world.accounts}
    for account, generation in (grant for s in stats for grant in s.grants):
        granted[account].append(generation)
    last_written = {account: token for _, account, token in sorted(w for s in stats for w in s.written_back)}
    store = open_store(world)
    pool = store.load()
    lost_generations = reused_generations = leases_left = lost_logins = 0
    grants_total = 0
    counters_behind = 0
    for account, n in world.accounts:
        record = pool.get(account)
        grants = granted[account]
        grants_total += len(grants)
        reused_generations += len(grants) - len(set(grants))
        # Imported at generation 0: every grant moved it on by one.
        lost_generations += abs(len(grants) - record.generation)
        leases_left += record.lease is not None
        if world.backend == "redis":
            from supervisor.pool.redis_store import generation_key

            counter = int(store.client.get(generation_key(account)) or 0)
            counters_behind += counter != len(grants)
        expected = last_written.get(account, imported_token(n))
        lost_logins += stored_token(world, account, 98) != expected
    return {"grants_in_ledger": grants_total, "grants_missing_from_ledger": cycles - grants_total,
            "lost_updates": lost_generations + counters_behind + lost_logins,
            "lost_generations": lost_generations, "generation_counters_wrong": counters_behind,
            "lost_logins": lost_logins, "generations_granted_twice": reused_generations,
            "leases_left": leases_left}


def server_work(client, cycles: int) -> dict:
    """What the Redis server did for the workload: commands per cycle (the lock's polling shows here)."""
    commands = client.info("commandstats")
    calls = {name.removeprefix("cmdstat_"): figures["calls"] for name, figures in commands.items()}
    cpu = client.info("cpu")
    return {"redis_commands_per_cycle": round(sum(calls.values()) / cycles, 1),
            "redis_set_per_cycle": round(calls.get("set", 0) / cycles, 1),
            "redis_server_cpu_s": round(cpu["used_cpu_user"] + cpu["used_cpu_sys"], 2)}


# -- part 1b: stale holders ---------------------------------------------------------------------------------

def stale_holder_rounds(world: World, rounds: int) -> dict:
    """Two holders of one account, each paused past its lease's TTL and superseded by the next host
    (host-2, then host-0, then host-1 holds it), wake up: the first releases, the second renews. Both
    must be refused, leaving host-1's lease as it was and (Redis) the logins their Codex wrote out of the pool."""
    pid = os.getpid()
    numbers = dict(world.accounts)
    accepted = logins_accepted = 0
    for k in range(rounds):
        account = world.accounts[k % len(world.accounts)][0]
        others = tuple(a for a, _ in world.accounts if a != account)
        holders = [open_session(world, host, ProcessIdentity(pid, f"stale-{k}-{host}", f"host-{host}"), WORK_TTL_S)
                   for host in (2, 0, 1)]
        now = time.time()
        for turn, (pool, _homes) in enumerate(holders):  # each finds the one before expired
            at = now + turn * (WORK_TTL_S + 1)
            expect(leased(pool.lease_candidate("session", others, at)) == account,
                   f"stale round {k}: a holder did not get the account whose lease had expired")
            pool.codex_home(account)
        (first, first_homes), (second, second_homes), (current, current_homes) = holders
        at = now + 2 * (WORK_TTL_S + 1)
        fresh = f"rt_bench_current_{k}"
        current_homes.write_auth(account, fake_login(numbers[account], fresh))
        expect(current.heartbeat(at) == [], f"stale round {k}: the current holder lost its lease")
        lease = open_store(world).load().get(account).lease
        if world.backend == "redis":  # the paused holders' Codex refreshed their own working copies
            first_homes.write_auth(account, fake_login(numbers[account], f"rt_bench_stale_release_{k}"))
            second_homes.write_auth(account, fake_login(numbers[account], f"rt_bench_stale_renew_{k}"))
        first.release(account, at + 1)
        accepted += open_store(world).load().get(account).lease != lease
        accepted += second.heartbeat(at + 2) != [LeaseLost(at=at + 2, account=account)]
        accepted += open_store(world).load().get(account).lease != lease
        if world.backend == "redis":
            logins_accepted += stored_token(world, account, 97) != fresh
        current.release(account, at + 3)
    return {"stale_rounds": rounds, "stale_writes_tried": 2 * rounds, "stale_writes_accepted": accepted,
            "stale_logins_accepted": logins_accepted if world.backend == "redis" else None}


def expired_lock_rounds(world: World, rounds: int) -> dict:
    """Redis: a holder paused inside its heartbeat's transaction until its pool lock expired, while another
    host changed the pool: its EXEC must write nothing (PoolSuperseded), the next heartbeat stores its login."""
    from supervisor.pool.redis_store import LOCK_KEY, PoolSuperseded
    from supervisor.pool.redis_vault import RedisVault

    other_host: list = []

    class PausedInTransaction(RedisVault):
        pause = True

        def write_back(self, account: str) -> bool:
            staged = super().write_back(account)
            if self.pause:
                self.pause = False
                self.store.client.delete(LOCK_KEY)  # the lock's expiry, without waiting for it
                other_host[0].lease_candidate("session", (account,), time.time())
            return staged

    pid = os.getpid()
    refused = accepted = delayed_lost = 0
    for k in range(rounds):
        account, n = world.accounts[k % len(world.accounts)]
        others = tuple(a for a, _ in world.accounts if a != account)
        paused, homes = open_session(world, 0, ProcessIdentity(pid, f"paused-{k}", "host-0"), WORK_TTL_S,
                                     vault_class=PausedInTransaction)
        other, _ = open_session(world, 1, ProcessIdentity(pid, f"other-{k}", "host-1"), WORK_TTL_S)
        other_host[:] = [other]
        expect(leased(paused.lease_candidate("session", others, time.time())) == account,
               f"expired-lock round {k}: the free account was not leased")
        paused.codex_home(account)
        before = stored_token(world, account, 97)
        token = f"rt_bench_paused_{k}"
        homes.write_auth(account, fake_login(n, token))
        try:
            paused.heartbeat(time.time())
            accepted += 1
        except PoolSuperseded:
            refused += 1 if stored_token(world, account, 97) == before else 0
        paused.heartbeat(time.time())  # the lock is its own again: what was refused is written now
        delayed_lost += stored_token(world, account, 97) != token
        paused.release(account, time.time())
        other.close(time.time())
    return {"expired_lock_rounds": rounds, "expired_lock_writes_refused": refused,
            "expired_lock_writes_accepted": accepted, "expired_lock_logins_lost_after": delayed_lost}


# -- part 2: takeover after a SIGKILL -----------------------------------------------------------------------

def frozen_in_transaction(conn):
    """A Redis vault that, once armed, stops inside the heartbeat's pool transaction (the pool lock held)
    and says so: the moment a SIGKILL then lands is the worst one for a takeover."""
    from supervisor.pool.redis_vault import RedisVault

    class FrozenInTransaction(RedisVault):
        armed = False

        def write_back(self, account: str) -> bool:
            staged = super().write_back(account)
            if type(self).armed:
                conn.send("in transaction")
                time.sleep(3600)
            return staged
    return FrozenInTransaction


def hold_until_killed(world: World, conn, in_transaction: bool) -> None:
    vault_class = frozen_in_transaction(conn) if in_transaction else None
    pool, homes = open_session(world, 1, current_process(host="host-1"), TAKEOVER_TTL_S, vault_class=vault_class)
    account, n = world.accounts[0]
    expect(leased(pool.lease_candidate("session", (), time.time())) == account,
           "the takeover holder did not get the pool's only account")
    pool.codex_home(account)
    token = f"rt_bench_holder_{os.getpid()}"
    homes.write_auth(account, fake_login(n, token))
    pool.heartbeat(time.time())  # written back while the lease is current
    conn.send(token)
    if vault_class is not None:
        vault_class.armed = True
    beat = time.monotonic()
    while True:
        beat += HEARTBEAT_S
        time.sleep(max(0.0, beat - time.monotonic()))
        pool.heartbeat(time.time())


def poll_for_takeover(world: World, conn) -> None:
    pool, homes = open_session(world, 2, current_process(host="host-2"), TAKEOVER_TTL_S)
    while conn.recv() == "watch":
        polls = 0
        tick = time.monotonic()
        while True:
            polls += 1
            event = pool.lease_candidate("session", (), time.time())
            if isinstance(event, AccountLeased):
                taken_at = time.monotonic()
                break
            tick += HEARTBEAT_S  # a fixed rate: the poll's own time does not stretch the interval
            time.sleep(max(0.0, tick - time.monotonic()))
        pool.codex_home(event.account)
        token = json.loads(homes.auth_path(event.account).read_bytes())["tokens"]["refresh_token"]
        pool.release(event.account, time.time())
        conn.send((taken_at, polls, token))


def run_takeovers(world: World, runs: int) -> dict:
    """``runs`` holders killed between heartbeats, at points spread over the interval, then one killed
    inside its heartbeat's pool transaction."""
    from supervisor.pool.redis_store import LOCK_EXPIRY_S

    ctx = multiprocessing.get_context("spawn")
    here, there = ctx.Pipe()
    poller = ctx.Process(target=poll_for_takeover, args=(world, there))
    poller.start()
    takeovers, polls, kept = [], [], 0
    try:
        for k in range(runs + 1):
            in_transaction = k == runs
            mine, its = ctx.Pipe()
            holder = ctx.Process(target=hold_until_killed, args=(world, its, in_transaction))
            holder.start()
            if not mine.poll(60):
                raise SystemExit("the lease holder did not lease the account within 60 s")
            token = mine.recv()
            here.send("watch")
            if in_transaction:
                if not mine.poll(10 * HEARTBEAT_S) or mine.recv() != "in transaction":
                    raise SystemExit("the lease holder did not stop inside its heartbeat's transaction")
            else:
                # Past a whole heartbeat, then a point of the interval: 0.1, 0.3 ... 0.9 of H after a renewal.
                time.sleep(1.0 + HEARTBEAT_S * (k + 0.5) / runs)
            os.kill(holder.pid, signal.SIGKILL)
            killed_at = time.monotonic()
            holder.join()
            if not here.poll(LOCK_EXPIRY_S + 4 * (TAKEOVER_TTL_S + HEARTBEAT_S)):
                raise SystemExit("host-2 did not take the killed holder's account over within the lock's "
                                 "expiry + 4 x (T + H)")
            taken_at, count, seen = here.recv()
            takeovers.append(taken_at - killed_at)
            polls.append(count)
            kept += seen == token
    finally:
        here.send("stop")
        poller.join(10)
    bound = TAKEOVER_TTL_S + HEARTBEAT_S
    between, inside = takeovers[:runs], takeovers[runs]
    return {"lease_ttl_s": TAKEOVER_TTL_S, "heartbeat_s": HEARTBEAT_S, "bound_s": bound, "runs": runs,
            "takeover_s": [round(t, 3) for t in between], "min_s": round(min(between), 3),
            "median_s": round(statistics.median(between), 3), "max_s": round(max(between), 3),
            "over_bound": sum(t > bound for t in between), "polls": polls,
            "killed_in_transaction_takeover_s": round(inside, 3), "lock_expiry_s": LOCK_EXPIRY_S,
            "written_back_login_kept": kept, "holders": runs + 1}


# -- the whole run ------------------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hosts", type=int, default=HOSTS)
    parser.add_argument("--sessions", type=int, default=SESSIONS)
    parser.add_argument("--cycles", type=int, default=CYCLES)
    parser.add_argument("--takeovers", type=int, default=TAKEOVERS)
    parser.add_argument("--disk", action="store_true",
                        help="keep the pool file, the homes and Redis's append-only file on the disk (default: tmpfs)")
    parser.add_argument("--lock-poll-ms", type=float,
                        help="the Redis pool lock's wait between attempts in the workload (default: the store's)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    from cryptography.fernet import Fernet

    from tests.fakes.redis_server import RedisServer

    began = time.monotonic()
    shm = "/dev/shm" if os.path.isdir("/dev/shm") else None
    # On tmpfs an fsync costs nothing, so both backends are measured without the disk, whose latency on a
    # shared machine swings with other work; --disk measures what the fsyncs add.
    data_dir = None if args.disk else shm
    result: dict = {"data_on": "disk" if data_dir is None else data_dir, "lock_poll_ms": args.lock_poll_ms,
                    "load_average_before": [round(x, 2) for x in os.getloadavg()]}
    with tempfile.TemporaryDirectory(prefix="bench-shared-pool-", dir=data_dir) as tmp, \
            tempfile.TemporaryDirectory(prefix="bench-shared-pool-ledger-", dir=shm) as ledger, \
            RedisServer(directory=Path(tmp) / "redis") as server:
        root, markers = Path(tmp), Path(ledger)
        poll = None if args.lock_poll_ms is None else args.lock_poll_ms / 1000
        accounts = account_ids()
        key = Fernet.generate_key()
        for backend in BACKENDS:
            # One session alone first: the cost of a cycle without contention.
            alone = World(backend, str(root / f"{backend}-alone"), server.url, key, accounts,
                          str(markers / f"{backend}-alone"), poll)
            seed(alone, root / "logins" / f"{backend}-alone")
            result[f"{backend}_alone"] = run_workload(alone, 1, 1, args.cycles)
            world = World(backend, str(root / backend), server.url, key, accounts, str(markers / backend), poll)
            seed(world, root / "logins" / backend)
            server_stats = server.client()
            server_stats.config_resetstat()
            figures = run_workload(world, args.hosts, args.sessions, args.cycles)
            if backend == "redis":
                figures.update(server_work(server_stats, figures["cycles"]))
            figures.update(stale_holder_rounds(world, STALE_ROUNDS))
            if backend == "redis":
                figures.update(expired_lock_rounds(world, STALE_ROUNDS))
            result[backend] = figures
        world = World("redis", str(root / "takeover"), server.url, key, accounts[:1], str(markers / "takeover"))
        seed(world, root / "logins" / "takeover")
        result["takeover"] = run_takeovers(world, args.takeovers)
    for case in ("", "_alone"):
        result[f"redis_over_file_cycles_per_s{case}"] = round(
            result[f"redis{case}"]["cycles_per_s"] / result[f"file{case}"]["cycles_per_s"], 2)
    result["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    result["total_s"] = round(time.monotonic() - began, 1)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        report(result, args)
    return 1 if failures(result) else 0


# Figures that count something that went wrong: each must be 0.
MUST_BE_ZERO = ("double_leases", "lost_updates", "cycles_missing", "leases_lost", "failed_hosts",
                "generations_granted_twice", "grants_missing_from_ledger", "leases_left", "stale_writes_accepted",
                "stale_logins_accepted", "expired_lock_writes_accepted", "expired_lock_logins_lost_after")


def failures(result: dict) -> int:
    bad = 0
    for case in CASES:
        r = result[case]
        bad += sum(r.get(name) or 0 for name in MUST_BE_ZERO) + len(r["errors"])
        bad += r.get("expired_lock_rounds", 0) - r.get("expired_lock_writes_refused", 0)
    t = result["takeover"]
    return bad + t["over_bound"] + (t["holders"] - t["written_back_login_kept"])


def report(result: dict, args: argparse.Namespace) -> None:
    rows = []
    for case in CASES:
        r = result[case]
        stale = f"{r['stale_writes_accepted']}/{r['stale_writes_tried']}" if "stale_writes_tried" in r else ""
        rows.append([r["backend"], f"{r['hosts']}x{r['sessions_per_host']}", str(r["cycles"]), f"{r['seconds']:.2f}",
                     f"{r['cycles_per_s']:.1f}", f"{r['transactions_per_s']:.1f}", str(r["exhausted_polls"]),
                     str(r["double_leases"]), str(r["lost_updates"]), str(r["leases_lost"]),
                     stale])
    print_table(["backend", "hosts x sessions", "cycles", "s", "cycles/s", "pool txns/s", "exhausted polls",
                 "double leases", "lost updates", "leases lost", "stale accepted"], rows)
    r = result["redis"]
    from supervisor.pool.redis_store import LOCK_MAX_POLL_S, LOCK_POLL_S

    print(f"redis / file cycles per second: {result['redis_over_file_cycles_per_s']}x with "
          f"{r['hosts']}x{r['sessions_per_host']} sessions, {result['redis_over_file_cycles_per_s_alone']}x alone "
          f"(one cycle: lease, codex_home on every {REFRESH_EVERY}nd, heartbeat, release)")
    print(f"redis server: {r['redis_commands_per_cycle']} commands per cycle, of them {r['redis_set_per_cycle']} SET "
          f"(the pool lock is a SET NX, retried after {result['lock_poll_ms'] or LOCK_POLL_S * 1000:g} ms, then "
          f"twice as long each time up to {LOCK_MAX_POLL_S * 1000:g} ms, while another holds it); "
          f"server CPU {r['redis_server_cpu_s']} s")
    print(f"redis: stale holders' logins accepted {r['stale_logins_accepted']} of {r['stale_rounds']}; "
          f"writes under an expired lock refused {r['expired_lock_writes_refused']} of {r['expired_lock_rounds']}, "
          f"stored by the next heartbeat: {r['expired_lock_rounds'] - r['expired_lock_logins_lost_after']}")
    for case in CASES:
        if result[case]["errors"]:
            print(f"{case} errors: " + "; ".join(result[case]["errors"][:5]))
    t = result["takeover"]
    print(f"takeover after SIGKILL (T = {t['lease_ttl_s']:g} s, H = {t['heartbeat_s']:g} s, bound T + H = "
          f"{t['bound_s']:g} s), {t['runs']} runs: min {t['min_s']:.3f} / median {t['median_s']:.3f} / "
          f"max {t['max_s']:.3f} s; over the bound: {t['over_bound']}")
    print(f"takeover after a SIGKILL inside the holder's heartbeat transaction: "
          f"{t['killed_in_transaction_takeover_s']:.3f} s (the pool lock it held expires after "
          f"{t['lock_expiry_s']:g} s); last written-back login kept: {t['written_back_login_kept']}/{t['holders']}")
    print(f"pool data on {result['data_on']}; load average before {result['load_average_before']}, "
          f"after {result['load_average_after']}; total {result['total_s']} s")


if __name__ == "__main__":
    sys.exit(main())
