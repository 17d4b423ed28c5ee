"""The shared pool in Redis (fakeredis): load, the locked WATCH/MULTI transaction with its staged writes,
the fence against a change made under an expired lock, the lock's bounded wait, and INCR generations."""

from __future__ import annotations

import json
import threading
from typing import Iterator

import fakeredis
import pytest

from supervisor.errors import PoolError, PoolLockTimeout
from supervisor.pool import redis_store
from supervisor.pool.model import SCHEMA_VERSION, AccountRecord, Pool
from supervisor.pool.redis_store import (
    BACKUP_KEY,
    LOCK_EXPIRY_S,
    LOCK_KEY,
    POOL_KEY,
    VALIDATED_KEY,
    PoolFileError,
    PoolSuperseded,
    RedisPoolStore,
    credentials_key,
    generation_key,
)
from supervisor.pool.store import content_key

SECRET = "hunter2-not-a-real-password"
URL = f"redis://:{SECRET}@127.0.0.1:6390/0"
SHOWN = "the shared pool codex-fsm:pool at redis://***@127.0.0.1:6390/0"
ACCOUNT = "a-0123456789"


@pytest.fixture
def server() -> fakeredis.FakeServer:
    return fakeredis.FakeServer()


@pytest.fixture
def redis(server: fakeredis.FakeServer) -> fakeredis.FakeRedis:
    return fakeredis.FakeRedis(server=server)


@pytest.fixture
def other(server: fakeredis.FakeServer) -> fakeredis.FakeRedis:
    """Another codex-fsm's connection to the same server."""
    return fakeredis.FakeRedis(server=server)


@pytest.fixture
def shared(redis: fakeredis.FakeRedis) -> RedisPoolStore:
    return RedisPoolStore(redis, URL, lock_timeout_s=2.0)


def _add(pool: Pool, account: str = ACCOUNT) -> None:
    pool.accounts.append(AccountRecord(id=account, label="work", added_at=1.0))


def _relabel(label: str):
    def change(pool: Pool) -> None:
        pool.accounts[0].label = label
    return change


def _snapshot(client: fakeredis.FakeRedis) -> dict[bytes, bytes | None]:
    return {key: client.get(key) for key in sorted(client.keys("*"))}


@pytest.fixture
def no_schema(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bytes]]:
    """Records every document that goes through the full schema (and still validates it)."""
    calls: list[bytes] = []
    real = redis_store.parse_pool_document

    def recording(raw: bytes, where: str, recovery: str) -> Pool:
        calls.append(raw)
        return real(raw, where, recovery)
    monkeypatch.setattr(redis_store, "parse_pool_document", recording)
    yield calls


def test_the_store_s_redis_features_work_on_fakeredis(redis: fakeredis.FakeRedis, other: fakeredis.FakeRedis) -> None:
    """A guard on the fake itself: the store relies on Lock (its release is a Lua script), WATCH and EVAL."""
    lock = redis.lock("codex-fsm:test-lock", timeout=1, blocking_timeout=0.01, thread_local=False)
    assert lock.acquire() and other.get("codex-fsm:test-lock") is not None
    lock.release()
    assert other.get("codex-fsm:test-lock") is None
    assert redis.eval("return redis.call('INCR', KEYS[1])", 1, "codex-fsm:test-counter") == 1
    pipe = redis.pipeline(transaction=True)
    pipe.watch("codex-fsm:test-key")
    other.set("codex-fsm:test-key", b"changed")
    pipe.multi()
    pipe.set("codex-fsm:test-key", b"mine")
    with pytest.raises(Exception, match="Watched variable changed"):
        pipe.execute()


def test_an_empty_redis_is_an_empty_pool(shared: RedisPoolStore, redis: fakeredis.FakeRedis) -> None:
    assert shared.load() == Pool()
    with shared.transaction() as pool:
        assert pool == Pool()
    assert redis.keys("*") == []


def test_a_change_writes_the_document_its_backup_and_its_validated_key(shared: RedisPoolStore,
                                                                       redis: fakeredis.FakeRedis) -> None:
    shared.mutate(_add)
    first = redis.get(POOL_KEY)
    document = json.loads(first)
    assert document["version"] == SCHEMA_VERSION and [a["id"] for a in document["accounts"]] == [ACCOUNT]
    assert redis.get(BACKUP_KEY) is None  # there was no previous document
    assert redis.get(VALIDATED_KEY).decode() == content_key(first)
    shared.mutate(_relabel("renamed"))
    assert redis.get(BACKUP_KEY) == first
    assert redis.get(VALIDATED_KEY).decode() == content_key(redis.get(POOL_KEY))
    assert shared.load().accounts[0].label == "renamed"
    assert redis.get(LOCK_KEY) is None  # released


