"""Fixtures for driving the supervisor under a real pty around the fake Codex."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from .fakes.rig import Rig
from .pinned_codex import PINNED


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
