"""Fixtures for driving the real Codex CLI against the fake ChatGPT backend.

Every Codex run gets a fresh environment with a dead proxy (nothing can be fetched from the internet even
outside a network namespace), the fake backend's CA and its token endpoint. `make test` runs the session in
`unshare -n` where it can; these fixtures work either way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from supervisor.demo.fake_backend import (Credentials, FakeChatGPTBackend, codex_env, write_auth_json,
                                         write_codex_config)
from supervisor.demo.fake_backend.world import SupervisedWorld
from supervisor.demo.terminal import Terminal

from tests.pinned_codex import native_binary, pinned_version

REPO = Path(__file__).resolve().parents[2]
# Codex's own home entries that belong to one account and must never be shared through an overlay.
PRIVATE_HOME_ENTRIES = {"auth.json", "auth.lock", "auth.json.lock", "models_cache.json", "app-server-control",
                        "app-server-daemon", "packages"}


@dataclass(frozen=True)
class CodexHome:
    path: Path
    account_id: str
    credentials: Credentials

    @property
    def auth_json(self) -> Path:
        return self.path / "auth.json"


@pytest.fixture(scope="session")
def codex_binary(pytestconfig: pytest.Config) -> Path:
    """The native binary of the pinned release `--codex` names (the newest unless told)."""
    name = pytestconfig.getoption("--codex")
    try:
        return native_binary(name)
    except AssertionError as exc:
        pytest.fail(str(exc))


def pytest_report_header(config: pytest.Config) -> str:
    name = config.getoption("--codex")
    return f"e2e: the real Codex {pinned_version(name)} (package.json's codex-{name})"


def slow_backend(answer_template: str, chunk_delay_s: float) -> object:
    """A parameter for ``fake_backend`` (``indirect=True``): a backend whose answers come slowly, so that
    a second run starts, or a Ctrl-C lands, while the first is mid-turn."""
    return pytest.param({"answer_template": answer_template, "chunk_delay_s": chunk_delay_s}, id="slow")


@pytest.fixture
def fake_backend(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[FakeChatGPTBackend]:
    options = getattr(request, "param", None) or {}
    with FakeChatGPTBackend(tmp_path / "backend", **options) as backend:
        yield backend
    assert backend.violations() == [], "the fake backend recorded violations"


@pytest.fixture
def work_dir(tmp_path: Path) -> Path:
    path = tmp_path / "work"
    path.mkdir()
    return path


@pytest.fixture
def make_codex_home(tmp_path: Path, fake_backend: FakeChatGPTBackend,
                    work_dir: Path) -> Callable[..., CodexHome]:
    """`make_codex_home(account_id, access_token_expired=False, share_from=None)`: a CODEX_HOME logged in to
    the account. `share_from` links every non-private entry of another home (the per-account overlay), so
    sessions created there can be resumed here."""

    def make(account_id: str, *, access_token_expired: bool = False, share_from: CodexHome | None = None) -> CodexHome:
        path = tmp_path / f"home-{account_id}"
        path.mkdir(mode=0o700)
        if share_from is None:
            write_codex_config(path, fake_backend.chatgpt_base_url, fake_backend.openai_base_url, [work_dir])
        else:
            for entry in share_from.path.iterdir():
                if entry.name not in PRIVATE_HOME_ENTRIES and not entry.name.endswith(("-wal", "-shm")):
                    (path / entry.name).symlink_to(entry)
        credentials = fake_backend.issue_credentials(account_id, f"{account_id}@example.invalid",
                                                     access_token_expired=access_token_expired)
        write_auth_json(path / "auth.json", credentials)
        return CodexHome(path, account_id, credentials)

    return make


@pytest.fixture
def spawn_codex(codex_binary: Path, fake_backend: FakeChatGPTBackend, work_dir: Path,
                tmp_path: Path) -> Iterator[Callable[..., Terminal]]:
    """`spawn_codex(home, *args)`: the real Codex TUI (no daemon) under a 40x120 pty in the work dir."""
    terminals: list[Terminal] = []
    user_home = tmp_path / "user-home"
    user_home.mkdir()

    def spawn(home: CodexHome, *args: str) -> Terminal:
        env = codex_env(home.path, fake_backend.ca_path, fake_backend.refresh_token_url, user_home)
        terminal = Terminal([str(codex_binary), "--no-daemon", *args], env, work_dir)
        terminals.append(terminal)
        return terminal

    yield spawn
    for terminal in terminals:
        terminal.close()


@pytest.fixture
def world(tmp_path: Path, fake_backend: FakeChatGPTBackend, codex_binary: Path) -> SupervisedWorld:
    """A throwaway world for `codex-fsm` over the real Codex: pool, account homes, the "real" CODEX_HOME."""
    # The world's environment inherits nothing; without PYTHONPATH `-m supervisor.cli` would import
    # whatever checkout the virtualenv's editable install points at, not the code under test.
    world = SupervisedWorld(tmp_path / "world", fake_backend, codex_binary)
    world.settings["PYTHONPATH"] = str(REPO)
    return world.create()
