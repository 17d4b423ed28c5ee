"""tools/scrub_log.py: placeholders replace ids consistently (the log still replays); secrets are refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from supervisor.chartfile import load_default_chart
from supervisor.replay import parse_log, replay
from tools.scrub_log import scrub

GOLDEN = Path(__file__).resolve().parent / "replays" / "prewarm_rotate_resume_quit.jsonl"


def test_scrubbed_log_still_replays_with_placeholder_ids():
    original = GOLDEN.read_text()
    scrubbed = scrub(original)
    assert "a-1f0c9e2d7b" in original and "a-1f0c9e2d7b" not in scrubbed
    assert "01a20fd6-0841-7b11-bef0-67e429d6e15c" not in scrubbed
    assert "a-scrubbed01" in scrubbed and "a-scrubbed02" in scrubbed
    header, records = parse_log(scrubbed)
    assert replay(header, records, load_default_chart()).final_state == "exited"


def test_a_secret_looking_value_is_refused():
    lines = GOLDEN.read_text().splitlines()
    record = json.loads(lines[-1])
    record["commands"].insert(0, {"type": "Notify", "kind": "note", "params": [["who", "alice@example.com"]]})
    lines[-1] = json.dumps(record)
    with pytest.raises(SystemExit, match="secret-looking"):
        scrub("\n".join(lines) + "\n")
