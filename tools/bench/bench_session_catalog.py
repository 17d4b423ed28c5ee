"""Cost of ``codex-fsm resume --last`` and of the resume picker's list, beside the number of old rollouts.

    .venv/bin/python tools/bench/bench_session_catalog.py

Two CODEX_HOMEs side by side: 1,000 and 100,000 old rollouts (in 2024 date folders, another cwd),
plus 60 recent sessions in the user's folder. Old rollouts that the scan cap can reach carry a
realistic 20 KB session_meta line (Codex's base instructions); beyond the cap they are small, since
they are never opened. Warm page cache, median of ROUNDS. Three cases: ``--last`` (latest_session),
the picker's list (list_sessions, 50), and the worst case: ``--last`` in a folder with no session, which
reads the head of every file up to the scan cap.
"""

from __future__ import annotations

import builtins
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from supervisor.adapters.session_catalog import MAX_SCANNED, latest_session, list_sessions  # noqa: E402

OLD_COUNTS = (1_000, 100_000)
RECENT = 60
ROUNDS = 7
PER_FOLDER = 1000
INSTRUCTIONS = "You are Codex, a coding agent. " * 650  # about 20 KB, as in a real session_meta


def meta(session_id: str, cwd: str, instructions: str) -> bytes:
    record = {"timestamp": "2024-01-01T00:00:00.000Z", "type": "session_meta",
              "payload": {"id": session_id, "timestamp": "2024-01-01T00:00:00.000Z", "cwd": cwd,
                          "originator": "codex-tui", "cli_version": "0.169.0", "source": "cli",
                          "base_instructions": {"text": instructions}}}
    return (json.dumps(record, separators=(",", ":")) + "\n").encode()


def prompt_line(text: str) -> bytes:
    record = {"type": "response_item", "payload": {"type": "message", "role": "user",
                                                    "content": [{"type": "input_text", "text": text}]}}
    return (json.dumps(record, separators=(",", ":")) + "\n").encode()


def build_home(root: Path, old: int, work: str) -> Path:
    home = root / f"codex-{old}"
    sessions = home / "sessions"
    folders = (old + PER_FOLDER - 1) // PER_FOLDER
    made = 0
    for day in range(folders):
        folder = sessions / "2024" / f"{1 + day // 28:02d}" / f"{1 + day % 28:02d}"
        folder.mkdir(parents=True)
        folder_fd = os.open(folder, os.O_RDONLY)
        try:
            for i in range(min(PER_FOLDER, old - made)):
                sid = f"01a20fd6-0000-7000-8000-{day:06d}{i:06d}"
                # The newest folders come first in the walk: those within the cap get realistic heads.
                realistic = (folders - day) * PER_FOLDER <= MAX_SCANNED + PER_FOLDER
                fd = os.open(f"rollout-2024-01-01T00-00-00-{sid}.jsonl", os.O_CREAT | os.O_WRONLY, 0o600,
                             dir_fd=folder_fd)
                os.write(fd, meta(sid, "/srv/old-project", INSTRUCTIONS if realistic else "…")
                         + prompt_line(f"old prompt {i}"))
                os.close(fd)
                made += 1
        finally:
            os.close(folder_fd)
    today = sessions / time.strftime("%Y/%m/%d")
    today.mkdir(parents=True)
    now = time.time()
    for n in range(RECENT):
        sid = f"01a20fd6-0000-7000-9000-{n:012d}"
        path = today / f"rollout-{time.strftime('%Y-%m-%dT%H-%M-%S')}-{sid}.jsonl"
        path.write_bytes(meta(sid, work, INSTRUCTIONS) + prompt_line(f"recent prompt {n}"))
        os.utime(path, (now + n, now + n))
    return home


def measure(call) -> tuple[float, int]:
    """Median milliseconds of ``call`` and the files it opened (one round)."""
    opened = 0
    real_open = builtins.open

    def counting(path, *args, **kwargs):
        nonlocal opened
        opened += 1
        return real_open(path, *args, **kwargs)

    call()  # warm the page cache
    times = []
    for _ in range(ROUNDS):
        opened = 0
        builtins.open = counting
        try:
            start = time.perf_counter()
            call()
            times.append((time.perf_counter() - start) * 1000)
        finally:
            builtins.open = real_open
    return statistics.median(times), opened


def main() -> None:
    base = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    root = Path(tempfile.mkdtemp(dir=base, prefix="bench-catalog-"))
    try:
        work, empty = str(root / "work"), str(root / "empty")
        os.mkdir(work)
        os.mkdir(empty)
        homes = {old: build_home(root, old, work) for old in OLD_COUNTS}
        cases = {
            "resume --last": lambda home: latest_session(home, work),
            "picker list (50)": lambda home: list_sessions(home, cwd=work, limit=50),
            "--last, no match": lambda home: latest_session(home, empty),
        }
        header = "".join(f"{f'{old:,} old: ms':>18}{'opens':>8}" for old in OLD_COUNTS)
        print(f"{'case':<20}{header}{'ratio':>8}")
        for name, case in cases.items():
            figures = [measure(lambda home=home, case=case: case(home)) for home in homes.values()]
            cells = "".join(f"{ms:>18.2f}{opens:>8}" for ms, opens in figures)
            print(f"{name:<20}{cells}{figures[-1][0] / figures[0][0]:>8.2f}")
        print(f"(scan cap {MAX_SCANNED:,} files; {ROUNDS} rounds, median, warm cache; files in {base or 'tmp'})")
    finally:
        shutil.rmtree(root)


if __name__ == "__main__":
    main()
