"""The local side of a pool migration (see ``migrate``): an account's login read for the move, set
aside beside itself, put back or retired; the pool file moved aside; and what a migration to the pool
file wrote, undone.

A login leaves a home as one rename to ``MARKER`` (cheap, reversible, in the same folder); only after the
shared pool holds it is the marker deleted. What cannot be put back or deleted is named, never guessed
at: the user is told which file holds which login.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import CredentialError, PoolError
from ..terminal_text import for_terminal
from .atomic import fsync_dir, write_private_file
from .auth import AuthFile, account_id_for, read_auth_file
from .homes import AccountHomes
from .store import PoolStore

# The name an account's auth.json has while its login is written to the shared pool: beside it in its
# home (a rename), and a name the homes treat as a leftover copy of the login: ``recover_auth`` adopts
# it should a crash leave it as the only copy, and removing the account deletes it.
MARKER = ".auth.json.migrating"
# ``pool.json`` moved aside after a migration to the shared pool: ``pool.json.migrated-<UTC time>``.
MIGRATED_SUFFIX = ".migrated-"
NOTHING_CHANGED = "Nothing was changed"

Markers = list[tuple[Path, Path]]  # (auth.json, its marker) per account set aside


# -- to the shared pool ---------------------------------------------------------------------------

def local_login(homes: AccountHomes, account: str) -> AuthFile:
    """The account's login, refused (naming the account) when it does not read, names another account,
    or cannot be retired as its only copy: a link or a second hard link would keep the token here."""
    path = homes.auth_path(account)
    cannot = f"account {account} cannot be moved"
    if path.is_symlink():
        raise CredentialError(f"{cannot}: {shown_path(path)} is a symbolic link, and retiring it would leave the "
                              f"token at its target. {NOTHING_CHANGED}; put the file itself in the home")
    try:
        auth = read_auth_file(path)
        links = path.stat().st_nlink
    except CredentialError as exc:
        raise CredentialError(f"{cannot}: {for_terminal(str(exc))}. {NOTHING_CHANGED}") from None
    except OSError as exc:
        raise CredentialError(f"{cannot}: cannot read {shown_path(path)}: {exc.strerror or exc}. "
                              f"{NOTHING_CHANGED}") from None
    if account_id_for(auth.identity) != account:
        raise CredentialError(f"{cannot}: {shown_path(path)} holds the login of another account. {NOTHING_CHANGED}")
    if links > 1:
        raise CredentialError(f"{cannot}: {shown_path(path)} has {links} hard links, and retiring this name would "
                              f"leave the token under the others. {NOTHING_CHANGED}; remove the other links first")
    return auth


def leftover_copies(homes: AccountHomes, account: str) -> int:
    """Copies of the login an interrupted write left in the home (what ``recover_auth`` looks at)."""
    try:
        return sum(1 for p in homes.home(account).glob(".auth*") if p.is_file() and not p.is_symlink())
    except OSError:
        return 0


def set_aside(homes: AccountHomes, accounts: list[str]) -> Markers:
    """Rename each account's auth.json to the marker beside it; all or none (a failure renames back)."""
    moved: Markers = []
    for account in accounts:
        auth = homes.auth_path(account)
        marker = auth.with_name(MARKER)
        try:
            if os.path.lexists(marker):
                raise FileExistsError(f"{marker} exists")
            os.rename(auth, marker)
            fsync_dir(auth.parent)
        except OSError as exc:
            failure = PoolError(f"could not set the login of account {account} aside in {shown_path(auth.parent)}: "
                                f"{exc.strerror or exc}. {NOTHING_CHANGED}")
            put_back(moved, failure)
            raise failure from None
        moved.append((auth, marker))
    return moved


def put_back(markers: Markers, cause: BaseException) -> None:
    """Undo ``set_aside``; what cannot be renamed back is named, with the failure that led here."""
    stuck: list[str] = []
    for auth, marker in reversed(markers):
        try:
            os.rename(marker, auth)
            fsync_dir(auth.parent)
        except OSError as exc:
            stuck.append(f"{shown_path(marker)} ({exc.strerror or exc})")
    if stuck:
        raise PoolError(f"{why(cause)}; the shared pool was not written, "
                        f"but these logins could not be renamed back to auth.json: {'; '.join(stuck)}. Rename "
                        "each to auth.json in its folder by hand") from None


def retire(markers: Markers, pool_file: Path, backup: Path) -> list[str]:
    """After the EXEC: delete the local copies, then move the pool file aside. Returns what remains."""
    remaining: list[str] = []
    for _auth, marker in markers:
        try:
            marker.unlink()
            fsync_dir(marker.parent)
        except FileNotFoundError:
            pass
        except OSError as exc:
            remaining.append(f"{shown_path(marker)} ({exc.strerror or exc})")
    try:
        if os.path.lexists(backup):
            raise FileExistsError(f"{backup} exists")
        os.rename(pool_file, backup)
        fsync_dir(pool_file.parent)
    except FileNotFoundError:
        pass
    except OSError as exc:
        remaining.append(f"the old pool file {shown_path(pool_file)} ({exc.strerror or exc}; move it to "
                         f"{shown_path(backup)})")
    return remaining


def backup_name(pool_file: Path, now: float) -> Path:
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
    candidate = pool_file.with_name(f"{pool_file.name}{MIGRATED_SUFFIX}{stamp}")
    n = 2
    while os.path.lexists(candidate):
        candidate = pool_file.with_name(f"{pool_file.name}{MIGRATED_SUFFIX}{stamp}-{n}")
        n += 1
    return candidate



# -- to the pool file -----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class PoolFileState:
    """The pool file and its backup as they were before a migration wrote them (None: absent)."""

    pool: bytes | None
    backup: bytes | None

    @classmethod
    def read(cls, file_store: PoolStore) -> "PoolFileState":
        return cls(bytes_or_none(file_store.path), bytes_or_none(file_store.backup_path))

    def restore(self, file_store: PoolStore) -> list[str]:
        """Put both back where they differ; returns what could not be restored."""
        failed: list[str] = []
        with file_store.lock():
            for path, data in ((file_store.path, self.pool), (file_store.backup_path, self.backup)):
                try:
                    if bytes_or_none(path) == data:
                        continue
                    if data is None:
                        path.unlink()
                    else:
                        write_private_file(path, data)
                except (OSError, PoolError) as exc:
                    failed.append(f"{shown_path(path)} ({for_terminal(getattr(exc, 'strerror', None) or exc)})")
        return failed


@dataclass(slots=True)
class WrittenLogins:
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

    def undo(self, before: PoolFileState, file_store: PoolStore, shared_pool: str, cause: BaseException) -> None:
        """Remove what ``write`` wrote and restore the pool file; PoolError naming what remains, if anything."""
        remaining: list[str] = []
        for path in self.files:
            try:
                path.unlink(missing_ok=True)
            except OSError as exc:
                remaining.append(f"{shown_path(path)} ({exc.strerror or exc})")
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
                f"{why(cause)}; {shared_pool} was not changed and still "
                f"holds every login, but these files this migration wrote could not be removed or restored: "
                f"{'; '.join(remaining)}. Delete them by hand (the shared pool's copy of each login is the live "
                "one)") from None


def bytes_or_none(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def why(cause: BaseException) -> str:
    """A failure as a message names it (its text, else its kind), safe for a terminal."""
    return for_terminal(str(cause)) or type(cause).__name__


def shown_path(path: Path) -> str:
    return for_terminal(str(path))
