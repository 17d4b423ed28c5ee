"""The logins of a pool shared across machines: Fernet-encrypted in Redis, one working copy per lease.

``credentials:<account>`` holds the account's ``auth.json`` encrypted with the pool key (``pool_key``).
A host that leases an account and starts a child on it writes the login into the account's home
(``checkout``, 0600); while the lease is held, what that child's Codex refreshed there is written back
(``write_back``, staged into the pool transaction in which the caller found its lease current, so a
holder whose generation was superseded cannot overwrite the newer holder's login); when the lease ends
the working copy is removed (``discard``). The refresh token therefore has one live copy: Redis's while
the account is parked, the holder's while it is leased.

``codex-fsm:key-check`` holds a fixed text encrypted with the pool key, written with the first login
stored (in the same transaction). A host whose key file holds another key finds out there, before it decrypts or writes
anything, and says so (``PoolKeyError``).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Iterable

from ..errors import CredentialError, PoolKeyError
from .auth import MAX_AUTH_BYTES, AuthFile, account_id_for, parse_auth, read_regular_file
from .homes import SUPERSEDED_SUFFIX, AccountHomes, Removal
from .redis_client import unavailable_as_pool_error
from .redis_store import PREFIX, RedisPoolStore, credentials_key

if TYPE_CHECKING:
    from cryptography.fernet import Fernet

KEY_CHECK_KEY = PREFIX + "key-check"
_KEY_CHECK_TEXT = b"codex-fsm pool key check v1"


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class RedisVault:
    shared = True

    def __init__(self, store: RedisPoolStore, homes: AccountHomes, fernet: "Fernet", key_file: str) -> None:
        self.store = store
        self.homes = homes
        self._fernet = fernet
        self._key_file = key_file
        self._key_checked = False
        # Accounts whose working copy this process wrote (only those are ever removed), with the digest of
        # the login Redis holds for it.
        self._checked_out: dict[str, str] = {}

    # -- the key --------------------------------------------------------------------------------

    def check_key(self, writing: bool = False) -> None:
        """Refuse (PoolKeyError) when the pool's logins were encrypted with another key. The first write
        to a pool without a key check records this key's."""
        if self._key_checked:
            return
        client = self.store.client
        with unavailable_as_pool_error(self.store.url, "check the pool key"):
            marker = client.get(KEY_CHECK_KEY)
            if marker is None and writing and self.store.in_transaction:
                # The first login is written in a transaction: the check goes into the same EXEC, so a
                # write that fails (a migration's, say) leaves no check behind, and one that succeeds
                # never leaves logins without one. Checked again once it is written.
                if not self.store.stages(KEY_CHECK_KEY):
                    self.store.stage(KEY_CHECK_KEY, self._fernet.encrypt(_KEY_CHECK_TEXT))
                return
            if marker is None and writing:
                client.set(KEY_CHECK_KEY, self._fernet.encrypt(_KEY_CHECK_TEXT), nx=True)
                marker = client.get(KEY_CHECK_KEY)
        if marker is None:
            return
        if self._decrypt_or_none(marker) != _KEY_CHECK_TEXT:
            raise PoolKeyError(f"the key in {self._key_file} is not the key of {self.store.where}: its logins were "
                               "encrypted with another one. Nothing was decrypted or written; copy the key file "
                               "from a machine that uses this pool")
        self._key_checked = True

    def _decrypt_or_none(self, token: bytes) -> bytes | None:
        from cryptography.fernet import InvalidToken

        try:
            return self._fernet.decrypt(token)
        except InvalidToken:
            return None

    # -- the logins -----------------------------------------------------------------------------

    def having_credentials(self, accounts: Iterable[str]) -> set[str]:
        accounts = list(accounts)
        if not accounts:
            return set()
        with unavailable_as_pool_error(self.store.url, "look up the pool's logins"):
            pipe = self.store.client.pipeline(transaction=False)
            for account in accounts:
                pipe.exists(credentials_key(account))
            found = pipe.execute()
        return {account for account, exists in zip(accounts, found, strict=True) if exists}

    def read(self, account: str) -> AuthFile:
        if account in self._checked_out:
            try:
                return self._working_copy(account)
            except CredentialError:
                pass  # Codex is rewriting it, or it is gone: the stored login is the one to use
        return self._stored(account)

    def _stored(self, account: str) -> AuthFile:
        self.check_key()
        key = credentials_key(account)
        with unavailable_as_pool_error(self.store.url, f"read the login of account {account}"):
            token = self.store.client.get(key)
        if token is None:
            raise CredentialError(f"account {account} has no login in {self.store.where} "
                                  "(import it again with `codex-fsm accounts import`)")
        return self._decrypted(account, token)

    def _decrypted(self, account: str, token: bytes) -> AuthFile:
        plain = self._decrypt_or_none(token)
        if plain is None:
            raise PoolKeyError(f"the login of account {account} in {self.store.where} does not decrypt with the key "
                               f"in {self._key_file} (another key, or the value was changed); nothing was written")
        auth = parse_auth(plain, f"the login of account {account} in the shared pool")
        if account_id_for(auth.identity) != account:
            raise CredentialError(f"{credentials_key(account)} in the shared pool holds the login of another account; "
                                  "it was left untouched. Import the account's login again")
        return auth

    def _working_copy(self, account: str) -> AuthFile:
        path = self.homes.auth_path(account)
        return self._own_login(account, read_regular_file(path, MAX_AUTH_BYTES), str(path))

    @staticmethod
    def _own_login(account: str, data: bytes, source: str) -> AuthFile:
        auth = parse_auth(data, source)
        if account_id_for(auth.identity) != account:
            raise CredentialError(f"the working copy of account {account} holds another account's login")
        return auth

    def save(self, account: str, auth: AuthFile) -> None:
        self.check_key(writing=True)
        data = auth.to_bytes()
        self.store.stage(credentials_key(account), self._fernet.encrypt(data))
        if account in self._checked_out:
            # A leased account's token refreshed by codex-fsm itself: the child that starts next uses it.
            def refresh_working_copy() -> None:
                self.homes.write_auth(account, data)
                self._checked_out[account] = _digest(data)
            self.store.after_commit(refresh_working_copy)

    def remove(self, account: str) -> Removal:
        self.store.stage(credentials_key(account), None)
        self._checked_out.pop(account, None)
        return self.homes.remove(account)

    def recover(self, account: str) -> bool:
        """The holder on this host died with its working copy in place: Codex may have refreshed the
        token there after the last write-back, so a newer copy of the same account is written back."""
        self.homes.recover_auth(account)
        path = self.homes.auth_path(account)
        if not path.is_file():
            return False
        try:
            local = self._working_copy(account)
        except CredentialError:
            return False  # not a login of this account: left where it is for the user (doctor names it)
        try:
            stored: AuthFile | None = self._stored(account)
        except CredentialError:
            stored = None
        adopted = stored is None or local.last_refresh > stored.last_refresh
        if adopted:
            self.save(account, local)
        self.store.after_commit(lambda: path.unlink(missing_ok=True))
        return adopted

    # -- the working copy of a lease ------------------------------------------------------------

    def checkout(self, account: str) -> None:
        if account in self._checked_out and self.homes.exists(account):
            return  # this lease's copy is in place (a respawn): it may hold what Codex refreshed since
        stored = self._stored(account)
        data = stored.to_bytes()
        path = self.homes.auth_path(account)
        if path.is_file() and not path.is_symlink():
            # Not this lease's: a superseded holder's Codex wrote it (its lease was lost, or it died and
            # another host reclaimed the lease). The fence says the stored login wins, however new this
            # copy looks (and other machines' clocks need not agree); it is kept aside, never deleted.
            path.replace(path.with_name(path.name + SUPERSEDED_SUFFIX))
        self.homes.write_auth(account, data)
        self._checked_out[account] = _digest(data)

    def write_back(self, account: str) -> bool:
        known = self._checked_out.get(account)
        if known is None:
            return False
        path = self.homes.auth_path(account)
        try:
            data = read_regular_file(path, MAX_AUTH_BYTES)
        except CredentialError:
            return False  # gone (Codex mid-rename): the stored login stays until the next write-back
        digest = _digest(data)
        if digest == known:
            return False
        try:
            auth = self._own_login(account, data, str(path))
        except CredentialError:
            return False  # not a complete login (yet): the stored one stays until the next write-back
        self.check_key(writing=True)
        self.store.stage(credentials_key(account), self._fernet.encrypt(auth.to_bytes()))

        def remember() -> None:
            if account in self._checked_out:
                self._checked_out[account] = digest
        self.store.after_commit(remember)
        return True

    def discard(self, account: str, keep_copy: bool = False) -> None:
        if self._checked_out.pop(account, None) is not None and not keep_copy:
            self.homes.auth_path(account).unlink(missing_ok=True)
