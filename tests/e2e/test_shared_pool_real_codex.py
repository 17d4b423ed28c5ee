"""Two machines sharing one two-account pool in a real redis-server, each running `codex-fsm exec` over the
real Codex against the fake backend.

A "machine" here is a codex-fsm installation of its own: its own CODEX_FSM_HOME and CODEX_HOME, `[pool] host`
host-a or host-b, and its own host name (each codex-fsm runs in a UTS namespace, `unshare --uts`, named
machine-a or machine-b, so a lease that took the machine's name instead of `[pool] host` would show). Both
use the same `[pool] url` and the same key file. The accounts are imported once, on host A.

Host A runs the usage-limit rotation of tests/e2e/test_supervised_exec.py: a warm-up turn leaves alpha spent
at the backend while the pool's snapshot still says 10 %, so the next run starts on alpha, gets the 429 and
continues the thread on bravo with `codex exec resume`. The backend holds bravo's answer (`hold_answers`)
while host B asks the pool: alpha is cooling down and bravo is host A's, so host B gets no account and says
so (exit 75) without taking a lease. Once host A is done, host B runs on bravo.

The leases are watched from outside all along: a thread polls the pool document in Redis, and the lease
generation counters (one INCR per lease ever granted) show that host B took no lease, not even briefly,
while host A held bravo.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

from supervisor.adapters.launcher import CONTINUATION_PROMPT
from supervisor.demo.fake_backend import ConversationItem, Credentials, FakeChatGPTBackend, write_auth_json
from supervisor.demo.fake_backend.world import SupervisedWorld
from supervisor.pool.pool_key import new_key_file
from supervisor.pool.redis_store import POOL_KEY, credentials_key, generation_key
from tests.e2e.codex_files import rollout_files, rollout_lines
from tests.e2e.conftest import REPO
from tests.e2e.processes import wait_until
from tests.e2e.transition_logs import assert_logs_replay
from tests.fakes.redis_server import RedisServer

pytestmark = pytest.mark.e2e

RUN_TIMEOUT_S = 60.0
# Host B's refused run ends within seconds; one that got an account instead would wait on the held answer.
REFUSED_TIMEOUT_S = 20.0
EX_TEMPFAIL = 75
EXEC = ("exec", "--skip-git-repo-check")
MOVED = re.compile(r"^codex-fsm: exec moved from (\S+) to (\S+): usage limit reached \(resets [^)]*\)", re.M)
LEASE_POLL_S = 0.005
ACCOUNTS = (("acct-a", "alpha"), ("acct-b", "bravo"))


@dataclass(frozen=True)
class Finished:
    returncode: int
    stdout: str
    stderr: str

    def fsm_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("codex-fsm: ")]


class Host:
    """One machine of the shared pool: its world, and `codex-fsm` run in a UTS namespace of its own."""

    def __init__(self, name: str, world: SupervisedWorld) -> None:
        self.name = name  # its name in the pool's leases ([pool] host)
        self.machine = "machine-" + name.removeprefix("host-")  # its host name (uname)
        self.world = world
        self.started: list[subprocess.Popen[str]] = []

    def _argv(self, args: tuple[str, ...]) -> list[str]:
        return ["unshare", "--uts", "sh", "-c", 'hostname "$0" && exec "$@"', self.machine,
                sys.executable, "-m", "supervisor.cli", *args]

    def start(self, *args: str) -> subprocess.Popen[str]:
        """In its own session, as a shell's foreground job; `unshare` and `sh` exec, so the pid is codex-fsm's."""
        process = subprocess.Popen(self._argv(args), env=self.world.env(), cwd=self.world.work_dir, text=True,
                                   start_new_session=True, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE)
        self.started.append(process)
        return process

    def finish(self, process: subprocess.Popen[str], timeout: float = RUN_TIMEOUT_S) -> Finished:
        """Its result; a run still going after ``timeout`` is killed and fails the test with what it wrote."""
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            stdout, stderr = process.communicate()
            command = " ".join(process.args[len(self._argv(())):])
            raise AssertionError(f"codex-fsm {command} on {self.name} did not end within {timeout:g} s; "
                                 f"stdout {stdout!r}, stderr {stderr!r}") from None
        return Finished(process.returncode, stdout, stderr)

    def run(self, *args: str, timeout: float = RUN_TIMEOUT_S) -> Finished:
        return self.finish(self.start(*args), timeout)

    def import_login(self, credentials: Credentials, label: str) -> None:
        staged = self.world.root / "staging" / f"{label}.json"
        write_auth_json(staged, credentials)
        imported = self.run("accounts", "import", str(staged), "--move", "--label", label)
        assert imported.returncode == 0, imported.stdout + imported.stderr
        assert not staged.exists()  # --move: the pool holds the only copy

    def auth_files(self) -> list[Path]:
        """Every login (or temp file of one) left in this machine's account homes."""
        return sorted(path for path in (self.world.fsm_home / "homes").glob("*/*")
                      if path.name == "auth.json" or path.name.startswith(".auth"))

    def close(self) -> None:
        for process in self.started:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.communicate()


