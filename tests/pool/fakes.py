"""Fake ChatGPT logins made at test time: unsigned JWTs, fake emails, never a real credential."""

from __future__ import annotations

import base64
import json
from pathlib import Path

FAR_FUTURE = 4_102_444_800  # 2100-01-01


def b64url(obj: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def fake_jwt(claims: dict) -> str:
    return b64url({"alg": "none", "typ": "JWT"}) + "." + b64url(claims) + ".fakesig"


def auth_document(account: str = "acct-fake-0001", user: str = "user-fake-0001",
                  email: str | None = "user1@example.invalid", plan: str = "plus",
                  refresh: str = "rt_fake_1", access_marker: str = "first",
                  last_refresh: str = "2026-11-24T10:00:00.000000Z", exp: int = FAR_FUTURE) -> dict:
    auth_claims = {"chatgpt_plan_type": plan, "chatgpt_user_id": user, "chatgpt_account_id": account,
                   "user_id": user}
    id_claims = {"sub": user, "exp": exp, "https://api.openai.com/auth": auth_claims}
    if email is not None:
        id_claims["email"] = email
    access_claims = {"sub": user, "exp": exp, "marker": access_marker, "https://api.openai.com/auth": auth_claims}
    return {
        "auth_mode": "chatgpt", "OPENAI_API_KEY": None,
        "tokens": {"id_token": fake_jwt(id_claims), "access_token": fake_jwt(access_claims),
                   "refresh_token": refresh, "account_id": account},
        "last_refresh": last_refresh,
    }


def auth_bytes(**kwargs: object) -> bytes:
    return json.dumps(auth_document(**kwargs)).encode()


def write_auth(path: Path, **kwargs: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(auth_bytes(**kwargs))
    path.chmod(0o600)
    return path
