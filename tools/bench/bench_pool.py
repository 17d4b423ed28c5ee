#!/usr/bin/env python3
"""Pool benchmark: concurrent mutations (no lost updates, no corrupt files) and crashed lease holders.

  .venv/bin/python tools/bench/bench_pool.py                      # 8 processes x 200 mutations
  .venv/bin/python tools/bench/bench_pool.py --processes 4 --mutations 25 --json   # the CI size

Part 1: N processes each make M read-modify-write transactions, interleaved: every one bumps a
shared counter and its own account's counter and label. A reader loads the file without the lock
the whole time. Lost updates = expected counters minus what the file says at the end.
Part 2: a process leases an account, its "Codex" writes rotated tokens (the last copy left in an
unrenamed temp file), and it is SIGKILLed. How long until another process can lease the account,
against the lease TTL, and whether the newest token survived.
"""

from __future__ import annotations

import argparse
import base64
import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from supervisor.core.quota import Thresholds  # noqa: E402
from supervisor.errors import PoolError  # noqa: E402
from supervisor.pool.auth import account_id_for, parse_auth  # noqa: E402
from supervisor.pool.homes import AccountHomes  # noqa: E402
from supervisor.pool.model import AccountRecord  # noqa: E402
from supervisor.pool.session_pool import SessionPool  # noqa: E402
from supervisor.pool.store import PoolStore  # noqa: E402

LEASE_TTL_S = 10.0


def _jwt(claims: dict) -> str:
    part = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return "eyJhbGciOiJub25lIn0." + part + ".fakesig"


def fake_auth(n: int, refresh: str, last_refresh: str) -> bytes:
    claims = {"sub": f"user-bench-{n}", "exp": 4_102_444_800, "email": f"bench{n}@example.invalid",
              "https://api.openai.com/auth": {"chatgpt_account_id": f"acct-bench-{n}",
                                              "chatgpt_user_id": f"user-bench-{n}", "chatgpt_plan_type": "plus"}}
    return json.dumps({"auth_mode": "chatgpt", "tokens": {"id_token": _jwt(claims), "access_token": _jwt(claims),
                                                          "refresh_token": refresh},
                       "last_refresh": last_refresh}).encode()


def make_pool(root: Path, accounts: int) -> tuple[PoolStore, AccountHomes, list[str]]:
    store = PoolStore(root / "fsm" / "pool.json", lock_timeout_s=120.0)
    homes = AccountHomes(root / "fsm" / "homes", root / "codex")
    ids = []
    for n in range(accounts):
        raw = fake_auth(n, f"rt_bench_{n}", "2026-01-01T00:00:00.000000Z")
        account = account_id_for(parse_auth(raw, "bench").identity)
        homes.write_auth(account, raw)
        ids.append(account)
    store.mutate(lambda pool: pool.accounts.extend(
        AccountRecord(id=a, label="start", added_at=0.0, order=0) for a in ids))
    return store, homes, ids


def worker(root: Path, index: int, mutations: int) -> None:
    store = PoolStore(root / "fsm" / "pool.json", lock_timeout_s=120.0)
    print("ready", flush=True)
    sys.stdin.readline()  # start line: all workers begin together, after their imports

    def change(pool, step: int) -> None:
        pool.accounts[0].generation += 1
        mine = pool.accounts[index % len(pool.accounts)]
        mine.order = (mine.order or 0) + 1
        mine.label = f"w{index}-{step}"
    for step in range(mutations):
        store.mutate(lambda pool, step=step: change(pool, step))


