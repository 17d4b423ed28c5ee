"""Rollout trees generated at test time, shaped like Codex 0.169's."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

# Codex writes its base instructions (tens of kilobytes) into session_meta, after cwd and source.
BASE_INSTRUCTIONS = "You are Codex, a coding agent. " * 700


def session_id(n: int) -> str:
    return f"01a20fd6-0000-7000-8000-{n:012x}"


def rollout_path(sessions: Path, sid: str, started: float) -> Path:
    folder = sessions / time.strftime("%Y/%m/%d", time.localtime(started))
    stamp = time.strftime("%Y-%m-%dT%H-%M-%S", time.localtime(started))
    return folder / f"rollout-{stamp}-{sid}.jsonl"


def meta_line(sid: str, cwd: str, started: float, source: object = "cli", account: str = "acct-fake-0001",
              instructions: str = BASE_INSTRUCTIONS) -> dict:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(started))
    return {"timestamp": stamp, "ordinal": 0, "type": "session_meta",
            "payload": {"account_scoped": True, "creator_user_id": "user-fake", "creator_account_id": account,
                        "session_id": sid, "id": sid, "timestamp": stamp, "cwd": cwd,
                        "originator": "codex_exec" if source == "exec" else "codex-tui", "cli_version": "0.169.0",
                        "source": source, "model_provider": "openai",
                        "base_instructions": {"text": instructions}, "history_mode": "paginated"}}


def _message(role: str, text: str) -> dict:
    return {"type": "response_item", "payload": {"type": "message", "role": role,
                                                 "content": [{"type": "input_text", "text": text}]}}


def write_rollout(sessions: Path, sid: str, cwd: str, started: float, *, updated: float | None = None,
                  prompt: str | None = "hello from the test", source: object = "cli",
                  account: str = "acct-fake-0001") -> Path:
    """A rollout as Codex leaves it after one turn: meta, context items, the prompt, the answer."""
    path = rollout_path(sessions, sid, started)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [meta_line(sid, cwd, started, source, account),
             {"type": "event_msg", "payload": {"type": "task_started"}},
             _message("developer", "<permissions instructions>sandboxed</permissions instructions>"),
             _message("user", "<environment_context>\n  <cwd>" + cwd + "</cwd>\n</environment_context>"),
             {"type": "turn_context", "payload": {"cwd": cwd, "model": "gpt-5.5"}}]
    if prompt is not None:
        lines += [_message("user", prompt), {"type": "event_msg", "payload": {"type": "task_complete"}}]
    path.write_text("".join(json.dumps(line, separators=(",", ":")) + "\n" for line in lines))
    stamp = started if updated is None else updated
    os.utime(path, (stamp, stamp))
    return path
