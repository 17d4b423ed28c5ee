"""`codex-fsm status`: what the status files and the pool file hold reaches the terminal only sanitized,
and sessions whose process is gone (its pid possibly reused) are not listed."""

from __future__ import annotations

import json
import os

from supervisor.adapters.status_file import StatusFile
from supervisor.cli import main
from supervisor.pool.model import Cooldown

from tests.pool.conftest import add_account

# An OSC title change, an OSC 52 clipboard write, a screen clear, and a carriage return painting a fake row.
HOSTILE = ["\x1b]0;owned\x07", "\x1b]52;c;ZWNobyBwd25lZA==\x07", "\x1b[2J\x1b[H",
           "x\r\n  acct9            5h [##########] wk [##########] (100% / 100% left)  available"]


def _raw_controls(text: str) -> list[str]:
    return [ch for ch in text if ch in "\x1b\x07\r" or (ord(ch) < 0x20 and ch != "\n")]


def test_labels_states_session_ids_and_reasons_are_printed_as_visible_escapes(env, store, homes, capsys) -> None:
    accounts = [add_account(store, homes, n) for n in range(len(HOSTILE))]

    def hostile(pool) -> None:
        for record, text in zip(pool.accounts, HOSTILE, strict=True):
            record.label = f"l{text}"
            record.cooldown = Cooldown(until=4_000_000_000.0, reason=f"r{text}", set_at=1.0)
    store.mutate(hostile)
    status = StatusFile(env["fsm"] / "run", os.getpid(), 1.0)
    status.update(f"s{HOSTILE[2]}", f"a{HOSTILE[0]}", f"i{HOSTILE[1]}{HOSTILE[3]}", 2.0)
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert _raw_controls(out) == []
    assert "account a\\x1b]0;owned\\x07" in out and "s\\x1b[2J\\x1b[H" in out
    assert "l\\x1b]52;c;ZWNobyBwd25lZA==\\x07" in out and "(r\\x1b]0;owned\\x07)" in out
    assert len(out.splitlines()) == 1 + 1 + 1 + len(accounts)  # no fake rows
    assert not any(line.startswith("  acct9") for line in out.splitlines())


def test_a_status_file_whose_pid_now_belongs_to_another_process_is_not_listed(env, store, capsys) -> None:
    run = env["fsm"] / "run"
    run.mkdir(parents=True)
    ghost = {"pid": 1, "state": "running", "account": "ghost", "session_id": "ghost-session", "started_at": 1.0,
             "state_since": 1.0}
    (run / "1.json").write_text(json.dumps(ghost))  # pid 1 always runs: a bare pid check calls this live
    # Our own pid, as if reused after a crashed session left its file behind.
    (run / f"{os.getpid()}.json").write_text(json.dumps({**ghost, "pid": os.getpid(), "process_start": "1"}))
    assert main(["status"]) == 0
    assert "sessions: none running" in capsys.readouterr().out


def test_the_families_of_each_account_are_shown_in_text_and_json(env, store, homes, capsys) -> None:
    import time

    from supervisor.core.quota import LimitFamily, QuotaSnapshot, QuotaWindow

    now = time.time()
    spark = LimitFamily("codex_bengalfox", "GPT-5.3-Codex-Spark", (QuotaWindow(100.0, 300, now + 3600),),
                        limit_reached=True, allowed=False)
    add_account(store, homes, 1, quota=QuotaSnapshot((QuotaWindow(40.0, 300, now + 3600),
                                                      QuotaWindow(20.0, 10080, now + 86400)), now,
                                                     allowed=True, families=(spark,)),
                cooldown=Cooldown(until=now + 3600, reason="quota", set_at=now, family="codex_bengalfox"))
    add_account(store, homes, 2, quota=QuotaSnapshot((QuotaWindow(30.0, 10080, now + 86400),), now))
    assert main(["status"]) == 0
    lines = capsys.readouterr().out.splitlines()
    spark_line = next(line for line in lines if "GPT-5.3-Codex" in line)
    assert "5h [..........]" in spark_line and "refused" in spark_line
    assert any("codex_bengalfox only" in line for line in lines)
    weekly_only = next(line for line in lines if line.startswith("  acct2"))
    assert "5h [   none   ]" in weekly_only and "no 5h window / 70% left" in weekly_only and "?" not in weekly_only
    assert main(["status", "--json"]) == 0
    rows = {row["label"]: row for row in json.loads(capsys.readouterr().out)["accounts"]}
    families = rows["acct1"]["quota_remaining_percent"]["families"]
    assert [(f["limit_id"], f["limit_name"], f["5h"], f["allowed"]) for f in families] == [
        ("codex_bengalfox", "GPT-5.3-Codex-Spark", 0.0, False)]
    assert rows["acct1"]["quota_remaining_percent"]["allowed"] is True
    assert rows["acct2"]["quota_remaining_percent"]["windows"] == ["weekly"]
    assert rows["acct1"]["cooldown"]["family"] == "codex_bengalfox"
