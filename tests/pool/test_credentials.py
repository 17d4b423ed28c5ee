"""Credentials for quota probes, and the lease-guarded token refresh of parked accounts."""

from __future__ import annotations

import errno
import json
import os

import pytest
import requests
from requests.adapters import BaseAdapter

from supervisor.errors import CredentialError
from supervisor.pool.auth import read_auth_file
from supervisor.pool.credentials import CredentialStore
from supervisor.pool.refresh import CODEX_CLIENT_ID, DEFAULT_TOKEN_URL, TokenRefresher, token_url_from
from supervisor.pool.store import PoolStore

from .conftest import add_account, session
from .fakes import fake_jwt

TOKEN_URL = "http://127.0.0.1:9/oauth/token"
NOW = 1_000_000.0


class FakeTokenEndpoint(BaseAdapter):
    """Answers POST /oauth/token from a script, and records what was asked."""

    def __init__(self, status: int = 200, body: object = None, error: Exception | None = None) -> None:
        super().__init__()
        self.status, self.body, self.error = status, body, error
        self.requests: list[dict] = []

    def send(self, request, **kwargs):
        self.requests.append(json.loads(request.body))
        if self.error is not None:
            raise self.error
        response = requests.Response()
        response.status_code = self.status
        response._content = json.dumps(self.body).encode() if not isinstance(self.body, bytes) else self.body
        response.url = request.url
        return response

    def close(self) -> None:
        pass


def _rotated_tokens(account: str = "acct-fake-0001", user: str = "user-fake-0001") -> dict:
    claims = {"sub": user, "exp": 4_102_444_800, "marker": "refreshed",
              "https://api.openai.com/auth": {"chatgpt_account_id": account, "chatgpt_user_id": user}}
    return {"id_token": fake_jwt(claims), "access_token": fake_jwt(claims), "refresh_token": "rt_rotated"}


def _credential_store(store, homes, procs, endpoint: FakeTokenEndpoint, pid: int = 201) -> CredentialStore:
    http = requests.Session()
    http.mount("http://", endpoint)
    return CredentialStore(store, homes, TokenRefresher(TOKEN_URL, session=http), owner=procs.spawn(pid),
                           clock=lambda: NOW, alive=procs.check)


def test_read_credentials_gives_token_and_chatgpt_account_id(store, homes, procs) -> None:
    account = add_account(store, homes, 1)
    creds = _credential_store(store, homes, procs, FakeTokenEndpoint()).read_credentials(account)
    assert creds.chatgpt_account_id == "acct-fake-0001"
    assert creds.access_token == read_auth_file(homes.auth_path(account)).access_token
    assert "acct-fake" not in repr(creds) and creds.access_token not in repr(creds)


def test_refresh_of_a_parked_account_writes_the_rotated_tokens(store, homes, procs) -> None:
    account = add_account(store, homes, 1)
    endpoint = FakeTokenEndpoint(body=_rotated_tokens())
    creds = _credential_store(store, homes, procs, endpoint).refresh_credentials(account)
    assert endpoint.requests == [{"client_id": CODEX_CLIENT_ID, "grant_type": "refresh_token",
                                  "refresh_token": "rt_fake_1"}]
    stored = read_auth_file(homes.auth_path(account))
    assert stored.refresh_token == "rt_rotated" and creds.access_token == stored.access_token
    assert stored.document["auth_mode"] == "chatgpt"  # the rest of the document is kept
    assert PoolStore(store.path).load().get(account).lease is None  # the temporary lease was given back
    assert (homes.auth_path(account).stat().st_mode & 0o777) == 0o600


def test_refresh_by_the_successor_lease_holder_keeps_its_lease(store, homes, procs) -> None:
    account = add_account(store, homes, 1)
    pool = session(store, homes, procs, 201)
    pool.lease_candidate("successor", (), NOW)
    _credential_store(store, homes, procs, FakeTokenEndpoint(body=_rotated_tokens()), pid=201) \
        .refresh_credentials(account)
    assert PoolStore(store.path).load().get(account).lease.generation == pool.held[account]


def test_the_session_candidate_is_refreshed_by_its_holder_before_a_child_starts(store, homes, procs) -> None:
    """Start-up: the candidate's probe answered 401; no Codex runs on it yet, so its holder refreshes it."""
    account = add_account(store, homes, 1)
    pool = session(store, homes, procs, 201)
    pool.lease_candidate("session", (), NOW)
    endpoint = FakeTokenEndpoint(body=_rotated_tokens())
    _credential_store(store, homes, procs, endpoint, pid=201).refresh_credentials(account)
    assert len(endpoint.requests) == 1
    assert PoolStore(store.path).load().get(account).lease.generation == pool.held[account]


