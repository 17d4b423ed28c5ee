"""Moving a pool between the pool file and the shared pool in Redis, both ways, all or nothing.

A login's refresh token is single-use: after a move each account's login must have exactly one live
copy, and a move that fails must leave both sides as they were. Either way every check comes first,
with nothing written: the target is empty (a migration never merges two pools or overwrites one), no
account is in use (a live lease: stop that session first), every login reads and names its account.
``dry_run`` stops there and reports what would happen.

To the shared pool (``migrate_to_redis``), all under the pool file's lock: leftover copies an
interrupted write left in a home are adopted or removed first (as when a dead holder's lease is
reclaimed), then each ``auth.json`` is renamed to ``MARKER`` in its own home (cheap and reversible), and
the document (records as they are, leases dropped) and every login, encrypted, are written in ONE Redis
transaction. A failed EXEC renames the markers back. After it, the markers are deleted and ``pool.json``
is moved aside to ``pool.json.migrated-<UTC time>`` (kept: it holds no token, and what cannot be
restored is never deleted). A marker that cannot be deleted is named (``MigrationIncomplete``): the
shared pool is complete, and that copy must be deleted by hand.

To the pool file (``migrate_to_file``), all inside one transaction of the shared pool (its lock and
the WATCH on its document, so no lease or login can change meanwhile): the logins are decrypted (another
key: ``PoolKeyError``), written to the account homes (0600) and the records to ``pool.json``; then the
EXEC empties the document (the old one stays at ``codex-fsm:pool:backup``) and deletes every moved
login's credentials key. A failed EXEC removes the files it wrote and restores the pool file as it was.

A connection lost once the EXEC was sent leaves its outcome unknown: the shared pool is read again to
learn whether it was applied (then the migration completes) or not (then it is undone as above); when
it cannot be read, nothing more is touched and the error says how to finish by hand.

Logins that belong to no account of the pool (a home without a record, a credentials key without one)
are not moved and are named in the report. Lease generation counters in Redis are left as they are:
they only ever grow, and ``next_generation`` floors them at the records' own generations. So is the key
check: the emptied shared pool stays bound to its key.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ..errors import CredentialError, PoolError
from ..terminal_text import for_terminal
from .admin import live_lease
from .auth import AuthFile
from .homes import AccountHomes
from .leases import OwnerCheck
from .migrate_local import (NOTHING_CHANGED, Markers, PoolFileState, WrittenLogins, backup_name, leftover_copies,
                            local_login, put_back, retire, set_aside, shown_path, why)
from .migrate_report import MigrationIncomplete, MigrationReport, MovedAccount
from .model import Pool
from .redis_client import shown, unavailable_as_pool_error
from .redis_store import BACKUP_KEY, PoolSuperseded, RedisPoolStore, credentials_key
from .redis_vault import RedisVault
from .store import PoolStore


# -- to the shared pool ---------------------------------------------------------------------------

def migrate_to_redis(file_store: PoolStore, homes: AccountHomes, redis_store: RedisPoolStore,
                     redis_vault: RedisVault, now: float, alive: OwnerCheck, dry_run: bool = False) -> MigrationReport:
    """Move the pool file's accounts and their logins into the (empty) shared pool; see the module's doc."""
    _same_store(redis_store, redis_vault)
    source = f"the pool file {shown_path(file_store.path)}"
    with file_store.transaction() as local:  # never changed in memory: the lock, and a fresh read
        accounts = [record.id for record in local.accounts]
        if not accounts:
            raise PoolError(f"{source} has no accounts: there is nothing to move. {NOTHING_CHANGED}")
        _refuse_live_leases(local, now, alive, source)
        _refuse_filled_shared_pool(redis_store)
        redis_vault.check_key()
        leftovers = {account: n for account in accounts if (n := leftover_copies(homes, account))}
        if not dry_run:
            for account in leftovers:
                homes.recover_auth(account)
        logins = {account: local_login(homes, account) for account in accounts}
        backup = backup_name(file_store.path, now)
        report = MigrationReport(
            source=source, target=redis_store.where, dry_run=dry_run, accounts=_moved(local),
            kept=(f"the old pool file (records only, no login), as {shown_path(backup)}",),
            left_alone=tuple(f"the login in {shown_path(homes.home(account))} (no account of the pool has it)"
                             for account in homes.accounts_on_disk() if account not in accounts),
            notes=tuple(_leftover_note(homes, account, n, dry_run) for account, n in leftovers.items()))
        if dry_run:
            return report
        markers = set_aside(homes, accounts)
        sending = False
        try:
            with redis_store.transaction() as shared:
                _refuse_filled_shared_pool(redis_store, shared)  # again, now under its lock and WATCH
                shared.accounts = [replace(record, lease=None) for record in local.accounts]
                for account, auth in logins.items():
                    redis_vault.save(account, auth)  # staged into this EXEC, with the key check if new
                sending = True
        except PoolSuperseded as exc:  # the EXEC was refused: certainly not written
            put_back(markers, exc)
            raise
        except BaseException as exc:
            written = _holds(redis_store, accounts) if sending else False
            if written is None:
                raise PoolError(_unknown_to_redis(redis_store, exc, markers)) from None
            if not written:
                put_back(markers, exc)
                raise
            # Written: only the EXEC's reply was lost. The shared pool is complete; carry on.
        remaining = retire(markers, file_store.path, backup)
    if remaining:
        raise MigrationIncomplete(
            f"{redis_store.where} now holds the whole pool and every login, but these local copies could not "
            f"be retired: {'; '.join(remaining)}. Delete (or move) them by hand: the shared pool's copy of each "
            "login is the live one", report, tuple(remaining))
    return report


def _same_store(redis_store: RedisPoolStore, redis_vault: RedisVault) -> None:
    if redis_vault.store is not redis_store:
        raise ValueError("the vault must write through the same RedisPoolStore as the migration (one EXEC)")


def _refuse_filled_shared_pool(redis_store: RedisPoolStore, shared: Pool | None = None) -> None:
    shared = redis_store.load() if shared is None else shared
    logins = _stored_logins(redis_store)
    if shared.accounts or logins:
        raise PoolError(
            f"{redis_store.where} is not empty: it holds {_count(len(shared.accounts), 'account')} and "
            f"{_count(len(logins), 'login')}. A migration never merges two pools or overwrites one. "
            f"{NOTHING_CHANGED}; move that pool to a pool file of its own first, or use another Redis database")


def _leftover_note(homes: AccountHomes, account: str, count: int, dry_run: bool) -> str:
    done = "will be" if dry_run else "was" if count == 1 else "were"
    return (f"account {account}: {_count(count, 'leftover copy', 'leftover copies')} of its login in "
            f"{shown_path(homes.home(account))} (an interrupted write) {done} adopted if newer, then removed, "
            "before the move")


# -- to the pool file -----------------------------------------------------------------------------

def migrate_to_file(redis_store: RedisPoolStore, redis_vault: RedisVault, file_store: PoolStore,
                    homes: AccountHomes, now: float, alive: OwnerCheck, dry_run: bool = False) -> MigrationReport:
    """Move the shared pool's accounts and their logins into the (empty) pool file and account homes."""
    _same_store(redis_store, redis_vault)
    if dry_run:
        report, _logins = _plan_to_file(redis_store.load(), redis_store, redis_vault, file_store, homes, now,
                                        alive, dry_run=True)
        return report
    before = PoolFileState.read(file_store)
    written = WrittenLogins()
    logins: dict[str, AuthFile] = {}
    sending = False
    try:
        with redis_store.transaction() as shared:
            report, logins = _plan_to_file(shared, redis_store, redis_vault, file_store, homes, now, alive,
                                           dry_run=False)
            for account, auth in logins.items():
                written.write(homes, account, auth)
            with file_store.transaction() as local:
                if local.accounts:  # written meanwhile (checked above, without the file's lock)
                    raise PoolError(_filled_file(file_store, len(local.accounts)))
                local.accounts = [replace(record, lease=None) for record in shared.accounts]
            shared.accounts = []  # the old document is kept at BACKUP_KEY by this same EXEC
            for account in logins:
                redis_store.stage(credentials_key(account), None)
            sending = True
    except PoolSuperseded as exc:  # the EXEC was refused: the shared pool still holds every login
        written.undo(before, file_store, redis_store.where, exc)
        raise
    except BaseException as exc:
        emptied = _emptied(redis_store, list(logins)) if sending else False
        if emptied is None:
            raise PoolError(_unknown_to_file(redis_store, exc, list(logins), written.files, file_store)) from None
        if not emptied:
            written.undo(before, file_store, redis_store.where, exc)
            raise
        # Emptied: only the EXEC's reply was lost. The logins live in the homes now; keep them.
    return report


