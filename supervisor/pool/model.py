"""The pool file's contents in memory, and the one mapping between them and the file's JSON document.

Accounts are named by an opaque id everywhere; the pool never stores a token or a full email (the
credentials live only in each account's private Codex home). Schema changes bump ``SCHEMA_VERSION``;
a file from a newer version is refused, never rewritten.

``pool_from_document`` builds the dataclasses from a document that is already known to be valid: the
schema (``pool_schema``, which checks a document from outside) ends in it, and so does reading back bytes
the store has validated or written itself. ``pool_to_document`` is its inverse, what the file holds.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from ..core.quota import QuotaSnapshot
from ..core.records import decode_snapshot, encode_snapshot

# 2: quota snapshots may carry limit families and flags, a cooldown may name the family it benches,
# an account records its workspace. A version-1 file reads as is (every new field has a default)
# and is written back as version 2.
SCHEMA_VERSION = 2
# Times are Unix seconds; the last second of the year 9999 is as far as a date can be shown.
MAX_TIMESTAMP = 253_402_300_799.0
# What a lease can be for (see ``leases``): a session's account, a prewarmed successor, a running
# Codex child, a parked account's token refresh.
LEASE_PURPOSES = ("session", "successor", "child", "refresh")


@dataclass(slots=True)
class Cooldown:
    until: float
    reason: str
    set_at: float
    # The limit family it benches the account for (None: every family, as every version-1 cooldown).
    family: str | None = None


@dataclass(slots=True)
class Lease:
    """Who holds an account: a process (pid + start time + host), until when, under which generation."""

    owner_pid: int
    owner_start: str
    host: str
    expires_at: float
    generation: int
    purpose: str


@dataclass(slots=True)
class AccountRecord:
    id: str
    label: str
    added_at: float
    enabled: bool = True
    order: int | None = None
    last_used: float | None = None
    plan: str | None = None
    email_masked: str | None = None
    # An opaque name of the ChatGPT workspace the login belongs to (``auth.workspace_id_for``): team
    # seats share it, so a workspace-wide stop benches them all. None until the login is read again.
    workspace: str | None = None
    cooldown: Cooldown | None = None
    quota: QuotaSnapshot | None = None
    lease: Lease | None = None
    # The last generation handed out for this account; a new lease always gets a larger one.
    generation: int = 0


@dataclass(slots=True)
class Pool:
    accounts: list[AccountRecord] = field(default_factory=list)
    version: int = SCHEMA_VERSION

    def get(self, account_id: str) -> AccountRecord | None:
        for record in self.accounts:
            if record.id == account_id:
                return record
        return None


def pool_from_document(document: dict[str, Any]) -> Pool:
    """The pool a valid document describes. Keys an account leaves out take the dataclass defaults,
    and numbers become the types the dataclasses declare (a file may hold a time as ``1700000000``)."""
    return Pool(accounts=[_account(entry) for entry in document["accounts"]], version=int(document["version"]))


def _account(entry: dict[str, Any]) -> AccountRecord:
    values = dict(entry)
    values["added_at"] = float(values["added_at"])
    if values.get("last_used") is not None:
        values["last_used"] = float(values["last_used"])
    if values.get("cooldown") is not None:
        cooldown = values["cooldown"]
        values["cooldown"] = Cooldown(until=float(cooldown["until"]), reason=cooldown["reason"],
                                      set_at=float(cooldown["set_at"]), family=cooldown.get("family"))
    if values.get("lease") is not None:
        lease = dict(values["lease"])
        lease["expires_at"] = float(lease["expires_at"])
        values["lease"] = Lease(**lease)
    if values.get("quota") is not None:
        values["quota"] = decode_snapshot(values["quota"])
    return AccountRecord(**values)


def pool_to_document(pool: Pool) -> dict[str, Any]:
    """What the pool file holds for ``pool``; ``pool_from_document`` reads it back as an equal pool."""
    return {"version": pool.version, "accounts": [_account_document(record) for record in pool.accounts]}


def _account_document(record: AccountRecord) -> dict[str, Any]:
    document = {f.name: getattr(record, f.name) for f in fields(AccountRecord)}
    document["cooldown"] = None if record.cooldown is None else asdict(record.cooldown)
    document["lease"] = None if record.lease is None else asdict(record.lease)
    document["quota"] = None if record.quota is None else encode_snapshot(record.quota)
    return document


dump_pool = pool_to_document
