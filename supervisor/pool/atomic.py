"""Atomic private file writes: temp file in the same directory, fsync, rename, fsync the directory.

A reader sees the old file or the new one, never a torn one; a failed write (for example a full
disk) removes its temp file and leaves the old file untouched.
"""

from __future__ import annotations

import errno
import os
import re
import tempfile
from pathlib import Path

from ..errors import PoolError


# A temp file a killed writer left behind is removed only once it is this old: no live writer takes
# anywhere near this long between creating its temp file and renaming it.
STALE_TEMP_AGE_S = 3600.0
_TEMP_SUFFIX = ".tmp"


def _temp_prefix(path: Path) -> str:
    return f".{path.name}."


def write_private_file(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically, mode 0600. Raises PoolError naming the file."""
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=_temp_prefix(path), suffix=_TEMP_SUFFIX, dir=path.parent)
    except OSError as exc:
        raise PoolError(f"could not write {path}: {_describe(exc)}; the previous file is unchanged") from exc
    try:
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp_name, path)
    except OSError as exc:
        _remove_quietly(tmp_name)
        raise PoolError(f"could not write {path}: {_describe(exc)}; the previous file is unchanged") from exc
    except BaseException:
        _remove_quietly(tmp_name)
        raise
    fsync_dir(path.parent)


def remove_stale_temps(path: Path, now: float, min_age_s: float = STALE_TEMP_AGE_S) -> list[Path]:
    """Remove the temp files ``write_private_file`` left for ``path`` when its writer was killed.

    Only names of exactly our own pattern (``.<name>.<random>.tmp``, regular files, not links) and
    only those last modified at least ``min_age_s`` ago. Call it while holding the lock that
    serialises writers of ``path``. Returns what was removed.
    """
    pattern = re.compile(re.escape(_temp_prefix(path)) + r"[A-Za-z0-9_]{8}" + re.escape(_TEMP_SUFFIX))
    removed: list[Path] = []
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return removed
    for entry in entries:
        if not pattern.fullmatch(entry.name):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
            if not entry.is_file(follow_symlinks=False) or now - info.st_mtime < min_age_s:
                continue
            os.unlink(entry.path)
        except OSError:
            continue
        removed.append(Path(entry.path))
    return removed


def fsync_dir(directory: Path) -> None:
    """Make a rename in ``directory`` durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _remove_quietly(name: str) -> None:
    try:
        os.unlink(name)
    except FileNotFoundError:
        pass


def _describe(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "no space left on the device"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    return exc.strerror or str(exc)
