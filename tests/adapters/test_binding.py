"""Exact session binding: each child's own open files, and bounded fallbacks."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from supervisor.adapters import binding
from supervisor.adapters.binding import SessionBinder, from_resume_hint, scan_recent
from supervisor.adapters.codex_binary import CodexBinary, child_env
from supervisor.adapters.pty_child import PtyChild

from ..fakes.rig import wait_for

OLD_ID = "01a20fd6-0841-7b11-bef0-67e429d6e15c"


def _spawn_fake(rig, home: Path) -> PtyChild:
    env = child_env(rig.env(), CodexBinary(rig.bin / "codex"), home)
    return PtyChild([str(rig.bin / "codex")], env, str(rig.cwd), (24, 80))


def _drain_until(child: PtyChild, needle: bytes) -> None:
    seen = b""

    def found() -> bool:
        nonlocal seen
        seen += child.read()
        return needle in seen

    wait_for(found, what=needle.decode())


def _rollout(folder: Path, session_id: str, cwd: str, started: float) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"rollout-{time.strftime('%Y-%m-%dT%H-%M-%S', time.localtime(started))}-{session_id}.jsonl"
    meta = {"type": "session_meta", "payload": {
        "id": session_id, "cwd": cwd, "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(started))}}
    path.write_text(json.dumps(meta) + "\n")
    return path


def test_two_sessions_in_one_cwd_each_bind_their_own(rig):
    home = rig.root / "home"
    (home / "sessions").mkdir(parents=True)
    children = [_spawn_fake(rig, home) for _ in range(2)]
    binders = [SessionBinder(c.pid, home / "sessions", str(rig.cwd), time.time(), None) for c in children]
    try:
        for child in children:
            _drain_until(child, b"Ask Codex")
        ids = [wait_for(b.poll, what="lock binding").session_id for b in binders]
        assert ids[0] != ids[1]
        for child in reversed(children):  # the second session's first turn happens first
            child.write(b"go\r")
            _drain_until(child, b"state=done")
        for b, session_id in zip(binders, ids, strict=True):
            found = wait_for(b.poll, what="rollout binding")
            assert found.session_id == session_id
            assert found.rollout_path.name.endswith(f"-{session_id}.jsonl")
    finally:
        for child in children:
            child.stop("kill", time.time())
            wait_for(lambda c=child: c.poll_exit(), what="child reaped")
            child.close()


def test_resume_hint_and_known_id_never_rebind_to_another_session(tmp_path):
    assert from_resume_hint(b"To continue this session, run:\r\n  codex resume " + OLD_ID.encode() + b"\r\n") == OLD_ID
    now = time.time()
    root = tmp_path / "sessions"
    folder = binding.date_folders(root, now)[0]
    _rollout(folder, OLD_ID, str(tmp_path), now - 10)
    newer = "01a20fe2-fcf0-7000-8000-000000000001"
    _rollout(folder, newer, str(tmp_path), now)
    found = scan_recent(root, str(tmp_path), spawned_at=now - 100, now=now, session_id=OLD_ID)
    assert found.session_id == OLD_ID  # a newer session in the same cwd does not win
    assert scan_recent(root, str(tmp_path), spawned_at=now - 100, now=now) is None  # ambiguous: no guess
    assert scan_recent(root, str(tmp_path), spawned_at=now - 1, now=now).session_id == newer


@pytest.fixture
def fast_dir(tmp_path):
    """A tmpfs folder when there is one: creating 100,000 files on this disk takes seconds."""
    base = "/dev/shm" if os.access("/dev/shm", os.W_OK) else str(tmp_path)
    path = Path(tempfile.mkdtemp(dir=base, prefix="codex-fsm-binding-"))
    yield path
    shutil.rmtree(path)


def test_scan_with_100000_old_rollouts_reads_only_recent_folders(fast_dir, monkeypatch):
    tmp_path = fast_dir
    now = time.time()
    root = tmp_path / "sessions"
    old = root / "2025" / "01" / "01"
    old.mkdir(parents=True)
    folder_fd = os.open(old, os.O_RDONLY)
    try:
        for i in range(100_000):
            os.close(os.open(f"rollout-2025-01-01T00-00-00-{i:08d}-0000-7000-8000-000000000000.jsonl",
                             os.O_CREAT | os.O_WRONLY, 0o600, dir_fd=folder_fd))
    finally:
        os.close(folder_fd)
    mine = "01a20fe2-fcf0-7000-8000-0000000000aa"
    _rollout(binding.date_folders(root, now)[0], mine, str(tmp_path), now)
    scanned: list[str] = []
    real_scandir = os.scandir
    monkeypatch.setattr(binding.os, "scandir", lambda p: scanned.append(str(p)) or real_scandir(p))
    found = scan_recent(root, str(tmp_path), spawned_at=now - 1, now=now)
    assert found is not None and found.session_id == mine
    assert all(str(old) != p for p in scanned) and len(scanned) <= 2


def test_a_rollout_the_child_only_reads_never_binds_it(tmp_path):
    """A second Codex in the same folder reads the first one's rollout (it lists recent threads at
    start-up): only what it writes (its own rollout, its own thread lock) names its session."""
    import subprocess
    import sys

    from supervisor.adapters.binding import from_open_files

    folder = tmp_path / "sessions" / "2026" / "12" / "02"
    folder.mkdir(parents=True)
    other = folder / "rollout-2026-12-02T06-20-02-01a23568-fe63-7852-8de8-1fbe27f75eb0.jsonl"
    own = folder / "rollout-2026-12-02T06-20-03-01a23568-ffff-7852-8de8-1fbe27f75eb1.jsonl"
    other.write_text("{}\n")
    script = ("import os, sys, time\n"
              f"r = os.open({str(other)!r}, os.O_RDONLY)\n"
              "sys.stdout.write('reading\\n'); sys.stdout.flush(); sys.stdin.readline()\n"
              f"w = os.open({str(own)!r}, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)\n"
              "sys.stdout.write('writing\\n'); sys.stdout.flush(); sys.stdin.readline()\n")
    child = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline() == "reading\n"
        assert from_open_files(child.pid) is None
        child.stdin.write("\n")
        child.stdin.flush()
        assert child.stdout.readline() == "writing\n"
        found = from_open_files(child.pid)
        assert found is not None and found.session_id == "01a23568-ffff-7852-8de8-1fbe27f75eb1"
        child.stdin.write("\n")
        child.stdin.flush()
    finally:
        child.wait(timeout=20)
