"""``codex-fsm doctor``'s checks of a pool shared across machines (``[pool] url``): the server answers, keeps
what it was told across a restart, and holds a usable pool document; this machine's key file is usable and
is the pool's key; every account's login decrypts and is that account's.

Like every check, these only read: nothing is written to Redis, and no token or email is ever shown (a
finding names an account by its id and a server without its password).
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Callable

from ..errors import CodexFsmError, ConfigError, CredentialError, PoolKeyError, PoolUnavailable
from ..pool.redis_client import PASSWORD_ENV, shown, unavailable_as_pool_error
from ..pool.redis_vault import KEY_CHECK_KEY
from ..terminal_text import for_terminal
from .doctor import DoctorContext, Finding

if TYPE_CHECKING:
    from ..pool.redis_store import RedisPoolStore
    from ..pool.redis_vault import RedisVault

SERVER = "shared pool"
PERSISTENCE = "shared pool persistence"
KEY = "pool key"
# What keeps every acknowledged write across a restart: the append-only file, synced at least each second.
DURABLE_FSYNC = ("always", "everysec")
LOSS = "a Redis restart may lose rotated tokens (a refresh token that is lost cannot be used again)"


class SharedPool:
    """What doctor examines of a shared pool: its store, opened without the key (``ConfigError`` when
    redis-py cannot open the URL), and its vault, made with the key (``PoolKeyError`` when the key file is
    missing or unusable)."""

    def __init__(self, open_store: Callable[[], "RedisPoolStore"], key_file: str,
                 vault: Callable[[], "RedisVault"]) -> None:
        self._open_store = open_store
        self.key_file = key_file
        self.vault = vault

    @cached_property
    def store(self) -> "RedisPoolStore":
        return self._open_store()


def server_findings(ctx: DoctorContext, shared: SharedPool) -> list[Finding]:
    """The server answers a PING, keeps an append-only file, and holds a pool document (read into
    ``ctx.pool`` for the lease and home checks)."""
    try:
        store = shared.store
    except ConfigError as exc:
        return [Finding("error", SERVER, str(exc), "correct [pool] url (or CODEX_FSM_POOL_URL); `codex-fsm config` "
                        "shows where it is set")]
    try:
        with unavailable_as_pool_error(store.url, "answer a PING"):
            store.client.ping()
    except PoolUnavailable as exc:
        return [Finding("error", SERVER, str(exc),
                        f"check that the Redis server runs and that this machine reaches it (`redis-cli -u URL "
                        f"PING`); [pool] url (or CODEX_FSM_POOL_URL) names it as {shown(store.url)}, the password "
                        f"goes in the URL or in {PASSWORD_ENV}")]
    findings = [Finding("ok", SERVER, f"{shown(store.url)} answers"), *persistence_findings(store)]
    try:
        ctx.pool = store.load()
    except CodexFsmError as exc:  # its message says how to restore the backup
        return findings + [Finding("error", SERVER, str(exc))]
    return findings + [Finding("ok", SERVER, f"{store.where}: {len(ctx.pool.accounts)} account(s)")]


def persistence_findings(store: "RedisPoolStore") -> list[Finding]:
    """Whether the server keeps the append-only file a restart needs to keep the latest logins. A managed
    Redis may refuse CONFIG: then it cannot be checked from here, which is not a fault."""
    from redis.exceptions import ResponseError

    settings: dict[str, str] = {}
    with unavailable_as_pool_error(store.url, "read its persistence settings"):
        try:
            for name in ("appendonly", "appendfsync"):  # one at a time: older servers take one pattern
                settings.update(_texts(store.client.config_get(name)))
        except ResponseError as exc:
            return [_unchecked(f"the server refused CONFIG GET ({for_terminal(exc) or type(exc).__name__})")]
    appendonly, appendfsync = settings.get("appendonly"), settings.get("appendfsync")
    if appendonly is None or appendfsync is None:
        return [_unchecked("the server did not name its appendonly and appendfsync settings")]
    fix = ("on the server: `CONFIG SET appendonly yes` and `CONFIG SET appendfsync everysec`, then `CONFIG REWRITE` "
           "(or the same two lines in its redis.conf)")
    if appendonly != "yes":
        return [Finding("warning", PERSISTENCE, f"the server keeps no append-only file (appendonly "
                        f"{for_terminal(appendonly)}): {LOSS}", fix)]
    if appendfsync not in DURABLE_FSYNC:
        return [Finding("warning", PERSISTENCE, f"the server syncs its append-only file only when the system "
                        f"does (appendfsync {for_terminal(appendfsync)}): {LOSS}", fix)]
    return [Finding("ok", PERSISTENCE, f"appendonly yes, appendfsync {appendfsync}")]


def _texts(reply: dict) -> dict[str, str]:
    """A CONFIG GET reply as text (redis-py gives bytes unless the client decodes)."""
    def text(value: object) -> str:
        return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return {text(name).lower(): text(value).lower() for name, value in reply.items()}


def _unchecked(why: str) -> Finding:
    return Finding("ok", PERSISTENCE, f"could not be checked: {why}. Make sure it keeps an append-only file "
                   f"(appendonly yes, appendfsync everysec or always), or {LOSS}")


def login_findings(ctx: DoctorContext, shared: SharedPool) -> list[Finding]:
    """The key file is usable (checked even when the server is not: it is this machine's) and is the pool's;
    each account's login decrypts and names that account."""
    fix = ("copy the key file from a machine that uses this pool (keep it mode 0600) and name it in [pool] "
           "key_file (or CODEX_FSM_POOL_KEY_FILE)")
    try:
        vault = shared.vault()
    except PoolKeyError as exc:
        return [Finding("error", KEY, str(exc), fix)]
    except (ConfigError, PoolUnavailable):
        return []  # the key file is usable, the URL or the server is not (its key check needs it): said above
    if ctx.pool is None:
        return []  # the server or its document is unusable (the server check said why): nothing to compare
    try:
        vault.check_key()
    except PoolKeyError as exc:
        return [Finding("error", KEY, str(exc), fix)]
    store = shared.store
    with unavailable_as_pool_error(store.url, "look for the pool's key check"):
        checked = bool(store.client.exists(KEY_CHECK_KEY))
    findings = [Finding("ok", KEY, f"{shared.key_file} holds the key of {store.where}" if checked else
                        f"{shared.key_file} holds a key; the pool records which one with its first login")]
    for record in ctx.pool.accounts:
        try:
            vault.read(record.id)
        except (CredentialError, PoolKeyError) as exc:
            findings.append(Finding("error", f"account {record.id}", str(exc),
                                    "log in to the account again with `codex login`, then `codex-fsm accounts "
                                    "import` (on any machine that uses this pool)"))
        else:
            findings.append(Finding("ok", f"account {record.id}", "its login in the shared pool decrypts and "
                                    "is this account's"))
    return findings
