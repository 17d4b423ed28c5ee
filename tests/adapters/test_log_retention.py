"""Transition log names and retention, on an injected clock."""

from __future__ import annotations

import os
from pathlib import Path

from supervisor.adapters.log_retention import list_logs, new_log_path, prune_logs

NOW = 1795564740.0  # 2026-11-24T23:59:00Z
DAY = 86400.0


def make_log(folder: Path, name: str, age_days: float) -> Path:
    path = folder / name
    path.write_text('{"kind":"header"}\n')
    stamp = NOW - age_days * DAY
    os.utime(path, (stamp, stamp))
    return path


def nobody_alive(pid: int) -> bool:
    return False


def test_new_log_path_is_sortable_and_never_reuses_a_file(tmp_path):
    first = new_log_path(tmp_path, NOW, 4242)
    assert first == tmp_path / "session-20261124T235900Z-4242.jsonl"
    first.touch()
    second = new_log_path(tmp_path, NOW, 4242)
    assert second == tmp_path / "session-20261124T235900Z-4242-1.jsonl"
    second.touch()
    assert new_log_path(tmp_path, NOW, 4242).name == "session-20261124T235900Z-4242-2.jsonl"
    later = new_log_path(tmp_path, NOW + 61, 17)
    assert sorted([later.name, first.name]) == [first.name, later.name]
    assert set(list_logs(tmp_path)) == {first, second}


def test_logs_older_than_keep_days_go(tmp_path):
    old = make_log(tmp_path, "session-20261101T000000Z-11.jsonl", 15)
    recent = make_log(tmp_path, "session-20261120T000000Z-12.jsonl", 13.9)
    assert prune_logs(tmp_path, NOW, keep_days=14, max_files=200, is_alive=nobody_alive) == [old]
    assert not old.exists() and recent.exists()


def test_the_oldest_beyond_max_files_go(tmp_path):
    logs = [make_log(tmp_path, f"session-2026112{n}T000000Z-{100 + n}.jsonl", 5 - n) for n in range(5)]
    deleted = prune_logs(tmp_path, NOW, keep_days=14, max_files=3, is_alive=nobody_alive)
    assert sorted(deleted) == logs[:2]
    assert [p.exists() for p in logs] == [False, False, True, True, True]


def test_age_is_the_last_write_not_the_start_in_the_name(tmp_path):
    long_session = make_log(tmp_path, "session-20261001T000000Z-7.jsonl", 1)
    assert prune_logs(tmp_path, NOW, keep_days=14, max_files=200, is_alive=nobody_alive) == []
    assert long_session.exists()


def test_a_live_process_keeps_its_log(tmp_path):
    live = make_log(tmp_path, "session-20261001T000000Z-500.jsonl", 40)
    live_second = make_log(tmp_path, "session-20261001T000000Z-500-1.jsonl", 40)
    dead = make_log(tmp_path, "session-20261001T000000Z-501.jsonl", 40)
    deleted = prune_logs(tmp_path, NOW, keep_days=14, max_files=1, is_alive=lambda pid: pid == 500)
    assert deleted == [dead]
    assert live.exists() and live_second.exists()


def test_our_own_log_is_safe_with_the_real_process_check(tmp_path):
    mine = make_log(tmp_path, f"session-20260101T000000Z-{os.getpid()}.jsonl", 300)
    assert prune_logs(tmp_path, NOW, keep_days=1, max_files=1) == []
    assert mine.exists()


def test_only_files_named_like_logs_are_touched(tmp_path):
    strangers = [make_log(tmp_path, name, 400) for name in (
        "notes.txt", "session-latest.jsonl", "session-20260101T000000Z-1.jsonl.bak",
        "my-session-20260101T000000Z-1.jsonl", "session-20260101T000000Z-x.jsonl")]
    (tmp_path / "session-20260101T000000Z-2.jsonl").mkdir()
    early = make_log(tmp_path, "session-20260101T000000-3.jsonl", 400)  # local-time name of early builds
    assert prune_logs(tmp_path, NOW, keep_days=0, max_files=1, is_alive=nobody_alive) == [early]
    assert all(p.exists() for p in strangers)
    assert (tmp_path / "session-20260101T000000Z-2.jsonl").is_dir()


def test_missing_folder_is_nothing_to_prune(tmp_path):
    assert prune_logs(tmp_path / "absent", NOW, keep_days=1, max_files=1) == []
    assert list_logs(tmp_path / "absent") == []
