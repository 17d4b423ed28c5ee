"""The pool file's contents in memory, and the marshmallow schema that checks them on the way in.

Accounts are named by an opaque id everywhere; the pool never stores a token or a full email (the
credentials live only in each account's private Codex home). Schema changes bump ``SCHEMA_VERSION``;
a file from a newer version is refused, never rewritten.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, post_load, validate

from ..core.quota import QuotaSnapshot
from ..core.records import decode_snapshot, encode_snapshot
from ..errors import EventDecodeError

SCHEMA_VERSION = 1


@dataclass(slots=True)
class Cooldown:
    until: float
    reason: str
    set_at: float


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

    def find(self, reference: str) -> AccountRecord | None:
        """An account by its id, else by its label when exactly one account carries it."""
        record = self.get(reference)
        if record is not None:
            return record
        labelled = [r for r in self.accounts if r.label == reference]
        return labelled[0] if len(labelled) == 1 else None


class _SnapshotField(fields.Field):
    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> Any:
        return None if value is None else encode_snapshot(value)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> QuotaSnapshot:
        try:
            return decode_snapshot(value)
        except EventDecodeError as exc:
            raise ValidationError(str(exc)) from None


class _CooldownSchema(Schema):
    class Meta:
        unknown = RAISE

    until = fields.Float(required=True, allow_nan=False)
    reason = fields.String(required=True)
    set_at = fields.Float(required=True, allow_nan=False)

    @post_load
    def _make(self, data: dict, **kwargs: Any) -> Cooldown:
        return Cooldown(**data)


class _LeaseSchema(Schema):
    class Meta:
        unknown = RAISE

    owner_pid = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    owner_start = fields.String(required=True)
    host = fields.String(required=True)
    expires_at = fields.Float(required=True, allow_nan=False)
    generation = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    purpose = fields.String(required=True)

    @post_load
    def _make(self, data: dict, **kwargs: Any) -> Lease:
        return Lease(**data)


class _AccountSchema(Schema):
    class Meta:
        unknown = RAISE

    id = fields.String(required=True, validate=validate.Regexp(r"^a-[0-9a-f]{10}$"))
    label = fields.String(required=True)
    added_at = fields.Float(required=True, allow_nan=False)
    enabled = fields.Boolean(load_default=True)
    order = fields.Integer(allow_none=True, load_default=None, strict=True)
    last_used = fields.Float(allow_none=True, load_default=None, allow_nan=False)
    plan = fields.String(allow_none=True, load_default=None)
    email_masked = fields.String(allow_none=True, load_default=None)
    cooldown = fields.Nested(_CooldownSchema, allow_none=True, load_default=None)
    quota = _SnapshotField(allow_none=True, load_default=None)
    lease = fields.Nested(_LeaseSchema, allow_none=True, load_default=None)
    generation = fields.Integer(load_default=0, strict=True, validate=validate.Range(min=0))

    @post_load
    def _make(self, data: dict, **kwargs: Any) -> AccountRecord:
        return AccountRecord(**data)


class PoolSchema(Schema):
    class Meta:
        # Fields a later minor version adds are tolerated at the top level; accounts stay strict.
        unknown = EXCLUDE

    version = fields.Integer(required=True, strict=True)
    accounts = fields.List(fields.Nested(_AccountSchema), required=True)

    @post_load
    def _make(self, data: dict, **kwargs: Any) -> Pool:
        ids = [r.id for r in data["accounts"]]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValidationError({"accounts": [f"duplicate account id {', '.join(duplicates)}"]})
        return Pool(accounts=data["accounts"], version=data["version"])


def dump_pool(pool: Pool) -> dict:
    return PoolSchema().dump(pool)
