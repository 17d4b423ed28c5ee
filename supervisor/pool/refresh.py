"""OAuth refresh of a ChatGPT login, the way Codex does it (JSON POST to the token endpoint).

Refresh tokens are single-use and rotate: the answer must be written back before anything else, and
a failed or timed-out request is never retried with the same token (the server may already have
rotated it, and a replay can revoke the whole grant). Callers hold the account's lease.
"""

from __future__ import annotations

import copy
import json
import os
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Mapping

from ..errors import CredentialError
from .auth import AuthFile, account_id_for, parse_auth

if TYPE_CHECKING:  # requests costs ~50 ms to import; only a refresh needs it, never start-up
    import requests

DEFAULT_TOKEN_URL = "https://auth.openai.com/oauth/token"
CODEX_CLIENT_ID = "app_EMoamEEZ73f0CkXaXp7hrann"
# Codex's own override, so one setting points both Codex and codex-fsm at a test server.
TOKEN_URL_ENV = "CODEX_REFRESH_TOKEN_URL_OVERRIDE"


def token_url_from(env: Mapping[str, str]) -> str:
    return env.get(TOKEN_URL_ENV, "").strip() or DEFAULT_TOKEN_URL


class TokenRefresher:
    def __init__(self, token_url: str | None = None, session: "requests.Session | None" = None,
                 timeout_s: float = 20.0) -> None:
        self.token_url = token_url or token_url_from(os.environ)
        self._session = session
        self.timeout_s = timeout_s

    def refresh(self, auth: AuthFile, account: str) -> AuthFile:
        """Exchange ``auth``'s refresh token; returns the new auth document (not yet written)."""
        import requests

        if self._session is None:
            self._session = requests.Session()
        body = {"client_id": CODEX_CLIENT_ID, "grant_type": "refresh_token",
                "refresh_token": auth.refresh_token}
        try:
            response = self._session.post(self.token_url, json=body, timeout=self.timeout_s)
        except requests.RequestException as exc:
            raise CredentialError(f"token refresh for account {account} failed: {type(exc).__name__} "
                                  f"contacting {self.token_url}; the refresh token may have been used, so it "
                                  "is not retried") from None
        if response.status_code != 200:
            raise CredentialError(f"token refresh for account {account} was refused: HTTP {response.status_code} "
                                  f"from {self.token_url}{_error_code(response)}")
        try:
            answer = response.json()
        except ValueError:
            raise CredentialError(f"token refresh for account {account}: {self.token_url} answered "
                                  "something that is not JSON") from None
        return _merged(auth, answer, account)


def _merged(auth: AuthFile, answer: Any, account: str) -> AuthFile:
    if not isinstance(answer, dict) or not isinstance(answer.get("access_token"), str):
        raise CredentialError(f"token refresh for account {account}: the answer has no access_token")
    document = copy.deepcopy(auth.document)
    tokens = document["tokens"]
    for name in ("id_token", "access_token", "refresh_token"):
        value = answer.get(name)
        if isinstance(value, str) and value:
            tokens[name] = value
    document["last_refresh"] = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    refreshed = parse_auth(json.dumps(document).encode(), f"the refreshed credentials of account {account}")
    if account_id_for(refreshed.identity) != account_id_for(auth.identity):
        raise CredentialError(f"token refresh for account {account} returned credentials of another account")
    return refreshed


def _error_code(response: "requests.Response") -> str:
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return ""
    if isinstance(error, dict):
        error = error.get("code")
    return f" ({error})" if isinstance(error, str) and error.isidentifier() else ""
