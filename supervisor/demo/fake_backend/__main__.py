"""`python -m supervisor.demo.fake_backend`: serve the fake ChatGPT backend until interrupted.

Prints one JSON line with the URLs and the CA path to configure Codex with; on exit, prints the recorded
violations and exits 1 if there were any.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import tempfile
import threading
from pathlib import Path

from .server import FakeChatGPTBackend


def _exhaust_rule(text: str) -> tuple[str, int]:
    account, sep, turns = text.partition("=")
    if not sep or not account or not turns.isdigit():
        raise argparse.ArgumentTypeError(f"--exhaust expects ACCOUNT_ID=TURNS, got {text!r}")
    return account, int(turns)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m supervisor.demo.fake_backend", description=__doc__.splitlines()[0])
    parser.add_argument("--ca-dir", type=Path, help="where to write ca.pem (default: a new temporary directory)")
    parser.add_argument("--exhaust", type=_exhaust_rule, action="append", default=[], metavar="ACCOUNT_ID=TURNS",
                        help="answer TURNS turns for the account, then a usage-limit 429 (repeatable)")
    args = parser.parse_args(argv)
    ca_dir = args.ca_dir or Path(tempfile.mkdtemp(prefix="fake-backend-"))
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with FakeChatGPTBackend(ca_dir) as backend:
        for account_id, turns in args.exhaust:
            backend.set_account(account_id, exhaust_after_turns=turns)
        print(json.dumps({"chatgpt_base_url": backend.chatgpt_base_url, "openai_base_url": backend.openai_base_url,
                          "refresh_token_url": backend.refresh_token_url, "ca_path": str(backend.ca_path)}),
              flush=True)
        stop.wait()
    violations = backend.violations()
    for violation in violations:
        print(f"violation: {violation}", file=sys.stderr)
    print(f"{len(backend.requests())} requests, {len(violations)} violations", file=sys.stderr)
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