def test_a_change_returns_what_the_block_returned_and_an_unchanged_pool_writes_nothing(
        shared: RedisPoolStore, redis: fakeredis.FakeRedis) -> None:
    assert shared.mutate(lambda pool: (_add(pool), "done")[1]) == "done"
    before = _snapshot(redis)
    assert shared.mutate(lambda pool: len(pool.accounts)) == 1
    assert _snapshot(redis) == before


def test_a_document_this_version_wrote_is_read_without_the_schema(shared: RedisPoolStore, no_schema: list) -> None:
    shared.mutate(_add)
    assert shared.load().get(ACCOUNT).label == "work"
    with shared.transaction() as pool:
        assert pool.get(ACCOUNT).label == "work"
    assert no_schema == []


def test_a_document_someone_else_wrote_goes_through_the_schema(shared: RedisPoolStore, other: fakeredis.FakeRedis,
                                                                no_schema: list) -> None:
    shared.mutate(_add)
    document = json.loads(other.get(POOL_KEY))
    document["accounts"][0]["label"] = "edited"
    edited = json.dumps(document).encode()
    other.set(POOL_KEY, edited)
    assert shared.load().get(ACCOUNT).label == "edited"
    assert no_schema == [edited]


def test_a_validated_key_that_fits_no_pool_still_ends_in_the_schema(shared: RedisPoolStore,
                                                                    other: fakeredis.FakeRedis) -> None:
    raw = b'{"version": 2, "accounts": [{"id": 3}]}'
    other.set(POOL_KEY, raw)
    other.set(VALIDATED_KEY, content_key(raw))
    with pytest.raises(PoolFileError, match="invalid fields"):
        shared.load()


@pytest.mark.parametrize("content, what", [
    (b'{"version": 1, "acc', "invalid JSON at line 1"),
    (b"", "it is empty"),
    (b"[]", "the top level is not a JSON object"),
    (b'{"version": 1, "accounts": [{"id": "a-0123456789", "label": 3, "added_at": 1}]}', "accounts.0.label"),
])
def test_a_corrupt_document_is_refused_naming_the_key_and_left_untouched(
        shared: RedisPoolStore, other: fakeredis.FakeRedis, content: bytes, what: str) -> None:
    other.set(POOL_KEY, content)
    for attempt in (shared.load, lambda: shared.mutate(_add)):
        with pytest.raises(PoolFileError) as error:
            attempt()
        message = str(error.value)
        assert message.startswith(f"{SHOWN} cannot be used: ") and what in message
        assert "It was left untouched." in message
        assert (f"No backup exists: delete {POOL_KEY} and re-import the accounts with "
                "`codex-fsm accounts import`") in message
        assert SECRET not in message
    assert other.get(POOL_KEY) == content
    assert other.keys("*") == [POOL_KEY.encode()]


def test_a_corrupt_document_with_a_backup_says_how_to_restore_it(shared: RedisPoolStore,
                                                                 other: fakeredis.FakeRedis) -> None:
    shared.mutate(_add)
    shared.mutate(_relabel("renamed"))
    backup = other.get(BACKUP_KEY)
    other.set(POOL_KEY, b"{")
    with pytest.raises(PoolFileError) as error:
        shared.mutate(_relabel("again"))
    assert (f"The previous version is {BACKUP_KEY}: check it, then restore it with "
            f"`redis-cli -u URL COPY {BACKUP_KEY} {POOL_KEY} REPLACE`.") in str(error.value)
    assert other.get(POOL_KEY) == b"{" and other.get(BACKUP_KEY) == backup


def test_a_document_from_a_newer_schema_is_refused_untouched(shared: RedisPoolStore,
                                                              other: fakeredis.FakeRedis) -> None:
    content = json.dumps({"version": SCHEMA_VERSION + 1, "accounts": [], "shiny": True}).encode()
    other.set(POOL_KEY, content)
    with pytest.raises(PoolFileError) as error:
        shared.mutate(_add)
    assert str(error.value) == (f"{SHOWN} has schema version {SCHEMA_VERSION + 1}, written by a newer codex-fsm; "
                                f"this one reads up to version {SCHEMA_VERSION}. Upgrade codex-fsm; it was left "
                                "untouched.")
    assert other.get(POOL_KEY) == content and other.get(BACKUP_KEY) is None


