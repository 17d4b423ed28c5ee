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

import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import CredentialError, PoolError
from ..terminal_text import for_terminal
from .admin import live_lease
from .atomic import fsync_dir, write_private_file
from .auth import AuthFile, account_id_for, read_auth_file
from .homes import AccountHomes
from .leases import OwnerCheck
from .migrate_report import MigrationIncomplete, MigrationReport, MovedAccount
from .model import Pool
from .redis_client import shown, unavailable_as_pool_error
from .redis_store import BACKUP_KEY, PoolSuperseded, RedisPoolStore, credentials_key
from .redis_vault import RedisVault
from .store import PoolStore

# The name an account's auth.json has while its login is written to the shared pool: beside it in its
# home (a rename), and a name the homes treat as a leftover copy of the login: ``recover_auth`` adopts
# it should a crash leave it as the only copy, and removing the account deletes it.
MARKER = ".auth.json.migrating"
# ``pool.json`` moved aside after a migration to the shared pool: ``pool.json.migrated-<UTC time>``.
MIGRATED_SUFFIX = ".migrated-"
NOTHING_CHANGED = "Nothing was changed"


# -- to the shared pool ---------------------------------------------------------------------------

def migrate_to_redis(file_store: PoolStore, homes: AccountHomes, redis_store: RedisPoolStore,
                     redis_vault: RedisVault, now: float, alive: OwnerCheck, dry_run: bool = False) -> MigrationReport:
    """Move the pool file's accounts and their logins into the (empty) shared pool; see the module's doc."""
    _same_store(redis_store, redis_vault)
    source = f"the pool file {_path(file_store.path)}"
    with file_store.transaction() as local:  # never changed in memory: the lock, and a fresh read
        accounts = [record.id for record in local.accounts]
        if not accounts:
            raise PoolError(f"{source} has no accounts: there is nothing to move. {NOTHING_CHANGED}")
        _refuse_live_leases(local, now, alive, source)
        _refuse_filled_shared_pool(redis_store)
        redis_vault.check_key()
        leftovers = {account: n for account in accounts if (n := _leftover_copies(homes, account))}
        if not dry_run:
            for account in leftovers:
                homes.recover_auth(account)
        logins = {account: _local_login(homes, account) for account in accounts}
        backup = _backup_name(file_store.path, now)
        report = MigrationReport(
            source=source, target=redis_store.where, dry_run=dry_run, accounts=_moved(local),
            kept=(f"the old pool file (records only, no login), as {_path(backup)}",),
            left_alone=tuple(f"the login in {_path(homes.home(account))} (no account of the pool has it)"
                             for account in homes.accounts_on_disk() if account not in accounts),
            notes=tuple(_leftover_note(homes, account, n, dry_run) for account, n in leftovers.items()))
        if dry_run:
            return report
        markers = _set_aside(homes, accounts)
        sending = False
        try:
            with redis_store.transaction() as shared:
                _refuse_filled_shared_pool(redis_store, shared)  # again, now under its lock and WATCH
                shared.accounts = [replace(record, lease=None) for record in local.accounts]
                for account, auth in logins.items():
                    redis_vault.save(account, auth)  # staged into this EXEC, with the key check if new
                sending = True
        except PoolSuperseded as exc:  # the EXEC was refused: certainly not written
            _put_back(markers, exc)
            raise
        except BaseException as exc:
            written = _holds(redis_store, accounts) if sending else False
            if written is None:
                raise PoolError(_unknown_to_redis(redis_store, exc, markers)) from None
            if not written:
                _put_back(markers, exc)
                raise
            # Written: only the EXEC's reply was lost. The shared pool is complete; carry on.
        remaining = _retire(markers, file_store.path, backup)
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


def _local_login(homes: AccountHomes, account: str) -> AuthFile:
    """The account's login, refused (naming the account) when it does not read, names another account,
    or cannot be retired as its only copy: a link or a second hard link would keep the token here."""
    path = homes.auth_path(account)
    cannot = f"account {account} cannot be moved"
    if path.is_symlink():
        raise CredentialError(f"{cannot}: {_path(path)} is a symbolic link, and retiring it would leave the "
                              f"token at its target. {NOTHING_CHANGED}; put the file itself in the home")
    try:
        auth = read_auth_file(path)
        links = path.stat().st_nlink
    except CredentialError as exc:
        raise CredentialError(f"{cannot}: {for_terminal(str(exc))}. {NOTHING_CHANGED}") from None
    except OSError as exc:
        raise CredentialError(f"{cannot}: cannot read {_path(path)}: {exc.strerror or exc}. "
                              f"{NOTHING_CHANGED}") from None
    if account_id_for(auth.identity) != account:
        raise CredentialError(f"{cannot}: {_path(path)} holds the login of another account. {NOTHING_CHANGED}")
    if links > 1:
        raise CredentialError(f"{cannot}: {_path(path)} has {links} hard links, and retiring this name would "
                              f"leave the token under the others. {NOTHING_CHANGED}; remove the other links first")
    return auth


