"""Per-account leases: which process holds an account, and when a lease is stale.

A lease names its owner by pid AND process start time AND host (pids are reused), carries an expiry
renewed by the holder's heartbeat, and a generation that grows with every new lease of the account
(a holder that finds another generation has been superseded and must stop using the account).
A lease is stale when it has expired or when its owner process is gone. All decisions about leases
are made inside a pool transaction, so detection and reclaim cannot race each other.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Callable

from .model import AccountRecord, Lease

DEFAULT_LEASE_TTL_S = 30.0
# What a lease is for. The core leases a "session" or "successor" candidate: it is probed, and its token may
# be refreshed by its holder. Right before a Codex child starts on it the lease becomes CHILD_PURPOSE: that
# Codex owns the token from then on. REFRESH_PURPOSE: a parked account's token is being refreshed.
SESSION_PURPOSE = "session"
CHILD_PURPOSE = "child"
REFRESH_PURPOSE = "refresh"


@dataclass(frozen=True, slots=True)
class ProcessIdentity:
    pid: int
    start: str
    host: str

    def owns(self, lease: Lease) -> bool:
        return (lease.owner_pid, lease.owner_start, lease.host) == (self.pid, self.start, self.host)


def process_start(pid: int) -> str | None:
    """An opaque token for when ``pid`` started; None when there is no such process."""
    if sys.platform.startswith("linux"):
        try:
            with open(f"/proc/{pid}/stat", "rb") as stat:
                text = stat.read().decode("ascii", "replace")
        except (FileNotFoundError, ProcessLookupError):
            return None
        # Field 22 (starttime) comes after the parenthesised command name, which may hold spaces.
        return text.rpartition(")")[2].split()[19]
    import subprocess  # only off Linux; a supervised start does not pay for the module

    result = subprocess.run(["ps", "-o", "lstart=", "-p", str(pid)], capture_output=True, text=True, check=False)
    return result.stdout.strip() or None


def current_process(host: str | None = None) -> ProcessIdentity:
    """This process, on ``host`` (the name it has in a shared pool's leases; by default the machine's)."""
    pid = os.getpid()
    return ProcessIdentity(pid=pid, start=process_start(pid) or "", host=host or os.uname().nodename)


def owner_alive(lease: Lease, host: str) -> bool:
    """Whether the lease's owner still runs. Owners on another host cannot be checked: assumed alive."""
    if lease.host != host:
        return True
    return process_start(lease.owner_pid) == lease.owner_start


OwnerCheck = Callable[[Lease], bool]


def is_stale(lease: Lease, now: float, alive: OwnerCheck) -> bool:
    return lease.expires_at <= now or not alive(lease)


def grant(record: AccountRecord, owner: ProcessIdentity, purpose: str, now: float, ttl_s: float,
          generation: int | None = None) -> Lease:
    """Give ``record`` a new lease for ``owner`` under ``generation`` (the store's next one; by default
    the record's counter plus one, which is the truth for a pool file read and written under its lock)."""
    record.generation = record.generation + 1 if generation is None else max(generation, record.generation + 1)
    record.lease = Lease(owner_pid=owner.pid, owner_start=owner.start, host=owner.host,
                         expires_at=now + ttl_s, generation=record.generation, purpose=purpose)
    return record.lease


def held_by(record: AccountRecord | None, owner: ProcessIdentity, generation: int) -> bool:
    return (record is not None and record.lease is not None
            and record.lease.generation == generation and owner.owns(record.lease))