def test_a_change_made_by_another_codex_fsm_during_the_transaction_supersedes_it(
        shared: RedisPoolStore, other: fakeredis.FakeRedis) -> None:
    shared.mutate(_add)
    theirs = json.loads(other.get(POOL_KEY))
    theirs["accounts"][0]["label"] = "theirs"
    theirs_bytes = json.dumps(theirs).encode()
    before = _snapshot(other)
    with pytest.raises(PoolSuperseded) as error:
        with shared.transaction() as pool:
            other.set(POOL_KEY, theirs_bytes)  # as a holder whose lock expired would never see
            pool.accounts[0].label = "mine"
            shared.stage(credentials_key(ACCOUNT), b"encrypted login")
    assert str(error.value) == (f"{SHOWN} was changed by another codex-fsm while this one's pool lock had expired "
                                "(was this process paused?); nothing was written")
    assert other.get(POOL_KEY) == theirs_bytes
    assert {**before, POOL_KEY.encode(): theirs_bytes} == _snapshot(other)  # no backup, key or credentials
    assert other.get(credentials_key(ACCOUNT)) is None
    assert other.get(LOCK_KEY) is None
    assert shared.load().get(ACCOUNT).label == "theirs"


def test_staged_writes_alone_are_fenced_too(shared: RedisPoolStore, other: fakeredis.FakeRedis) -> None:
    shared.mutate(_add)
    with pytest.raises(PoolSuperseded):
        with shared.transaction():
            other.delete(POOL_KEY)
            shared.stage(credentials_key(ACCOUNT), b"encrypted login")
    assert other.get(credentials_key(ACCOUNT)) is None


def test_staged_writes_land_with_the_document_in_one_exec(shared: RedisPoolStore, other: fakeredis.FakeRedis) -> None:
    other.set(credentials_key("a-gone"), b"old login")
    with shared.transaction() as pool:
        _add(pool)
        shared.stage(credentials_key(ACCOUNT), b"encrypted login")
        shared.stage(credentials_key("a-gone"), None)
        # Nothing is written before the block ends.
        assert other.get(credentials_key(ACCOUNT)) is None and other.get(POOL_KEY) is None
        assert other.get(credentials_key("a-gone")) == b"old login"
    assert other.get(credentials_key(ACCOUNT)) == b"encrypted login"
    assert other.get(credentials_key("a-gone")) is None
    assert shared.load().get(ACCOUNT) is not None


def test_staged_writes_without_a_document_change_are_written(shared: RedisPoolStore,
                                                             other: fakeredis.FakeRedis) -> None:
    shared.mutate(_add)
    document = other.get(POOL_KEY)
    with shared.transaction():
        shared.stage(credentials_key(ACCOUNT), b"refreshed login")
    assert other.get(credentials_key(ACCOUNT)) == b"refreshed login"
    assert other.get(POOL_KEY) == document and other.get(BACKUP_KEY) is None


def test_a_block_that_raises_writes_nothing(shared: RedisPoolStore, other: fakeredis.FakeRedis) -> None:
    shared.mutate(_add)
    before = _snapshot(other)
    with pytest.raises(KeyError):
        with shared.transaction() as pool:
            pool.accounts[0].label = "half done"
            shared.stage(credentials_key(ACCOUNT), b"encrypted login")
            raise KeyError("the change failed")
    assert _snapshot(other) == before


def test_nothing_is_staged_outside_a_transaction(shared: RedisPoolStore, other: fakeredis.FakeRedis) -> None:
    with pytest.raises(PoolError) as error:
        shared.stage(credentials_key(ACCOUNT), b"encrypted login")
    assert str(error.value) == f"a write of {credentials_key(ACCOUNT)} outside a transaction on {SHOWN}"
    shared.mutate(_add)
    with pytest.raises(KeyError), shared.transaction():
        raise KeyError("failed")
    with pytest.raises(PoolError, match="outside a transaction"):
        shared.stage(credentials_key(ACCOUNT), b"encrypted login")
    assert other.get(credentials_key(ACCOUNT)) is None


def test_a_nested_transaction_is_refused(shared: RedisPoolStore) -> None:
    with shared.transaction() as pool:
        _add(pool)
        with pytest.raises(PoolError) as error:
            with shared.transaction():
                pass  # pragma: no cover - never entered
        assert str(error.value) == (f"a transaction on {SHOWN} is already open in this thread "
                                    "(nested pool transaction)")
    assert shared.load().get(ACCOUNT) is not None  # the outer one went on and wrote


def test_the_lock_is_held_with_an_expiry_during_a_transaction(shared: RedisPoolStore,
                                                              other: fakeredis.FakeRedis) -> None:
    with shared.transaction():
        assert other.get(LOCK_KEY) is not None
        assert 0 < other.pttl(LOCK_KEY) <= LOCK_EXPIRY_S * 1000
    assert other.get(LOCK_KEY) is None


