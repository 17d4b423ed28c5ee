"""Session binding with 100,000 old rollouts on disk, side by side with the reference's approach
(walk the whole sessions tree, newest mtime first, read session_meta until the cwd matches).

* codex-fsm, live child: the child's open files under /proc (lock file, then the rollout);
* codex-fsm, fallback: the bounded scan of today's and yesterday's date folders;
* reference-style walk over every rollout.

Run: .venv/bin/python tools/bench/bench_binding.py
Target (issue 5): binding <= 50 ms with 100,000 old rollouts on disk.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from supervisor.adapters.binding import date_folders, from_open_files, scan_recent  # noqa: E402
from _table import print_table  # noqa: E402  (beside this script)

OLD_ROLLOUTS = 100_000
REPEATS = 5
SESSION = "01a20fe2-fcf0-7000-8000-0000000000aa"


def _populate(root: Path, cwd: str, now: float) -> None:
    for day in range(100):  # 100 old date folders x 1,000 rollouts, each with a session_meta line
        folder = root / "2025" / f"{1 + day // 28:02d}" / f"{1 + day % 28:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(folder, os.O_RDONLY)
        for i in range(OLD_ROLLOUTS // 100):
            session = f"00000000-0000-7000-8000-{day:04d}{i:08d}"
            name = f"rollout-2025-01-01T00-00-00-{session}.jsonl"
            line = json.dumps({"type": "session_meta", "payload": {"id": session, "cwd": cwd,
                                                                    "timestamp": "2025-01-01T00:00:00.000Z"}})
            out = os.open(name, os.O_CREAT | os.O_WRONLY, 0o600, dir_fd=fd)
            os.write(out, line.encode() + b"\n")
            os.close(out)
        os.close(fd)
    today = date_folders(root, now)[0]
    today.mkdir(parents=True, exist_ok=True)
    meta = {"type": "session_meta", "payload": {"id": SESSION, "cwd": cwd, "timestamp": time.strftime(
        "%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(now))}}
    (today / f"rollout-{time.strftime('%Y-%m-%dT%H-%M-%S')}-{SESSION}.jsonl").write_text(json.dumps(meta) + "\n")


def reference_walk(root: Path, cwd: str) -> str | None:
    """Every *.jsonl under the root, newest first, first session_meta whose cwd matches."""
    files = []
    for folder, _, names in os.walk(root):
        for name in names:
            if name.endswith(".jsonl"):
                path = os.path.join(folder, name)
                files.append((os.stat(path).st_mtime, path))
    for _, path in sorted(files, reverse=True):
        with open(path) as handle:
            payload = json.loads(handle.readline()).get("payload", {})
        if payload.get("cwd") == cwd:
            return payload["id"]
    return None


def _time(fn) -> tuple[float, object]:
    samples, result = [], None
    for _ in range(REPEATS):
        start = time.perf_counter()
        result = fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples), result


def main() -> int:
    base = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    work = Path(tempfile.mkdtemp(prefix="codex-fsm-bench-binding-", dir=base))
    try:
        root = work / "sessions"
        cwd = str(work)
        now = time.time()
        _populate(root, cwd, now)
        holder = subprocess.Popen([sys.executable, "-c", "import sys,time; f=open(sys.argv[1],'a'); "
                                   "print('ok',flush=True); sys.stdin.read()", str(next(root.rglob(f"*{SESSION}*")))],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        holder.stdout.readline()
        live_ms, live = _time(lambda: from_open_files(holder.pid))
        holder.stdin.close()
        holder.wait()
        scan_ms, scanned = _time(lambda: scan_recent(root, cwd, now - 5, now))
        ref_ms, ref = _time(lambda: reference_walk(root, cwd))
        assert live.session_id == SESSION and scanned.session_id == SESSION and ref == SESSION
    finally:
        shutil.rmtree(work)
    rows = [
        ("open files of the child (/proc)", f"{live_ms:.2f}", f"{ref_ms / live_ms:.0f} x faster"),
        ("bounded scan, today + yesterday", f"{scan_ms:.2f}", f"{ref_ms / scan_ms:.0f} x faster"),
        ("reference: walk every rollout", f"{ref_ms:.2f}", "1 x"),
    ]
    header = (f"binding with {OLD_ROLLOUTS:,} old rollouts (median of {REPEATS})", "ms", "vs reference")
    print_table(header, rows)
    print("target: <= 50 ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