def _leftover_copies(homes: AccountHomes, account: str) -> int:
    """Copies of the login an interrupted write left in the home (what ``recover_auth`` looks at)."""
    try:
        return sum(1 for p in homes.home(account).glob(".auth*") if p.is_file() and not p.is_symlink())
    except OSError:
        return 0


def _leftover_note(homes: AccountHomes, account: str, count: int, dry_run: bool) -> str:
    done = "will be" if dry_run else "was" if count == 1 else "were"
    return (f"account {account}: {_count(count, 'leftover copy', 'leftover copies')} of its login in "
            f"{_path(homes.home(account))} (an interrupted write) {done} adopted if newer, then removed, "
            "before the move")


def _set_aside(homes: AccountHomes, accounts: list[str]) -> list[tuple[Path, Path]]:
    """Rename each account's auth.json to the marker beside it; all or none (a failure renames back)."""
    moved: list[tuple[Path, Path]] = []
    for account in accounts:
        auth = homes.auth_path(account)
        marker = auth.with_name(MARKER)
        try:
            if os.path.lexists(marker):
                raise FileExistsError(f"{marker} exists")
            os.rename(auth, marker)
            fsync_dir(auth.parent)
        except OSError as exc:
            failure = PoolError(f"could not set the login of account {account} aside in {_path(auth.parent)}: "
                                f"{exc.strerror or exc}. {NOTHING_CHANGED}")
            _put_back(moved, failure)
            raise failure from None
        moved.append((auth, marker))
    return moved


def _put_back(markers: list[tuple[Path, Path]], cause: BaseException) -> None:
    """Undo ``_set_aside``; what cannot be renamed back is named, with the failure that led here."""
    stuck: list[str] = []
    for auth, marker in reversed(markers):
        try:
            os.rename(marker, auth)
            fsync_dir(auth.parent)
        except OSError as exc:
            stuck.append(f"{_path(marker)} ({exc.strerror or exc})")
    if stuck:
        raise PoolError(f"{for_terminal(str(cause)) or type(cause).__name__}; the shared pool was not written, "
                        f"but these logins could not be renamed back to auth.json: {'; '.join(stuck)}. Rename "
                        "each to auth.json in its folder by hand") from None


def _retire(markers: list[tuple[Path, Path]], pool_file: Path, backup: Path) -> list[str]:
    """After the EXEC: delete the local copies, then move the pool file aside. Returns what remains."""
    remaining: list[str] = []
    for _auth, marker in markers:
        try:
            marker.unlink()
            fsync_dir(marker.parent)
        except FileNotFoundError:
            pass
        except OSError as exc:
            remaining.append(f"{_path(marker)} ({exc.strerror or exc})")
    try:
        if os.path.lexists(backup):
            raise FileExistsError(f"{backup} exists")
        os.rename(pool_file, backup)
        fsync_dir(pool_file.parent)
    except FileNotFoundError:
        pass
    except OSError as exc:
        remaining.append(f"the old pool file {_path(pool_file)} ({exc.strerror or exc}; move it to "
                         f"{_path(backup)})")
    return remaining


def _backup_name(pool_file: Path, now: float) -> Path:
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
    candidate = pool_file.with_name(f"{pool_file.name}{MIGRATED_SUFFIX}{stamp}")
    n = 2
    while os.path.lexists(candidate):
        candidate = pool_file.with_name(f"{pool_file.name}{MIGRATED_SUFFIX}{stamp}-{n}")
        n += 1
    return candidate


# -- to the pool file -----------------------------------------------------------------------------

def migrate_to_file(redis_store: RedisPoolStore, redis_vault: RedisVault, file_store: PoolStore,
                    homes: AccountHomes, now: float, alive: OwnerCheck, dry_run: bool = False) -> MigrationReport:
    """Move the shared pool's accounts and their logins into the (empty) pool file and account homes."""
    _same_store(redis_store, redis_vault)
    if dry_run:
        report, _logins = _plan_to_file(redis_store.load(), redis_store, redis_vault, file_store, homes, now,
                                        alive, dry_run=True)
        return report
    before = _PoolFileState.read(file_store)
    written = _WrittenLogins()
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
        written.undo(before, file_store, redis_store, exc)
        raise
    except BaseException as exc:
        emptied = _emptied(redis_store, list(logins)) if sending else False
        if emptied is None:
            raise PoolError(_unknown_to_file(redis_store, exc, list(logins), written.files, file_store)) from None
        if not emptied:
            written.undo(before, file_store, redis_store, exc)
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
            f"{', '.join(_path(homes.auth_path(account)) for account in in_homes)}. A migration never overwrites "
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
        source=source, target=f"the pool file {_path(file_store.path)} and its account homes",
        dry_run=dry_run, accounts=_moved(shared),
        kept=(f"the old document (records only, no login), as {BACKUP_KEY} at {shown(redis_store.url)}",),
        left_alone=tuple(f"the login {for_terminal(credentials_key(account))} (no account of the pool has it), "
                         "in the shared pool" for account in _stored_logins(redis_store) if account not in logins))
    return report, logins


