"""Opening the shared pool's Redis: the URL's password or an environment variable's, short timeouts, and
every failure of the connection turned into ``PoolUnavailable`` naming the server (never the password).

The timeouts are short because a supervised session asks the pool from the loop that also relays the
user's terminal: a Redis that went away must cost a second, not the user's keystrokes. One immediate
retry (no backoff) lets a connection that died with a Redis restart reconnect; waiting longer is the
caller's decision (``adapters.pool_guard`` backs off).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterator, Mapping
from urllib.parse import urlsplit

from ..config import redacted_url
from ..errors import ConfigError, PoolUnavailable
from ..terminal_text import for_terminal

if TYPE_CHECKING:
    import redis

PASSWORD_ENV = "CODEX_FSM_POOL_PASSWORD"
CONNECT_TIMEOUT_S = 1.0
SOCKET_TIMEOUT_S = 3.0


def shown(url: str) -> str:
    """The server as messages name it: without the password, safe for a terminal."""
    return for_terminal(redacted_url(url))


def connect(url: str, env: Mapping[str, str]) -> "redis.Redis":
    """A client for ``url`` (no connection is made yet). The password comes from the URL, else from
    ``CODEX_FSM_POOL_PASSWORD``. ConfigError when redis-py cannot open such a URL."""
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    options: dict = {"socket_connect_timeout": CONNECT_TIMEOUT_S, "socket_timeout": SOCKET_TIMEOUT_S,
                     "retry": Retry(NoBackoff(), 1), "health_check_interval": 30}
    password = env.get(PASSWORD_ENV, "")
    # redis-py ignores an empty password in the URL (``redis://:@host``), so the variable's applies then too.
    if password and not urlsplit(url).password:
        options["password"] = password
    try:
        client = redis.Redis.from_url(url, **options)
        # redis-py hands every query parameter it does not know (``?sockettimeout=1``, a typo) to the
        # connection, which fails with a TypeError at the first command; building one connection object
        # (it does not connect) refuses such a URL here, by name.
        connections = client.connection_pool
        connections.connection_class(**connections.connection_kwargs)
    except (ValueError, TypeError, redis.exceptions.RedisError) as exc:
        raise ConfigError(f"the shared pool URL {shown(url)} cannot be opened: {for_terminal(exc)}") from None
    return client


@contextmanager
def unavailable_as_pool_error(url: str, doing: str) -> Iterator[None]:
    """Inside: a Redis error becomes ``PoolUnavailable`` ("could not <doing>: <why>")."""
    import redis

    try:
        yield
    except redis.exceptions.AuthenticationError:
        raise PoolUnavailable(f"the shared pool at {shown(url)} refused the password: could not {doing}. "
                              f"Give it in the URL or in {PASSWORD_ENV}") from None
    except redis.exceptions.RedisError as exc:
        raise PoolUnavailable(f"the shared pool at {shown(url)} is unavailable: could not {doing} "
                              f"({for_terminal(str(exc)) or type(exc).__name__})") from None
