"""The statechart's JSON schema (marshmallow), kept apart so that only a chart being validated imports it."""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from .chart import SCHEMA_VERSION


class _PlacesField(fields.Field[list[str]]):
    """A state or superstate name, or a non-empty list of them."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[str]:
        if isinstance(value, str):
            return [value]
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            return list(value)
        raise ValidationError("must be a state name or a non-empty list of state names")


class _StateSchema(Schema):
    class Meta:
        unknown = RAISE

    doc = fields.String(required=True)
    deadlines = fields.List(fields.String(), load_default=list)


class _SuperstateSchema(Schema):
    class Meta:
        unknown = RAISE

    doc = fields.String(required=True)
    states = fields.List(fields.String(), required=True, validate=validate.Length(min=2))


class _RowFields(Schema):
    class Meta:
        unknown = RAISE

    trigger = fields.String(required=True)
    if_ = fields.List(fields.String(), data_key="if", load_default=list)
    unless = fields.List(fields.String(), load_default=list)
    priority = fields.Integer(load_default=None, strict=True, validate=validate.Range(min=1))
    actions = fields.List(fields.String(), load_default=list)
    why = fields.String(load_default="")


class _ReactionSchema(_RowFields):
    in_ = _PlacesField(data_key="in", required=True)


class _TransitionSchema(_RowFields):
    source = _PlacesField(required=True)
    dest = fields.String(required=True)


class ChartSchema(Schema):
    class Meta:
        unknown = RAISE

    schema = fields.Integer(required=True, validate=validate.Equal(
        SCHEMA_VERSION, error=f"must be {SCHEMA_VERSION} (this codex-fsm reads chart schema {SCHEMA_VERSION})"))
    name = fields.String(required=True)
    initial = fields.String(required=True)
    final = fields.List(fields.String(), required=True, validate=validate.Length(min=1))
    states = fields.Dict(keys=fields.String(), values=fields.Nested(_StateSchema), required=True)
    superstates = fields.Dict(keys=fields.String(), values=fields.Nested(_SuperstateSchema), load_default=dict)
    triggers = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    reactions = fields.List(fields.Nested(_ReactionSchema), load_default=list)
    transitions = fields.List(fields.Nested(_TransitionSchema), required=True, validate=validate.Length(min=1))
