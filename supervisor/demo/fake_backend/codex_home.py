"""Write a CODEX_HOME that points the real Codex CLI at the fake backend in ChatGPT mode."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path

from .tokens import Credentials

MODEL = "gpt-5.5"
# The catalog's upgrade for MODEL; recording it as already offered skips the "Meet GPT-6 Sol" screen.
MODEL_MIGRATION_TARGET = "gpt-6-sol"


def _write_private(path: Path, text: str) -> None:
    """Atomically replace `path` with `text`, mode 0600, in a 0700 directory."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def auth_json_text(credentials: Credentials) -> str:
    return json.dumps({
        "auth_mode": "chatgpt",
        "OPENAI_API_KEY": None,
        "tokens": {"id_token": credentials.id_token, "access_token": credentials.access_token,
                   "refresh_token": credentials.refresh_token, "account_id": credentials.account_id},
        "last_refresh": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    }, indent=2)


def write_auth_json(path: Path, credentials: Credentials) -> Path:
    """A ChatGPT-mode auth.json at `path` (usually `<CODEX_HOME>/auth.json`)."""
    _write_private(Path(path), auth_json_text(credentials))
    return Path(path)


def read_refresh_token(auth_json: Path) -> str:
    tokens = json.loads(Path(auth_json).read_text(encoding="utf-8"))["tokens"]
    return str(tokens["refresh_token"])


def _toml_string(value: str) -> str:
    return json.dumps(value)  # a JSON string literal is a valid TOML basic string


def config_toml_text(chatgpt_base_url: str, openai_base_url: str, trusted_dirs: Iterable[Path]) -> str:
    projects = "".join(f"\n[projects.{_toml_string(str(Path(d).resolve()))}]\ntrust_level = \"trusted\"\n"
                       for d in trusted_dirs)
    return f"""# Written by supervisor.demo.fake_backend: Codex in ChatGPT mode against a loopback fake backend.
model = {_toml_string(MODEL)}
check_for_update_on_startup = false
cli_auth_credentials_store = "file"
# Both URLs are needed: without openai_base_url Codex fetches its model list from chatgpt.com.
chatgpt_base_url = {_toml_string(chatgpt_base_url)}
openai_base_url = {_toml_string(openai_base_url)}

[analytics]
enabled = false

[features]
daemon_auto_start = false
apps = false
plugins = false
remote_plugin = false
tool_suggest = false
enable_request_compression = false

[tui]
screen_reader_detection_done = true

[notice]
hide_rate_limit_model_nudge = true

[notice.model_migrations]
{_toml_string(MODEL)} = {_toml_string(MODEL_MIGRATION_TARGET)}
{projects}"""


def write_codex_config(codex_home: Path, chatgpt_base_url: str, openai_base_url: str,
                       trusted_dirs: Iterable[Path]) -> Path:
    """`<codex_home>/config.toml`; `trusted_dirs` skip the "Trust this folder?" screen."""
    path = Path(codex_home) / "config.toml"
    _write_private(path, config_toml_text(chatgpt_base_url, openai_base_url, trusted_dirs))
    return path
