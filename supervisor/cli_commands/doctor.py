"""``codex-fsm doctor``: check the pool's health and say how to fix what is wrong.

Each check is a function from the shared context to findings; append new checks to ``CHECKS``.
Doctor only reads: it never rewrites the pool file or a credential.
"""

from __future__ import annotations

import argparse
import re
import time
from dataclasses import dataclass, field
from typing import Callable

from ..errors import CodexFsmError, PoolLockTimeout
from ..pool.auth import read_auth_file
from ..pool.homes import AccountHomes
from ..pool.leases import current_process, owner_alive
from ..pool.locations import account_homes, pool_store
from ..pool.lock import PoolLock
from ..pool.model import Pool
from ..pool.store import PoolStore, parse_pool

LOCK_PROBE_TIMEOUT_S = 1.0


@dataclass(frozen=True, slots=True)
class Finding:
    severity: str  # "ok", "warning" or "error"
    subject: str
    message: str
    fix: str = ""


@dataclass
class DoctorContext:
    store: PoolStore
    homes: AccountHomes
    now: float
    alive: Callable = field(default=lambda lease: True)
    pool: Pool | None = None  # set by the pool-file check when the file is usable


Check = Callable[[DoctorContext], list[Finding]]


def check_pool_file(ctx: DoctorContext) -> list[Finding]:
    try:
        ctx.pool = ctx.store.load()
    except CodexFsmError as exc:
        return [Finding("error", "pool file", str(exc), _backup_fix(ctx.store))]
    return [Finding("ok", "pool file", f"{ctx.store.path}: {len(ctx.pool.accounts)} account(s)")]


def _backup_fix(store: PoolStore) -> str:
    backup = store.backup_path
    try:
        pool = parse_pool(backup.read_bytes(), backup, backup)
    except (OSError, CodexFsmError):
        return (f"no usable backup: move {store.path} aside, then re-import each login with "
                "`codex-fsm accounts import` (account homes under "
                f"{store.path.parent / 'homes'} still hold the credentials)")
    return (f"the backup {backup} is valid ({len(pool.accounts)} account(s)): restore it with "
            f"`cp {backup} {store.path}`")


def check_pool_lock(ctx: DoctorContext) -> list[Finding]:
    try:
        with PoolLock(ctx.store.lock_path, timeout_s=LOCK_PROBE_TIMEOUT_S):
            pass
    except PoolLockTimeout as exc:
        return [Finding("warning", "pool lock", str(exc),
                        "if no codex-fsm is running, a hung process holds it: find it with "
                        f"`fuser {ctx.store.lock_path}` and end it")]
    except CodexFsmError as exc:
        return [Finding("error", "pool lock", str(exc), "make the codex-fsm home writable by you")]
    return [Finding("ok", "pool lock", "free")]


def check_leases(ctx: DoctorContext) -> list[Finding]:
    if ctx.pool is None:
        return []
    findings = []
    for record in ctx.pool.accounts:
        lease = record.lease
        if lease is None:
            continue
        if not ctx.alive(lease):
            why = f"its owner (pid {lease.owner_pid}) is gone"
        elif lease.expires_at <= ctx.now:
            why = f"it expired {ctx.now - lease.expires_at:.0f} s ago without a heartbeat"
        else:
            findings.append(Finding("ok", f"account {record.id}", f"leased to pid {lease.owner_pid} on {lease.host}"))
            continue
        findings.append(Finding("warning", f"account {record.id}", f"stale lease: {why}",
                                "nothing to do: the next selection reclaims it and keeps the newest credentials"))
    return findings


def check_account_homes(ctx: DoctorContext) -> list[Finding]:
    if ctx.pool is None:
        return []
    findings = []
    for record in ctx.pool.accounts:
        problems = [str(p) for p in ctx.homes.check(record.id)]
        if ctx.homes.exists(record.id):
            try:
                read_auth_file(ctx.homes.auth_path(record.id))
            except CodexFsmError as exc:
                problems.append(str(exc))
        if problems:
            findings += [Finding("error", f"account {record.id}", p,
                                 "log in again with `codex login`, then `codex-fsm accounts import`")
                         for p in problems]
        else:
            findings.append(Finding("ok", f"account {record.id}", f"home {ctx.homes.home(record.id)}"))
    return findings


def check_orphan_homes(ctx: DoctorContext) -> list[Finding]:
    if ctx.pool is None:
        return []
    known = {r.id for r in ctx.pool.accounts}
    return [Finding("warning", f"home {name}", "holds credentials that no pool entry names",
                    f"adopt it with `codex-fsm accounts import {ctx.homes.auth_path(name)}`, or delete "
                    f"{ctx.homes.home(name)}")
            for name in ctx.homes.accounts_on_disk() if name not in known]


_FILE_STORE = re.compile(r'^\s*cli_auth_credentials_store\s*=\s*"file"\s*(#.*)?$', re.MULTILINE)
_ANY_STORE = re.compile(r"^\s*cli_auth_credentials_store\s*=", re.MULTILINE)


def check_codex_config(ctx: DoctorContext) -> list[Finding]:
    """Codex must keep credentials in each home's auth.json, not in a keyring shared by all homes."""
    config = ctx.homes.real_home / "config.toml"
    try:
        text = config.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        text = ""
    except OSError as exc:
        return [Finding("error", "codex config", f"cannot read {config}: {exc.strerror or exc}")]
    fix = f'set cli_auth_credentials_store = "file" in {config} (before the first [table])'
    if _ANY_STORE.search(text) and not _FILE_STORE.search(text):
        return [Finding("error", "codex config", f"{config} stores credentials outside auth.json", fix)]
    if not _ANY_STORE.search(text):
        return [Finding("warning", "codex config",
                        f"{config} does not set cli_auth_credentials_store; Codex may use the OS keyring", fix)]
    return [Finding("ok", "codex config", f"{config}: credentials are kept in each account's auth.json")]


CHECKS: list[Check] = [check_pool_file, check_pool_lock, check_leases, check_account_homes, check_orphan_homes,
                       check_codex_config]


def run_checks(ctx: DoctorContext, checks: list[Check] = CHECKS) -> list[Finding]:
    findings: list[Finding] = []
    for check in checks:
        try:
            findings += check(ctx)
        except (CodexFsmError, OSError) as exc:
            # One broken check (say, an unreadable home) must not hide what the others find.
            findings.append(Finding("error", check.__name__.removeprefix("check_").replace("_", " "),
                                    f"could not be checked: {exc}"))
    return findings


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="codex-fsm doctor", description="Check the account pool's health.")
    parser.add_argument("--quiet", action="store_true", help="show only problems")
    args = parser.parse_args(argv)
    host = current_process().host
    ctx = DoctorContext(store=pool_store(), homes=account_homes(), now=time.time(),
                        alive=lambda lease: owner_alive(lease, host))
    findings = run_checks(ctx)
    for finding in findings:
        if args.quiet and finding.severity == "ok":
            continue
        print(f"{finding.severity.upper():7} {finding.subject}: {finding.message}")
        if finding.fix:
            print(f"        fix: {finding.fix}")
    return 1 if any(f.severity == "error" for f in findings) else 0
