"""Write tests/replays/<scenario>.jsonl from tools/golden_scenarios.py (run after a deliberate change).

    .venv/bin/python tools/record_golden.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from supervisor.adapters.log_file import TransitionLog  # noqa: E402
from supervisor.chartfile import load_default_chart  # noqa: E402
from supervisor.core.session import Session  # noqa: E402
from supervisor.errors import InvalidTransition  # noqa: E402
from tools.golden_scenarios import SCENARIOS, T0  # noqa: E402


def record(scenario, directory: Path) -> Path:
    chart = load_default_chart()
    path = directory / f"{scenario.name}.jsonl"
    path.unlink(missing_ok=True)
    session = Session(chart, scenario.settings)
    with TransitionLog.create(path, chart, scenario.settings, started_at=T0) as log:
        for event in scenario.events:
            try:
                log.append(session.handle(event))
            except InvalidTransition as exc:
                log.append(exc.record)
    return path


def main() -> int:
    directory = ROOT / "tests" / "replays"
    for factory in SCENARIOS:
        print(record(factory(), directory).relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