def test_a_held_lock_is_waited_for_then_times_out(redis: fakeredis.FakeRedis, other: fakeredis.FakeRedis) -> None:
    other.set(LOCK_KEY, b"another codex-fsm's token", px=60_000)
    impatient = RedisPoolStore(redis, URL, lock_timeout_s=0.05)
    with pytest.raises(PoolLockTimeout) as error:
        impatient.mutate(_add)
    assert str(error.value) == (f"timed out after 0.05 s waiting for the lock of {SHOWN}; another codex-fsm is in "
                                f"a pool update (a lock frees itself after {LOCK_EXPIRY_S:g} s)")
    assert other.get(LOCK_KEY) == b"another codex-fsm's token"
    assert other.get(POOL_KEY) is None


def test_a_lock_lost_while_held_is_not_released_from_under_its_new_holder(shared: RedisPoolStore,
                                                                          other: fakeredis.FakeRedis) -> None:
    with shared.transaction() as pool:
        other.set(LOCK_KEY, b"the next holder", px=60_000)  # ours expired and someone took it
        _add(pool)
    assert other.get(LOCK_KEY) == b"the next holder"
    assert shared.load().get(ACCOUNT) is not None  # the document itself had not changed: the write stands


def test_next_generation_counts_with_incr_above_the_record_s(shared: RedisPoolStore,
                                                             other: fakeredis.FakeRedis) -> None:
    record = AccountRecord(id=ACCOUNT, label="work", added_at=1.0, generation=0)
    handed_out = [shared.next_generation(record) for _ in range(3)]
    assert handed_out == [1, 2, 3]
    assert other.get(generation_key(ACCOUNT)) == b"3"
    migrated = AccountRecord(id=ACCOUNT, label="work", added_at=1.0, generation=40)
    assert shared.next_generation(migrated) == 41  # never at or below the document's generation
    assert shared.next_generation(record) == 42  # and never backwards for an older record
    assert shared.next_generation(AccountRecord(id="a-other", label="x", added_at=1.0, generation=7)) == 8


def test_generations_strictly_increase_whatever_the_records_say(shared: RedisPoolStore) -> None:
    floors = [0, 5, 5, 2, 9, 9, 0, 30, 1]
    given = [shared.next_generation(AccountRecord(id=ACCOUNT, label="w", added_at=1.0, generation=floor))
             for floor in floors]
    assert all(later > earlier for earlier, later in zip(given, given[1:], strict=False))
    assert all(generation > floor for generation, floor in zip(given, floors, strict=True))


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_a_value_that_is_not_finite_is_refused_and_nothing_is_written(shared: RedisPoolStore,
                                                                     other: fakeredis.FakeRedis,
                                                                     value: float) -> None:
    shared.mutate(_add)
    before = _snapshot(other)
    with pytest.raises(PoolError) as error:
        with shared.transaction() as pool:
            pool.accounts[0].last_used = value
            shared.stage(credentials_key(ACCOUNT), b"encrypted login")
    assert str(error.value).startswith(f"{SHOWN} was not written: a value is not finite")
    assert str(error.value).endswith("it is unchanged")
    assert _snapshot(other) == before
    assert other.get(LOCK_KEY) is None


def test_messages_name_the_server_without_its_password(shared: RedisPoolStore) -> None:
    assert shared.where == SHOWN and SECRET not in shared.where


def test_another_thread_waits_for_the_lock_and_cannot_stage_into_this_one_s_transaction(
        redis: fakeredis.FakeRedis, other: fakeredis.FakeRedis) -> None:
    """One store serves every thread of a process (the usage probe's workers refresh tokens under it)."""
    shared = RedisPoolStore(redis, URL, lock_timeout_s=0.05)
    inside, finish = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def hold() -> None:
        try:
            with shared.transaction() as pool:
                _add(pool)
                inside.set()
                finish.wait(10)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            failures.append(exc)
            inside.set()

    worker = threading.Thread(target=hold)
    worker.start()
    try:
        assert inside.wait(10)
        with pytest.raises(PoolError, match="outside a transaction"):
            shared.stage(credentials_key(ACCOUNT), b"meant for no transaction of this thread")
        with pytest.raises(PoolLockTimeout):
            shared.mutate(_relabel("from the main thread"))
    finally:
        finish.set()
        worker.join(10)
    assert failures == []
    assert other.get(credentials_key(ACCOUNT)) is None
    assert shared.load().get(ACCOUNT).label == "work"
    shared.mutate(_relabel("after"))