def _plan_to_file(shared: Pool, redis_store: RedisPoolStore, redis_vault: RedisVault, file_store: PoolStore,
                  homes: AccountHomes, now: float, alive: OwnerCheck,
                  dry_run: bool) -> tuple[MigrationReport, dict[str, AuthFile]]:
    source = redis_store.where
    accounts = [record.id for record in shared.accounts]
    if not accounts:
        raise PoolError(f"{source} has no accounts: there is nothing to move. {NOTHING_CHANGED}")
    _refuse_live_leases(shared, now, alive, source)
    local = file_store.load()
    if local.accounts:
        raise PoolError(_filled_file(file_store, len(local.accounts)))
    in_homes = homes.accounts_on_disk()
    if in_homes:
        raise PoolError(
            f"{_count(len(in_homes), 'account home holds', 'account homes hold')} an auth.json already: "
            f"{', '.join(shown_path(homes.auth_path(account)) for account in in_homes)}. A migration never overwrites "
            f"a login (it may be the newest copy of its token, say one a session that died left behind). "
            f"{NOTHING_CHANGED}; move those files out of the homes first, and keep them until you know")
    redis_vault.check_key()
    logins: dict[str, AuthFile] = {}
    for account in accounts:
        try:
            logins[account] = redis_vault.read(account)
        except CredentialError as exc:
            raise type(exc)(f"account {account} cannot be moved: {for_terminal(str(exc))}. {NOTHING_CHANGED}") from None
    report = MigrationReport(
        source=source, target=f"the pool file {shown_path(file_store.path)} and its account homes",
        dry_run=dry_run, accounts=_moved(shared),
        kept=(f"the old document (records only, no login), as {BACKUP_KEY} at {shown(redis_store.url)}",),
        left_alone=tuple(f"the login {for_terminal(credentials_key(account))} (no account of the pool has it), "
                         "in the shared pool" for account in _stored_logins(redis_store) if account not in logins))
    return report, logins