@dataclass(frozen=True)
class Holder:
    host: str
    pid: int
    generation: int
    purpose: str


Leases = dict[str, "Holder | None"]  # by the account's label


class LeaseWatch:
    """Polls the pool document in Redis from a thread of its own and keeps each distinct set of leases seen,
    by account label."""

    def __init__(self, server: RedisServer) -> None:
        self._client = server.client()
        self._history: list[Leases] = []
        self._problems: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="lease-watch", daemon=True)

    def __enter__(self) -> LeaseWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(10)
        self._client.close()

    def _watch(self) -> None:
        while not self._stop.is_set():
            leases = self._read()
            with self._lock:
                if not self._history or self._history[-1] != leases:
                    self._history.append(leases)
            self._stop.wait(LEASE_POLL_S)  # the polling pace, not a synchronisation

    def _read(self) -> Leases:
        raw = self._client.get(POOL_KEY)
        accounts = [] if raw is None else json.loads(raw)["accounts"]
        ids = [entry["id"] for entry in accounts]
        if len(set(ids)) != len(ids):
            with self._lock:
                self._problems.append(f"one account listed twice in the pool document: {ids}")
        return {entry["label"]: None if entry["lease"] is None else Holder(
            entry["lease"]["host"], entry["lease"]["owner_pid"], entry["lease"]["generation"],
            entry["lease"]["purpose"]) for entry in accounts}

    def seen(self, condition: Callable[[Leases], bool]) -> Callable[[], bool]:
        def check() -> bool:
            with self._lock:
                return any(condition(leases) for leases in self._history)
        return check

    def latest(self, condition: Callable[[Leases], bool]) -> Callable[[], bool]:
        def check() -> bool:
            with self._lock:
                return bool(self._history) and condition(self._history[-1])
        return check

    def history(self) -> list[Leases]:
        with self._lock:
            return list(self._history)

    def problems(self) -> list[str]:
        """An account under two hosts: listed twice, or passed from one host's lease to another's with no
        release seen in between (every lease here is given back long before its 30 s expiry)."""
        with self._lock:
            problems, history = list(self._problems), list(self._history)
        for before, after in zip(history, history[1:], strict=False):
            for account, holder in after.items():
                previous = before.get(account)
                if holder is not None and previous is not None and holder.host != previous.host:
                    problems.append(f"{account} went from {previous} to {holder} without a release")
        return problems


def held_by(account: str, host: str, purpose: str | None = None) -> Callable[[Leases], bool]:
    def check(leases: Leases) -> bool:
        holder = leases.get(account)
        return holder is not None and holder.host == host and purpose in (None, holder.purpose)
    return check


def nothing_leased(leases: Leases) -> bool:
    return bool(leases) and all(holder is None for holder in leases.values())


def secrets_of(credentials: Credentials) -> dict[str, str]:
    """What must never be readable in Redis: the tokens whole, the JWTs' claims parts, the full email."""
    secrets = {"refresh token": credentials.refresh_token, "access token": credentials.access_token,
               "id token": credentials.id_token, "email": credentials.email}
    secrets.update({f"{name} claims": token.split(".")[1] for name, token in
                    (("access token", credentials.access_token), ("id token", credentials.id_token))})
    return {f"{credentials.account_id}'s {name}": value for name, value in secrets.items()}


