"""Codex's ``auth.json``: parse and validate it, read the identity claims, mask what is shown.

JWT claims are decoded WITHOUT verifying the signature, exactly as Codex itself does: they only name
the account; the server is what checks the token. Nothing here puts a token or a full email into a
message or a repr.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import CredentialError
from ..terminal_text import for_terminal

_AUTH_CLAIMS = "https://api.openai.com/auth"
_PROFILE_CLAIMS = "https://api.openai.com/profile"
# A real auth.json is a few kilobytes; anything far larger is not one, and is not read whole.
MAX_AUTH_BYTES = 1 << 20
# How much of an email's domain a masked email keeps.
_MASKED_DOMAIN_CHARS = 64


@dataclass(frozen=True, slots=True)
class Identity:
    """Who an auth.json belongs to. ``email`` is for masking and dedup only: never log it."""

    chatgpt_account_id: str
    chatgpt_user_id: str
    plan: str | None
    email: str | None

    def __repr__(self) -> str:
        return f"Identity(account={account_id_for(self)}, plan={self.plan!r})"

    @property
    def email_masked(self) -> str | None:
        return None if self.email is None else mask_email(self.email)


@dataclass(frozen=True, slots=True)
class AuthFile:
    """A parsed ChatGPT-mode auth.json. ``document`` keeps every key, so a rewrite loses nothing."""

    document: dict
    identity: Identity

    def __repr__(self) -> str:
        return f"AuthFile({self.identity!r})"

    @property
    def tokens(self) -> dict:
        return self.document["tokens"]

    @property
    def access_token(self) -> str:
        return self.tokens["access_token"]

    @property
    def refresh_token(self) -> str:
        return self.tokens["refresh_token"]

    @property
    def last_refresh(self) -> str:
        value = self.document.get("last_refresh")
        return value if isinstance(value, str) else ""

    def to_bytes(self) -> bytes:
        return json.dumps(self.document, indent=2).encode() + b"\n"


def account_id_for(identity: Identity) -> str:
    """The opaque, stable id codex-fsm uses for an account everywhere outside the pool."""
    digest = hashlib.sha256(f"{identity.chatgpt_account_id}:{identity.chatgpt_user_id}".encode()).hexdigest()
    return "a-" + digest[:10]


def workspace_id_for(identity: Identity) -> str:
    """The opaque name of the login's ChatGPT workspace (its ``chatgpt_account_id``): team seats share
    it, while one person's logins in two workspaces (two accounts, see ``account_id_for``) differ."""
    return "w-" + hashlib.sha256(f"workspace:{identity.chatgpt_account_id}".encode()).hexdigest()[:10]


def mask_email(email: str) -> str:
    """``u***@example.com``: printable whatever the claim held (both parts pass ``for_terminal``)."""
    local, at, domain = email.partition("@")
    if not at:
        return "***"
    return f"{for_terminal(local[:1])}***@{for_terminal(domain, max_chars=_MASKED_DOMAIN_CHARS)}"


def read_auth_file(path: Path) -> AuthFile:
    return parse_auth(read_regular_file(path, MAX_AUTH_BYTES), str(path))


def read_regular_file(path: Path, max_bytes: int) -> bytes:
    """The bytes of a regular file of at most ``max_bytes``; a FIFO, device or directory is refused
    without blocking on it (opened non-blocking, checked with fstat before anything is read)."""
    shown = for_terminal(str(path))
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise CredentialError(f"no auth.json at {shown} (run `codex login` first, or give its path)") from None
    except OSError as exc:
        raise CredentialError(f"cannot read {shown}: {exc.strerror or exc}") from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise CredentialError(f"{shown} is not a regular file ({_file_kind(info.st_mode)}); "
                                  "give the path of an auth.json written by `codex login`")
        if info.st_size > max_bytes:
            raise CredentialError(f"{shown} is {info.st_size} bytes, more than an auth.json can be "
                                  f"({max_bytes} bytes at most)")
        chunks: list[bytes] = []
        remaining = max_bytes + 1
        while remaining > 0:
            chunk = os.read(fd, min(remaining, 1 << 16))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
    except OSError as exc:
        raise CredentialError(f"cannot read {shown}: {exc.strerror or exc}") from exc
    finally:
        os.close(fd)
    raw = b"".join(chunks)
    if len(raw) > max_bytes:
        raise CredentialError(f"{shown} grew past {max_bytes} bytes while it was read; it is not an auth.json")
    return raw


