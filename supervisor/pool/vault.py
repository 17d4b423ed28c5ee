"""Where an account's login lives, behind one interface for the pool's two backends.

The file backend's vault is the account homes themselves: each home's ``auth.json`` is the login's only
copy, read and written in place (``LocalVault``). A pool shared across machines keeps the logins in
Redis, encrypted (``redis_vault.RedisVault``); a host that leases an account writes a working copy into
its home for the child's Codex, writes back what that Codex refreshed while the lease is held, and
removes the copy when the lease ends. The session pool, the credential store and the admin commands
speak only this interface, so each rule (fencing, write-back, one live copy) lives in one place.

Writes that change the pool are made inside an open transaction of the pool store and take effect
with it: the shared backend stages them into the same atomic write as the pool document.
"""

from __future__ import annotations

from typing import Iterable, Protocol

from .auth import AuthFile, read_auth_file
from .homes import AccountHomes, Removal


class CredentialVault(Protocol):
    """The logins of a pool's accounts."""

    @property
    def shared(self) -> bool:
        """Whether the logins live off this machine (Redis) rather than in the account homes."""

    def having_credentials(self, accounts: Iterable[str]) -> set[str]:
        """Those of ``accounts`` that have a stored login."""

    def read(self, account: str) -> AuthFile:
        """The freshest login this host may use for ``account``; CredentialError when there is none."""

    def save(self, account: str, auth: AuthFile) -> None:
        """Store ``auth`` as the account's login (inside an open pool transaction; the caller has
        checked that it may)."""

    def remove(self, account: str) -> Removal:
        """Delete the account's login and its account-bound state (inside an open pool transaction)."""

    def recover(self, account: str) -> bool:
        """After a holder on this host died: keep a newer login its interrupted write left behind
        (inside the transaction that clears its lease). Returns whether one was adopted."""

    def checkout(self, account: str) -> None:
        """Before a child starts on ``account`` (under this host's lease): its home holds the login."""

    def write_back(self, account: str) -> bool:
        """Stage what the child's Codex refreshed in the home since the checkout (inside an open pool
        transaction in which the caller found its lease current). Returns whether anything was staged."""

    def discard(self, account: str, keep_copy: bool = False) -> None:
        """This host no longer holds ``account``: drop its working copy (never one it did not make).
        ``keep_copy``: another session of this machine holds the account now and uses the copy in its
        home, so this one only forgets it."""


class LocalVault:
    """The file backend: the account homes' ``auth.json`` files are the logins themselves, written in
    place by Codex and by codex-fsm, so checkout, write-back and discard have nothing to do."""

    shared = False

    def __init__(self, homes: AccountHomes) -> None:
        self.homes = homes

    def having_credentials(self, accounts: Iterable[str]) -> set[str]:
        return {account for account in accounts if self.homes.exists(account)}

    def read(self, account: str) -> AuthFile:
        return read_auth_file(self.homes.auth_path(account))

    def save(self, account: str, auth: AuthFile) -> None:
        self.homes.write_auth(account, auth.to_bytes())

    def remove(self, account: str) -> Removal:
        return self.homes.remove(account)

    def recover(self, account: str) -> bool:
        return self.homes.recover_auth(account)

    def checkout(self, account: str) -> None:
        return None

    def write_back(self, account: str) -> bool:
        return False

    def discard(self, account: str, keep_copy: bool = False) -> None:
        return None
