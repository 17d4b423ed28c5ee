"""The pool file: load and validate it, and change it only inside the pool lock.

Every change is a short transaction: take the lock, read the file fresh, apply the change, write it
back atomically (keeping the previous version as ``pool.json.bak`` once the new one is safely
written: a failed write leaves both the file and its backup as they were), release the lock. A file that
does not parse is never overwritten: the error names the file, what is wrong, and the backup to
restore. An exception raised inside a transaction propagates as itself and nothing is written.

Validated once per content: the store remembers, in ``pool.json.validated`` beside the file, a hash of
the last bytes it validated with the schema or wrote itself (with this codex-fsm's version). Bytes with
that hash are read back without the schema, so a start-up does not load marshmallow; any other bytes
(edited by hand, damaged, written by another version) go through the full schema. The record only ever
saves work: a missing, stale or unreadable one means validating again.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, TypeVar

from .. import __version__
from ..errors import EventDecodeError, PoolError
from ..paths import ensure_private_dir
from .atomic import remove_stale_temps, write_private_file
from .lock import DEFAULT_LOCK_TIMEOUT_S, PoolLock
from .model import SCHEMA_VERSION, AccountRecord, Pool, dump_pool, pool_from_document

T = TypeVar("T")


class PoolFileError(PoolError):
    """The pool file exists but cannot be used; it has been left exactly as it was."""


class PoolStore:
    def __init__(self, path: Path, lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S,
                 clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self.lock_timeout_s = lock_timeout_s
        self._clock = clock

    @property
    def lock_path(self) -> Path:
        return self.path.with_name(self.path.name + ".lock")

    @property
    def backup_path(self) -> Path:
        return self.path.with_name(self.path.name + ".bak")

    @property
    def validated_path(self) -> Path:
        """Holds the content key of the last bytes validated or written here (see the module's doc)."""
        return self.path.with_name(self.path.name + ".validated")

    def lock(self) -> PoolLock:
        self._ensure_dir()
        return PoolLock(self.lock_path, self.lock_timeout_s)

    def load(self) -> Pool:
        """The pool as it is on disk now (an empty pool when there is no file yet)."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return Pool()
        except IsADirectoryError:
            raise PoolFileError(f"the pool file {self.path} is a directory; move it aside") from None
        except OSError as exc:
            raise PoolFileError(f"cannot read the pool file {self.path}: {exc.strerror or exc}") from exc
        key = content_key(raw)
        if key == self._validated_key():
            known = decode_known(raw)
            if known is not None:
                return known
        pool = parse_pool(raw, self.path, self.backup_path)
        self._remember(key)
        return pool

    @contextmanager
    def transaction(self) -> Iterator[Pool]:
        """Hold the lock, yield the current pool, and write it back if the block changed it."""
        with self.lock():
            pool = self.load()
            before = dump_pool(pool)
            yield pool
            if dump_pool(pool) != before:
                self._save(pool)

    def mutate(self, change: Callable[[Pool], T]) -> T:
        with self.transaction() as pool:
            return change(pool)

    def next_generation(self, record: AccountRecord) -> int:
        """The next lease generation of ``record``'s account: the file is read and written under the lock,
        so the document's own counter is the truth."""
        return record.generation + 1

    def _save(self, pool: Pool) -> None:
        pool.version = SCHEMA_VERSION
        try:
            data = json.dumps(dump_pool(pool), indent=1, sort_keys=True, allow_nan=False).encode() + b"\n"
        except ValueError as exc:
            raise PoolError(f"the pool file {self.path} was not written: a value is not finite ({exc}); "
                            "the previous file is unchanged") from None
        # Under the lock no other writer of the pool file runs: old temp files are a killed writer's.
        remove_stale_temps(self.path, self._clock())
        remove_stale_temps(self.validated_path, self._clock())
        staging = self._stage_backup()
        try:
            write_private_file(self.path, data)
        except BaseException:
            # The write failed and pool.json is unchanged: the existing backup stays the backup.
            if staging is not None:
                staging.unlink(missing_ok=True)
            raise
        self._remember(content_key(data))
        if staging is not None:
            self._promote_backup(staging)

    def _validated_key(self) -> str | None:
        try:
            return self.validated_path.read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            return None

    def _remember(self, key: str) -> None:
        """Best effort, and without fsync: a record lost in a crash only means validating once more."""
        try:
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.validated_path.name}.", suffix=".tmp")
        except OSError:
            return
        try:
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(key + "\n")
            os.replace(tmp, self.validated_path)
        except OSError:
            try:
                os.unlink(tmp)
            except OSError:
                pass

    def _stage_backup(self) -> Path | None:
        # A hard link keeps the current (known good: it was just parsed) version without copying;
        # the atomic rename of the new file then gives pool.json a new inode, and only after that
        # does the staged link replace the backup. One fixed staging name is safe under the lock,
        # and a crash cannot leave it in the way.
        staging = self.path.with_name(f".{self.path.name}.bak.tmp")
        try:
            staging.unlink(missing_ok=True)
            os.link(self.path, staging)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise PoolError(f"could not back up the pool file {self.path}: {exc.strerror or exc}") from exc
        return staging

    def _promote_backup(self, staging: Path) -> None:
        try:
            os.replace(staging, self.backup_path)
        except OSError as exc:
            staging.unlink(missing_ok=True)
            raise PoolError(f"the pool file {self.path} was written, but its previous version could not be kept "
                            f"as {self.backup_path}: {exc.strerror or exc}") from exc

    def _ensure_dir(self) -> None:
        try:
            ensure_private_dir(self.path.parent)
        except OSError as exc:
            raise PoolError(f"cannot create the codex-fsm home {self.path.parent}: {exc.strerror or exc} "
                            "(set CODEX_FSM_HOME to a writable directory)") from exc


