"""The pool and limit families and workspaces: family cooldowns, workspace-wide stops, import, migration."""

from __future__ import annotations

import json
from pathlib import Path

from supervisor.core.events import AccountLeased, PoolExhausted
from supervisor.core.quota import LimitFamily, QuotaSnapshot, QuotaWindow
from supervisor.pool.admin import import_account
from supervisor.pool.auth import account_id_for, parse_auth, workspace_id_for
from supervisor.pool.model import AccountRecord
from supervisor.pool.store import PoolStore

from .conftest import add_account, session
from .fakes import auth_bytes, write_auth

NOW = 1_000_000.0
SPARK_MODEL = "gpt-5.3-codex-spark"


def _spark_known(used_main: float, used_spark: float) -> QuotaSnapshot:
    spark = LimitFamily("codex_bengalfox", "GPT-5.3-Codex-Spark", (QuotaWindow(used_spark, 300, NOW + 600),))
    return QuotaSnapshot((QuotaWindow(used_main, 300, NOW + 600),), NOW, families=(spark,))


def test_a_spark_cooldown_bars_spark_sessions_only(store, homes, procs) -> None:
    account = add_account(store, homes, 1, quota=_spark_known(10, 100))
    pool = session(store, homes, procs, pid=101)
    pool.cool_down(account, NOW + 3600, "quota", NOW, family="codex_bengalfox")
    assert isinstance(pool.lease_candidate("session", (), NOW, SPARK_MODEL), PoolExhausted)
    assert pool.lease_candidate("session", (), NOW, "gpt-5.5") == AccountLeased(at=NOW, account=account)


def test_an_exhausted_main_family_leaves_the_account_to_spark_sessions(store, homes, procs) -> None:
    account = add_account(store, homes, 1, quota=_spark_known(100, 5))
    pool = session(store, homes, procs, pid=101)
    assert isinstance(pool.lease_candidate("session", (), NOW), PoolExhausted)
    assert pool.lease_candidate("session", (), NOW, SPARK_MODEL) == AccountLeased(at=NOW, account=account)


def _seat(store: PoolStore, homes, workspace: str, user: str, n: int) -> str:
    raw = auth_bytes(account=workspace, user=user, email=f"user{n}@example.invalid", refresh=f"rt_{n}")
    identity = parse_auth(raw, "fake").identity
    account = account_id_for(identity)
    homes.write_auth(account, raw)
    store.mutate(lambda pool: pool.accounts.append(AccountRecord(id=account, label=f"seat{n}", added_at=1.0)))
    return account


def test_a_workspace_stop_benches_every_seat_and_the_successor_comes_from_another_workspace(
        store, homes, procs) -> None:
    first = _seat(store, homes, "acct-team-0001", "user-a", 1)
    second = _seat(store, homes, "acct-team-0001", "user-b", 2)
    other = _seat(store, homes, "acct-solo-0002", "user-a", 3)
    pool = session(store, homes, procs, pid=101)
    pool.cool_down(first, NOW + 3600, "usage_limit: workspace_owner_usage_limit_reached", NOW, workspace=True)
    saved = PoolStore(store.path).load()
    for member in (first, second):
        cooldown = saved.get(member).cooldown
        assert cooldown is not None and cooldown.family is None and cooldown.until == NOW + 3600
        assert saved.get(member).workspace in cooldown.reason
    assert saved.get(other).cooldown is None
    assert pool.lease_candidate("successor", (first,), NOW) == AccountLeased(at=NOW, account=other)


def test_two_logins_of_one_person_in_two_workspaces_are_two_accounts(store, homes, procs, tmp_path: Path) -> None:
    work = write_auth(tmp_path / "work" / "auth.json", account="acct-work-0001", user="user-same",
                      email="me@example.invalid")
    home = write_auth(tmp_path / "home" / "auth.json", account="acct-home-0002", user="user-same",
                      email="me@example.invalid")
    a = import_account(store, homes, work, NOW, procs.check)
    b = import_account(store, homes, home, NOW, procs.check)
    assert a.account != b.account and (a.outcome, b.outcome) == ("added", "added")
    saved = PoolStore(store.path).load()
    assert len(saved.accounts) == 2
    assert saved.get(a.account).workspace != saved.get(b.account).workspace
    assert saved.get(a.account).workspace == workspace_id_for(parse_auth(work.read_bytes(), "w").identity)


def test_a_version_1_pool_file_loads_unchanged_and_is_written_as_version_2(store, homes, procs) -> None:
    account = add_account(store, homes, 1)
    document = json.loads(store.path.read_text())
    document["version"] = 1
    entry = document["accounts"][0]
    entry.pop("workspace")
    entry["cooldown"] = {"until": NOW + 60, "reason": "quota", "set_at": NOW}
    entry["quota"] = {"windows": [[40.0, 300, NOW + 600]], "observed_at": NOW, "limit_reached": False}
    store.path.write_text(json.dumps(document))
    loaded = PoolStore(store.path).load()
    record = loaded.get(account)
    assert record.cooldown.family is None and record.workspace is None
    assert record.quota.windows[0].used_percent == 40.0 and record.quota.families == ()
    PoolStore(store.path).mutate(lambda pool: setattr(pool.get(account), "label", "renamed"))
    written = json.loads(store.path.read_text())
    assert written["version"] == 2 and written["accounts"][0]["quota"]["windows"] == [[40.0, 300, NOW + 600]]


def test_a_stored_snapshot_with_families_round_trips_through_the_file(store, homes, procs) -> None:
    account = add_account(store, homes, 1, quota=_spark_known(10, 60))
    store.path.write_text(store.path.read_text())  # bytes from outside: validated by the schema
    assert PoolStore(store.path).load().get(account).quota == _spark_known(10, 60)


def test_recording_an_unnamed_family_keeps_the_name_known_before(store, homes, procs) -> None:
    account = add_account(store, homes, 1, quota=_spark_known(10, 60))
    unnamed = QuotaSnapshot((QuotaWindow(20, 300, NOW + 600),), NOW + 5,
                            families=(LimitFamily("codex_bengalfox", None, (QuotaWindow(70, 300, NOW + 600),)),))
    session(store, homes, procs, pid=101).record_quota(account, unnamed, NOW + 5)
    family = PoolStore(store.path).load().get(account).quota.family("codex_bengalfox")
    assert family.limit_name == "GPT-5.3-Codex-Spark" and family.windows[0].used_percent == 70
