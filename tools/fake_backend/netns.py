"""Re-executing the current program inside a loopback-only network namespace, where the machine allows it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

IN_NETNS_ENV = "CODEX_FSM_IN_LOOPBACK_NETNS"


def in_loopback_netns() -> bool:
    return os.environ.get(IN_NETNS_ENV) == "1"


def reexec_in_loopback_netns() -> None:
    """exec `unshare -n` (lo up) around this same command line; returns only when that is not possible
    (not root, no unshare, or namespaces refused), leaving the dead-proxy environment as the only guard."""
    if in_loopback_netns() or os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("ip") is None:
        return
    if subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode != 0:
        return
    argv = [sys.executable, *sys.argv] if not sys.argv[0].endswith("codex-fsm") else sys.argv
    os.execvpe("unshare", ["unshare", "-n", "sh", "-c", 'ip link set lo up && exec "$0" "$@"', *argv],
               {**os.environ, IN_NETNS_ENV: "1"})
