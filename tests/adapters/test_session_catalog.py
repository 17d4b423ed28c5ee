"""The session catalog: every account's sessions from the real CODEX_HOME, in Codex's --last order."""

from __future__ import annotations

import builtins
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from supervisor.adapters import session_catalog
from supervisor.adapters.session_catalog import SCREEN_BYTES, latest_session, list_sessions

from ..fakes.rollouts import meta_line, session_id, write_rollout

NOW = time.time()
DAY = 86400.0


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "codex").mkdir()
    return tmp_path / "codex"


@pytest.fixture
def work(tmp_path: Path) -> str:
    (tmp_path / "work").mkdir()
    return str(tmp_path / "work")


def ids(sessions) -> list[str]:
    return [s.session_id for s in sessions]


def test_newest_update_first_even_when_the_session_started_days_ago(home, work):
    sessions = home / "sessions"
    resumed = write_rollout(sessions, session_id(1), work, NOW - 3 * DAY, updated=NOW - 10, account="acct-A")
    write_rollout(sessions, session_id(2), work, NOW - 3600, updated=NOW - 3000, account="acct-B")
    write_rollout(sessions, session_id(3), work, NOW - 2 * DAY, updated=NOW - 2 * DAY, account="acct-B")
    found = list_sessions(home, cwd=work)
    assert ids(found) == [session_id(1), session_id(2), session_id(3)]
    first = found[0]
    assert first.cwd == work and first.rollout_path == resumed
    assert first.updated_at == pytest.approx(NOW - 10)
    assert first.started_at == pytest.approx(int(NOW - 3 * DAY), abs=1)
    assert first.title_hint == "hello from the test"


def test_cwd_filter_all_folders_and_symlinked_cwd(home, work, tmp_path):
    sessions = home / "sessions"
    other = tmp_path / "other"
    other.mkdir()
    write_rollout(sessions, session_id(1), work, NOW - 100)
    write_rollout(sessions, session_id(2), str(other), NOW - 50)
    assert ids(list_sessions(home, cwd=work)) == [session_id(1)]
    assert ids(list_sessions(home, cwd=None)) == [session_id(2), session_id(1)]
    link = tmp_path / "link-to-work"
    link.symlink_to(work)
    assert ids(list_sessions(home, cwd=str(link))) == [session_id(1)]
    assert list_sessions(home, cwd=str(tmp_path / "elsewhere")) == []


def test_non_interactive_sessions_only_on_request(home, work):
    sessions = home / "sessions"
    write_rollout(sessions, session_id(1), work, NOW - 300)
    write_rollout(sessions, session_id(2), work, NOW - 200, source="exec")
    write_rollout(sessions, session_id(3), work, NOW - 100, source={"subagent": "review"})
    write_rollout(sessions, session_id(4), work, NOW - 50, source="vscode")
    assert ids(list_sessions(home, cwd=work)) == [session_id(4), session_id(1)]
    assert ids(list_sessions(home, cwd=work, include_non_interactive=True)) == [
        session_id(4), session_id(3), session_id(2), session_id(1)]


def test_latest_session_is_codex_last(home, work, tmp_path):
    sessions = home / "sessions"
    assert latest_session(home, work) is None
    write_rollout(sessions, session_id(1), work, NOW - 300)
    write_rollout(sessions, session_id(2), work, NOW - 200, source="exec")
    write_rollout(sessions, session_id(3), str(tmp_path), NOW - 100)
    latest = latest_session(home, work)
    assert latest.session_id == session_id(1) and latest.title_hint is None  # no title needed for --last
    assert latest_session(home, work, include_non_interactive=True).session_id == session_id(2)
    assert latest_session(home, None).session_id == session_id(3)


def test_limit(home, work):
    for n in range(8):
        write_rollout(home / "sessions", session_id(n), work, NOW - 1000 + n)
    assert ids(list_sessions(home, cwd=work, limit=3)) == [session_id(7), session_id(6), session_id(5)]
    assert list_sessions(home, cwd=work, limit=0) == []


