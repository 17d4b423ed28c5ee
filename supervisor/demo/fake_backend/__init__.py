"""A fake ChatGPT backend that the real Codex CLI talks to offline, for tests, the demo and benchmarks.

    with FakeChatGPTBackend(tmp_dir) as backend:
        backend.set_account("acct-a", exhaust_after_turns=2)
        creds = backend.issue_credentials("acct-a", "a@example.invalid")
        write_auth_json(home / "auth.json", creds)
        write_codex_config(home, backend.chatgpt_base_url, backend.openai_base_url, [work_dir])
        ... run codex with codex_env(...) ...
        assert backend.violations() == []
"""

from .accounts import AccountState, Window
from .codex_home import read_refresh_token, write_auth_json, write_codex_config
from .env import codex_env
from .records import ConversationItem, RecordedRequest, RefreshRecord
from .server import FakeChatGPTBackend
from .tokens import Credentials

__all__ = [
    "AccountState", "ConversationItem", "Credentials", "FakeChatGPTBackend", "RecordedRequest", "RefreshRecord",
    "Window", "codex_env", "read_refresh_token", "write_auth_json", "write_codex_config",
]
