"""The headless child: the user's own descriptors (no pty), the stop ladder as signals to the child
alone, its exit status (a death by signal as the signal), and codex-fsm's notices on stderr only."""

from __future__ import annotations

import os
import signal
import sys

from supervisor.adapters.headless_child import HeadlessChild, StderrNotices

PY = sys.executable


def _wait(child: HeadlessChild):
    status = child.wait_exit(timeout_s=20)
    assert status is not None, "the child did not end"
    return status


def test_the_child_writes_to_the_descriptors_it_inherited_byte_for_byte(tmp_path):
    out = tmp_path / "out"
    script = ("import os, sys; sys.stdout.buffer.write(b'\\x1b[1mbold\\x00\\xff\\n');"
              "print(os.isatty(0), os.isatty(1), file=sys.stderr)")
    with open(out, "wb") as stdout, open(tmp_path / "err", "wb") as stderr, open(os.devnull) as stdin:
        saved = os.dup(1), os.dup(2), os.dup(0)
        os.dup2(stdout.fileno(), 1), os.dup2(stderr.fileno(), 2), os.dup2(stdin.fileno(), 0)
        try:
            child = HeadlessChild([PY, "-c", script], dict(os.environ), str(tmp_path), None)
        finally:
            for fd, original in zip((1, 2, 0), saved, strict=True):
                os.dup2(original, fd)
                os.close(original)
        assert _wait(child).code == 0
    assert out.read_bytes() == b"\x1b[1mbold\x00\xff\n"
    assert (tmp_path / "err").read_text() == "False False\n"
    assert child.fd is None and child.read() == b""  # nothing passes through codex-fsm


def test_a_continuation_gets_the_stdin_it_is_given(tmp_path):
    read, write = os.pipe()
    os.write(write, b"left over from the first run")
    os.close(write)
    devnull = os.open(os.devnull, os.O_RDONLY)
    try:
        child = HeadlessChild([PY, "-c", "import sys; sys.exit(len(sys.stdin.read()))"], dict(os.environ),
                              str(tmp_path), devnull)
    finally:
        os.close(devnull)
        os.close(read)
    assert _wait(child).code == 0


def test_each_rung_of_the_ladder_is_its_signal_and_a_death_by_signal_reports_the_signal(tmp_path):
    ready = tmp_path / "ready"
    script = ("import signal, time, pathlib, sys\n"
              "signal.signal(signal.SIGINT, lambda *_: sys.exit(42))\n"
              f"pathlib.Path({str(ready)!r}).write_text('1')\n"
              "time.sleep(60)\n")
    child = HeadlessChild([PY, "-c", script], dict(os.environ), str(tmp_path), None)
    _until(ready.exists)
    child.stop("interrupt", 0.0)
    assert _wait(child).code == 42  # Codex's own handling of SIGINT decides its status
    child = HeadlessChild([PY, "-c", "import time; time.sleep(60)"], dict(os.environ), str(tmp_path), None)
    child.stop("kill", 0.0)
    status = _wait(child)
    assert (status.code, status.signal) == (None, signal.SIGKILL)
    child.stop("terminate", 0.0)  # after the end: nothing to signal, no error


def test_a_missing_binary_is_a_spawn_error_naming_it(tmp_path):
    from supervisor.errors import ChildSpawnError

    try:
        HeadlessChild([str(tmp_path / "no-codex")], dict(os.environ), str(tmp_path), None)
    except ChildSpawnError as exc:
        assert "no-codex" in str(exc)
    else:
        raise AssertionError("no error")


def test_notices_go_to_stderr_one_line_each_and_restore_writes_nothing():
    read, write = os.pipe()
    notices = StderrNotices(write)
    notices.notice(b"codex-fsm: exec moved from work-1 to work-2: usage limit reached")
    notices.restore()
    os.close(write)
    assert os.read(read, 4096) == b"codex-fsm: exec moved from work-1 to work-2: usage limit reached\n"
    os.close(read)


def _until(condition) -> None:
    import time

    deadline = time.monotonic() + 20
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)
