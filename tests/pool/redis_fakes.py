"""A pool shared across machines, on fakeredis: one server, and per host its own client, store, account
homes (a machine's disk) and vault. Logins are the fake JWT ones of ``fakes``, never a real credential."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import fakeredis
from cryptography.fernet import Fernet

from supervisor.core.quota import Thresholds
from supervisor.pool.admin import import_account
from supervisor.pool.auth import AuthFile, parse_auth
from supervisor.pool.homes import AccountHomes
from supervisor.pool.leases import ProcessIdentity, current_process, owner_alive
from supervisor.pool.redis_store import POOL_KEY, RedisPoolStore, credentials_key
from supervisor.pool.redis_vault import RedisVault
from supervisor.pool.session_pool import SessionPool

from .fakes import write_auth

try:  # fakeredis runs EVAL (the generation counter, redis-py's Lock) through lupa
    import lupa  # noqa: F401
except ImportError as exc:  # pragma: no cover - a missing tool must fail, not skip
    raise ImportError("the shared pool tests need lupa for fakeredis's EVAL: pip install 'fakeredis[lua]'") from exc

URL = "redis://127.0.0.1:6379/0"  # only named in messages: fakeredis never connects
NOW = 1_000_000.0


@dataclass
class Host:
    """One machine of the shared pool."""

    name: str
    client: fakeredis.FakeRedis
    store: RedisPoolStore
    homes: AccountHomes
    vault: RedisVault
    owner: ProcessIdentity
    fernet: Fernet

    def alive(self, lease) -> bool:
        """The owner check as Composition builds it: other hosts' owners are assumed alive."""
        return owner_alive(lease, self.owner.host)

    def session_pool(self, ttl: float = 30.0) -> SessionPool:
        return SessionPool(self.store, self.homes, lambda account: Thresholds(), owner=self.owner,
                           lease_ttl_s=ttl, alive=self.alive, vault=self.vault)


def shared_host(server: fakeredis.FakeServer, root: Path, name: str, key: bytes) -> Host:
    """A machine named ``name`` (also its lease host) with its own disk under ``root / name``."""
    client = fakeredis.FakeRedis(server=server)
    store = RedisPoolStore(client, URL, lock_timeout_s=2.0)
    real = root / name / "codex"
    real.mkdir(parents=True)
    homes = AccountHomes(root / name / "homes", real)
    fernet = Fernet(key)
    vault = RedisVault(store, homes, fernet, str(root / name / "pool.key"))
    return Host(name, client, store, homes, vault, current_process(name), fernet)


def import_login(host: Host, root: Path, n: int, **auth_fields: object) -> str:
    """Import fake login number ``n`` into the shared pool from ``host`` (as `accounts import` does); its id."""
    source = write_auth(root / f"login-{n}" / "auth.json", account=f"acct-fake-{n:04d}", user=f"user-fake-{n:04d}",
                        email=f"user{n}@example.invalid", refresh=f"rt_fake_{n}", **auth_fields)
    result = import_account(host.store, host.homes, source, NOW, host.alive, vault=host.vault)
    assert result.outcome == "added"
    return result.account


def stored_login(host: Host, account: str) -> AuthFile:
    """What Redis holds for ``account``, decrypted with ``host``'s key (never the working copy)."""
    raw = host.client.get(credentials_key(account))
    assert raw is not None, f"no {credentials_key(account)} in Redis"
    return parse_auth(host.fernet.decrypt(raw), "the stored login")


def raw_values(client: fakeredis.FakeRedis) -> dict[bytes, bytes | None]:
    """Every string key of the server and its value: what "nothing was written" compares."""
    return {key: client.get(key) for key in sorted(client.keys("*")) if client.type(key) == b"string"}


def codex_refreshes(home_auth: Path, n: int, refresh: str, last_refresh: str, marker: str = "refreshed") -> None:
    """What the child's Codex does when it refreshes account ``n``'s token: a new auth.json in its home."""
    write_auth(home_auth, account=f"acct-fake-{n:04d}", user=f"user-fake-{n:04d}", email=f"user{n}@example.invalid",
               refresh=refresh, last_refresh=last_refresh, access_marker=marker)


class ExecSpy:
    """Records the commands of every MULTI/EXEC the client runs, and can run a step right before one
    (another host's write landing between a holder's read and its EXEC)."""

    def __init__(self, client: fakeredis.FakeRedis) -> None:
        self.execs: list[list[tuple]] = []
        self.before_exec: Callable[[], None] | None = None
        original = client.pipeline

        def pipeline(*args, **kwargs):
            pipe = original(*args, **kwargs)
            execute = pipe.execute

            def spied_execute(*a, **k):
                if pipe.explicit_transaction:
                    self.execs.append([command for command, _options in pipe.command_stack])
                    if self.before_exec is not None:
                        step, self.before_exec = self.before_exec, None
                        step()
                return execute(*a, **k)
            pipe.execute = spied_execute
            return pipe
        client.pipeline = pipeline

    def keys_written(self, index: int = -1) -> set[str]:
        """The keys one EXEC set or deleted."""
        return {str(command[1]) for command in self.execs[index] if command[0] in ("SET", "DEL")}


__all__ = ["Host", "shared_host", "import_login", "stored_login", "raw_values", "codex_refreshes", "ExecSpy",
           "NOW", "POOL_KEY"]
