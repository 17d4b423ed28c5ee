"""One private CODEX_HOME per account, overlaying the user's real CODEX_HOME.

Recipe (verified with Codex 0.169 and 0.171): the account home holds that
account's ``auth.json`` (its ONLY copy, 0600) and private account-bound entries (auth locks, the
daemon folders, the models cache); every other entry of the real home is an absolute symlink to it,
so sessions, history, config and the SQLite databases are shared and ``codex resume <id>`` works
from any account. SQLite ``-wal``/``-shm`` files are never linked (SQLite keeps them next to the
link's target). ``sync`` is run before every spawn so entries that appeared in the real home since
are linked too; the files Codex creates on first use are linked before they exist, so Codex creates
them through the link in the real home instead of as private copies in the account home.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..errors import CredentialError, PoolError
from ..paths import ensure_private_dir
from .atomic import write_private_file
from .auth import AuthFile, account_id_for, read_auth_file

AUTH_FILE = "auth.json"
# Where an auth.json that could not be parsed is kept when a newer copy replaces it.
UNREADABLE_SUFFIX = ".unreadable"
# A shared pool's working copy that no lease of the process checking the account out made (a superseded
# holder's Codex wrote it): kept aside under this name when the stored login replaces it.
SUPERSEDED_SUFFIX = ".superseded"
# Account-bound: never shared between accounts.
PRIVATE_ENTRIES = frozenset({
    AUTH_FILE, "auth.lock", "auth.json.lock", AUTH_FILE + SUPERSEDED_SUFFIX,
    "app-server-control", "app-server-daemon", "packages", "models_cache.json",
})
_UNLINKED_SUFFIXES = ("-wal", "-shm")
# Created in the real home before linking: Codex's mkdir on a linked directory is fine, a dangling
# link to a directory was never verified.
SHARED_DIRS = ("sessions", "shell_snapshots", "thread-writer-locks", "tui-thread-reference-capabilities", "skills")
# Linked even before they exist: Codex creates them through the link (verified), and a private copy
# would stop two accounts' Codex (SQLite maintenance, session index updates) from excluding each other.
SHARED_LOCK_FILES = (".sqlite-maintenance.lock", "session_index.jsonl.lock")
# Shared files Codex 0.169 and 0.171 create on first use (names from their binaries): linked before they
# exist for the same reason, so history, the session index, the config and the databases stay shared.
LATER_SHARED_FILES = (
    "config.toml", "history.jsonl", "session_index.jsonl",
    "state_5.sqlite", "logs_2.sqlite", "goals_1.sqlite", "queue_1.sqlite", "memories_1.sqlite",
    "memories_v2_1.sqlite", "thread_history_1.sqlite", "agent_message_board_1.sqlite",
)
# Names that hold an account's credentials, or are account-bound runtime state: what removing an
# account deletes. Temp files of interrupted auth.json writes (``.auth-*``, ``.auth.json.*``) too.
_CREDENTIAL_ENTRIES = PRIVATE_ENTRIES | {AUTH_FILE + ".unreadable"}
_CREDENTIAL_TEMP_PREFIXES = (".auth-", f".{AUTH_FILE}.")


def _shared(name: str) -> bool:
    return name not in PRIVATE_ENTRIES and not name.endswith(_UNLINKED_SUFFIXES)


@dataclass(frozen=True, slots=True)
class Removal:
    """What removing an account home did beyond deleting its credentials."""

    moved_back: tuple[str, ...] = ()  # private copies moved into the real Codex home
    kept: tuple[str, ...] = ()  # left in the account home: the real home already has an entry of that name
    kept_in: Path | None = None


@dataclass(frozen=True, slots=True)
class OverlayProblem:
    account: str
    entry: str
    problem: str

    def __str__(self) -> str:
        return f"account {self.account}: {self.entry}: {self.problem}"


class AccountHomes:
    def __init__(self, root: Path, real_home: Path) -> None:
        self.root = root
        self.real_home = real_home

    def home(self, account: str) -> Path:
        return self.root / account

    def auth_path(self, account: str) -> Path:
        return self.home(account) / AUTH_FILE

    def exists(self, account: str) -> bool:
        return self.auth_path(account).is_file()

    def accounts_on_disk(self) -> list[str]:
        """Account homes that hold credentials: a regular (not linked) auth.json. A home that is
        empty or holds only temp files or kept private data has no credentials to report."""
        try:
            entries = list(self.root.iterdir())
        except FileNotFoundError:
            return []
        return sorted(p.name for p in entries if p.is_dir() and not p.is_symlink() and self._has_credentials(p))

    @staticmethod
    def _has_credentials(home: Path) -> bool:
        auth = home / AUTH_FILE
        return not auth.is_symlink() and auth.is_file()

    def write_auth(self, account: str, data: bytes) -> Path:
        """Atomically replace the account's only copy of its credentials."""
        home = self.home(account)
        try:
            ensure_private_dir(self.root)
            ensure_private_dir(home)
        except OSError as exc:
            raise PoolError(f"cannot create the account home {home}: {exc.strerror or exc}") from exc
        path = home / AUTH_FILE
        write_private_file(path, data)
        return path

    def remove(self, account: str) -> Removal:
        """Delete the account's credentials and account-bound state, nothing else.

        Links into the real home are dropped; a private copy of a shared entry (Codex created it
        before the real home had one) is moved into the real home, or kept where it is and named
        when the real home already has that name. The home itself goes only once it is empty.
        Raises PoolError before deleting anything it cannot handle (a linked home, say).
        """
        home = self.home(account)
        if home.is_symlink():
            raise PoolError(f"the account home {home} is a symbolic link (to {os.readlink(home)}); codex-fsm "
                            "does not delete through links. Nothing was removed")
        if not home.exists():
            return Removal()
        if not home.is_dir():
            raise PoolError(f"the account home {home} is not a directory; nothing was removed")
        try:
            entries = sorted(home.iterdir(), key=lambda p: p.name)
            credentials = [p for p in entries if _is_credential(p.name) and not p.is_symlink()]
            links = [p for p in entries if p.is_symlink()]
            private = [p for p in entries if p not in credentials and p not in links]
            moved, kept = self._move_back(private)
            for link in links:
                link.unlink()
            for entry in credentials:
                if entry.is_dir():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
            if not kept:
                home.rmdir()
        except OSError as exc:
            raise PoolError(f"cannot remove the account home {home}: {exc.strerror or exc}"
                            f"{f' ({exc.filename})' if exc.filename else ''}") from exc
        return Removal(moved_back=tuple(moved), kept=tuple(kept), kept_in=home if kept else None)

    def _move_back(self, private: list[Path]) -> tuple[list[str], list[str]]:
        """Move private copies into the real home where it lacks them; an SQLite file's -wal/-shm go
        with it. Never overwrites: what cannot move without overwriting is kept."""
        moved: list[str] = []
        kept: list[str] = []
        names = {p.name for p in private}
        for entry in private:
            name = entry.name
            base = name.removesuffix("-wal").removesuffix("-shm")
            if base != name:
                if base not in names:
                    kept.append(name)  # a log without its database: it must not meet another database
                continue  # travels with its database
            group = [entry, *(entry.with_name(name + s) for s in _UNLINKED_SUFFIXES if name + s in names)]
            if not _shared(name) or any(os.path.lexists(self.real_home / p.name) for p in group):
                kept += [p.name for p in group]
            elif _move_together(group, self.real_home):
                moved += [p.name for p in group]
            else:
                kept += [p.name for p in group]
        return moved, kept

    def sync(self, account: str) -> Path:
        """Bring the account's overlay in step with the real home; returns the home to use as CODEX_HOME."""
        home = self.home(account)
        try:
            self._prepare_real_home()
            ensure_private_dir(home)
            names = {p.name for p in self.real_home.iterdir()} | set(SHARED_LOCK_FILES) | set(LATER_SHARED_FILES)
            for name in sorted(names):
                if _shared(name):
                    self._link(home / name, self.real_home / name)
            self._drop_unwanted_links(home)
        except OSError as exc:
            raise PoolError(f"cannot set up the Codex home of account {account} at {home} over {self.real_home}: "
                            f"{exc.strerror or exc}") from exc
        return home

    def check(self, account: str, login_kept_here: bool = True) -> list[OverlayProblem]:
        """What is wrong with an account home, without changing anything. ``login_kept_here`` False: the
        login lives elsewhere (a shared pool's Redis), so a home without one, or no home yet, is as it
        should be; a home that is there is still checked."""
        home = self.home(account)
        problems: list[OverlayProblem] = []

        def add(entry: str, problem: str) -> None:
            problems.append(OverlayProblem(account, entry, problem))

        if not home.is_dir():
            return [OverlayProblem(account, str(home), "the account home is missing")] if login_kept_here else []
        if home.stat().st_mode & 0o077:
            add(str(home), "the account home is readable by others (expected mode 0700)")
        auth = home / AUTH_FILE
        if auth.is_symlink() or not auth.is_file():
            # In a shared pool a home holds a login only while a process of this host leases the account.
            if login_kept_here or os.path.lexists(auth):
                add(AUTH_FILE, "missing or not a regular file: the account has no credentials")
        elif auth.stat().st_mode & 0o077:
            add(AUTH_FILE, "readable by others (expected mode 0600)")
        for entry in sorted(home.iterdir(), key=lambda p: p.name):
            name = entry.name
            if entry.is_symlink():
                target = Path(os.readlink(entry))
                if not _shared(name):
                    add(name, "must not be a link (account-bound, or an SQLite -wal/-shm file)")
                elif target != self.real_home / name:
                    add(name, f"links to {target}, expected {self.real_home / name}")
            elif _shared(name) and not name.startswith((".auth-", f".{AUTH_FILE}.")):
                add(name, f"is a private copy; it should be a link to {self.real_home / name} "
                          "(move its contents into the real Codex home)")
        return problems

    def _prepare_real_home(self) -> None:
        self.real_home.mkdir(mode=0o700, parents=True, exist_ok=True)
        for name in SHARED_DIRS:
            (self.real_home / name).mkdir(mode=0o700, exist_ok=True)

    def _link(self, link: Path, target: Path) -> None:
        if link.is_symlink():
            if Path(os.readlink(link)) == target:
                return
            link.unlink()
        elif link.exists():
            # A private entry where a shared one belongs (Codex created it before it was linked).
            # Moved into the real home when that lacks it; kept otherwise (doctor names it):
            # replacing either copy could lose the user's data.
            moved, _kept = self._move_back([link, *(link.with_name(link.name + s) for s in _UNLINKED_SUFFIXES
                                                   if os.path.lexists(link.with_name(link.name + s)))])
            if link.name not in moved:
                return
        link.symlink_to(target)

    def recover_auth(self, account: str) -> bool:
        """After a holder died: adopt a complete, newer auth.json its interrupted write left behind.

        Codex (``.auth-XXXXXX``) and codex-fsm (``.auth.json.*.tmp``) write a temp file and rename it;
        a holder killed in between may leave the only copy of a freshly rotated refresh token in the
        temp file. Leftovers are removed either way. Returns whether a newer copy was adopted.
        """
        home = self.home(account)
        current_path = home / AUTH_FILE
        try:
            current = read_auth_file(current_path)
        except CredentialError:
            current = None
        newest: AuthFile | None = None
        leftovers = [p for p in home.glob(".auth*") if p.is_file() and not p.is_symlink()]
        for leftover in leftovers:
            try:
                candidate = read_auth_file(leftover)
            except CredentialError:
                continue
            if current is not None and account_id_for(candidate.identity) != account_id_for(current.identity):
                continue
            best = newest or current
            if best is None or candidate.last_refresh > best.last_refresh:
                newest = candidate
        if newest is not None:
            if current is None and current_path.exists():
                # Never replace a file we could not read without keeping it: it may be the only copy.
                write_private_file(current_path.with_name(AUTH_FILE + UNREADABLE_SUFFIX), current_path.read_bytes())
            write_private_file(current_path, newest.to_bytes())
        for leftover in leftovers:
            leftover.unlink(missing_ok=True)
        return newest is not None

    def _drop_unwanted_links(self, home: Path) -> None:
        for entry in home.iterdir():
            if entry.is_symlink() and entry.name != AUTH_FILE and not _shared(entry.name):
                entry.unlink()


def _is_credential(name: str) -> bool:
    return name in _CREDENTIAL_ENTRIES or name.startswith(_CREDENTIAL_TEMP_PREFIXES)


def _move_together(group: list[Path], directory: Path) -> bool:
    """Move a database and its -wal/-shm (or one entry) into ``directory`` all at once or not at all,
    never overwriting: each is hard-linked there first (a directory is renamed), then the old names go.
    Returns False, with nothing changed, when any part cannot move (a name taken meanwhile, another
    file system)."""
    if len(group) == 1 and group[0].is_dir() and not group[0].is_symlink():
        target = directory / group[0].name
        if os.path.lexists(target):
            return False
        try:
            os.rename(group[0], target)
        except OSError:
            return False
        return True
    if any(p.is_dir() for p in group):
        return False
    linked: list[Path] = []
    try:
        for part in group:
            target = directory / part.name
            os.link(part, target, follow_symlinks=False)
            linked.append(target)
    except OSError:
        for target in linked:
            target.unlink(missing_ok=True)
        return False
    for part in group:
        part.unlink()
    return True