def run_mutations(processes: int, mutations: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-pool-") as tmp:
        root = Path(tmp)
        store, _, _ = make_pool(root, max(processes, 1))
        children = [subprocess.Popen([sys.executable, __file__, "--worker", str(i), "--mutations", str(mutations),
                                      "--root", str(root)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True)
                    for i in range(processes)]
        for child in children:
            if child.stdout.readline() != "ready\n":
                raise SystemExit("a worker failed to start")
        started = time.perf_counter()
        for child in children:
            child.stdin.write("go\n")
            child.stdin.close()
        reads = corrupt_reads = 0
        while any(child.poll() is None for child in children):
            reads += 1
            try:
                store.load()
            except PoolError:
                corrupt_reads += 1
        elapsed = time.perf_counter() - started
        failed = sum(1 for child in children if child.wait() != 0)
        pool = store.load()
        expected_total = processes * mutations
        lost = expected_total - pool.accounts[0].generation
        lost += sum(mutations - (pool.accounts[i].order or 0) for i in range(processes))
        wrong_labels = sum(pool.accounts[i].label != f"w{i}-{mutations - 1}" for i in range(processes))
        corrupt_files = 0
        for path in (store.path, store.backup_path):
            try:
                PoolStore(path).load()
            except PoolError:
                corrupt_files += 1
        return {"processes": processes, "mutations_each": mutations, "seconds": round(elapsed, 3),
                "mutations_per_s": round(expected_total / elapsed, 1), "lost_updates": lost + wrong_labels,
                "corrupt_reads": corrupt_reads, "unlocked_reads": reads, "corrupt_files": corrupt_files,
                "failed_workers": failed}


def holder(root: Path) -> None:
    """Lease the only account, let 'Codex' rotate its token, then wait to be killed."""
    store = PoolStore(root / "fsm" / "pool.json")
    homes = AccountHomes(root / "fsm" / "homes", root / "codex")
    pool = SessionPool(store, homes, lambda a: Thresholds(), lease_ttl_s=LEASE_TTL_S)
    account = pool.lease_candidate("session", (), time.time()).account
    homes.write_auth(account, fake_auth(0, "rt_rotated_1", "2026-02-01T00:00:00.000000Z"))
    (homes.home(account) / ".auth-K1LLED").write_bytes(fake_auth(0, "rt_rotated_2", "2026-03-01T00:00:00.000000Z"))
    print(account, flush=True)
    time.sleep(3600)


def run_crashed_holder() -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-pool-") as tmp:
        root = Path(tmp)
        store, homes, _ = make_pool(root, 1)
        child = subprocess.Popen([sys.executable, __file__, "--holder", "--root", str(root)],
                                 stdout=subprocess.PIPE, text=True)
        account = child.stdout.readline().strip()
        child.send_signal(signal.SIGKILL)
        child.wait()
        killed_at = time.perf_counter()
        successor = SessionPool(store, homes, lambda a: Thresholds(), lease_ttl_s=LEASE_TTL_S)
        attempts = 0
        while True:
            attempts += 1
            event = successor.lease_candidate("session", (), time.time())
            if getattr(event, "account", None) == account:
                break
            if time.perf_counter() - killed_at > 2 * LEASE_TTL_S:
                raise SystemExit("crashed holder's account was not usable again within twice the TTL")
        usable_after = time.perf_counter() - killed_at
        kept = b"rt_rotated_2" in homes.auth_path(account).read_bytes()
        successor.close(time.time())
        return {"lease_ttl_s": LEASE_TTL_S, "usable_after_s": round(usable_after, 4), "attempts": attempts,
                "usable_after_over_ttl": round(usable_after / LEASE_TTL_S, 5), "newest_credentials_kept": kept}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--mutations", type=int, default=200)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--holder", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        worker(args.root, args.worker, args.mutations)
        return 0
    if args.holder:
        holder(args.root)
        return 0
    single = run_mutations(1, args.mutations)
    many = run_mutations(args.processes, args.mutations)
    crash = run_crashed_holder()
    result = {"single": single, "concurrent": many, "crashed_holder": crash,
              "throughput_ratio_concurrent_over_single": round(many["mutations_per_s"] / single["mutations_per_s"], 2)}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{'case':<22}{'procs':>6}{'muts':>7}{'sec':>8}{'muts/s':>9}{'lost':>6}{'corrupt':>9}")
        for name, r in (("1 process", single), (f"{args.processes} processes", many)):
            print(f"{name:<22}{r['processes']:>6}{r['processes'] * r['mutations_each']:>7}{r['seconds']:>8}"
                  f"{r['mutations_per_s']:>9}{r['lost_updates']:>6}{r['corrupt_reads'] + r['corrupt_files']:>9}")
        print(f"concurrent/single throughput: {result['throughput_ratio_concurrent_over_single']}x "
              f"({many['unlocked_reads']} unlocked reads during the run, {many['corrupt_reads']} corrupt)")
        print(f"SIGKILLed lease holder: usable again after {crash['usable_after_s'] * 1000:.1f} ms "
              f"= {crash['usable_after_over_ttl']:.5f} x the {LEASE_TTL_S:g} s TTL; "
              f"newest credentials kept: {crash['newest_credentials_kept']}")
    bad = many["lost_updates"] + many["corrupt_reads"] + many["corrupt_files"] + many["failed_workers"]
    return 1 if bad or not crash["newest_credentials_kept"] else 0


if __name__ == "__main__":
    sys.exit(main())
