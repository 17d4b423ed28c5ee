"""auth.json parsing: identity claims without verification, clear errors, nothing secret shown."""

from __future__ import annotations

import base64
import json
import os
import threading
from pathlib import Path

import pytest

from supervisor.errors import CredentialError
from supervisor.pool.auth import MAX_AUTH_BYTES, account_id_for, mask_email, parse_auth, read_auth_file
from supervisor.terminal_text import is_terminal_safe

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


@pytest.mark.parametrize("email", ["\x1b]0;pwned\x07@example.invalid", "j@exa\r\nmple\x1b[2J.invalid",
                                   "j@example\u202e.invalid", "\u2028x@y"])
def test_mask_email_never_keeps_a_control_character(email: str) -> None:
    """Regression: the domain (and the first letter) were kept as they came, escapes included."""
    masked = mask_email(email)
    assert is_terminal_safe(masked), masked
    assert "***@" in masked


def test_deeply_nested_auth_json_is_a_named_error(tmp_path: Path) -> None:
    """Regression: json's RecursionError escaped as a traceback."""
    path = tmp_path / "auth.json"
    path.write_bytes(b"[" * 100_000)
    with pytest.raises(CredentialError, match=f"{path} is nested too deeply"):
        read_auth_file(path)


def test_deeply_nested_jwt_payload_is_a_named_error() -> None:
    payload = base64.urlsafe_b64encode(b"[" * 100_000).rstrip(b"=").decode()
    raw = _with(lambda d: d["tokens"].update(id_token=f"h.{payload}.s"))
    with pytest.raises(CredentialError, match="tokens.id_token has a payload that is not"):
        parse_auth(raw, "src")


def test_a_fifo_is_refused_without_hanging(tmp_path: Path) -> None:
    """Regression: reading a named pipe blocked forever waiting for a writer."""
    fifo = tmp_path / "auth.json"
    os.mkfifo(fifo)
    outcome: list[BaseException] = []

    def read() -> None:
        try:
            read_auth_file(fifo)
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            outcome.append(exc)
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout=10)
    if reader.is_alive():
        with open(fifo, "wb"):  # unblock the stuck reader so the test run can end
            pass
        pytest.fail("reading a FIFO blocked")
    assert len(outcome) == 1 and isinstance(outcome[0], CredentialError)
    assert f"{fifo} is not a regular file (a named pipe)" in str(outcome[0])


def test_a_device_is_refused_without_reading_it() -> None:
    """Regression: /dev/zero was read until memory ran out."""
    with pytest.raises(CredentialError, match="/dev/zero is not a regular file \\(a device\\)"):
        read_auth_file(Path("/dev/zero"))


def test_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CredentialError, match="is not a regular file \\(a directory\\)"):
        read_auth_file(tmp_path)


def test_an_oversized_file_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "auth.json"
    with open(path, "wb") as big:
        big.truncate(MAX_AUTH_BYTES + 1)
    with pytest.raises(CredentialError, match="more than an auth.json can be"):
        read_auth_file(path)