def _filled_file(file_store: PoolStore, count: int) -> str:
    return (f"the pool file {shown_path(file_store.path)} already holds {_count(count, 'account')}. A migration never "
            f"merges two pools or overwrites one. {NOTHING_CHANGED}; move that file aside first")


# -- an EXEC whose reply was lost ------------------------------------------------------------------
# A connection that fails once the EXEC has been sent leaves its outcome unknown: Redis may have applied
# it. Undoing the local side then could leave two live copies (to the shared pool) or none (to the file),
# so the shared pool is read again first, and when it cannot be, nothing more is touched and the user
# is told how to finish.

def _holds(redis_store: RedisPoolStore, accounts: list[str]) -> bool | None:
    """Whether the shared pool holds these accounts and their logins (True), none of them (False), or
    cannot be read or holds a part (None)."""
    try:
        ids = {record.id for record in redis_store.load().accounts}
        logins = set(_stored_logins(redis_store))
    except PoolError:
        return None
    wanted = set(accounts)
    if wanted <= ids and wanted <= logins:
        return True
    if not wanted & ids and not wanted & logins:
        return False
    return None


def _emptied(redis_store: RedisPoolStore, accounts: list[str]) -> bool | None:
    """Whether the shared pool let go of these accounts and their logins (True), still holds them all
    (False), or cannot be read or holds a part (None)."""
    holds = _holds(redis_store, accounts)
    return None if holds is None else not holds


def _unknown_to_redis(redis_store: RedisPoolStore, cause: BaseException, markers: Markers) -> str:
    kept = "; ".join(shown_path(marker) for _auth, marker in markers)
    return (f"{why(cause)}; it is not known whether {redis_store.where} was written, so each login was left "
            f"set aside where it is: {kept}. When the shared pool answers again: if it holds the accounts, delete "
            "these files; if it does not, rename each back to auth.json in its folder")


def _unknown_to_file(redis_store: RedisPoolStore, cause: BaseException, accounts: list[str], files: list[Path],
                     file_store: PoolStore) -> str:
    written = "; ".join([shown_path(path) for path in files] + [shown_path(file_store.path)])
    keys = ", ".join(credentials_key(account) for account in accounts)
    return (f"{why(cause)}; it is not known whether {redis_store.where} was emptied, so the files this migration "
            f"wrote were kept: {written}. When the shared pool answers again: if it still holds {keys}, delete "
            "those files (the shared pool's logins are the live ones); if it does not, the migration is complete")


# -- both ways ------------------------------------------------------------------------------------

def _refuse_live_leases(pool: Pool, now: float, alive: OwnerCheck, where: str) -> None:
    in_use = [(record.id, lease) for record in pool.accounts if (lease := live_lease(record, now, alive))]
    if in_use:
        holders = "; ".join(f"account {account} by process {lease.owner_pid} on {for_terminal(lease.host)}"
                            for account, lease in in_use)
        raise PoolError(f"accounts of {where} are in use: {holders}. {NOTHING_CHANGED}; stop those sessions "
                        "(or wait for their leases to expire) and migrate again")


def _moved(pool: Pool) -> tuple[MovedAccount, ...]:
    """The accounts as the report lists them (a lease still on a record now is a stale one: live ones were refused)."""
    return tuple(MovedAccount(id=record.id, label=record.label, stale_lease_dropped=record.lease is not None)
                 for record in pool.accounts)


def _stored_logins(redis_store: RedisPoolStore) -> list[str]:
    """The accounts that have a credentials key in the shared pool, whatever the document says."""
    prefix = credentials_key("")
    with unavailable_as_pool_error(redis_store.url, "look up the pool's logins"):
        keys = list(redis_store.client.scan_iter(match=credentials_key("*"), count=1000))
    names = (key if isinstance(key, str) else key.decode("utf-8", "replace") for key in keys)
    return sorted(name.removeprefix(prefix) for name in names)


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"


