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


# -- the leases of every host ---------------------------------------------------------------------

NOW = 1_900_000_000.0
HERE = "box-a"
HOSTILE_HOST = "\x1b]0;owned\x07box-c\r\n  fake-row"


def _lease_everywhere(store, homes, monkeypatch) -> dict[str, str]:
    """A pool file as a shared pool holds it: leases of this host (a supervised session with its status
    file, a process without one), of another host, of a host with a hostile name, and stale ones."""
    from supervisor.pool.leases import process_start
    from supervisor.pool.model import Lease

    monkeypatch.setenv("CODEX_FSM_POOL_HOST", HERE)
    me, parent = os.getpid(), os.getppid()
    leases = {
        "child": Lease(me, process_start(me), HERE, NOW + 25, 3, "child"),
        "successor": Lease(me, process_start(me), HERE, NOW + 20, 5, "successor"),
        "refresh here": Lease(parent, process_start(parent), HERE, NOW + 8, 2, "refresh"),
        "remote": Lease(4242, "77", "box-b", NOW + 12, 7, "session"),
        "hostile": Lease(4343, "78", HOSTILE_HOST, NOW + 5, 1, "refresh"),
        "expired": Lease(5555, "79", "box-b", NOW - 1, 9, "session"),
        "dead here": Lease(me, "an earlier process with this pid", HERE, NOW + 30, 4, "session"),
    }
    accounts = {name: add_account(store, homes, n) for n, name in enumerate(leases, start=1)}

    def lease(pool) -> None:
        for name, record_lease in leases.items():
            pool.get(accounts[name]).lease = record_lease
    store.mutate(lease)
    return accounts


def test_the_sessions_of_every_host_are_listed_once_each_with_their_leases(env, store, homes, monkeypatch,
                                                                            capsys) -> None:
    from supervisor.cli_commands import status as status_command

    _lease_everywhere(store, homes, monkeypatch)
    StatusFile(env["fsm"] / "run", os.getpid(), NOW - 60).update("running", "acct1", "s-0001", NOW - 30)
    assert status_command.main([], clock=lambda: NOW) == 0
    lines = capsys.readouterr().out.splitlines()
    sessions = lines[:lines.index("accounts (7):")]
    assert sessions[0] == "sessions (4):"  # the local session once, with both its leases; no stale lease
    width = 24  # the hostile host, escaped and cut to its column
    local, *_ = [i for i, line in enumerate(sessions) if f"pid {os.getpid()} " in line]
    assert sessions[local].startswith(f"  {'box-a (this host)':<{width}}  pid {os.getpid():<7} tui  running ")
    assert "account acct1  session s-0001" in sessions[local]
    assert sessions[local + 1:local + 3] == ["      lease acct1            child      expires in 25 s",
                                             "      lease acct2            successor  expires in 20 s"]
    without_file = next(i for i, line in enumerate(sessions) if f"pid {os.getppid()} " in line)
    assert sessions[without_file].endswith("(no status file)")
    assert sessions[without_file + 1] == "      lease acct3            refresh    expires in 8 s"
    remote = sessions.index(f"  {'box-b':<{width}}  pid 4242")
    assert sessions[remote + 1] == "      lease acct4            session    expires in 12 s"
    assert max(local, without_file) < remote  # this host's first
    hostile = next(i for i, line in enumerate(sessions) if "pid 4343" in line)
    assert sessions[hostile].startswith("  \\x1b]0;owned\\x07box-c\\x…  pid 4343")
    assert _raw_controls("\n".join(lines)) == []
    assert not any(line.lstrip().startswith("fake-row") for line in lines)
    assert len(sessions) == 1 + 4 + 5  # a header, four processes, five live leases


def test_the_json_lists_the_live_leases_with_their_hosts_and_never_a_token_or_an_email(env, store, homes,
                                                                                     monkeypatch, capsys) -> None:
    from supervisor.cli_commands import status as status_command

    accounts = _lease_everywhere(store, homes, monkeypatch)
    StatusFile(env["fsm"] / "run", os.getpid(), NOW - 60).update("running", "acct1", "s-0001", NOW - 30)
    assert status_command.main(["--json"], clock=lambda: NOW) == 0
    out = capsys.readouterr().out
    shown = json.loads(out)
    me, parent = os.getpid(), os.getppid()
    assert shown["leases"] == sorted([
        {"host": HERE, "pid": me, "purpose": "child", "account": "acct1", "account_id": accounts["child"],
         "expires_at": NOW + 25, "generation": 3, "local": True},
        {"host": HERE, "pid": me, "purpose": "successor", "account": "acct2", "account_id": accounts["successor"],
         "expires_at": NOW + 20, "generation": 5, "local": True},
        {"host": HERE, "pid": parent, "purpose": "refresh", "account": "acct3",
         "account_id": accounts["refresh here"], "expires_at": NOW + 8, "generation": 2, "local": False},
        {"host": "box-b", "pid": 4242, "purpose": "session", "account": "acct4", "account_id": accounts["remote"],
         "expires_at": NOW + 12, "generation": 7, "local": False},
        {"host": HOSTILE_HOST, "pid": 4343, "purpose": "refresh", "account": "acct5",
         "account_id": accounts["hostile"], "expires_at": NOW + 5, "generation": 1, "local": False},
    ], key=lambda row: (row["host"], row["pid"], row["account"]))
    assert [(s["host"], s["pid"], s["session_id"]) for s in shown["sessions"]] == [(HERE, me, "s-0001")]
    assert "example.invalid" not in out and "rt_fake" not in out and "\x1b" not in out  # JSON escapes it


def test_a_pool_file_without_leases_shows_only_this_hosts_sessions(env, store, homes, monkeypatch, capsys) -> None:
    from supervisor.cli_commands import status as status_command

    monkeypatch.setenv("CODEX_FSM_POOL_HOST", HERE)
    add_account(store, homes, 1)
    StatusFile(env["fsm"] / "run", os.getpid(), NOW - 60).update("waiting", None, None, NOW - 30)
    assert status_command.main([], clock=lambda: NOW) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "sessions (1):"
    assert lines[1].startswith(f"  box-a (this host)  pid {os.getpid():<7} tui  waiting ")
    assert lines[2] == "accounts (1):"
    assert main(["status", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["leases"] == []