def _file_kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a plain file"


def parse_auth(raw: bytes, source: str) -> AuthFile:
    """Validate a ChatGPT-login auth.json; ``source`` names it in errors."""
    try:
        document = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CredentialError(f"{source} is not valid JSON ({type(exc).__name__})") from None
    except RecursionError:
        raise CredentialError(f"{source} is nested too deeply to be an auth.json") from None
    if not isinstance(document, dict):
        raise CredentialError(f"{source}: the top level is not a JSON object")
    tokens = document.get("tokens")
    if not isinstance(tokens, dict):
        mode = document.get("auth_mode")
        hint = " (it holds an API key, not a ChatGPT login)" if document.get("OPENAI_API_KEY") else ""
        shown_mode = for_terminal(repr(mode), max_chars=40)
        raise CredentialError(f"{source} has no 'tokens' object (auth_mode={shown_mode}){hint}; "
                              "codex-fsm pools ChatGPT logins made with `codex login`")
    for name in ("id_token", "access_token", "refresh_token"):
        if not isinstance(tokens.get(name), str) or not tokens[name]:
            raise CredentialError(f"{source}: tokens.{name} is missing or empty")
    id_claims = decode_jwt_claims(tokens["id_token"], f"{source}: tokens.id_token")
    access_claims = decode_jwt_claims(tokens["access_token"], f"{source}: tokens.access_token")
    identity = _identity(id_claims, access_claims, tokens.get("account_id"), source)
    return AuthFile(document=document, identity=identity)


def decode_jwt_claims(token: str, where: str) -> dict:
    """The payload of a JWT, unverified. Raises CredentialError naming ``where`` (never the token)."""
    parts = token.split(".")
    if len(parts) != 3 or not all(parts):
        raise CredentialError(f"{where} is not a JWT (expected three non-empty dot-separated parts)")
    payload = parts[1]
    try:
        decoded = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        claims = json.loads(decoded.decode("utf-8"))
    except (binascii.Error, ValueError, RecursionError):
        raise CredentialError(f"{where} has a payload that is not base64url-encoded JSON") from None
    if not isinstance(claims, dict):
        raise CredentialError(f"{where} has a payload that is not a JSON object")
    return claims


def _identity(id_claims: dict, access_claims: dict, token_account_id: Any, source: str) -> Identity:
    auth_claims = _mapping(id_claims.get(_AUTH_CLAIMS)) or _mapping(access_claims.get(_AUTH_CLAIMS))
    account_id = auth_claims.get("chatgpt_account_id") or token_account_id
    user_id = auth_claims.get("chatgpt_user_id") or auth_claims.get("user_id") or id_claims.get("sub")
    if not isinstance(account_id, str) or not account_id:
        raise CredentialError(f"{source}: no chatgpt_account_id in the id_token claims or tokens.account_id")
    if not isinstance(user_id, str) or not user_id:
        raise CredentialError(f"{source}: no chatgpt_user_id in the id_token claims")
    email = id_claims.get("email") or _mapping(id_claims.get(_PROFILE_CLAIMS)).get("email")
    plan = auth_claims.get("chatgpt_plan_type")
    return Identity(chatgpt_account_id=account_id, chatgpt_user_id=user_id,
                    plan=plan if isinstance(plan, str) else None,
                    email=email if isinstance(email, str) and email else None)


def _mapping(value: Any) -> dict:
    return value if isinstance(value, dict) else {}
