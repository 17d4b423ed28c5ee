from __future__ import annotations

from pathlib import Path

import pytest

from supervisor.core.quota import Thresholds
from supervisor.pool.auth import account_id_for, parse_auth
from supervisor.pool.homes import AccountHomes
from supervisor.pool.leases import ProcessIdentity
from supervisor.pool.model import AccountRecord
from supervisor.pool.session_pool import SessionPool
from supervisor.pool.store import PoolStore

from .fakes import auth_bytes


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    fsm = tmp_path / "fsm"
    real = tmp_path / "codex"
    real.mkdir()
    monkeypatch.setenv("CODEX_FSM_HOME", str(fsm))
    monkeypatch.setenv("CODEX_HOME", str(real))
    monkeypatch.setenv("CODEX_REFRESH_TOKEN_URL_OVERRIDE", "http://127.0.0.1:9/oauth/token")
    return {"fsm": fsm, "real": real}


@pytest.fixture
def store(env: dict[str, Path]) -> PoolStore:
    return PoolStore(env["fsm"] / "pool.json", lock_timeout_s=2.0)


@pytest.fixture
def homes(env: dict[str, Path]) -> AccountHomes:
    return AccountHomes(env["fsm"] / "homes", env["real"])


class Processes:
    """Fake process table: which (pid, start) pairs are alive."""

    def __init__(self) -> None:
        self.alive: set[tuple[int, str]] = set()

    def spawn(self, pid: int, start: str = "100") -> ProcessIdentity:
        self.alive.add((pid, start))
        return ProcessIdentity(pid=pid, start=start, host="testhost")

    def kill(self, identity: ProcessIdentity) -> None:
        self.alive.discard((identity.pid, identity.start))

    def check(self, lease) -> bool:
        return (lease.owner_pid, lease.owner_start) in self.alive


@pytest.fixture
def procs() -> Processes:
    return Processes()


def add_account(store: PoolStore, homes: AccountHomes, n: int, **record_fields: object) -> str:
    """Put fake account number ``n`` into the pool with credentials in its home; returns its id."""
    raw = auth_bytes(account=f"acct-fake-{n:04d}", user=f"user-fake-{n:04d}", email=f"user{n}@example.invalid",
                     refresh=f"rt_fake_{n}")
    account = account_id_for(parse_auth(raw, "fake").identity)
    homes.write_auth(account, raw)

    def change(pool) -> None:
        pool.accounts.append(AccountRecord(id=account, label=f"acct{n}", added_at=1.0, **record_fields))
    store.mutate(change)
    return account


def session(store: PoolStore, homes: AccountHomes, procs: Processes, pid: int, ttl: float = 30.0) -> SessionPool:
    return SessionPool(store, homes, lambda account: Thresholds(), owner=procs.spawn(pid), lease_ttl_s=ttl,
                       alive=procs.check)
