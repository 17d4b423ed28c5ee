"""The environment a real Codex run needs against the fake backend, and nothing that could reach out."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

# A dead proxy: whatever Codex would fetch from the internet (the announcement tip) fails at once on
# loopback instead of resolving a name; the fake backend is reached directly through NO_PROXY.
DEAD_PROXY = "http://127.0.0.1:9"
OFFLINE_PROXY_ENV = {
    "HTTPS_PROXY": DEAD_PROXY, "HTTP_PROXY": DEAD_PROXY, "ALL_PROXY": DEAD_PROXY,
    "https_proxy": DEAD_PROXY, "http_proxy": DEAD_PROXY, "all_proxy": DEAD_PROXY,
    "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
}


def codex_env(codex_home: Path, ca_path: Path, refresh_token_url: str, home: Path,
              extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """A fresh environment (nothing inherited but PATH and PYTHONPATH): private HOME and CODEX_HOME, the fake
    CA, the dead proxy. PYTHONPATH is kept so that a codex-fsm started from this environment is the checkout
    under test, not whatever an editable install elsewhere points at."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "TERM": "xterm-256color",
        "CODEX_HOME": str(codex_home),
        "CODEX_CA_CERTIFICATE": str(ca_path),
        "CODEX_REFRESH_TOKEN_URL_OVERRIDE": refresh_token_url,
        **OFFLINE_PROXY_ENV,
    }
    if os.environ.get("PYTHONPATH"):
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    env.update(extra or {})
    return env
