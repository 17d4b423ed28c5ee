"""The pool shared across machines: the same pool document as ``pool.json``, kept in Redis.

Keys (all under ``codex-fsm:``): ``pool`` (the document), ``pool:backup`` (the previous document),
``pool:validated`` (the content key of the last document this codex-fsm version wrote, so a read of it
skips the schema), ``pool:lock``, ``generation:<account>`` (the lease generation counter) and
``credentials:<account>`` (the account's encrypted login, see ``redis_vault``).

A change is one transaction, as with the file: take the lock, ``WATCH`` the document, read it, apply the
change, then ``MULTI``/``EXEC`` the new document together with any credentials staged in the same block.
The lock is redis-py's ``Lock``: a key set with ``NX`` and an expiry, released only by the token that took
it (a Lua script). It was chosen over portalocker's ``RedisLock``, whose lock lives as long as its holder's
subscription connection: a holder that is paused (SIGSTOP, a laptop lid) keeps its connection and so holds
the lock for everyone indefinitely, and it needs a thread per lock. An expiring lock has the opposite
weakness: a holder paused past the expiry believes it still holds it. The ``WATCH`` closes that gap: if
anyone changed the document since this holder read it, ``EXEC`` writes nothing and the change fails with
``PoolSuperseded`` (a fence over the whole document), so a stale holder never overwrites newer state.

Lease generations come from ``INCR`` on the account's counter, never from the document: a holder that
read an old document cannot hand out a generation that was already given.
"""

from __future__ import annotations

import json
import time
import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING, Callable, Iterator, TypeVar

from ..errors import PoolError, PoolLockTimeout, PoolUnavailable
from .model import SCHEMA_VERSION, AccountRecord, Pool, dump_pool
from .redis_client import shown, unavailable_as_pool_error
from .store import PoolFileError, content_key, decode_known, parse_pool_document

if TYPE_CHECKING:
    import redis

T = TypeVar("T")

PREFIX = "codex-fsm:"
POOL_KEY = PREFIX + "pool"
BACKUP_KEY = PREFIX + "pool:backup"
VALIDATED_KEY = PREFIX + "pool:validated"
LOCK_KEY = PREFIX + "pool:lock"
# A transaction takes milliseconds; a lock whose holder died or froze frees itself after this long, which
# bounds how long every host waits behind a holder killed inside a pool write. It can be short because a
# holder that outlives it (paused, or slow past the socket timeout) is fenced by the WATCH: it writes nothing.
LOCK_EXPIRY_S = 3.0
# A waiter asks again after 5 ms, then twice as long each time up to 50 ms (as the file lock does): with
# many hosts waiting, a fixed 5 ms poll made Redis busier with lock attempts than with the pool itself.
LOCK_POLL_S = 0.005
LOCK_MAX_POLL_S = 0.05
# The generation counter never falls behind a generation the document already holds (a migrated pool).
_NEXT_GENERATION = """
local g = redis.call('INCR', KEYS[1])
local floor = tonumber(ARGV[1])
if g <= floor then
  g = floor + 1
  redis.call('SET', KEYS[1], g)
end
return g
"""


def generation_key(account: str) -> str:
    return f"{PREFIX}generation:{account}"


def credentials_key(account: str) -> str:
    return f"{PREFIX}credentials:{account}"


class PoolSuperseded(PoolUnavailable):
    """Another codex-fsm changed the shared pool while this one held a lock that had expired: nothing written."""


