"""Usage probes per candidate account per hour while prewarming, on an injected clock.

    .venv/bin/python tools/bench/bench_probes.py

Target (issue 4): at most 12 probes per candidate per hour (bounded by the cache TTL, 300 s by
default), and 0 network requests for the running account (its figures come from the rollout).
One simulated hour: the run loop asks for a probe of each of three candidates every INTERVAL seconds
(1.5 s is the reference supervisor's cadence, which sent a real model request each time). The real
UsageProbe answers, over a fake transport that counts requests; the clock is a variable, so the hour
takes well under a second. The rollout column counts the requests the running account's reader makes.
"""

from __future__ import annotations

import io
import json
import select
import sys
import tempfile
from pathlib import Path

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from supervisor.adapters.rollout import RolloutReader  # noqa: E402
from supervisor.adapters.usage_probe import UsageProbe  # noqa: E402
from supervisor.core.events import QuotaProbed  # noqa: E402

HOUR_S = 3600.0
CANDIDATES = ("a-bench00001", "a-bench00002", "a-bench00003")
START = 1795561614.0


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


class CountingAdapter(BaseAdapter):
    def __init__(self) -> None:
        super().__init__()
        self.per_account: dict[str, int] = {}

    def send(self, request, **kwargs):
        account = request.headers["chatgpt-account-id"]
        self.per_account[account] = self.per_account.get(account, 0) + 1
        response = requests.Response()
        response.status_code = 200
        response.headers = CaseInsensitiveDict({"Content-Type": "application/json"})
        response.raw = io.BytesIO(json.dumps({"rate_limit": {"primary_window": {
            "used_percent": 20, "limit_window_seconds": 18000, "reset_after_seconds": 9000}}}).encode())
        response.request = request
        return response

    def close(self) -> None:
        pass


class Credentials:
    def __init__(self, account: str) -> None:
        self.access_token = "bench-token"
        self.chatgpt_account_id = account


def simulate(interval_s: float, ttl_s: float) -> int:
    clock = Clock()
    adapter = CountingAdapter()
    session = requests.Session()
    session.mount("https://", adapter)
    probe = UsageProbe(Credentials, lambda account: None, base_url="https://usage.bench.invalid/backend-api",
                       cache_ttl_s=ttl_s, clock=clock, session=session)
    try:
        while clock.now < START + HOUR_S:
            for account in CANDIDATES:
                probe.request_probe(account)
            pending = len(CANDIDATES)
            while pending:
                readable, _, _ = select.select([probe.fileno()], [], [], 10.0)
                if not readable:
                    raise RuntimeError("a probe did not answer within 10 s")
                events = probe.poll()
                if not all(isinstance(e, QuotaProbed) for e in events):
                    raise RuntimeError(f"unexpected probe answer: {events}")
                pending -= len(events)
            clock.now += interval_s
    finally:
        probe.close()
    return max(adapter.per_account.values())


def rollout_requests() -> int:
    """The running account's reader over an hour of turns: it never opens a socket."""
    import socket

    opened = []
    real_socket = socket.socket

    class Watching(real_socket):  # type: ignore[misc, valid-type]
        def __init__(self, *args, **kwargs) -> None:
            opened.append(args)
            super().__init__(*args, **kwargs)

    socket.socket = Watching  # type: ignore[misc]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "rollout.jsonl"
            reader = RolloutReader(path)
            line = json.dumps({"type": "event_msg", "payload": {"type": "token_count", "rate_limits": {
                "primary": {"used_percent": 50.0, "window_minutes": 300, "resets_at": START + 9000}}}})
            for second in range(0, int(HOUR_S), 30):
                with open(path, "a") as handle:
                    handle.write(line + "\n")
                reader.poll(START + second)
            reader.close()
    finally:
        socket.socket = real_socket  # type: ignore[misc]
    return len(opened)


def main() -> int:
    print("Usage probes per candidate per simulated hour (3 candidates, injected clock)")
    print(f"{'request every':>14} {'cache ttl':>10} {'asked/cand':>11} {'probes/cand/h':>14} {'ceiling':>8}")
    worst_default = 0.0
    for interval, ttl in ((1.5, 300.0), (10.0, 300.0), (60.0, 300.0), (300.0, 300.0), (1.5, 600.0), (1.5, 60.0)):
        per_candidate = simulate(interval, ttl)
        asked = int(HOUR_S / interval)
        target = 3600 / ttl
        if ttl == 300.0:
            worst_default = max(worst_default, per_candidate)
        print(f"{interval:>12.1f} s {ttl:>8.0f} s {asked:>11} {per_candidate:>14} {target:>8.0f}")
    print("reference supervisor at 1.5 s: 2400 model requests per session per hour (each costs quota)")
    sockets = rollout_requests()
    print(f"running account, rollout reader over 1 h (120 turns): {sockets} network requests")
    ok = worst_default <= 12 and sockets == 0
    print(f"default ttl 300 s: worst {worst_default:.0f} probes/candidate/h: {'PASS' if ok else 'FAIL'} (<= 12; 0)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
