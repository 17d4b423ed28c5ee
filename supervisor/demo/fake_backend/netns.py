"""Re-executing the current program inside a loopback-only network namespace, where the machine allows it."""

from __future__ import annotations

import os
import shutil
import subprocess

# Not CODEX_FSM_*: that prefix is codex-fsm's configuration namespace.
IN_NETNS_ENV = "FAKE_BACKEND_IN_LOOPBACK_NETNS"


def in_loopback_netns() -> bool:
    return os.environ.get(IN_NETNS_ENV) == "1"


def reexec_in_loopback_netns(argv: list[str]) -> None:
    """exec `argv` (this program's own command line) under `unshare -n` with lo up; returns only when that is
    not possible (not root, no unshare, or namespaces refused), leaving the dead-proxy environment as the
    only guard."""
    if in_loopback_netns() or os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("ip") is None:
        return
    if subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode != 0:
        return
    os.execvpe("unshare", ["unshare", "-n", "sh", "-c", 'ip link set lo up && exec "$0" "$@"', *argv],
               {**os.environ, IN_NETNS_ENV: "1"})
