"""The real redis-server the shared pool's tests run against: where it listens, its password, what survives a
restart or a crash, and the errors when it cannot be had."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import redis

from . import redis_server as redis_server_module
from .redis_server import RedisServer, RedisServerError, RedisServerMissing

# A throwaway secret made up for these tests, with the characters a config line or a URL could trip over.
TEST_PASSWORD = 'not-a-secret with space "quote" \\ and #'


def test_redis_server_is_installed() -> None:
    assert shutil.which("redis-server"), "redis-server is missing: `make redis` (or `make test`) installs it"


def test_it_answers_ping_on_loopback_only_with_the_documented_persistence(redis_server: RedisServer) -> None:
    client = redis_server.client()
    assert client.ping() is True
    # redis-py turns CONFIG GET's names and values into str with or without decode_responses
    assert client.config_get("bind") == {"bind": "127.0.0.1"}
    assert redis_server.client(decode_responses=True).config_get("bind") == {"bind": "127.0.0.1"}
    settings = {name: client.config_get(name)[name]
                for name in ("port", "protected-mode", "appendonly", "appendfsync", "save", "dir", "logfile")}
    assert settings == {"port": str(redis_server.port), "protected-mode": "yes", "appendonly": "yes",
                        "appendfsync": "always", "save": "", "dir": str(redis_server.directory),
                        "logfile": str(redis_server.log_path)}
    assert redis_server.host == "127.0.0.1"
    assert redis_server.url == f"redis://127.0.0.1:{redis_server.port}/0"
    assert redis.Redis.from_url(redis_server.url).ping() is True
    assert redis_server.running and redis_server.pid is not None
    assert redis_server.log_path.is_file()


def test_its_client_never_retries_so_a_dead_server_fails_a_test_at_once(redis_server: RedisServer) -> None:
    assert redis_server.client().get_retry().get_retries() == 0


def test_a_password_is_required_when_given_and_never_written_down(tmp_path: Path) -> None:
    with RedisServer(TEST_PASSWORD, directory=tmp_path / "redis") as server:
        with pytest.raises(redis.AuthenticationError):
            server.client(password=None).set("key", "value")
        with pytest.raises(redis.AuthenticationError):
            server.client(password="wrong").ping()
        assert server.client().set("key", "value") is True
        assert redis.Redis.from_url(server.url).get("key") == b"value"
        assert ":not-a-secret%20with%20space" in server.url
        cmdline = Path(f"/proc/{server.pid}/cmdline").read_bytes()
        assert TEST_PASSWORD.encode() not in cmdline
        assert TEST_PASSWORD not in repr(server)
    files = [path for path in (tmp_path / "redis").rglob("*") if path.is_file()]
    assert files, "the server left no files to look in"
    for path in files:
        assert b"not-a-secret" not in path.read_bytes(), f"the password is written in {path}"


@pytest.mark.parametrize("crash", [False, True], ids=["graceful", "kill-9"])
def test_a_restart_keeps_the_port_and_every_acknowledged_write(redis_server: RedisServer, crash: bool) -> None:
    client = redis_server.client()
    for number in range(50):
        client.set(f"key:{number}", number)
    client.incr("counter")
    port, pid = redis_server.port, redis_server.pid

    redis_server.restart(crash=crash)

    assert (redis_server.port, redis_server.running) == (port, True)
    assert redis_server.pid != pid
    assert client.mget([f"key:{number}" for number in range(50)]) == [str(n).encode() for n in range(50)]
    assert client.get("counter") == b"1"


def test_a_killed_server_makes_client_calls_fail_with_connection_error(redis_server: RedisServer) -> None:
    client = redis_server.client()
    client.set("key", "value")

    redis_server.kill()

    assert not redis_server.running and redis_server.pid is None
    with pytest.raises(redis.ConnectionError) as failure:
        client.get("key")
    assert not isinstance(failure.value, redis.AuthenticationError)
    with pytest.raises(redis.ConnectionError):
        redis_server.client().ping()


def test_stop_then_start_serves_the_same_data_on_the_same_port(redis_server: RedisServer) -> None:
    redis_server.client().set("key", "value")
    port = redis_server.port
    redis_server.stop()
    assert not redis_server.running
    redis_server.start()
    assert redis_server.port == port
    assert redis_server.client().get("key") == b"value"


def test_two_servers_get_different_ports_and_separate_data() -> None:
    with RedisServer() as first, RedisServer() as second:
        assert first.port != second.port
        assert first.directory != second.directory
        first.client().set("key", "first")
        assert second.client().get("key") is None


def test_close_removes_the_folder_it_made_and_keeps_one_it_was_given(tmp_path: Path) -> None:
    made = RedisServer()
    made.start()
    made_folder = made.directory
    assert made_folder.is_dir()
    made.close()
    assert not made.running
    assert not made_folder.exists()

    given = tmp_path / "given"
    with RedisServer(directory=given) as server:
        server.client().set("key", "value")
    assert not server.running
    assert (given / "redis.log").is_file()
    assert (given / "appendonlydir").is_dir()


def test_a_missing_binary_is_a_loud_error_naming_make_redis(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(RedisServerMissing, match="run `make redis`"):
        RedisServer(binary="redis-server-not-installed").start()

    monkeypatch.setenv("PATH", str(tmp_path))
    server = RedisServer()
    with pytest.raises(RedisServerMissing, match=r"'redis-server' is not installed.*make redis"):
        server.start()
    server.close()


def test_a_failed_start_in_a_with_statement_leaves_no_folder(redis_server: RedisServer,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[Path] = []
    real_mkdtemp = redis_server_module.tempfile.mkdtemp
    monkeypatch.setattr(redis_server_module.tempfile, "mkdtemp",
                        lambda **options: made.append(Path(real_mkdtemp(**options))) or made[-1])
    with pytest.raises(RedisServerError, match="Address already in use"):
        with RedisServer(port=redis_server.port):
            pass
    assert len(made) == 1 and not made[0].exists()


def test_a_server_that_cannot_bind_its_port_fails_with_its_log(redis_server: RedisServer) -> None:
    taken = RedisServer(port=redis_server.port)
    try:
        with pytest.raises(RedisServerError, match=r"(?s)exited with status 1 before answering.*"
                                                   r"last lines of .*redis\.log.*Address already in use"):
            taken.start()
        assert not taken.running
    finally:
        taken.close()


def test_a_free_port_taken_before_redis_binds_it_is_traded_for_another(
        redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch) -> None:
    offered = iter([redis_server.port])
    real_free_port = redis_server_module.free_loopback_port
    monkeypatch.setattr(redis_server_module, "free_loopback_port", lambda: next(offered, None) or real_free_port())
    with RedisServer() as server:
        assert server.port != redis_server.port
        assert server.client().ping() is True


def _fake_binary(folder: Path, script: str) -> str:
    folder.mkdir()
    binary = folder / "redis-server"
    binary.write_text("#!/bin/sh\n" + script)
    binary.chmod(0o755)
    return str(binary)


def test_a_server_that_never_answers_is_killed_at_the_deadline(tmp_path: Path) -> None:
    server = RedisServer(binary=_fake_binary(tmp_path / "bin", "echo 'listening, honest'\nexec sleep 60\n"),
                         directory=tmp_path / "redis", ready_timeout_s=0.3)
    with pytest.raises(RedisServerError, match=r"(?s)did not answer within 0\.3 s.*and was killed.*"
                                               r"listening, honest"):
        server.start()
    assert not server.running
    server.close()


def test_the_log_tail_in_an_error_is_made_safe_for_a_terminal(tmp_path: Path) -> None:
    server = RedisServer(binary=_fake_binary(tmp_path / "bin", "printf 'bad \\033]0;title\\007 option\\n'\nexit 1\n"),
                         directory=tmp_path / "redis")
    with pytest.raises(RedisServerError) as failure:
        server.start()
    message = str(failure.value)
    assert "bad \\x1b]0;title\\x07 option" in message
    assert "\x1b" not in message and "\x07" not in message
    server.close()


def test_a_session_server_left_with_data(redis_server_session: RedisServer) -> None:
    # Deliberately not emptied here: the next test's redis_client must start from nothing all the same.
    redis_server_session.client().set("left-over", "from an earlier test")


def test_redis_client_starts_from_an_empty_session_server(redis_client: redis.Redis) -> None:
    assert redis_client.dbsize() == 0
    redis_client.set("key", "value")
    assert redis_client.get("key") == b"value"


def test_fixture_servers_are_separate_processes(redis_server: RedisServer,
                                                redis_server_session: RedisServer) -> None:
    assert redis_server.port != redis_server_session.port
    assert redis_server.pid != redis_server_session.pid
    assert os.path.isdir(redis_server.directory)
