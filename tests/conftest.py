"""Fixtures for driving the supervisor under a real pty around the fake Codex."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from .fakes.rig import Rig


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