def raw_redis_values(server: RedisServer) -> dict[str, bytes]:
    """Every key's raw value (codex-fsm keeps only strings), and every file of the server's folder (its
    append-only file holds each value ever written, not only the last)."""
    with server.client() as client:
        values = {}
        for key in client.scan_iter(count=1000):
            assert client.type(key) == b"string", f"{key!r} is a {client.type(key)!r}"
            values[key.decode()] = client.get(key)
    for path in sorted(server.directory.rglob("*")):
        if path.is_file():
            values[f"file {path.name}"] = path.read_bytes()
    return values


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    return new_key_file(tmp_path / "pool.key")


@pytest.fixture
def redis(redis_server: RedisServer) -> Iterator[Any]:
    """A client of the shared pool's server, for looking at it from outside."""
    with redis_server.client() as client:
        yield client


@pytest.fixture
def hosts(tmp_path: Path, fake_backend: FakeChatGPTBackend, codex_binary: Path, redis_server: RedisServer,
          key_file: Path) -> Iterator[tuple[Host, Host]]:
    if shutil.which("unshare") is None:
        pytest.fail("unshare (util-linux) is not installed: each machine of this test runs in a UTS namespace")
    made = []
    for name in ("host-a", "host-b"):
        world = SupervisedWorld(tmp_path / name, fake_backend, codex_binary)
        # The world's environment inherits nothing: without PYTHONPATH `-m supervisor.cli` would import
        # whatever checkout the virtualenv's editable install points at, not the code under test.
        world.settings.update({"PYTHONPATH": str(REPO), "CODEX_FSM_POOL_URL": redis_server.url,
                               "CODEX_FSM_POOL_KEY_FILE": str(key_file), "CODEX_FSM_POOL_HOST": name})
        made.append(Host(name, world.create()))
    yield made[0], made[1]
    for host in made:
        host.close()


