"""The marshmallow schema that checks a pool file's document from outside before it is used.

Imported only where a document is validated: a start-up that reads back bytes the store has already
validated or written itself never loads marshmallow. The schema checks; what it loads is built by
``model.pool_from_document``, the same constructor that reads known bytes back, and an account's
missing keys take the dataclasses' own defaults, so there is one mapping and one set of defaults.
"""

from __future__ import annotations

from math import isfinite
from typing import Any

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, post_load, validate

from ..core.records import decode_snapshot
from ..errors import EventDecodeError
from .model import LEASE_PURPOSES, MAX_TIMESTAMP, SCHEMA_VERSION, Pool, pool_from_document


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _finite(value: Any, low: float, high: float) -> float:
    """``value`` as a float when it is a JSON number (not a boolean, not a string) in ``[low, high]``."""
    if not _is_number(value):
        raise ValidationError("not a number")
    try:
        number = float(value)
    except OverflowError:
        raise ValidationError("out of range") from None
    if not isfinite(number):
        raise ValidationError("not a finite number")
    if not low <= number <= high:
        raise ValidationError(f"must be between {low:g} and {high:g}")
    return number


class _StrictFloat(fields.Field):
    """A finite JSON number in a range: no strings, no booleans, no NaN or Infinity, no overflow."""

    def __init__(self, low: float = 0.0, high: float = MAX_TIMESTAMP, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._low = low
        self._high = high

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> float:
        return _finite(value, self._low, self._high)


class _Timestamp(_StrictFloat):
    """Unix seconds from 1970 up to the end of year 9999."""


class _StrictInteger(fields.Integer):
    """An integral JSON number; ``true`` and ``1.0`` are not integers here."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(strict=True, **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool):
            raise ValidationError("not an integer")
        return super()._deserialize(value, attr, data, **kwargs)


class _StrictBoolean(fields.Boolean):
    """JSON ``true`` or ``false`` only: not ``"yes"``, ``1`` or ``"false"``."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise ValidationError("not true or false")
        return value


class _SnapshotField(fields.Field):
    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        """The stored value itself once it is known to decode: ``pool_from_document`` decodes it."""
        _check_snapshot_shape(value)
        try:
            decode_snapshot(value)
        except EventDecodeError:
            raise ValidationError("malformed quota snapshot") from None
        return value


def _check_snapshot_shape(value: Any) -> None:
    """The stored snapshot's exact shape, so nothing lax (strings, booleans, Infinity) gets through."""
    if not isinstance(value, dict) or set(value) - set(_SNAPSHOT_KEYS):
        raise ValidationError(f"not a quota snapshot object ({', '.join(_SNAPSHOT_KEYS)})")
    _check_windows(value.get("windows"), "windows")
    if "observed_at" in value:
        _finite(value["observed_at"], 0.0, MAX_TIMESTAMP)
    _check_flags(value, "")
    families = value.get("families", [])
    if not isinstance(families, list):
        raise ValidationError("families is not a list")
    for index, family in enumerate(families):
        where = f"families[{index}]"
        if not isinstance(family, dict) or set(family) - set(_FAMILY_KEYS) or "limit_id" not in family:
            raise ValidationError(f"{where} is not a limit family object ({', '.join(_FAMILY_KEYS)})")
        if not isinstance(family["limit_id"], str) or not family["limit_id"]:
            raise ValidationError(f"{where}.limit_id is not a non-empty string")
        if family.get("limit_name") is not None and not isinstance(family["limit_name"], str):
            raise ValidationError(f"{where}.limit_name is not a string")
        _check_windows(family.get("windows"), f"{where}.windows")
        _check_flags(family, f"{where}.")


_SNAPSHOT_KEYS = ("windows", "observed_at", "limit_reached", "allowed", "reached_type", "families")
_FAMILY_KEYS = ("limit_id", "limit_name", "windows", "limit_reached", "allowed", "reached_type")


def _check_flags(value: dict, where: str) -> None:
    if "limit_reached" in value and not isinstance(value["limit_reached"], bool):
        raise ValidationError(f"{where}limit_reached is not true or false")
    if value.get("allowed") is not None and not isinstance(value["allowed"], bool):
        raise ValidationError(f"{where}allowed is not true, false or null")
    if value.get("reached_type") is not None and not isinstance(value["reached_type"], str):
        raise ValidationError(f"{where}reached_type is not a string")


def _check_windows(windows: Any, where: str) -> None:
    if not isinstance(windows, list):
        raise ValidationError(f"{where} is not a list")
    for index, window in enumerate(windows):
        if not isinstance(window, list) or len(window) != 3:
            raise ValidationError(f"{where}[{index}] is not [used_percent, window_minutes, resets_at]")
        used, minutes, resets_at = window
        try:
            _finite(used, 0.0, 1e6)
            if not _is_number(minutes) or minutes != int(minutes) or not 0 < minutes <= 10**7:
                raise ValidationError("window_minutes is not a positive whole number of minutes")
            if resets_at is not None:
                _finite(resets_at, 0.0, MAX_TIMESTAMP)
        except (ValidationError, OverflowError) as exc:
            raise ValidationError(f"{where}[{index}]: {exc}") from None


class _CooldownSchema(Schema):
    class Meta:
        unknown = RAISE

    until = _Timestamp(required=True)
    reason = fields.String(required=True)
    set_at = _Timestamp(required=True)
    family = fields.String(allow_none=True)


class _LeaseSchema(Schema):
    class Meta:
        unknown = RAISE

    owner_pid = _StrictInteger(required=True, validate=validate.Range(min=1, max=2**31 - 1))
    owner_start = fields.String(required=True)
    host = fields.String(required=True)
    expires_at = _Timestamp(required=True)
    generation = _StrictInteger(required=True, validate=validate.Range(min=1, max=2**53))
    purpose = fields.String(required=True, validate=validate.OneOf(LEASE_PURPOSES))


class _AccountSchema(Schema):
    class Meta:
        unknown = RAISE

    # \Z, not $: "$" also matches before a trailing newline, and the id names a directory.
    id = fields.String(required=True, validate=validate.Regexp(r"^a-[0-9a-f]{10}\Z"))
    label = fields.String(required=True, validate=validate.Length(min=1))
    added_at = _Timestamp(required=True)
    enabled = _StrictBoolean()
    order = _StrictInteger(allow_none=True, validate=validate.Range(min=0, max=10**6))
    last_used = _Timestamp(allow_none=True)
    plan = fields.String(allow_none=True)
    email_masked = fields.String(allow_none=True)
    workspace = fields.String(allow_none=True, validate=validate.Regexp(r"^w-[0-9a-f]{10}\Z"))
    cooldown = fields.Nested(_CooldownSchema, allow_none=True)
    quota = _SnapshotField(allow_none=True)
    lease = fields.Nested(_LeaseSchema, allow_none=True)
    generation = _StrictInteger(validate=validate.Range(min=0, max=2**53))


class PoolSchema(Schema):
    class Meta:
        # Fields a later minor version adds are tolerated at the top level; accounts stay strict.
        unknown = EXCLUDE

    version = _StrictInteger(required=True, validate=validate.Range(min=1, max=SCHEMA_VERSION))
    accounts = fields.List(fields.Nested(_AccountSchema), required=True)

    @post_load
    def _make(self, data: dict, **kwargs: Any) -> Pool:
        ids = [account["id"] for account in data["accounts"]]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValidationError({"accounts": [f"duplicate account id {', '.join(duplicates)}"]})
        return pool_from_document(data)
