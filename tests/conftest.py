"""Fixtures for driving the supervisor under a real pty around the fake Codex, and real Redis servers."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .fakes.rig import Rig
from .pinned_codex import PINNED

if TYPE_CHECKING:
    from .fakes.redis_server import RedisServer


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--codex", choices=PINNED, default=PINNED[0],
                     help="which pinned Codex release the e2e suite runs (package.json's codex-<name> alias; "
                          "default: %(default)s)")


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    rig = Rig(tmp_path)
    yield rig
    rig.close()


@pytest.fixture
def tty_pair() -> Iterator[tuple[int, int]]:
    """A pty pair for a loop run in-process: (master, slave)."""
    master, slave = os.openpty()
    yield master, slave
    os.close(master)
    os.close(slave)


# Redis fixtures import tests/fakes/redis_server.py (and through it redis-py) only when a test asks for one, so
# collecting the suite needs neither. Each fails the test, never skips it, when redis-server is not installed.

def _started_redis_server() -> Iterator[RedisServer]:
    from .fakes.redis_server import RedisServer

    server = RedisServer()
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A fresh redis-server on 127.0.0.1 for this test alone (its own port and folder), removed after it."""
    yield from _started_redis_server()


@pytest.fixture(scope="session")
def redis_server_session() -> Iterator[RedisServer]:
    """One redis-server shared by the whole run: a test that uses it directly empties it itself (FLUSHALL)
    or takes ``redis_client``, which does. Tests that stop, kill or restart a server take ``redis_server``."""
    yield from _started_redis_server()


@pytest.fixture
def redis_client(redis_server_session: RedisServer) -> Iterator[Any]:
    """A client of the session's redis-server, emptied (FLUSHALL) before the test so it starts from nothing."""
    client = redis_server_session.client()
    client.flushall()
    try:
        yield client
    finally:
        client.close()
