"""auth.json parsing: identity claims without verification, clear errors, nothing secret shown."""

from __future__ import annotations

import json

import pytest

from supervisor.errors import CredentialError
from supervisor.pool.auth import account_id_for, mask_email, parse_auth

from .fakes import auth_bytes, auth_document, b64url


def test_identity_comes_from_the_id_token_claims() -> None:
    auth = parse_auth(auth_bytes(account="acct-X", user="user-Y", email="jane@example.invalid", plan="pro"), "t")
    assert auth.identity.chatgpt_account_id == "acct-X"
    assert auth.identity.chatgpt_user_id == "user-Y"
    assert auth.identity.plan == "pro"
    assert auth.identity.email_masked == "j***@example.invalid"


def test_account_id_is_opaque_and_stable() -> None:
    one = parse_auth(auth_bytes(refresh="rt_a", last_refresh="2026-01-01T00:00:00Z"), "t").identity
    again = parse_auth(auth_bytes(refresh="rt_b", last_refresh="2026-02-01T00:00:00Z"), "t").identity
    other_user = parse_auth(auth_bytes(user="user-other"), "t").identity
    assert account_id_for(one) == account_id_for(again)
    assert account_id_for(one) != account_id_for(other_user)
    assert account_id_for(one).startswith("a-") and len(account_id_for(one)) == 12
    assert "acct-fake" not in account_id_for(one)


def test_nothing_secret_in_repr() -> None:
    document = auth_document(email="secret.person@example.invalid", refresh="rt_super_secret")
    auth = parse_auth(json.dumps(document).encode(), "t")
    shown = repr(auth) + repr(auth.identity)
    for secret in ("secret.person", "rt_super_secret", document["tokens"]["access_token"], "acct-fake-0001"):
        assert secret not in shown


def test_mask_email() -> None:
    assert mask_email("jane.doe@example.invalid") == "j***@example.invalid"
    assert mask_email("not-an-email") == "***"


def _with(change) -> bytes:
    document = auth_document()
    change(document)
    return json.dumps(document).encode()


@pytest.mark.parametrize("raw, message", [
    (b"{not json", "src is not valid JSON"),
    (b"[1]", "src: the top level is not a JSON object"),
    (json.dumps({"auth_mode": "apikey", "OPENAI_API_KEY": "sk-x"}).encode(),
     "src has no 'tokens' object.*API key"),
    (_with(lambda d: d["tokens"].pop("refresh_token")), "tokens.refresh_token is missing"),
    (_with(lambda d: d["tokens"].update(id_token="only.two")), "tokens.id_token is not a JWT"),
    (_with(lambda d: d["tokens"].update(id_token="a..c")), "tokens.id_token is not a JWT"),
    (_with(lambda d: d["tokens"].update(access_token="a.%%%%.c")), "tokens.access_token has a payload that is not"),
    (_with(lambda d: d["tokens"].update(id_token="a." + b64url([1, 2]) + ".c")), "not a JSON object"),
])
def test_malformed_auth_is_a_clear_error(raw: bytes, message: str) -> None:
    with pytest.raises(CredentialError, match=message) as info:
        parse_auth(raw, "src")
    assert "rt_fake" not in str(info.value)


def test_missing_account_id_is_named() -> None:
    def strip(document: dict) -> None:
        document["tokens"]["id_token"] = "a." + b64url({"sub": "u"}) + ".c"
        document["tokens"]["access_token"] = "a." + b64url({"exp": 1}) + ".c"
        del document["tokens"]["account_id"]
    with pytest.raises(CredentialError, match="no chatgpt_account_id"):
        parse_auth(_with(strip), "src")
