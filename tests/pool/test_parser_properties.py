"""Property tests of the two parsers of files from outside: the pool file and an auth.json.

Whatever bytes a file holds, reading it gives a valid value or a CodexFsmError naming the file, and
leaves the file byte for byte as it was.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from supervisor.errors import CodexFsmError
from supervisor.pool.auth import AuthFile, read_auth_file
from supervisor.pool.model import Pool
from supervisor.pool.store import PoolStore

from .fakes import auth_document

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20)


def _pool_like() -> st.SearchStrategy[bytes]:
    record = st.fixed_dictionaries({"id": st.just("a-0123456789"), "label": st.text(max_size=5),
                                    "added_at": _json_values},
                                   optional={"enabled": _json_values, "order": _json_values,
                                             "cooldown": _json_values, "quota": _json_values,
                                             "lease": _json_values, "generation": _json_values})
    document = st.fixed_dictionaries({"version": st.one_of(st.just(1), _json_values),
                                      "accounts": st.one_of(st.lists(record, max_size=2), _json_values)})
    return document.map(lambda d: json.dumps(d).encode())


def _auth_like() -> st.SearchStrategy[bytes]:
    def mangle(document: dict, key: str, value: object) -> bytes:
        document = dict(document)
        tokens = dict(document["tokens"])
        tokens[key] = value
        document["tokens"] = tokens
        return json.dumps(document).encode()
    return st.builds(mangle, st.just(auth_document()),
                     st.sampled_from(["id_token", "access_token", "refresh_token", "account_id"]), _json_values)


_bytes = st.binary(max_size=300) | st.sampled_from([b"[" * 5000, b"{" * 5000, b'{"a":' * 3000])


@settings(derandomize=True, deadline=None, max_examples=300)
@given(raw=_bytes | _pool_like())
def test_pool_file_reads_as_a_pool_or_a_named_error_and_stays_unchanged(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "pool.json"
        path.write_bytes(raw)
        store = PoolStore(path, lock_timeout_s=2.0)
        try:
            with store.transaction() as pool:
                assert isinstance(pool, Pool)
        except CodexFsmError as exc:
            assert str(path) in str(exc)
        assert path.read_bytes() == raw


@settings(derandomize=True, deadline=None, max_examples=300)
@given(raw=_bytes | _auth_like())
def test_auth_file_reads_as_a_login_or_a_named_error_and_stays_unchanged(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "auth.json"
        path.write_bytes(raw)
        try:
            assert isinstance(read_auth_file(path), AuthFile)
        except CodexFsmError as exc:
            assert str(path) in str(exc)
        assert path.read_bytes() == raw
