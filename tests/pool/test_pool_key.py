"""The shared pool's key file: made once (0600, never overwritten), and refused when it is not private or
not a key, with errors that name the file and never repeat what is in it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from supervisor.errors import PoolKeyError
from supervisor.pool.pool_key import KEY_LENGTH, load_key, new_key_file

HOSTILE_NAME = "key\x1b]0;owned\x07\x1b[2J"


def _private(path: Path, data: bytes, mode: int = 0o600) -> Path:
    path.write_bytes(data)
    path.chmod(mode)
    return path


def test_a_new_key_file_is_private_and_holds_one_fernet_key(tmp_path: Path) -> None:
    path = new_key_file(tmp_path / "pool.key")
    assert path == tmp_path / "pool.key"
    assert (path.stat().st_mode & 0o777) == 0o600
    raw = path.read_bytes()
    assert raw.endswith(b"\n") and len(raw) == KEY_LENGTH + 1
    token = Fernet(raw.strip()).encrypt(b"a login")
    assert load_key(path).decrypt(token) == b"a login"


def test_every_new_key_is_fresh(tmp_path: Path) -> None:
    first = new_key_file(tmp_path / "a.key").read_bytes()
    second = new_key_file(tmp_path / "b.key").read_bytes()
    assert first != second


def test_a_new_key_path_is_expanded_from_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert new_key_file(Path("~/pool.key")) == tmp_path / "pool.key"
    assert load_key(Path("~/pool.key"))


def test_an_existing_path_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    existing = _private(tmp_path / "pool.key", b"the only copy of an older key\n", 0o400)
    with pytest.raises(PoolKeyError, match="already exists; codex-fsm never overwrites a key file") as error:
        new_key_file(existing)
    assert str(existing) in str(error.value)
    assert existing.read_bytes() == b"the only copy of an older key\n"
    assert (existing.stat().st_mode & 0o777) == 0o400


def test_a_symlink_at_the_path_is_refused_and_not_followed(tmp_path: Path) -> None:
    link = tmp_path / "pool.key"
    link.symlink_to(tmp_path / "elsewhere.key")
    with pytest.raises(PoolKeyError, match="already exists"):
        new_key_file(link)
    assert not (tmp_path / "elsewhere.key").exists()


def test_a_path_that_cannot_be_created_is_named(tmp_path: Path) -> None:
    with pytest.raises(PoolKeyError, match="cannot create the key file .*: No such file or directory") as error:
        new_key_file(tmp_path / "no such folder" / "pool.key")
    assert str(tmp_path / "no such folder" / "pool.key") in str(error.value)


def test_a_missing_key_file_says_where_a_key_comes_from(tmp_path: Path) -> None:
    with pytest.raises(PoolKeyError, match="does not exist; copy it from a machine .*`codex-fsm pool new-key PATH`"):
        load_key(tmp_path / "pool.key")


def test_a_folder_is_not_a_key_file(tmp_path: Path) -> None:
    (tmp_path / "pool.key").mkdir(mode=0o700)
    with pytest.raises(PoolKeyError, match="is not a regular file"):
        load_key(tmp_path / "pool.key")


@pytest.mark.timeout(10)
def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "pool.key"
    os.mkfifo(fifo, 0o600)
    with pytest.raises(PoolKeyError, match="is not a regular file"):
        load_key(fifo)


def test_a_device_is_not_a_key_file() -> None:
    with pytest.raises(PoolKeyError, match="is not a regular file"):
        load_key(Path(os.devnull))


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o620, 0o644, 0o601], ids=oct)
def test_a_key_open_to_other_users_is_refused_with_the_chmod_that_fixes_it(tmp_path: Path, mode: int) -> None:
    key = Fernet.generate_key()
    path = _private(tmp_path / "my pool.key", key + b"\n", mode)
    with pytest.raises(PoolKeyError) as error:
        load_key(path)
    message = str(error.value)
    assert f"readable or writable by other users (mode {mode:04o})" in message
    assert f"`chmod 600 '{path}'`" in message
    assert key.decode() not in message
    path.chmod(0o600)
    assert load_key(path)


@pytest.mark.parametrize("content", [
    b"",
    b"\n",
    b"too short\n",
    b"!" * KEY_LENGTH + b"\n",  # the right length, not base64
    Fernet.generate_key() + b"extra\n",
    Fernet.generate_key()[:-1] + b"\n",
    b"\xff\xfe" * 22,
    b"x" * 100_000,
])
def test_anything_but_a_key_is_refused_without_repeating_it(tmp_path: Path, content: bytes) -> None:
    path = _private(tmp_path / "pool.key", content)
    with pytest.raises(PoolKeyError, match=f"does not hold a pool key \\(expected {KEY_LENGTH} characters") as error:
        load_key(path)
    message = str(error.value)
    words = [word for word in content.decode("utf-8", "replace").split() if len(word) > 8]
    assert all(word not in message for word in words)


def test_whitespace_around_the_key_is_ignored(tmp_path: Path) -> None:
    key = Fernet.generate_key()
    path = _private(tmp_path / "pool.key", b"  " + key + b"\r\n\n")
    token = Fernet(key).encrypt(b"x")
    assert load_key(path).decrypt(token) == b"x"


def test_file_names_in_errors_are_shown_as_visible_escapes(tmp_path: Path) -> None:
    hostile = tmp_path / HOSTILE_NAME
    messages = []
    with pytest.raises(PoolKeyError) as missing:
        load_key(hostile)
    messages.append(str(missing.value))
    new_key_file(hostile)
    with pytest.raises(PoolKeyError) as exists:
        new_key_file(hostile)
    messages.append(str(exists.value))
    hostile.chmod(0o644)
    with pytest.raises(PoolKeyError) as open_to_others:
        load_key(hostile)
    messages.append(str(open_to_others.value))
    hostile.chmod(0o600)
    hostile.write_bytes(b"not a key")
    with pytest.raises(PoolKeyError) as not_a_key:
        load_key(hostile)
    messages.append(str(not_a_key.value))
    for message in messages:
        assert "\x1b" not in message and "\x07" not in message, message
        assert "key\\x1b]0;owned\\x07\\x1b[2J" in message, message


def test_a_failed_write_leaves_no_torn_key_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    from supervisor.pool import pool_key

    def full_disk(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(pool_key.os, "fsync", full_disk)
    with pytest.raises(PoolKeyError, match="could not write the key file .*No space left on device; nothing was left"):
        new_key_file(tmp_path / "pool.key")
    assert not (tmp_path / "pool.key").exists()
    monkeypatch.undo()
    assert load_key(new_key_file(tmp_path / "pool.key"))


def test_a_new_key_is_0600_whatever_the_umask(tmp_path: Path) -> None:
    previous = os.umask(0o377)
    try:
        path = new_key_file(tmp_path / "pool.key")
    finally:
        os.umask(previous)
    assert (path.stat().st_mode & 0o777) == 0o600
    assert load_key(path)


def test_a_home_folder_that_does_not_exist_is_named() -> None:
    for attempt in (new_key_file, load_key):
        with pytest.raises(PoolKeyError, match="cannot find the home folder in the key file path ~no-such-user-"):
            attempt(Path("~no-such-user-of-this-test/pool.key"))
