"""Unsigned ChatGPT-style JWTs, the only credentials the fake backend ever issues.

Codex reads the claims of `id_token` (email, plan, account) and only `exp` of `access_token`; it never
checks a signature, so an `alg: none` token with a dummy signature part is accepted.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass, field

AUTH_CLAIMS = "https://api.openai.com/auth"
PROFILE_CLAIMS = "https://api.openai.com/profile"
TEN_YEARS = 10 * 365 * 86400


def _b64url_json(obj: object) -> str:
    raw = json.dumps(obj, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unsigned_jwt(claims: dict[str, object]) -> str:
    return f"{_b64url_json({'alg': 'none', 'typ': 'JWT'})}.{_b64url_json(claims)}.unsigned"


def jwt_claims(token: str) -> dict[str, object]:
    payload = token.split(".")[1]
    padded = payload + "=" * (-len(payload) % 4)
    claims: dict[str, object] = json.loads(base64.urlsafe_b64decode(padded))
    return claims


def fingerprint(token: str) -> str:
    """A short, stable, non-reversible name for a token, safe to record and print."""
    return hashlib.sha256(token.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Credentials:
    """One issued token set. `label` (e.g. ``acct-a#2``) names it in records; repr never shows a token."""

    account_id: str
    email: str = field(repr=False)
    plan_type: str
    id_token: str = field(repr=False)
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    access_expires_at: int
    label: str


def issue_credentials(account_id: str, email: str, plan_type: str, access_expires_at: int, issued_at: int,
                      label: str) -> Credentials:
    user_id = f"user-{account_id}"
    auth = {"chatgpt_plan_type": plan_type, "chatgpt_user_id": user_id, "chatgpt_account_id": account_id,
            "user_id": user_id}
    profile = {"email": email, "email_verified": True}
    common = {"iss": "https://auth.openai.com", "sub": user_id, "iat": issued_at, AUTH_CLAIMS: auth,
              PROFILE_CLAIMS: profile}
    id_token = unsigned_jwt({**common, "aud": ["app_fake"], "email": email, "email_verified": True,
                             "exp": issued_at + TEN_YEARS})
    access_token = unsigned_jwt({**common, "aud": ["https://api.openai.com/v1"], "exp": access_expires_at,
                                 "jti": secrets.token_hex(8)})
    refresh_token = f"rt_fake_{secrets.token_hex(12)}"
    return Credentials(account_id=account_id, email=email, plan_type=plan_type, id_token=id_token,
                       access_token=access_token, refresh_token=refresh_token,
                       access_expires_at=access_expires_at, label=label)
