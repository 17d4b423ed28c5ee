"""Credentials of parked accounts for quota probes: read them, and refresh them under a lease.

A refresh rotates the single-use refresh token, so it happens only while this process holds the
account's lease, never while a child runs on the account (its Codex owns the token then), and its
answer is written back atomically before anything else can use the account.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

from ..errors import CredentialError, PoolError
from .auth import AuthFile
from .homes import AccountHomes
from .leases import (CHILD_PURPOSE, DEFAULT_LEASE_TTL_S, REFRESH_PURPOSE, OwnerCheck, ProcessIdentity,
                     current_process, grant, held_by, is_stale, owner_alive)
from .refresh import TokenRefresher
from .store import PoolStore
from .vault import CredentialVault, LocalVault


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a usage probe sends: ``Authorization: Bearer <access_token>`` and ``chatgpt-account-id``."""

    access_token: str
    chatgpt_account_id: str

    def __repr__(self) -> str:
        return "Credentials(access_token=<redacted>, chatgpt_account_id=<redacted>)"


def credentials_of(auth: AuthFile) -> Credentials:
    return Credentials(access_token=auth.access_token, chatgpt_account_id=auth.identity.chatgpt_account_id)


class CredentialStore:
    def __init__(self, store: PoolStore, homes: AccountHomes, refresher: TokenRefresher | None = None,
                 owner: ProcessIdentity | None = None, clock: Callable[[], float] = time.time,
                 lease_ttl_s: float = DEFAULT_LEASE_TTL_S, alive: OwnerCheck | None = None,
                 vault: CredentialVault | None = None) -> None:
        self._store = store
        self._vault = vault or LocalVault(homes)
        self._refresher = refresher or TokenRefresher()
        self._owner = owner or current_process()
        self._clock = clock
        self._ttl = lease_ttl_s
        self._alive = alive or (lambda lease: owner_alive(lease, self._owner.host))

    def read_credentials(self, account: str) -> Credentials:
        """The account's current access token and ChatGPT account id, from its only copy."""
        return credentials_of(self._vault.read(account))

    def refresh_credentials(self, account: str) -> Credentials:
        """Refresh the account's token and store the result; raises CredentialError when the account is
        leased to another live process or a child runs on it, or when the token endpoint refuses."""
        generation, temporary = self._take_lease(account)
        try:
            refreshed = self._refresh_and_save(account, generation)
        except BaseException:
            if temporary:
                self._release_after_failure(account, generation)
            raise
        if temporary:
            self._release(account, generation)
        return credentials_of(refreshed)

    def _refresh_and_save(self, account: str, generation: int) -> AuthFile:
        current = self._vault.read(account)
        refreshed = self._refresher.refresh(current, account)
        try:
            if self._vault.shared:
                self._save_fenced(account, generation, refreshed)
            else:
                # On one machine the lock serialises every holder: the token just rotated is the only
                # live one, kept even if the lease was lost meanwhile (and even if the pool file broke).
                with self._store.lock():
                    self._vault.save(account, refreshed)
        except CredentialError:
            raise
        except PoolError as exc:
            raise CredentialError(f"account {account}: the refreshed token could not be saved ({exc}); "
                                  "the old refresh token is spent, so this account may need `codex login` "
                                  "and `codex-fsm accounts import` again") from exc
        return refreshed

    def _save_fenced(self, account: str, generation: int, refreshed: AuthFile) -> None:
        """Store the refreshed login in the same write that finds this lease current: a holder paused past
        its lease, whose account another host has leased since, must not overwrite that host's login."""
        with self._store.transaction() as pool:
            if not held_by(pool.get(account), self._owner, generation):
                raise CredentialError(f"account {account}: the refreshed token was not saved: another session "
                                      "took the lease over meanwhile; if that session finds the old token spent, "
                                      "the account needs `codex login` and `codex-fsm accounts import` again")
            self._vault.save(account, refreshed)

    def _release_after_failure(self, account: str, generation: int) -> None:
        try:
            self._release(account, generation)
        except PoolError:
            # The refresh error is what the caller must see; the lease left behind expires after its TTL.
            pass

    def _take_lease(self, account: str) -> tuple[int, bool]:
        now = self._clock()
        with self._store.transaction() as pool:
            record = pool.get(account)
            if record is None:
                raise CredentialError(f"account {account} is not in the pool")
            lease = record.lease
            if lease is not None and self._owner.owns(lease):
                if lease.purpose == CHILD_PURPOSE:
                    raise CredentialError(f"account {account} has a Codex child running on it; its Codex owns "
                                          "the token, so codex-fsm does not refresh it")
                return lease.generation, False
            if lease is not None and not is_stale(lease, now, self._alive):
                raise CredentialError(f"account {account} is leased to process {lease.owner_pid} on {lease.host}; "
                                      "only the lease holder may refresh its token")
            return grant(record, self._owner, REFRESH_PURPOSE, now, self._ttl,
                         self._store.next_generation(record)).generation, True

    def _release(self, account: str, generation: int) -> None:
        with self._store.transaction() as pool:
            record = pool.get(account)
            if held_by(record, self._owner, generation):
                record.lease = None