class RedisPoolStore:
    """``PoolStore``'s interface (``load``, ``transaction``, ``mutate``, ``lock``) over a Redis server."""

    def __init__(self, client: "redis.Redis", url: str, lock_timeout_s: float) -> None:
        self.client = client
        self.url = url
        self.lock_timeout_s = lock_timeout_s
        # Per thread: one store serves a whole process (the usage probe's workers refresh tokens through
        # it), and another thread's transaction must wait for the lock, not look nested, nor take this
        # thread's staged writes into its EXEC.
        self._open = threading.local()

    @property
    def _staged(self) -> list[tuple[str, bytes | None]] | None:
        """The writes staged in this thread's open transaction; None when it has none open."""
        return getattr(self._open, "staged", None)

    @_staged.setter
    def _staged(self, staged: list[tuple[str, bytes | None]] | None) -> None:
        self._open.staged = staged

    @property
    def _after_commit(self) -> list[Callable[[], None]]:
        """What runs once this thread's open transaction has been written."""
        return getattr(self._open, "after_commit", [])

    @_after_commit.setter
    def _after_commit(self, callbacks: list[Callable[[], None]]) -> None:
        self._open.after_commit = callbacks

    @property
    def where(self) -> str:
        """The document as messages name it."""
        return f"the shared pool {POOL_KEY} at {shown(self.url)}"

    def load(self) -> Pool:
        with unavailable_as_pool_error(self.url, "read the pool"):
            raw, validated = self.client.mget([POOL_KEY, VALIDATED_KEY])
        return self._parse(raw, validated)

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the pool lock for the block (see the module's doc for why redis-py's Lock)."""
        from redis.exceptions import LockError

        lock = self.client.lock(LOCK_KEY, timeout=LOCK_EXPIRY_S, thread_local=False)
        with unavailable_as_pool_error(self.url, "take the pool lock"):
            taken = self._acquire(lock)
        if not taken:
            raise PoolLockTimeout(f"timed out after {self.lock_timeout_s:g} s waiting for the lock of {self.where}; "
                                  "another codex-fsm is in a pool update (a lock frees itself after "
                                  f"{LOCK_EXPIRY_S:g} s)")
        try:
            yield
        finally:
            try:
                lock.release()
            except LockError:
                pass  # expired while held: the WATCH fenced whatever this block wrote
            except PoolError:
                raise
            except Exception:  # noqa: BLE001 - a release lost to a dropped connection expires by itself
                pass

    def _acquire(self, lock) -> bool:
        """Try ``lock`` until it is taken or the configured wait has passed, backing off between attempts."""
        deadline = time.monotonic() + self.lock_timeout_s
        interval = LOCK_POLL_S
        while not lock.acquire(blocking=False):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            time.sleep(min(interval, remaining))
            interval = min(interval * 2, LOCK_MAX_POLL_S)
        return True

    @contextmanager
    def transaction(self) -> Iterator[Pool]:
        """Hold the lock, yield the current pool, and write it back (with any staged credentials) if the
        block changed it; ``PoolSuperseded`` when the document changed under an expired lock."""
        from redis.exceptions import WatchError

        if self._staged is not None:
            raise PoolError(f"a transaction on {self.where} is already open in this thread (nested pool transaction)")
        with self.lock():
            with unavailable_as_pool_error(self.url, "read the pool"):
                pipe = self.client.pipeline(transaction=True)
            try:
                with unavailable_as_pool_error(self.url, "read the pool"):
                    pipe.watch(POOL_KEY)
                    raw, validated = pipe.mget([POOL_KEY, VALIDATED_KEY])
                pool = self._parse(raw, validated)
                before = dump_pool(pool)
                self._staged, self._after_commit = [], []
                try:
                    yield pool
                    staged, self._staged = self._staged, None
                    after_commit = self._after_commit
                finally:
                    self._staged, self._after_commit = None, []
                changed = dump_pool(pool) != before
                if not changed and not staged:
                    for callback in after_commit:
                        callback()
                    return
                with unavailable_as_pool_error(self.url, "write the pool"):
                    pipe.multi()
                    if changed:
                        data = self._encode(pool)
                        if raw is not None:
                            pipe.set(BACKUP_KEY, raw)
                        pipe.set(POOL_KEY, data)
                        pipe.set(VALIDATED_KEY, content_key(data))
                    for key, value in staged:
                        if value is None:
                            pipe.delete(key)
                        else:
                            pipe.set(key, value)
                    try:
                        pipe.execute()
                    except WatchError:
                        raise PoolSuperseded(
                            f"{self.where} was changed by another codex-fsm while this one's pool lock had expired "
                            "(was this process paused?); nothing was written") from None
                for callback in after_commit:
                    callback()
            finally:
                pipe.reset()

    def mutate(self, change: Callable[[Pool], T]) -> T:
        with self.transaction() as pool:
            return change(pool)

    def stage(self, key: str, value: bytes | None) -> None:
        """Write ``value`` (None: delete) at ``key`` in the same EXEC as the open transaction's document."""
        if self._staged is None:
            raise PoolError(f"a write of {key} outside a transaction on {self.where}")
        self._staged.append((key, value))

    @property
    def in_transaction(self) -> bool:
        """Whether a transaction is open in this process (writes may be staged into it)."""
        return self._staged is not None

    def stages(self, key: str) -> bool:
        """Whether the open transaction already writes (or deletes) ``key``."""
        return self._staged is not None and any(staged == key for staged, _ in self._staged)

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the open transaction has been written (never when it failed): what must
        not happen before the shared pool holds the change, such as removing a local copy of it."""
        if self._staged is None:
            raise PoolError(f"an after-commit step outside a transaction on {self.where}")
        self._after_commit.append(callback)

    def next_generation(self, record: AccountRecord) -> int:
        """The next lease generation of ``record``'s account, from its counter (INCR)."""
        with unavailable_as_pool_error(self.url, "hand out a lease generation"):
            return int(self.client.eval(_NEXT_GENERATION, 1, generation_key(record.id), record.generation))

    def _parse(self, raw: bytes | None, validated: bytes | None) -> Pool:
        if raw is None:
            return Pool()
        key = content_key(raw)
        if validated is not None and validated.decode("ascii", "replace") == key:
            known = decode_known(raw)
            if known is not None:
                return known
        return parse_pool_document(raw, self.where, self._recovery())

    def _encode(self, pool: Pool) -> bytes:
        pool.version = SCHEMA_VERSION
        try:
            return json.dumps(dump_pool(pool), sort_keys=True, allow_nan=False).encode() + b"\n"
        except ValueError as exc:
            raise PoolError(f"{self.where} was not written: a value is not finite ({exc}); it is unchanged") from None

    def _recovery(self) -> str:
        with unavailable_as_pool_error(self.url, "look for the pool's backup"):
            has_backup = bool(self.client.exists(BACKUP_KEY))
        if has_backup:
            return (f"The previous version is {BACKUP_KEY}: check it, then restore it with "
                    f"`redis-cli -u URL COPY {BACKUP_KEY} {POOL_KEY} REPLACE`.")
        return f"No backup exists: delete {POOL_KEY} and re-import the accounts with `codex-fsm accounts import`."


__all__ = ["RedisPoolStore", "PoolSuperseded", "PoolFileError", "POOL_KEY", "credentials_key", "generation_key"]
