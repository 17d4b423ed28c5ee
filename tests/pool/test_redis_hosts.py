"""Several hosts on one shared pool (a real redis-server), and what each fault does to the account they share:
a holder killed with SIGKILL, a holder paused past its lease, the server restarted under a running session,
a host with the wrong key.

A "host" is a machine as codex-fsm sees one: its own CODEX_FSM_HOME (account homes, logs), its own CODEX_HOME,
its own fake Codex with its own control folder, and its own name in the pool's leases (CODEX_FSM_POOL_HOST).
Where ``unshare -u`` works (root, or a user namespace's root), each host's processes also run in a UTS
namespace of their own under that name as their host name. The hosts share the network namespace: the suite
runs in a loopback-only one, and a host in a network namespace of its own would reach the one Redis on
127.0.0.1 only over a veth pair set up for it, which these tests do not do. They share the pid namespace
too; codex-fsm never looks at another host's processes (such an owner is known only by its lease's expiry).

Leases here live 2 s and are renewed every 0.5 s, so a lost holder is replaced within seconds. Every wait
is for a condition (the pool document, a login in Redis, a file of the fake Codex, a line on stderr) with a
deadline; the only waits on the clock are for a lease's own expiry time to pass.
"""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

import pytest

from supervisor.composition import Composition
from supervisor.core import events as ev
from supervisor.core.quota import QuotaSnapshot, QuotaWindow
from supervisor.errors import PoolUnavailable
from supervisor.pool.auth import AuthFile, account_id_for, parse_auth
from supervisor.pool.model import Lease, Pool
from supervisor.pool.pool_key import new_key_file
from supervisor.pool.redis_store import LOCK_KEY, credentials_key

from ..fakes.rig import Rig, read_jsonl, wait_for
from ..test_wrapper_real_pool import CODEX_FSM
from .fakes import write_auth

if TYPE_CHECKING:
    from ..fakes.redis_server import RedisServer

TTL_S = 2.0
HEARTBEAT_S = 0.5
# A pool transaction on loopback takes milliseconds: this is the slack of a loaded machine.
POOL_ANSWER_S = 1.0
FIRST_LOGIN = ("rt_fake_A", "2026-11-24T10:00:00.000000Z")
UNAVAILABLE = "the shared pool at "  # the start of the notice when the server went away
BACK = "the shared pool is reachable again"


@functools.cache
def uts_namespaces() -> bool:
    """Whether each host can have a host name of its own (``unshare -u`` needs CAP_SYS_ADMIN). Without it the
    hosts still differ where codex-fsm looks: their CODEX_FSM_POOL_HOST."""
    try:
        return subprocess.run(["unshare", "-u", "true"], capture_output=True, timeout=10).returncode == 0
    except FileNotFoundError:
        return False


