"""Scrub a transition log from a real run before it becomes a golden log in tests/replays/.

    .venv/bin/python tools/scrub_log.py RUN.jsonl tests/replays/real_codex_<name>.jsonl

Account ids and session ids are replaced by stable placeholders (the same value everywhere, so the log
still replays), and the result is refused if anything that looks like an email, a JWT or a token is
left. The real-Codex golden logs are re-recorded this way after a deliberate chart change:

    CODEX_FSM_KEEP_E2E_LOGS=/tmp/e2e-logs make test PYTEST_ARGS=tests/e2e/test_supervised_codex.py
    .venv/bin/python tools/scrub_log.py /tmp/e2e-logs/<test>.jsonl tests/replays/real_codex_<name>.jsonl
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from supervisor.chartfile import load_default_chart  # noqa: E402
from supervisor.replay import parse_log, replay  # noqa: E402

_ACCOUNT_KEYS = ("account", "from", "to", "exclude")
_SECRET = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+|eyJ[\w-]{8,}|\b(rt|sk)[_-][\w-]{8,}")


def scrub(text: str) -> str:
    header, records = parse_log(text, "log")
    accounts: dict[str, str] = {}
    sessions: dict[str, str] = {}

    def account(value: str) -> str:
        return accounts.setdefault(value, f"a-scrubbed{len(accounts) + 1:02d}")

    def session(value: str) -> str:
        return sessions.setdefault(value, f"00000000-0000-7000-8000-{len(sessions) + 1:012d}")

    def walk(node: object, key: str | None = None) -> object:
        if isinstance(node, dict):
            return {k: walk(v, k) for k, v in node.items()}
        if isinstance(node, list):
            if key == "params":  # Notify params: [[name, value], ...]
                return [[name, walk(value, name)] for name, value in node]
            return [walk(v, key) for v in node]
        if isinstance(node, str) and key in _ACCOUNT_KEYS:
            return account(node)
        if isinstance(node, str) and key in ("session_id", "resume_session_id", "bind_to"):
            return session(node)
        return node

    lines = [json.dumps(header, sort_keys=True, separators=(",", ":"))]
    for record in records:
        record.pop("_line", None)
        lines.append(json.dumps(walk(record), sort_keys=True, separators=(",", ":"), ensure_ascii=False))
    result = "\n".join(lines) + "\n"
    leftover = _SECRET.search(result)
    if leftover:
        raise SystemExit(f"scrub: refusing to write, something secret-looking is left: {leftover.group(0)[:12]}…")
    return result


def main(argv: list[str]) -> int:
    source, target = Path(argv[0]), Path(argv[1])
    text = scrub(source.read_text(encoding="utf-8"))
    header, records = parse_log(text, str(target))
    replay(header, records, load_default_chart(), origin=str(target))  # raises if scrubbing broke it
    target.write_text(text, encoding="utf-8")
    print(f"{target}: {len(records)} records, scrubbed and replayed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
