"""One private CODEX_HOME per account, overlaying the user's real CODEX_HOME.

Recipe (docs: codex-home-overlay.md §9, verified with Codex 0.169): the account home holds that
account's ``auth.json`` (its ONLY copy, 0600) and private account-bound entries (auth locks, the
daemon folders, the models cache); every other entry of the real home is an absolute symlink to it,
so sessions, history, config and the SQLite databases are shared and ``codex resume <id>`` works
from any account. SQLite ``-wal``/``-shm`` files are never linked (SQLite keeps them next to the
link's target). ``sync`` is run before every spawn so entries that appeared in the real home since
are linked too.
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
# Account-bound: never shared between accounts.
PRIVATE_ENTRIES = frozenset({
    AUTH_FILE, "auth.lock", "auth.json.lock",
    "app-server-control", "app-server-daemon", "packages", "models_cache.json",
})
_UNLINKED_SUFFIXES = ("-wal", "-shm")
# Created in the real home before linking: Codex's mkdir on a linked directory is fine, a dangling
# link to a directory was never verified.
SHARED_DIRS = ("sessions", "shell_snapshots", "thread-writer-locks", "tui-thread-reference-capabilities", "skills")
# Linked even before it exists: Codex creates it through the link (verified), and a private copy would
# stop two accounts' SQLite maintenance from excluding each other.
SHARED_LOCK_FILES = (".sqlite-maintenance.lock",)


def _shared(name: str) -> bool:
    return name not in PRIVATE_ENTRIES and not name.endswith(_UNLINKED_SUFFIXES)


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
        try:
            return sorted(p.name for p in self.root.iterdir() if p.is_dir())
        except FileNotFoundError:
            return []

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

    def remove(self, account: str) -> None:
        home = self.home(account)
        if home.exists():
            shutil.rmtree(home)

    def sync(self, account: str) -> Path:
        """Bring the account's overlay in step with the real home; returns the home to use as CODEX_HOME."""
        home = self.home(account)
        try:
            self._prepare_real_home()
            ensure_private_dir(home)
            names = {p.name for p in self.real_home.iterdir()} | set(SHARED_LOCK_FILES)
            for name in sorted(names):
                if _shared(name):
                    self._link(home / name, self.real_home / name)
            self._drop_unwanted_links(home)
        except OSError as exc:
            raise PoolError(f"cannot set up the Codex home of account {account} at {home} over {self.real_home}: "
                            f"{exc.strerror or exc}") from exc
        return home

    def check(self, account: str) -> list[OverlayProblem]:
        """What is wrong with an account home, without changing anything."""
        home = self.home(account)
        problems: list[OverlayProblem] = []

        def add(entry: str, problem: str) -> None:
            problems.append(OverlayProblem(account, entry, problem))

        if not home.is_dir():
            return [OverlayProblem(account, str(home), "the account home is missing")]
        if home.stat().st_mode & 0o077:
            add(str(home), "the account home is readable by others (expected mode 0700)")
        auth = home / AUTH_FILE
        if auth.is_symlink() or not auth.is_file():
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

    @staticmethod
    def _link(link: Path, target: Path) -> None:
        if link.is_symlink():
            if Path(os.readlink(link)) == target:
                return
            link.unlink()
        elif link.exists():
            # A private entry where a shared one belongs (Codex created it before the real home had
            # it): keep it, doctor reports it; replacing it could lose the user's data.
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