class Host:
    """One machine on the shared pool: its folders, its configuration, the codex-fsm runs it started."""

    def __init__(self, root: Path, name: str, url: str, key_file: Path) -> None:
        root.mkdir()
        self.name = name
        self.root = root
        self.rig = Rig(root)
        (root / "config.toml").write_text("")
        self.env = {**self.rig.env(), "CODEX_FSM_HOME": str(root / "fsm"), "CODEX_HOME": str(root / "user-codex"),
                    "CODEX_FSM_CONFIG": str(root / "config.toml"), "CODEX_FSM_POOL_URL": url,
                    "CODEX_FSM_POOL_KEY_FILE": str(key_file), "CODEX_FSM_POOL_HOST": name,
                    "CODEX_FSM_POOL_LEASE_TTL_S": str(TTL_S), "CODEX_FSM_POOL_HEARTBEAT_S": str(HEARTBEAT_S)}
        self._runs: list[tuple[subprocess.Popen, IO[str]]] = []

    @property
    def control(self) -> Path:
        return self.rig.control

    def argv(self, *args: str) -> list[str]:
        command = [str(CODEX_FSM), *args]
        if not uts_namespaces():
            return command
        # unshare and sh exec: the codex-fsm process keeps the pid Popen reports (and leads its group).
        return ["unshare", "-u", "sh", "-c", f'hostname {self.name} && exec "$@"', "sh", *command]

    def run(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(self.argv(*args), env=self.env, cwd=self.rig.cwd, capture_output=True, text=True,
                              timeout=60, stdin=subprocess.DEVNULL)

    def start_exec(self) -> subprocess.Popen:
        """``codex-fsm exec`` whose fake Codex keeps running until ``release``; its stderr kept in a file.
        Its own process group, so a test can stop or kill codex-fsm and its Codex together."""
        self.rig.touch("hold-exec")
        stderr = open(self.root / f"exec-{len(self._runs)}.stderr", "w+")
        process = subprocess.Popen(self.argv("exec", "do it"), env=self.env, cwd=self.rig.cwd,
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr,
                                   start_new_session=True)
        self._runs.append((process, stderr))
        return process

    def running_child(self, timeout: float = 20.0) -> tuple[int, str]:
        """The pid and account of the held fake Codex this host runs (once it runs)."""
        [marker] = wait_for(lambda: list(self.control.glob("exec-running-*")), timeout,
                            what=f"the fake Codex of {self.name} to run")
        return int(marker.name.removeprefix("exec-running-")), marker.read_text()

    def stderr(self, process: subprocess.Popen) -> str:
        """What that codex-fsm run wrote on stderr so far."""
        [stream] = [stream for run, stream in self._runs if run is process]
        return Path(stream.name).read_text()

    def refresh(self, login: tuple[str, str], timeout: float = 10.0) -> None:
        """The running fake Codex refreshes its token (as Codex does), writing ``login`` into its home."""
        trigger = self.control / "refresh-auth.new"
        trigger.write_text(" ".join(login))
        trigger.rename(self.control / "refresh-auth")  # read whole by the fake
        wait_for(lambda: list(self.control.glob("refreshed-auth-*")), timeout,
                 what=f"the fake Codex of {self.name} to refresh its token")
        for ack in self.control.glob("refreshed-auth-*"):
            ack.unlink()

    def release(self) -> None:
        self.rig.touch("release-exec")

    def working_copy(self, account: str) -> Path:
        return self.root / "fsm" / "homes" / account / "auth.json"

    def transitions(self) -> list[list[dict]]:
        """Every codex-fsm run's transition log on this host, oldest run first."""
        logs = sorted((self.root / "fsm" / "logs").glob("session-*.jsonl"), key=lambda path: path.stat().st_mtime)
        return [[r for r in read_jsonl(log) if r.get("kind") != "header"] for log in logs]

    @functools.cached_property
    def root_composition(self) -> Composition:
        return Composition.load(self.env)

    def pool(self) -> Pool:
        return self.root_composition.pool_store.load()

    def stored_login(self, account: str) -> AuthFile:
        """The login the shared pool holds for ``account``, decrypted with this host's key."""
        return self.root_composition.vault.read(account)

    def close(self) -> None:
        """Kill what is still running (a failed test leaves sessions mid-run), its group with it."""
        for process, stream in self._runs:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
            stream.close()
        if "root_composition" in self.__dict__:
            self.root_composition.pool_store.client.close()


@dataclass
class World:
    """The one Redis, the pool key most hosts have, and the hosts of a test."""

    server: "RedisServer"
    key_file: Path
    hosts: list[Host]

    def host(self, tmp_path: Path, name: str, key_file: Path | None = None) -> Host:
        host = Host(tmp_path / name, name, self.server.url, key_file or self.key_file)
        self.hosts.append(host)
        return host


@pytest.fixture
def world(redis_server, tmp_path: Path):
    world = World(redis_server, new_key_file(tmp_path / "pool.key"), [])
    try:
        yield world
    finally:
        for host in world.hosts:
            host.close()


def import_login(host: Host, login: tuple[str, str] = FIRST_LOGIN) -> str:
    """``codex-fsm accounts import`` of a fake login on ``host``, with a fresh quota snapshot so no session probes;
    returns the account id."""
    refresh, last_refresh = login
    path = write_auth(host.root / "login" / "auth.json", account="acct-fake-0001", user="user-fake-0001",
                      email="user1@example.invalid", refresh=refresh, last_refresh=last_refresh)
    result = host.run("accounts", "import", str(path))
    assert result.returncode == 0, result.stderr
    now = time.time()
    fresh = QuotaSnapshot(windows=(QuotaWindow(20.0, 300, now + 3600), QuotaWindow(5.0, 10080, now + 86400)),
                          observed_at=now)

    def seed(pool: Pool) -> None:
        for record in pool.accounts:
            record.quota = fresh

    host.root_composition.pool_store.mutate(seed)
    return account_id_for(parse_auth(path.read_bytes(), "the fake login").identity)


def lease_of(host: Host, account: str) -> Lease | None:
    record = host.pool().get(account)
    assert record is not None, f"account {account} is not in the pool"
    return record.lease


def held(host: Host, account: str) -> Lease:
    """The account's lease, which the test knows is there."""
    lease = lease_of(host, account)
    assert lease is not None, f"account {account} is not leased"
    return lease


def runs(pid: int) -> bool:
    """Whether process ``pid`` still runs (a zombie does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


def runs_or_exits(host: Host, process: subprocess.Popen) -> bool:
    """Whether ``process`` (an exec of ``host``'s) got its fake Codex running, rather than exiting first."""
    wait_for(lambda: list(host.control.glob("exec-running-*")) or process.poll() is not None, 30,
             what=f"the exec on {host.name} to run or to give up")
    return bool(list(host.control.glob("exec-running-*")))


def lease_holder(lease) -> tuple[str, int, int]:
    """Who holds a lease under which generation (its expiry moves with every heartbeat)."""
    return lease.host, lease.owner_pid, lease.generation


def wait_until(moment: float, what: str) -> None:
    """Let the clock pass ``moment`` (a lease's expiry): the one wait on time alone."""
    wait_for(lambda: time.time() > moment, max(1.0, moment - time.time() + 5.0), what=what)


def freeze_outside_a_transaction(world: World, process: subprocess.Popen) -> None:
    """SIGSTOP ``process``'s group at a moment it holds no pool lock. A holder stopped or killed inside a pool
    transaction keeps the lock until the lock's own expiry (10 s, redis_store.LOCK_EXPIRY_S), and every host
    waits that long for the pool: a fault of its own, not the one these tests play."""
    with world.server.client() as client:
        for _ in range(50):
            os.killpg(process.pid, signal.SIGSTOP)
            if not client.exists(LOCK_KEY):
                return
            os.killpg(process.pid, signal.SIGCONT)
            wait_for(lambda: not client.exists(LOCK_KEY), 10, what="the holder to leave its pool transaction")
    raise AssertionError("the holder was inside a pool transaction at each of 50 tries to stop it")


def refresh_token_in_redis(host: Host, account: str) -> str:
    return host.stored_login(account).refresh_token


# -- 1. a holder killed with SIGKILL -----------------------------------------------------------------------


def test_a_killed_holder_s_account_goes_to_the_next_host_after_the_ttl_with_the_refreshed_login(world, tmp_path):
    a, b = world.host(tmp_path, "host-a"), world.host(tmp_path, "host-b")
    account = import_login(a)
    with world.server.client() as client:
        raw = client.get(credentials_key(account))
    assert raw is not None and b"rt_fake_A" not in raw  # the login is in Redis, encrypted
    assert refresh_token_in_redis(b, account) == "rt_fake_A"  # ... and host b's copy of the key opens it

    holder = a.start_exec()
    a.running_child()
    lease = held(a, account)
    assert (lease.host, lease.owner_pid) == ("host-a", holder.pid)
    if uts_namespaces():  # the rig itself: host a's codex-fsm has a host name of its own
        assert os.readlink(f"/proc/{holder.pid}/ns/uts") != os.readlink("/proc/self/ns/uts")
    a.refresh(("rt_fake_B", "2026-12-01T00:00:00.000000Z"))
    wait_for(lambda: refresh_token_in_redis(b, account) == "rt_fake_B", 10, what="host a's write-back")

    freeze_outside_a_transaction(world, holder)
    os.killpg(holder.pid, signal.SIGKILL)
    killed_at = time.time()
    holder.wait(timeout=10)
    last = held(b, account)
    assert last.generation == lease.generation and last.host == "host-a"  # nobody cleared it: it just stops
    # Another host cannot see whether host a's codex-fsm runs: until the lease expires, the account is in use.
    second = b.root_composition.session_pool(b.root_composition.session_settings().thresholds_for)
    answer = second.lease_candidate("session", (), last.expires_at - 0.1)
    assert isinstance(answer, ev.PoolExhausted) and "in use by another codex-fsm session" in answer.reason
    assert f"pid {last.owner_pid} on host-a" in answer.reason  # the holder named with its machine
    second.close(time.time())

    # Host b tries as a script would (exit 75: try again later) until it holds the account.
    refused: list[float] = []  # when each refused run asked the pool
    while True:
        started = time.time()
        taker = b.start_exec()
        if runs_or_exits(b, taker):
            break
        assert taker.returncode == 75 and "in use by another codex-fsm session" in b.stderr(taker), b.stderr(taker)
        [exhausted] = [r for r in b.transitions()[-1] if r["trigger"] == "pool_exhausted"]
        refused.append(exhausted["at"])
        assert len(refused) < 20, "host b never got the account"
    lease = held(b, account)
    assert (lease.host, lease.owner_pid) == ("host-b", taker.pid) and lease.generation > last.generation
    log = b.transitions()[-1]
    [asked] = [r["at"] for r in log if r["trigger"] == "session_started"]
    [leased] = [r["at"] for r in log if r["trigger"] == "account_leased"]
    # Host a's last heartbeat came before the kill, so its lease ran out within a TTL of it; host b was refused
    # only while it ran, and got the account at its first ask after that. A codex-fsm start takes seconds on a
    # loaded machine: that part is measured (the run's start to its first ask), not guessed.
    assert last.expires_at <= killed_at + TTL_S
    assert all(at < last.expires_at for at in refused), (refused, last.expires_at)
    assert leased >= last.expires_at
    assert leased - max(asked, last.expires_at) <= POOL_ANSWER_S
    assert leased - killed_at <= TTL_S + HEARTBEAT_S + (asked - started) + POOL_ANSWER_S, (leased - killed_at, refused)
    home_login = parse_auth(b.working_copy(account).read_bytes(), "host b's working copy")
    assert (home_login.refresh_token, home_login.last_refresh) == ("rt_fake_B", "2026-12-01T00:00:00.000000Z")

    b.release()
    assert taker.wait(timeout=30) == 0, b.stderr(taker)
    assert lease_of(b, account) is None and refresh_token_in_redis(b, account) == "rt_fake_B"
    assert not b.working_copy(account).exists()  # the login went back to Redis with the lease


# -- 2. a holder paused past its lease -----------------------------------------------------------------------


def test_a_holder_paused_past_its_lease_finds_it_lost_and_its_refresh_is_fenced_off(world, tmp_path):
    a, b = world.host(tmp_path, "host-a"), world.host(tmp_path, "host-b")
    account = import_login(a)
    paused = a.start_exec()
    a_child, _ = a.running_child()
    first = held(a, account)

    # codex-fsm alone is paused (a debugger, a host under memory pressure); its Codex goes on.
    freeze_outside_a_transaction(world, paused)
    os.kill(a_child, signal.SIGCONT)
    wait_until(held(b, account).expires_at, "host a's lease to run out")
    taker = b.start_exec()
    b.running_child()
    second = held(b, account)
    assert second.host == "host-b" and second.generation > first.generation
    b.refresh(("rt_fake_C", "2026-12-01T01:00:00.000000Z"))
    wait_for(lambda: refresh_token_in_redis(b, account) == "rt_fake_C", 10, what="host b's write-back")

    # Meanwhile host a's Codex refreshed too, into host a's working copy: a later refresh than host b's, which a
    # newest-wins merge would keep. Only the lease decides whose login is stored.
    a.refresh(("rt_fake_B", "2026-12-01T02:00:00.000000Z"))
    assert parse_auth(a.working_copy(account).read_bytes(), "host a's working copy").refresh_token == "rt_fake_B"
    os.kill(paused.pid, signal.SIGCONT)
    wait_for(lambda: "another session took" in a.stderr(paused), 20, what="host a to find its lease lost")
    wait_for(lambda: not a.working_copy(account).exists(), 10, what="host a to drop its working copy")
    assert refresh_token_in_redis(b, account) == "rt_fake_C"  # the fence refused host a's write-back
    assert lease_holder(held(b, account)) == lease_holder(second)  # host b's lease stands

    # The headless run goes on to its end (an exec cannot move to another account mid-run), told once; with no
    # other account there is nothing to move to, and its log says so.
    assert paused.poll() is None and runs(a_child)
    a.release()
    assert paused.wait(timeout=30) == 0, a.stderr(paused)
    text = a.stderr(paused)
    assert text.count("another session took") == 1 and "Traceback" not in text, text
    [log] = a.transitions()
    rows = [(r["trigger"], r["source"], r["dest"]) for r in log if r["kind"] == "transition"]
    assert ("lease_lost", "running", "prewarming") in rows, rows
    after = rows[rows.index(("lease_lost", "running", "prewarming")) + 1:]
    assert all(trigger != "account_leased" for trigger, _, _ in after), after  # nothing else to lease
    assert rows[-1][1:] == ("prewarming", "exited"), rows
    assert not any(r["kind"] == "rejected" for r in log)
    assert lease_holder(held(b, account)) == lease_holder(second) and refresh_token_in_redis(b, account) == "rt_fake_C"

    b.release()
    assert taker.wait(timeout=30) == 0, b.stderr(taker)
    assert lease_of(b, account) is None and refresh_token_in_redis(b, account) == "rt_fake_C"


# -- 3. the server restarted under a running session -------------------------------------------------------


def notices(text: str) -> tuple[int, int]:
    """How many times the user was told the shared pool went away, and came back."""
    lines = text.splitlines()
    return (sum(1 for line in lines if UNAVAILABLE in line and "is unavailable" in line),
            sum(1 for line in lines if BACK in line))


def test_a_session_outlives_redis_restarts_and_loses_no_record_or_token(world, tmp_path):
    a = world.host(tmp_path, "host-a")
    account = import_login(a)
    session = a.start_exec()
    child, _ = a.running_child()
    before = a.pool()
    login_before = a.stored_login(account)
    generation = held(a, account).generation

    def renewed_after(moment: float) -> bool:
        """A heartbeat after ``moment`` renewed the lease (it sets the expiry to its own time plus the TTL)."""
        try:
            lease = lease_of(a, account)
        except PoolUnavailable:
            return False
        return lease is not None and lease.expires_at > moment + TTL_S and lease.generation == generation

    # A crash and an immediate restart: the data comes back from the append-only file. The outage is shorter
    # than a heartbeat's period, so the session may not even see it (the client's one retry reconnects); if it
    # does, it tells the user once, and once that the pool is back.
    world.server.restart(crash=True)
    restarted_at = time.time()
    wait_for(lambda: renewed_after(restarted_at), 15, what="the lease to be renewed after the crash")
    wait_for(lambda: notices(a.stderr(session))[0] == notices(a.stderr(session))[1], 10,
             what="a 'reachable again' notice for each 'unavailable' one")
    crash_notices = notices(a.stderr(session))
    assert crash_notices in ((0, 0), (1, 1)), a.stderr(session)

    # A graceful stop for several heartbeats (longer than the lease itself); Codex refreshes its token meanwhile.
    world.server.stop()
    stopped_at = time.time()
    a.refresh(("rt_fake_R", "2026-12-01T03:00:00.000000Z"))
    wait_for(lambda: notices(a.stderr(session))[0] > crash_notices[0], 10, what="the 'unavailable' notice")
    wait_until(stopped_at + 4 * HEARTBEAT_S, "Redis to stay away for several heartbeats")
    world.server.start()
    started_at = time.time()
    wait_for(lambda: notices(a.stderr(session))[1] > crash_notices[1], 15, what="the 'reachable again' notice")
    wait_for(lambda: renewed_after(started_at), 15, what="the lease to be renewed after the outage")
    assert notices(a.stderr(session)) == (crash_notices[0] + 1, crash_notices[1] + 1), a.stderr(session)
    assert "Traceback" not in a.stderr(session)

    # Codex and codex-fsm ran through it all; nothing the pool held was lost, and the refresh made while the
    # server was away reached it once it was back.
    assert session.poll() is None and runs(child)
    wait_for(lambda: a.stored_login(account).refresh_token == "rt_fake_R", 10, what="the refreshed login's write-back")
    after = a.pool()
    assert [r.id for r in after.accounts] == [r.id for r in before.accounts]
    [old], [new] = before.accounts, after.accounts
    assert (new.label, new.plan, new.email_masked, new.enabled, new.quota, new.cooldown, new.generation) == \
        (old.label, old.plan, old.email_masked, old.enabled, old.quota, old.cooldown, old.generation)
    assert lease_holder(new.lease) == lease_holder(old.lease) and new.lease.expires_at > old.lease.expires_at
    login_after = a.stored_login(account)
    assert login_after.identity == login_before.identity and login_after.last_refresh > login_before.last_refresh

    a.release()
    assert session.wait(timeout=30) == 0, a.stderr(session)
    assert lease_of(a, account) is None and a.stored_login(account).refresh_token == "rt_fake_R"


# -- 4. a host with the wrong key ----------------------------------------------------------------------------


def every_value(world: World) -> dict[bytes, bytes]:
    with world.server.client() as client:
        return {key: client.get(key) for key in sorted(client.keys("*"))}


def test_a_host_with_another_key_lists_the_accounts_but_uses_and_changes_nothing(world, tmp_path):
    a = world.host(tmp_path, "host-a")
    account = import_login(a)
    b = world.host(tmp_path, "host-b", key_file=new_key_file(tmp_path / "other.key"))
    key_text = (tmp_path / "other.key").read_text().strip()
    before = every_value(world)
    assert credentials_key(account).encode() in before

    # The records are not encrypted and listing decrypts nothing: host b sees the pool as every host does.
    listed = b.run("accounts", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [row["id"] for row in json.loads(listed.stdout)] == [account]

    # Anything that needs a login is refused, before it leases, decrypts or writes anything.
    login = write_auth(b.root / "login" / "auth.json", account="acct-fake-0002", user="user-fake-0002",
                       email="user2@example.invalid", refresh="rt_fake_other")
    for args in (("exec", "do it"), ("accounts", "import", str(login))):
        result = b.run(*args)
        assert result.returncode == 1, (args, result.stderr)
        [line] = result.stderr.splitlines()
        assert line.startswith("codex-fsm: ") and str(tmp_path / "other.key") in line, (args, line)
        assert "is not the key of the shared pool" in line and key_text not in line, (args, line)
        assert every_value(world) == before, args
    assert not b.rig.spawns()
    assert not (b.root / "fsm" / "homes" / account).exists()
