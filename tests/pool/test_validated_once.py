"""The pool file is validated once per content: known bytes are read back without the schema, to the same pool.

The store remembers the bytes it validated or wrote; reading them back skips marshmallow. These tests check
that skipping it never changes what is read (any valid document, as the schema reads it), that bytes the store
does not know (a hand edit) still meet the full schema with its precise errors, and that a start-up reading
known bytes really does not import marshmallow.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from supervisor.pool import store as store_module
from supervisor.pool.model import LEASE_PURPOSES, MAX_TIMESTAMP, AccountRecord, Pool
from supervisor.pool.store import PoolFileError, PoolStore, content_key, parse_pool

REPO = Path(__file__).resolve().parents[2]

_timestamps = st.floats(0, MAX_TIMESTAMP) | st.integers(0, 10**11)
_texts = st.text(max_size=6)
_cooldowns = st.fixed_dictionaries({"until": _timestamps, "reason": _texts, "set_at": _timestamps})
_leases = st.fixed_dictionaries({
    "owner_pid": st.integers(1, 2**31 - 1), "owner_start": _texts, "host": _texts, "expires_at": _timestamps,
    "generation": st.integers(1, 2**53), "purpose": st.sampled_from(LEASE_PURPOSES)})
_windows = st.lists(st.tuples(st.floats(0, 1e6) | st.integers(0, 100), st.integers(1, 10**7),
                              st.none() | _timestamps).map(list), max_size=3)
_snapshots = st.fixed_dictionaries({"windows": _windows},
                                   optional={"observed_at": _timestamps, "limit_reached": st.booleans()})
_accounts = st.fixed_dictionaries(
    {"id": st.from_regex(r"a-[0-9a-f]{10}", fullmatch=True), "label": st.text(min_size=1, max_size=6),
     "added_at": _timestamps},
    optional={"enabled": st.booleans(), "order": st.none() | st.integers(0, 10**6),
              "last_used": st.none() | _timestamps, "plan": st.none() | _texts,
              "email_masked": st.none() | _texts, "cooldown": st.none() | _cooldowns,
              "quota": st.none() | _snapshots, "lease": st.none() | _leases,
              "generation": st.integers(0, 2**53)})
# Valid documents as a person might write them too: optional keys left out, times as whole numbers.
_documents = st.fixed_dictionaries({"version": st.just(1),
                                    "accounts": st.lists(_accounts, max_size=3, unique_by=lambda a: a["id"])})


def _exactly(pool: Pool) -> str:
    """The pool with its value types (``1`` and ``1.0`` compare equal, but are not the same reading)."""
    return repr(pool)


def _schema_must_not_run(*args: object) -> Pool:
    raise AssertionError("known bytes were validated again")


@settings(derandomize=True, deadline=None, max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(document=_documents)
def test_known_bytes_read_back_as_the_schema_reads_them(document: dict) -> None:
    raw = json.dumps(document).encode()
    with tempfile.TemporaryDirectory() as folder:
        store = PoolStore(Path(folder) / "pool.json", lock_timeout_s=2.0)
        store.path.write_bytes(raw)
        by_schema = store.load()
        assert _exactly(by_schema) == _exactly(parse_pool(raw, store.path, store.backup_path))
        with mock.patch.object(store_module, "parse_pool", _schema_must_not_run):
            assert _exactly(store.load()) == _exactly(by_schema)

        # What the store writes itself is read back without the schema, and the schema reads it the same.
        store.mutate(lambda pool: pool.accounts.append(AccountRecord("a-ffffffffff", "new", 1.5)))
        written = store.path.read_bytes()
        with mock.patch.object(store_module, "parse_pool", _schema_must_not_run):
            fast = store.load()
        assert _exactly(fast) == _exactly(parse_pool(written, store.path, store.backup_path))
        assert fast.accounts[:-1] == by_schema.accounts


def _written_store(tmp_path: Path) -> PoolStore:
    store = PoolStore(tmp_path / "pool.json", lock_timeout_s=2.0)
    store.mutate(lambda pool: pool.accounts.append(AccountRecord("a-0123456789", "work", 100.0)))
    return store


def test_a_hand_edited_file_is_validated_by_the_schema_and_left_untouched(tmp_path: Path) -> None:
    store = _written_store(tmp_path)
    document = json.loads(store.path.read_text())
    document["accounts"][0]["generation"] = -1
    edited = json.dumps(document).encode()
    store.path.write_bytes(edited)
    with pytest.raises(PoolFileError, match=r"accounts\.0\.generation: Must be greater than or equal to 0"):
        store.load()
    with pytest.raises(PoolFileError, match="generation"):
        store.mutate(lambda pool: None)
    assert store.path.read_bytes() == edited
    assert store.validated_path.read_text().strip() != content_key(edited)


def test_a_valid_hand_edit_is_validated_once_then_known(tmp_path: Path) -> None:
    store = _written_store(tmp_path)
    edited = store.path.read_bytes().replace(b'"work"', b'"home"')
    store.path.write_bytes(edited)
    calls = []

    def counting(*args: object) -> Pool:
        calls.append(args)
        return parse_pool(*args)  # type: ignore[arg-type]

    with mock.patch.object(store_module, "parse_pool", counting):
        assert store.load().accounts[0].label == "home"
        assert store.load().accounts[0].label == "home"
    assert len(calls) == 1
    assert store.validated_path.read_text().strip() == content_key(edited)


def test_bytes_known_to_another_version_are_validated_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = _written_store(tmp_path)
    monkeypatch.setattr(store_module, "__version__", "0.0.0-other")
    with mock.patch.object(store_module, "parse_pool", wraps=parse_pool) as schema:
        store.load()
    assert schema.call_count == 1


def test_an_unreadable_record_only_means_validating_again(tmp_path: Path) -> None:
    store = _written_store(tmp_path)
    store.validated_path.write_bytes(b"\xff\xfe not a key")
    with mock.patch.object(store_module, "parse_pool", wraps=parse_pool) as schema:
        assert store.load().accounts[0].label == "work"
    assert schema.call_count == 1
    assert store.validated_path.read_text().strip() == content_key(store.path.read_bytes())


_LOAD_AND_REPORT = """
import sys
from pathlib import Path
from supervisor.pool.store import PoolStore
pool = PoolStore(Path(sys.argv[1])).load()
print(len(pool.accounts), "marshmallow" in sys.modules)
"""


def _load_in_fresh_process(path: Path) -> str:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", _LOAD_AND_REPORT, str(path)], env=env, capture_output=True,
                          text=True, check=True)
    return done.stdout.strip()


def test_reading_known_bytes_does_not_import_marshmallow(tmp_path: Path) -> None:
    store = _written_store(tmp_path)
    assert _load_in_fresh_process(store.path) == "1 False"
    store.path.write_bytes(store.path.read_bytes().replace(b'"work"', b'"home"'))
    assert _load_in_fresh_process(store.path) == "1 True"  # unknown bytes: the schema, so marshmallow
    assert _load_in_fresh_process(store.path) == "1 False"  # validated once, known since
