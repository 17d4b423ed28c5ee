"""A throwaway world for running codex-fsm over the real Codex against the fake backend.

Everything lives under one root: the "real" CODEX_HOME (config pointing at the backend), codex-fsm's own
home (pool, account homes, transition logs), a work dir, a private HOME. Accounts are imported into the
pool with codex-fsm's own `accounts import --move`, so the pool holds the only copy of each login.
Used by `codex-fsm demo` and the end-to-end tests.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ...errors import CodexFsmError
from .codex_home import write_auth_json, write_codex_config
from .env import codex_env
from .server import FakeChatGPTBackend


@dataclass
class SupervisedWorld:
    root: Path
    backend: FakeChatGPTBackend
    codex_binary: Path
    settings: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)  # backend account id -> pool label

    @property
    def codex_home(self) -> Path:
        return self.root / "codex-home"

    @property
    def fsm_home(self) -> Path:
        return self.root / "fsm-home"

    @property
    def work_dir(self) -> Path:
        return self.root / "work"

    @property
    def user_home(self) -> Path:
        return self.root / "user-home"

    def create(self) -> SupervisedWorld:
        for path in (self.codex_home, self.fsm_home, self.work_dir, self.user_home):
            path.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_codex_config(self.codex_home, self.backend.chatgpt_base_url, self.backend.openai_base_url,
                           [self.work_dir])
        return self

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The environment for `codex-fsm` (and the Codex it spawns): offline, pointed at this world."""
        fsm = {
            "CODEX_FSM_HOME": str(self.fsm_home),
            "CODEX_FSM_CONFIG": str(self._fsm_config()),
            "CODEX_FSM_CODEX_BIN": str(self.codex_binary),
            "CODEX_FSM_PROBE_CHATGPT_BASE_URL": self.backend.chatgpt_base_url.rstrip("/"),
            "CODEX_FSM_PROBE_CA_BUNDLE": str(self.backend.ca_path),
            **self.settings,
        }
        return codex_env(self.codex_home, self.backend.ca_path, self.backend.refresh_token_url, self.user_home,
                         {**fsm, **(extra or {})})

    def add_account(self, account_id: str, label: str, *, access_token_expired: bool = False) -> None:
        """Log `account_id` in (fake credentials) and import it into the pool under `label`."""
        staged = self.root / "staging" / f"{label}.json"
        credentials = self.backend.issue_credentials(account_id, f"{label}@example.invalid",
                                                     access_token_expired=access_token_expired)
        write_auth_json(staged, credentials)
        self.codex_fsm("accounts", "import", str(staged), "--move", "--label", label)
        self.labels[account_id] = label

    def codex_fsm(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run a codex-fsm management command in this world; raises CodexFsmError with its output if it fails
        (`codex-fsm demo` shows that message instead of a traceback)."""
        done = subprocess.run([sys.executable, "-m", "supervisor.cli", *args], env=self.env(), cwd=self.work_dir,
                              capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise CodexFsmError(f"codex-fsm {' '.join(args)} exited {done.returncode}:\n{done.stdout}{done.stderr}")
        return done

    def transition_logs(self) -> list[Path]:
        return sorted((self.fsm_home / "logs").glob("*.jsonl"), key=lambda p: p.stat().st_mtime)

    def _fsm_config(self) -> Path:
        path = self.root / "codex-fsm.toml"
        if not path.exists():
            path.write_text("# codex-fsm settings of this throwaway world come from CODEX_FSM_* variables\n")
        return path
