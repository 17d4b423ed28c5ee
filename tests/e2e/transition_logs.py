"""The transition logs a supervised run wrote: they must replay, and can be kept as golden-log material."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from supervisor.demo.fake_backend.world import SupervisedWorld


def assert_logs_replay(world: SupervisedWorld) -> list[dict[str, object]]:
    """Every transition log of the run replays cleanly; returns the records of the newest one."""
    logs = world.transition_logs()
    assert logs, "codex-fsm wrote no transition log"
    for log in logs:
        assert "replayed" in world.codex_fsm("replay", str(log)).stdout
    keep = os.environ.get("CODEX_FSM_KEEP_E2E_LOGS")
    if keep:  # raw material for the real-Codex golden logs (tools/scrub_log.py)
        test_name = os.environ["PYTEST_CURRENT_TEST"].split("::")[-1].split(" ")[0]
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(logs[-1], Path(keep) / f"{test_name}.jsonl")
    return [json.loads(line) for line in logs[-1].read_text(encoding="utf-8").splitlines()]


def rows(records: list[dict[str, object]]) -> list[str]:
    return [str(r["row"]) for r in records if r.get("kind") == "transition"]