def test_title_is_the_first_real_prompt_on_one_safe_line(home, work):
    sessions = home / "sessions"
    write_rollout(sessions, session_id(1), work, NOW - 300, prompt="fix\nthe \x1b]0;pwned\x07 build\tplease")
    write_rollout(sessions, session_id(2), work, NOW - 200, prompt="x" * 500)
    write_rollout(sessions, session_id(3), work, NOW - 100, prompt=None)
    by_id = {s.session_id: s for s in list_sessions(home, cwd=work)}
    assert by_id[session_id(1)].title_hint == "fix the \\x1b]0;pwned\\x07 build please"
    long_title = by_id[session_id(2)].title_hint
    assert len(long_title) == session_catalog.TITLE_MAX_CHARS and long_title.endswith("…")
    assert by_id[session_id(3)].title_hint is None
    assert "hello" not in repr(by_id[session_id(1)]) and "fix" not in repr(by_id[session_id(1)])


def test_unusable_files_and_folders_are_skipped(home, work):
    sessions = home / "sessions"
    good = write_rollout(sessions, session_id(1), work, NOW - 100)
    day = good.parent
    (day / "rollout-2026-01-01T00-00-00-garbage.jsonl").write_text("not json at all\n")
    (day / "rollout-2026-01-01T00-00-01-notmeta.jsonl").write_text('{"type":"event_msg","payload":{}}\n')
    (day / "rollout-2026-01-01T00-00-02-partial.jsonl").write_text(json.dumps(meta_line("x", work, NOW))[:200])
    (day / "rollout-2026-01-01T00-00-03-empty.jsonl").write_text("")
    (day / "rollout-2026-01-01T00-00-04-noid.jsonl").write_text(
        '{"type":"session_meta","payload":{"cwd":' + json.dumps(work) + '}}\n')
    (day / "notes.jsonl").write_text(json.dumps(meta_line(session_id(9), work, NOW)) + "\n")
    (sessions / "archive" / "01" / "01").mkdir(parents=True)
    write_rollout(sessions / "archive" / "01" / "01", session_id(8), work, NOW)  # not a date folder
    (sessions / "2026" / "notes.txt").parent.mkdir(parents=True, exist_ok=True)
    (sessions / "2026" / "notes.txt").write_text("x")
    assert ids(list_sessions(home, cwd=work)) == [session_id(1)]
    assert list_sessions(home / "missing", cwd=work) == []


class CountingFile:
    """A binary file whose reads are added up."""

    def __init__(self, handle, counter: dict) -> None:
        self._handle = handle
        self._counter = counter

    def readline(self, size: int = -1) -> bytes:
        line = self._handle.readline(size)
        self._counter["bytes"] += len(line)
        return line

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self._handle.close()


def count_reads(monkeypatch) -> dict:
    counter = {"opens": 0, "bytes": 0, "paths": []}
    real_open = builtins.open

    def counting_open(path, mode="r", *args, **kwargs):
        handle = real_open(path, mode, *args, **kwargs)
        if "b" in mode and str(path).endswith(".jsonl"):
            counter["opens"] += 1
            counter["paths"].append(str(path))
            return CountingFile(handle, counter)
        return handle

    monkeypatch.setattr(builtins, "open", counting_open)
    return counter


def test_a_mismatch_is_settled_from_the_first_bytes(home, work, tmp_path, monkeypatch):
    other = write_rollout(home / "sessions", session_id(1), str(tmp_path), NOW - 100)
    exec_run = write_rollout(home / "sessions", session_id(2), work, NOW - 50, source="exec")
    # The base instructions make both meta lines long.
    assert min(other.stat().st_size, exec_run.stat().st_size) > 2 * SCREEN_BYTES
    counter = count_reads(monkeypatch)
    assert list_sessions(home, cwd=work) == []
    assert counter["opens"] == 2 and counter["bytes"] <= 2 * SCREEN_BYTES


