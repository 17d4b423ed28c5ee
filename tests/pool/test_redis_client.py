"""Opening the shared pool's Redis: where the password comes from, and every failure as PoolUnavailable
naming the server without its password."""

from __future__ import annotations

import socket
import socketserver
import threading
from typing import Iterator

import pytest
import redis
from redis.connection import SSLConnection, UnixDomainSocketConnection

from supervisor.errors import ConfigError, PoolError, PoolUnavailable
from supervisor.pool.redis_client import (
    CONNECT_TIMEOUT_S,
    PASSWORD_ENV,
    SOCKET_TIMEOUT_S,
    connect,
    unavailable_as_pool_error,
)

SECRET = "hunter2-not-a-real-password"
ENV_SECRET = "env-secret-not-a-real-password"


def _kwargs(client: redis.Redis) -> dict:
    return client.connection_pool.connection_kwargs


def _closed_port() -> int:
    """A loopback port nothing listens on: bound, then released (the kernel does not hand it out again
    at once)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _RefusesEveryPassword(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.request.recv(4096)  # HELLO 3 AUTH default <password>
        self.request.sendall(b"-WRONGPASS invalid username-password pair or user is disabled.\r\n")


@pytest.fixture
def refusing_server() -> Iterator[int]:
    """A loopback server that answers the first command of every connection as Redis does a wrong password."""
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _RefusesEveryPassword)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_the_password_comes_from_the_environment_when_the_url_has_none() -> None:
    client = connect("redis://127.0.0.1:6390/2", {PASSWORD_ENV: ENV_SECRET})
    kwargs = _kwargs(client)
    assert (kwargs["host"], kwargs["port"], kwargs["db"], kwargs["password"]) == ("127.0.0.1", 6390, 2, ENV_SECRET)
    assert (kwargs["socket_connect_timeout"], kwargs["socket_timeout"]) == (CONNECT_TIMEOUT_S, SOCKET_TIMEOUT_S)


@pytest.mark.parametrize("url, password", [
    (f"redis://:{SECRET}@127.0.0.1:6390/0", SECRET),
    ("redis://:p%40ss%3Aword@127.0.0.1/0", "p@ss:word"),
    (f"redis://127.0.0.1/0?password={SECRET}", SECRET),
])
def test_a_password_in_the_url_wins_over_the_environment(url: str, password: str) -> None:
    assert _kwargs(connect(url, {PASSWORD_ENV: ENV_SECRET}))["password"] == password


@pytest.mark.parametrize("url", ["redis://alice@127.0.0.1/0", "redis://:@127.0.0.1/0"])
def test_a_url_with_a_user_name_or_an_empty_password_takes_the_environment_s(url: str) -> None:
    assert _kwargs(connect(url, {PASSWORD_ENV: ENV_SECRET}))["password"] == ENV_SECRET


def test_no_password_anywhere_means_none() -> None:
    assert _kwargs(connect("redis://127.0.0.1/0", {PASSWORD_ENV: ""})).get("password") is None


def test_unix_sockets_and_tls_get_their_connection_classes() -> None:
    unix = connect("unix:///run/redis/redis.sock?db=3", {PASSWORD_ENV: ENV_SECRET})
    assert unix.connection_pool.connection_class is UnixDomainSocketConnection
    assert (_kwargs(unix)["path"], _kwargs(unix)["db"], _kwargs(unix)["password"]) == (
        "/run/redis/redis.sock", 3, ENV_SECRET)
    assert connect("rediss://127.0.0.1:6390/0", {}).connection_pool.connection_class is SSLConnection


def test_connect_itself_makes_no_connection() -> None:
    connect(f"redis://127.0.0.1:{_closed_port()}/0", {})


@pytest.mark.parametrize("query, named", [
    ("?sockettimeout=1", "sockettimeout"),
    ("?socket_timeout=soon", "socket_timeout"),
])
def test_a_url_redis_py_cannot_open_is_a_config_error_without_the_password(query: str, named: str) -> None:
    url = f"redis://:{SECRET}@127.0.0.1:6390/0{query}"
    with pytest.raises(ConfigError) as error:
        connect(url, {})
    message = str(error.value)
    assert message.startswith("the shared pool URL redis://***@127.0.0.1:6390/0")
    assert "cannot be opened" in message and named in message and SECRET not in message


def test_a_server_that_is_not_there_is_unavailable_and_named_without_the_password() -> None:
    port = _closed_port()
    url = f"redis://:{SECRET}@127.0.0.1:{port}/0"
    client = connect(url, {})
    with pytest.raises(PoolUnavailable) as error, unavailable_as_pool_error(url, "read the pool"):
        client.ping()
    message = str(error.value)
    assert message.startswith(f"the shared pool at redis://***@127.0.0.1:{port}/0 is unavailable: could not read "
                              "the pool (")
    assert "Connection refused" in message
    assert SECRET not in message


def test_a_refused_password_says_where_a_password_is_given(refusing_server: int) -> None:
    url = f"redis://:{SECRET}@127.0.0.1:{refusing_server}/0"
    with pytest.raises(PoolUnavailable) as error, unavailable_as_pool_error(url, "take the pool lock"):
        connect(url, {}).ping()
    message = str(error.value)
    assert message == (f"the shared pool at redis://***@127.0.0.1:{refusing_server}/0 refused the password: could "
                       f"not take the pool lock. Give it in the URL or in {PASSWORD_ENV}")
    assert SECRET not in message


@pytest.mark.parametrize("raised, shown", [
    (redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:6390. Connection refused."),
     "(Error 111 connecting to 127.0.0.1:6390. Connection refused.)"),
    (redis.exceptions.TimeoutError("Timeout reading from socket"), "(Timeout reading from socket)"),
    (redis.exceptions.ResponseError("WRONGTYPE Operation against a key holding the wrong kind of value"),
     "(WRONGTYPE Operation against a key holding the wrong kind of value)"),
    (redis.exceptions.ReadOnlyError(), "(ReadOnlyError)"),
    (redis.exceptions.ResponseError("ERR \x1b]52;c;ZWNobw==\x07"), "(ERR \\x1b]52;c;ZWNobw==\\x07)"),
])
def test_every_redis_error_becomes_pool_unavailable(raised: redis.exceptions.RedisError, shown: str) -> None:
    url = f"rediss://:{SECRET}@pool.internal:6390/0"
    with pytest.raises(PoolUnavailable) as error, unavailable_as_pool_error(url, "write the pool"):
        raise raised
    message = str(error.value)
    assert message == ("the shared pool at rediss://***@pool.internal:6390/0 is unavailable: could not write "
                       f"the pool {shown}")
    assert error.value.__cause__ is None and error.value.__suppress_context__


def test_an_authentication_error_is_told_apart_from_other_connection_errors() -> None:
    with pytest.raises(PoolUnavailable, match="refused the password"):
        with unavailable_as_pool_error(f"redis://:{SECRET}@127.0.0.1/0", "read the pool"):
            raise redis.exceptions.AuthenticationError("invalid password")


def test_other_errors_pass_through_as_themselves() -> None:
    with pytest.raises(KeyError), unavailable_as_pool_error("redis://127.0.0.1/0", "read the pool"):
        raise KeyError("a bug, not the server")
    with pytest.raises(PoolError, match="already a pool error"), unavailable_as_pool_error("redis://h/0", "x"):
        raise PoolError("already a pool error")