def content_key(raw: bytes) -> str:
    """Names one pool file content as validated by this codex-fsm (another version may check it otherwise)."""
    return hashlib.sha256(f"codex-fsm {__version__}\0".encode() + raw).hexdigest()


def decode_known(raw: bytes) -> Pool | None:
    """Bytes that passed the schema before, built into the pool without it; None when they do not fit
    (which only happens if the model changed without the version): then the schema decides."""
    try:
        return pool_from_document(json.loads(raw.decode("utf-8")))
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError, EventDecodeError):
        return None


def parse_pool(raw: bytes, path: Path, backup: Path) -> Pool:
    """Validate ``raw`` with the full schema: a PoolFileError names what is wrong and where."""
    return parse_pool_document(raw, f"the pool file {path}", _recovery(path, backup))


def parse_pool_document(raw: bytes, where: str, recovery: str) -> Pool:
    """Validate ``raw``, the pool document found at ``where``; the error ends with ``recovery``."""
    def unusable(what: str) -> str:
        return f"{where} cannot be used: {what}. It was left untouched. {recovery}"

    try:
        data = json.loads(raw.decode("utf-8"))
    except RecursionError:
        raise PoolFileError(unusable("its JSON is nested too deeply")) from None
    except UnicodeDecodeError as exc:
        raise PoolFileError(unusable(f"it is not UTF-8 text (byte {exc.start})")) from None
    except json.JSONDecodeError as exc:
        what = "it is empty" if not raw.strip() else f"invalid JSON at line {exc.lineno} column {exc.colno} ({exc.msg})"
        raise PoolFileError(unusable(what)) from None
    if not isinstance(data, dict):
        raise PoolFileError(unusable("the top level is not a JSON object"))
    version = data.get("version")
    if isinstance(version, int) and not isinstance(version, bool) and version > SCHEMA_VERSION:
        raise PoolFileError(
            f"{where} has schema version {version}, written by a newer codex-fsm; this one "
            f"reads up to version {SCHEMA_VERSION}. Upgrade codex-fsm; it was left untouched.")
    # Imported here: only bytes the store does not already know to be valid need marshmallow.
    from marshmallow import ValidationError

    from .pool_schema import PoolSchema

    try:
        return PoolSchema().load(data)
    except ValidationError as exc:
        raise PoolFileError(unusable(f"invalid fields: {_flatten(exc.messages)}")) from None


def _recovery(path: Path, backup: Path) -> str:
    if backup.exists():
        recovery = (f"The last good version is {backup}: check it with `codex-fsm doctor`, then restore it "
                    f"with `{shlex.join(['cp', str(backup), str(path)])}`.")
    else:
        recovery = f"No backup exists: move {path} aside and re-import your accounts with `codex-fsm accounts import`."
    return recovery


def _flatten(messages: object, where: str = "") -> str:
    if isinstance(messages, dict):
        return "; ".join(_flatten(v, f"{where}.{k}" if where else str(k)) for k, v in messages.items())
    if isinstance(messages, list):
        return "; ".join(_flatten(m, where) for m in messages)
    text = str(messages).rstrip(".")
    return f"{where}: {text}" if where else text