def _filled_file(file_store: PoolStore, count: int) -> str:
    return (f"the pool file {_path(file_store.path)} already holds {_count(count, 'account')}. A migration never "
            f"merges two pools or overwrites one. {NOTHING_CHANGED}; move that file aside first")


@dataclass(frozen=True, slots=True)
class _PoolFileState:
    """The pool file and its backup as they were before a migration wrote them (None: absent)."""

    pool: bytes | None
    backup: bytes | None

    @classmethod
    def read(cls, file_store: PoolStore) -> "_PoolFileState":
        return cls(_bytes_or_none(file_store.path), _bytes_or_none(file_store.backup_path))

    def restore(self, file_store: PoolStore) -> list[str]:
        """Put both back where they differ; returns what could not be restored."""
        failed: list[str] = []
        with file_store.lock():
            for path, data in ((file_store.path, self.pool), (file_store.backup_path, self.backup)):
                try:
                    if _bytes_or_none(path) == data:
                        continue
                    if data is None:
                        path.unlink()
                    else:
                        write_private_file(path, data)
                except (OSError, PoolError) as exc:
                    failed.append(f"{_path(path)} ({for_terminal(getattr(exc, 'strerror', None) or exc)})")
        return failed


@dataclass(slots=True)
class _WrittenLogins:
    """The auth.json files (and the homes) a migration to the pool file made, so a failure can remove them."""

    files: list[Path] = field(default_factory=list)
    homes: list[Path] = field(default_factory=list)

    def write(self, homes: AccountHomes, account: str, auth: AuthFile) -> None:
        for folder in (homes.root, homes.home(account)):  # the folders write_auth is about to create
            if not folder.exists() and folder not in self.homes:
                self.homes.append(folder)
        path = homes.auth_path(account)
        self.files.append(path)  # before the write: a failed write leaves nothing, and unlinking is then a no-op
        homes.write_auth(account, auth.to_bytes())

    def undo(self, before: _PoolFileState, file_store: PoolStore, redis_store: RedisPoolStore,
             cause: BaseException) -> None:
        remaining: list[str] = []
        for path in self.files:
            try:
                path.unlink(missing_ok=True)
            except OSError as exc:
                remaining.append(f"{_path(path)} ({exc.strerror or exc})")
        for home in reversed(self.homes):
            try:
                home.rmdir()
            except OSError:
                pass  # not empty (the homes' root, say) or gone: it holds no login once its auth.json is removed
        try:
            remaining += before.restore(file_store)
        except PoolError as exc:
            remaining.append(for_terminal(str(exc)))
        if remaining:
            raise PoolError(
                f"{for_terminal(str(cause)) or type(cause).__name__}; {redis_store.where} was not changed and still "
                f"holds every login, but these files this migration wrote could not be removed or restored: "
                f"{'; '.join(remaining)}. Delete them by hand (the shared pool's copy of each login is the live "
                "one)") from None


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


def _why(cause: BaseException) -> str:
    return for_terminal(str(cause)) or type(cause).__name__


def _unknown_to_redis(redis_store: RedisPoolStore, cause: BaseException, markers: list[tuple[Path, Path]]) -> str:
    kept = "; ".join(_path(marker) for _auth, marker in markers)
    return (f"{_why(cause)}; it is not known whether {redis_store.where} was written, so each login was left "
            f"set aside where it is: {kept}. When the shared pool answers again: if it holds the accounts, delete "
            "these files; if it does not, rename each back to auth.json in its folder")


def _unknown_to_file(redis_store: RedisPoolStore, cause: BaseException, accounts: list[str], files: list[Path],
                     file_store: PoolStore) -> str:
    written = "; ".join([_path(path) for path in files] + [_path(file_store.path)])
    keys = ", ".join(credentials_key(account) for account in accounts)
    return (f"{_why(cause)}; it is not known whether {redis_store.where} was emptied, so the files this migration "
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


def _bytes_or_none(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"


def _path(path: Path) -> str:
    return for_terminal(str(path))
