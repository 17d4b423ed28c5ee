"""Reading what Codex wrote: rollout files and the resume hint."""

from __future__ import annotations

import json
import re
from pathlib import Path

RESUME_HINT = r"codex resume ([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"


def rollout_files(codex_home: Path) -> list[Path]:
    return sorted((codex_home / "sessions").glob("*/*/*/rollout-*.jsonl"))


def rollout_lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def event_payloads(path: Path, event_type: str) -> list[dict[str, object]]:
    """The payloads of `event_msg` lines of one type (token_count, task_complete, ...)."""
    payloads = []
    for line in rollout_lines(path):
        payload = line.get("payload")
        if line.get("type") == "event_msg" and isinstance(payload, dict) and payload.get("type") == event_type:
            payloads.append(payload)
    return payloads


def resume_session_id(raw_output: str) -> str:
    match = re.search(RESUME_HINT, raw_output)
    if not match:
        raise AssertionError(f"no `codex resume <id>` hint in the output:\n{raw_output[-2000:]}")
    return match.group(1)
