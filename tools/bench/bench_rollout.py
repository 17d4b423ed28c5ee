"""Cost of reading new rollout lines, beside the rollout's total size.

    .venv/bin/python tools/bench/bench_rollout.py

Target (issue 4): reading 1,000 new lines under 10 ms, and a cost independent of the file's size.
Two rollouts are built side by side, with a 1 MB and a 200 MB prefix of realistic lines. A reader
opens each at its end (as for a resumed session), then 1,000 new lines are appended and polled,
ROUNDS times. Two mixes: a realistic turn mix, and a worst case where every line is a token_count
(every line decoded). The first-open column is the cost of opening a reader at the end of the file.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from supervisor.adapters.rollout import RolloutReader  # noqa: E402

NEW_LINES = 1000
ROUNDS = 30
PREFIXES_MB = (1, 200)
NOW = 1795561614.0


def _line(record: dict) -> bytes:
    return (json.dumps(record, separators=(",", ":")) + "\n").encode()


def token_count(used: float) -> bytes:
    return _line({"timestamp": "2026-11-24T23:13:35.298Z", "type": "event_msg", "payload": {
        "type": "token_count", "info": {"total_token_usage": {"input_tokens": 1200, "cached_input_tokens": 200,
                                                              "output_tokens": 34, "total_tokens": 1234},
                                        "model_context_window": 258400},
        "rate_limits": {"limit_id": "codex", "limit_name": None,
                        "primary": {"used_percent": used, "window_minutes": 300, "resets_at": 1795565615},
                        "secondary": {"used_percent": 7.0, "window_minutes": 10080, "resets_at": 1795994015},
                        "credits": None, "plan_type": None, "rate_limit_reached_type": None}}})


def turn(index: int) -> list[bytes]:
    """One realistic turn: context, prompt, tool calls and outputs, the answer, token_count, complete."""
    output = "line of tool output\n" * 40
    return [
        _line({"type": "event_msg", "payload": {"type": "task_started", "turn_id": f"t{index}"}}),
        _line({"type": "turn_context", "payload": {"cwd": "/work/project", "model": "gpt-6", "approval": "never"}}),
        _line({"type": "response_item", "payload": {"type": "message", "role": "user",
                                                     "content": [{"type": "input_text", "text": f"prompt {index}"}]}}),
        *[_line({"type": "response_item", "payload": {"type": "function_call_output", "call_id": f"c{index}-{k}",
                                                       "output": output}}) for k in range(4)],
        *[_line({"type": "event_msg", "payload": {"type": "agent_reasoning", "text": "thinking " * 30}})
          for _ in range(2)],
        _line({"type": "response_item", "payload": {"type": "message", "role": "assistant",
                                                     "content": [{"type": "output_text", "text": "done " * 60}]}}),
        token_count(float(index % 90)),
        _line({"type": "event_msg", "payload": {"type": "task_complete", "turn_id": f"t{index}", "error": None}}),
    ]


def realistic_lines(count: int) -> bytes:
    lines: list[bytes] = []
    index = 0
    while len(lines) < count:
        lines += turn(index)
        index += 1
    return b"".join(lines[:count])


def worst_case_lines(count: int) -> bytes:
    return b"".join(token_count(float(i % 90)) for i in range(count))


def build_prefix(path: Path, megabytes: int) -> None:
    block = realistic_lines(400)
    target = megabytes * 1_000_000
    with open(path, "wb") as handle:
        written = 0
        while written < target:
            handle.write(block)
            written += len(block)


def measure(path: Path, batch: bytes) -> tuple[float, list[float]]:
    started = time.perf_counter()
    reader = RolloutReader(path, start_at_end=True)
    reader.poll(NOW)
    first_open = time.perf_counter() - started
    timings = []
    for round_index in range(ROUNDS):
        with open(path, "ab") as handle:
            handle.write(batch)
        started = time.perf_counter()
        events = reader.poll(NOW + round_index)
        timings.append(time.perf_counter() - started)
        assert events, "the new lines produced no events"
    assert reader.stats.lines == ROUNDS * NEW_LINES and reader.stats.malformed == 0
    reader.close()
    return first_open, timings


def main() -> int:
    mixes = {"realistic": realistic_lines(NEW_LINES), "all token_count": worst_case_lines(NEW_LINES)}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for megabytes in PREFIXES_MB:
            path = Path(tmp) / f"rollout-{megabytes}mb.jsonl"
            for mix, batch in mixes.items():
                build_prefix(path, megabytes)
                prefix_size = path.stat().st_size
                first_open, timings = measure(path, batch)
                rows.append((megabytes, mix, len(batch), prefix_size, first_open, timings))
            path.unlink()
    print(f"Reading {NEW_LINES} new rollout lines ({ROUNDS} rounds each; target < 10 ms, size-independent)")
    print(f"{'prefix':>8} {'mix':<16} {'batch KB':>8} {'open ms':>8} {'median ms':>10} {'p95 ms':>8} {'max ms':>8}")
    medians: dict[tuple[int, str], float] = {}
    for megabytes, mix, batch_size, _, first_open, timings in rows:
        ordered = sorted(timings)
        median = statistics.median(ordered) * 1000
        medians[(megabytes, mix)] = median
        print(f"{megabytes:>6}MB {mix:<16} {batch_size / 1024:>8.0f} {first_open * 1000:>8.2f} {median:>10.2f} "
              f"{ordered[int(len(ordered) * 0.95) - 1] * 1000:>8.2f} {ordered[-1] * 1000:>8.2f}")
    small, large = PREFIXES_MB
    for mix in mixes:
        ratio = medians[(large, mix)] / medians[(small, mix)]
        print(f"ratio {large}MB/{small}MB median ({mix}): {ratio:.2f}")
    worst = max(medians.values())
    print(f"worst median {worst:.2f} ms: {'PASS' if worst < 10 else 'FAIL'} (< 10 ms)")
    return 0 if worst < 10 else 1


if __name__ == "__main__":
    sys.exit(main())