def test_meta_with_cwd_after_the_screen_is_still_filtered(home, work, tmp_path):
    """A writer that puts cwd after the long instructions: the screen is unsure, the full line decides."""
    sid = session_id(1)
    record = meta_line(sid, str(tmp_path), NOW)
    payload = record["payload"]
    payload["cwd"] = payload.pop("cwd")  # moved to the end of the object
    path = write_rollout(home / "sessions", sid, str(tmp_path), NOW)
    lines = path.read_text().splitlines(keepends=True)
    path.write_text(json.dumps(record, separators=(", ", ": ")) + "\n" + "".join(lines[1:]))
    assert list_sessions(home, cwd=work) == []
    assert ids(list_sessions(home, cwd=str(tmp_path))) == [sid]


@pytest.fixture(scope="module")
def crowded_home():
    """A CODEX_HOME with 100,000 old rollouts (100 date folders of 1,000) plus 60 recent ones."""
    base = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    root = Path(tempfile.mkdtemp(dir=base, prefix="codex-fsm-catalog-"))
    home = root / "codex"
    work = root / "work"
    work.mkdir()
    sessions = home / "sessions"
    old_started = NOW - 400 * DAY
    for day in range(100):
        folder = sessions / "2024" / f"{1 + day // 28:02d}" / f"{1 + day % 28:02d}"
        folder.mkdir(parents=True)
        folder_fd = os.open(folder, os.O_RDONLY)
        try:
            for i in range(1000):
                sid = session_id(1_000_000 + day * 1000 + i)
                line = json.dumps(meta_line(sid, "/srv/old-project", old_started, instructions="…"),
                                  separators=(",", ":"))
                fd = os.open(f"rollout-2024-01-01T00-00-00-{sid}.jsonl", os.O_CREAT | os.O_WRONLY, 0o600,
                             dir_fd=folder_fd)
                os.write(fd, line.encode() + b"\n")
                os.close(fd)
                # Old on disk too, not just by name: a slow run must not make them newer than the recent ones.
                os.utime(f"rollout-2024-01-01T00-00-00-{sid}.jsonl", (old_started, old_started), dir_fd=folder_fd)
        finally:
            os.close(folder_fd)
    for n in range(60):
        write_rollout(sessions, session_id(n), str(work), NOW - 3600 + n, updated=NOW + n)
    yield home, str(work)
    shutil.rmtree(root)


def test_cost_is_bounded_with_100000_old_rollouts(crowded_home, monkeypatch):
    home, work = crowded_home
    counter = count_reads(monkeypatch)
    found = list_sessions(home, cwd=work, limit=50)
    assert ids(found) == [session_id(n) for n in range(59, 9, -1)]
    assert counter["opens"] == 50

    counter["opens"] = 0
    assert latest_session(home, work).session_id == session_id(59)
    assert counter["opens"] == 1


def test_no_match_reads_at_most_max_scanned_heads(crowded_home, monkeypatch, tmp_path):
    home, _ = crowded_home
    counter = count_reads(monkeypatch)
    assert latest_session(home, str(tmp_path), max_scanned=500) is None
    assert counter["opens"] == 500
    counter["opens"] = 0
    assert latest_session(home, str(tmp_path)) is None
    assert counter["opens"] == session_catalog.MAX_SCANNED < 100_000


def test_counting_file_wrapper_sees_every_read(tmp_path, monkeypatch):
    """The helper above must not hide reads: a plain file read through it is counted in full."""
    target = tmp_path / "x.jsonl"
    target.write_bytes(b"abc\ndef\n")
    counter = count_reads(monkeypatch)
    with open(target, "rb") as handle:
        assert handle.readline() + handle.readline() == b"abc\ndef\n"
    assert counter == {"opens": 1, "bytes": 8, "paths": [str(target)]}