def test_two_hosts_share_the_pool_a_rotates_to_bravo_and_b_never_gets_it_while_a_holds_it(
        hosts: tuple[Host, Host], fake_backend: FakeChatGPTBackend, redis_server: RedisServer, redis: Any,
        key_file: Path) -> None:
    host_a, host_b = hosts
    fake_backend.set_account("acct-a", primary_used_percent=10.0, exhaust_after_turns=1)
    fake_backend.set_account("acct-b", primary_used_percent=30.0)
    logins = {account: fake_backend.issue_credentials(account, f"{label}@example.invalid")
              for account, label in ACCOUNTS}
    for account, label in ACCOUNTS:
        host_a.import_login(logins[account], label)
    ordered = host_a.run("accounts", "order", "alpha", "bravo")
    assert ordered.returncode == 0, ordered.stderr
    assert host_a.auth_files() == []  # the logins went to Redis, not into host A's account homes
    # The pool names an account by an id of its own (from the login), never by the backend's.
    pool_ids = {entry["label"]: entry["id"] for entry in json.loads(redis.get(POOL_KEY))["accounts"]}
    assert set(pool_ids) == {"alpha", "bravo"}

    def generations() -> dict[str, int]:
        return {label: int(redis.get(generation_key(account)) or 0) for label, account in pool_ids.items()}

    with LeaseWatch(redis_server) as watch:
        warm_up = host_a.run(*EXEC, "warm-up on A")
        assert warm_up.returncode == 0, warm_up.stderr
        assert [(t.account_id, t.status) for t in fake_backend.turns()] == [("acct-a", 200)]

        # Host A: the usage limit on alpha moves the thread to bravo, whose answer waits until we let it go.
        fake_backend.hold_answers("acct-b")
        run_a = host_a.start(*EXEC, "the task hit by the limit")
        wait_until(lambda: len(fake_backend.turns("acct-b")) == 1, 30, "host A's turn on bravo")
        wait_until(watch.seen(held_by("bravo", "host-a", "child")), 10, "host A's lease of bravo in Redis")
        assert [path.parent.name for path in host_a.auth_files()] == [pool_ids["bravo"]]  # the lease's working copy
        assert host_b.auth_files() == []

        # Host B meanwhile: alpha is cooling down, bravo is host A's; no account, and no lease taken.
        before = generations()
        refused = host_b.run(*EXEC, "--max-wait", "1s", "task of host B while A holds bravo",
                             timeout=REFUSED_TIMEOUT_S)
        print(f"\nhost B while A holds bravo: exit {refused.returncode}; codex-fsm lines {refused.fsm_lines()}")
        assert refused.returncode == EX_TEMPFAIL, refused.stderr
        assert refused.stdout == ""
        [gave_up] = refused.fsm_lines()
        assert gave_up.startswith("codex-fsm: no account can continue (every account is leased, cooling down"), gave_up
        assert "the soonest reset is " in gave_up
        assert generations() == before, "host B took a lease while host A held bravo"
        assert run_a.poll() is None, "host A ended before host B asked: the two did not overlap"
        assert len(fake_backend.turns()) == 3  # the warm-up, alpha's 429 and bravo's held turn: none of host B's

        fake_backend.release_answers("acct-b")
        result_a = host_a.finish(run_a)
        assert result_a.returncode == 0, result_a.stderr
        assert result_a.stdout == f"PONG-2 [acct-b]: {CONTINUATION_PROMPT}\n"
        assert MOVED.findall(result_a.stderr) == [("alpha", "bravo")], result_a.stderr
        wait_until(watch.latest(nothing_leased), 10, "host A's leases given back in Redis")

        # Host B afterwards: bravo is free, and host B runs on it with the login host A left in Redis.
        result_b = host_b.run(*EXEC, "task of host B after A")
        assert result_b.returncode == 0, result_b.stderr
        assert result_b.stdout == "PONG-3 [acct-b]: task of host B after A\n"
        assert result_b.fsm_lines() == []
        wait_until(watch.latest(nothing_leased), 10, "host B's lease given back in Redis")

    # Host A's conversation was resumed on bravo: the same session, the task once, then the continuation.
    turn_a, turn_b, turn_host_b = fake_backend.turns()[1:]
    assert (turn_a.account_id, turn_a.status, turn_b.account_id, turn_b.status) == ("acct-a", 429, "acct-b", 200)
    assert turn_b.session_id == turn_a.session_id
    assert turn_b.conversation == (ConversationItem("user", "the task hit by the limit"),
                                   ConversationItem("user", CONTINUATION_PROMPT))
    [rollout] = [path for path in rollout_files(host_a.world.codex_home)
                 if path.name.endswith(f"-{turn_a.session_id}.jsonl")]
    assert sum(line["type"] == "session_meta" for line in rollout_lines(rollout)) == 1
    assert (turn_host_b.account_id, turn_host_b.status) == ("acct-b", 200)
    assert turn_host_b.session_id != turn_a.session_id
    [rollout_b] = rollout_files(host_b.world.codex_home)  # host B's own session, in host B's own Codex home
    assert rollout_b.name.endswith(f"-{turn_host_b.session_id}.jsonl")

    # The leases, as seen from outside: each host under its [pool] host name, never one account under both.
    history = watch.history()
    print(f"lease states seen: {len(history)}")
    assert watch.problems() == []
    hosts_seen = {holder.host for leases in history for holder in leases.values() if holder is not None}
    assert hosts_seen == {"host-a", "host-b"}  # never machine-a/-b: the leases name [pool] host
    bravo_holders = [leases["bravo"] for leases in history if leases.get("bravo") is not None]
    assert [host for host, _ in groupby(h.host for h in bravo_holders)] == ["host-a", "host-b"]
    assert {h.pid for h in bravo_holders if h.host == "host-a"} == {run_a.pid}  # unshare and sh exec'd codex-fsm
    assert not any(held_by("alpha", "host-b")(leases) for leases in history)
    assert generations() == {"alpha": 2, "bravo": 2}  # alpha: host A's two runs; bravo: host A, then host B

    # The logins stay encrypted in Redis (and in its append-only file), and they are there, under the key.
    values = raw_redis_values(redis_server)
    secrets = {name: value for credentials in logins.values() for name, value in secrets_of(credentials).items()}
    leaks = [f"{name} in {where}" for where, raw in values.items() for name, secret in secrets.items()
             if secret.encode() in raw]
    assert leaks == []
    assert fake_backend.refreshes() == []  # no refresh: the imported tokens are the only ones there are
    fernet = Fernet(key_file.read_bytes().strip())
    for account, label in ACCOUNTS:
        assert logins[account].refresh_token.encode() in fernet.decrypt(values[credentials_key(pool_ids[label])])

    # No login is left on either machine once its sessions ended, and every lease is given back.
    assert host_a.auth_files() == [] and host_b.auth_files() == []
    assert all(entry["lease"] is None for entry in json.loads(redis.get(POOL_KEY))["accounts"])
    for host in (host_a, host_b):
        assert len(host.world.transition_logs()) == 2
        assert_logs_replay(host.world)
