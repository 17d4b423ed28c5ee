"""What the fake backend saw: requests, token refreshes and rule violations, for test assertions.

Nothing here holds a token: requests name the credentials that authorised them by label, refreshes name
the presented refresh token by fingerprint.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ConversationItem:
    role: str
    text: str


@dataclass(frozen=True)
class RecordedRequest:
    """One request. `kind` is the route that answered it: turn, title, websocket, models, accounts_check,
    usage, token_refresh, settings, or unrouted (answered 404)."""

    seq: int
    at: float
    method: str
    path: str
    host: str
    kind: str
    status: int
    account_id: str | None
    credentials_label: str | None
    session_id: str | None
    conversation: tuple[ConversationItem, ...] = ()

    @property
    def prompt(self) -> str | None:
        """The newest user text of a turn (None when the request carries no conversation)."""
        users = [item.text for item in self.conversation if item.role == "user"]
        return users[-1] if users else None


@dataclass(frozen=True)
class RefreshRecord:
    """One POST to the token endpoint. `outcome`: refreshed, reused (answered revoked) or unknown."""

    at: float
    account_id: str | None
    presented_fingerprint: str
    presented_label: str | None
    issued_label: str | None
    outcome: str
