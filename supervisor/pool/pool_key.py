"""The key that encrypts a shared pool's credentials: one file per machine, never in Redis or a log.

A key file holds one Fernet key (32 random bytes, URL-safe base64, 44 characters) and a newline; it is
made by ``codex-fsm pool new-key PATH`` with mode 0600 and never overwritten. Fernet (AES-128-CBC with an
HMAC-SHA256 over a versioned token) is ``cryptography``'s authenticated format: a token made with another
key, or changed by a single bit, does not decrypt at all, so a wrong key is found before anything is read.
"""

from __future__ import annotations

import os
import shlex
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import PoolKeyError
from ..terminal_text import for_terminal
from .atomic import fsync_dir

if TYPE_CHECKING:
    from cryptography.fernet import Fernet

KEY_LENGTH = 44
# A key file is 45 bytes; more than this is not a key, and is not read whole.
_READ_LIMIT = 4096


def new_key_file(path: Path) -> Path:
    """Write a fresh key to ``path`` (0600); refuses a path that exists (it may be the only copy of a key)."""
    from cryptography.fernet import Fernet

    path = _expanded(path)
    key = Fernet.generate_key()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except FileExistsError:
        raise PoolKeyError(f"{_shown(path)} already exists; codex-fsm never overwrites a key file "
                           "(the credentials it encrypted would be lost). Choose another path") from None
    except OSError as exc:
        raise PoolKeyError(f"cannot create the key file {_shown(path)}: {exc.strerror or exc}") from None
    try:
        os.fchmod(fd, 0o600)  # the mode open() gave is narrowed by the umask; the owner must be able to read it
        data = memoryview(key + b"\n")
        while data:
            data = data[os.write(fd, data):]
        os.fsync(fd)
    except OSError as exc:
        # The file is this call's own (O_EXCL): a torn key left behind would be refused by every later
        # new-key at this path and by load_key, so it goes.
        os.close(fd)
        path.unlink(missing_ok=True)
        raise PoolKeyError(f"could not write the key file {_shown(path)}: {exc.strerror or exc}; "
                           "nothing was left there") from None
    os.close(fd)
    fsync_dir(path.parent)
    return path


def load_key(path: Path) -> "Fernet":
    """The Fernet of the key in ``path``; PoolKeyError naming the file when it is missing, not a regular
    file, readable or writable by others, or not a key."""
    from cryptography.fernet import Fernet

    path = _expanded(path)
    try:
        # Non-blocking, and checked on the open descriptor before anything is read: a FIFO at the path
        # would otherwise block the read for ever, and the checks hold for the very file that is read.
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    except FileNotFoundError:
        raise PoolKeyError(f"the pool key file {_shown(path)} does not exist; copy it from a machine that uses "
                           "the pool, or make the first key of a new pool with `codex-fsm pool new-key PATH`") from None
    except OSError as exc:
        raise PoolKeyError(f"cannot read the pool key file {_shown(path)}: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise PoolKeyError(f"the pool key file {_shown(path)} is not a regular file")
        if info.st_mode & 0o077:
            raise PoolKeyError(f"the pool key file {_shown(path)} is readable or writable by other users (mode "
                               f"{stat.S_IMODE(info.st_mode):04o}); make it private with "
                               f"`chmod 600 {for_terminal(shlex.quote(str(path)))}`")
        raw = _read_at_most(fd, _READ_LIMIT)
    except OSError as exc:
        raise PoolKeyError(f"cannot read the pool key file {_shown(path)}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    text = raw.strip()
    try:
        if len(text) != KEY_LENGTH:
            raise ValueError
        return Fernet(text)
    except ValueError:
        raise PoolKeyError(f"the pool key file {_shown(path)} does not hold a pool key (expected {KEY_LENGTH} "
                           "characters of URL-safe base64, as `codex-fsm pool new-key` writes)") from None


def _expanded(path: Path) -> Path:
    try:
        return path.expanduser()
    except RuntimeError:  # ~user/... for a user this machine does not know
        raise PoolKeyError(f"cannot find the home folder in the key file path {_shown(path)}") from None


def _read_at_most(fd: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        chunk = os.read(fd, limit - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _shown(path: Path) -> str:
    return for_terminal(str(path))
