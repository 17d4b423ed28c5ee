"""codex-fsm's folders: created private, and a folder that already exists keeps its mode."""

from __future__ import annotations

import os
import stat

import pytest

from supervisor import paths


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def loose_umask():
    previous = os.umask(0)
    yield
    os.umask(previous)


def test_created_folders_and_their_missing_parents_are_0700_whatever_the_umask(tmp_path, loose_umask):
    target = tmp_path / "a" / "b" / "logs"
    assert paths.ensure_private_dir(target) == target
    assert [_mode(p) for p in (tmp_path / "a", tmp_path / "a" / "b", target)] == [0o700] * 3


@pytest.mark.parametrize("mode", [0o1777, 0o755, 0o770])
def test_an_existing_shared_folder_keeps_its_mode(tmp_path, mode):
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, mode)
    paths.ensure_private_dir(shared)
    paths.ensure_private_dir(shared / "logs")
    assert _mode(shared) == mode  # was chmodded to 0700 before
    assert _mode(shared / "logs") == 0o700


def test_a_file_where_the_folder_should_be_is_an_os_error_naming_it(tmp_path):
    home = tmp_path / "home"
    home.write_text("not a folder")
    with pytest.raises(NotADirectoryError) as caught:
        paths.ensure_private_dir(home)
    assert caught.value.filename == str(home)
    assert home.read_text() == "not a folder"


def test_writable_by_others_sees_group_and_world_write(tmp_path):
    folder = tmp_path / "f"
    folder.mkdir()
    for mode, expected in ((0o700, False), (0o755, False), (0o770, True), (0o1777, True), (0o702, True)):
        os.chmod(folder, mode)
        assert paths.writable_by_others(folder) is expected, oct(mode)