def test_never_refreshes_an_account_a_child_runs_on(store, homes, procs) -> None:
    account = add_account(store, homes, 1)
    pool = session(store, homes, procs, 201)
    pool.lease_candidate("session", (), NOW)
    pool.codex_home(account)  # a child is about to start there
    endpoint = FakeTokenEndpoint(body=_rotated_tokens())
    with pytest.raises(CredentialError, match="Codex child running on it"):
        _credential_store(store, homes, procs, endpoint, pid=201).refresh_credentials(account)
    assert endpoint.requests == []


def test_never_refreshes_an_account_leased_to_another_live_process(store, homes, procs) -> None:
    account = add_account(store, homes, 1)
    session(store, homes, procs, 301).lease_candidate("successor", (), NOW)
    endpoint = FakeTokenEndpoint(body=_rotated_tokens())
    with pytest.raises(CredentialError, match="leased to process 301"):
        _credential_store(store, homes, procs, endpoint).refresh_credentials(account)
    assert endpoint.requests == []


def test_refused_refresh_is_not_retried_and_changes_nothing(store, homes, procs) -> None:
    account = add_account(store, homes, 1)
    before = homes.auth_path(account).read_bytes()
    endpoint = FakeTokenEndpoint(status=401, body={"error": {"code": "refresh_token_reused"}})
    with pytest.raises(CredentialError, match="refused: HTTP 401 .*refresh_token_reused") as info:
        _credential_store(store, homes, procs, endpoint).refresh_credentials(account)
    assert "rt_fake" not in str(info.value)
    assert len(endpoint.requests) == 1
    assert homes.auth_path(account).read_bytes() == before
    assert PoolStore(store.path).load().get(account).lease is None


def test_timeout_is_not_retried_with_the_spent_token(store, homes, procs) -> None:
    account = add_account(store, homes, 1)
    endpoint = FakeTokenEndpoint(error=requests.Timeout("slow"))
    with pytest.raises(CredentialError, match="not retried"):
        _credential_store(store, homes, procs, endpoint).refresh_credentials(account)
    assert len(endpoint.requests) == 1


@pytest.mark.parametrize("body", [b"<html>", {"nothing": 1}, _rotated_tokens(account="acct-someone-else")])
def test_bad_refresh_answers_are_rejected(store, homes, procs, body) -> None:
    account = add_account(store, homes, 1)
    before = homes.auth_path(account).read_bytes()
    with pytest.raises(CredentialError):
        _credential_store(store, homes, procs, FakeTokenEndpoint(body=body)).refresh_credentials(account)
    assert homes.auth_path(account).read_bytes() == before


def test_refreshed_token_that_cannot_be_saved_is_reported_honestly(store, homes, procs, monkeypatch) -> None:
    account = add_account(store, homes, 1)
    before = homes.auth_path(account).read_bytes()

    def no_space(fd: int, data: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")
    endpoint = FakeTokenEndpoint(body=_rotated_tokens())
    answer = endpoint.send

    def disk_fills_up_during_the_request(request, **kwargs):
        monkeypatch.setattr(os, "write", no_space)
        return answer(request, **kwargs)
    endpoint.send = disk_fills_up_during_the_request
    credentials = _credential_store(store, homes, procs, endpoint)
    with pytest.raises(CredentialError, match="could not be saved .*no space left.*may need `codex login`") as info:
        credentials.refresh_credentials(account)
    monkeypatch.undo()
    assert "rt_rotated" not in str(info.value)
    assert homes.auth_path(account).read_bytes() == before
    assert not [p for p in homes.home(account).iterdir() if p.name != "auth.json"]
    # The full disk also kept the temporary lease from being given back: it expires on its own.
    assert PoolStore(store.path).load().get(account).lease.expires_at == NOW + 30


def test_unknown_account_is_named(store, homes, procs) -> None:
    with pytest.raises(CredentialError, match="a-00000000ff is not in the pool"):
        _credential_store(store, homes, procs, FakeTokenEndpoint()).refresh_credentials("a-00000000ff")


def test_token_url_defaults_to_codex_and_follows_codex_override() -> None:
    assert token_url_from({}) == DEFAULT_TOKEN_URL == "https://auth.openai.com/oauth/token"
    assert token_url_from({"CODEX_REFRESH_TOKEN_URL_OVERRIDE": TOKEN_URL}) == TOKEN_URL
