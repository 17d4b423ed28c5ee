"""FrozenRecord behaves as the frozen dataclasses it replaces for events and commands."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import pytest

from supervisor.core import commands as cmd
from supervisor.core import events as ev
from supervisor.core.frozen import FrozenRecord, record_fields


class Base(FrozenRecord):
    kind: ClassVar[str] = "base"
    at: float


class Child(Base):
    kind: ClassVar[str] = "child"
    name: str = ""
    items: tuple[str, ...] = ()


def test_fields_are_the_annotated_attributes_in_order_without_class_vars():
    assert [(f.name, f.type) for f in record_fields(Child)] == [
        ("at", "float"), ("name", "str"), ("items", "tuple[str, ...]")]
    assert Child.kind == "child" and Base.kind == "base"


def test_construction_by_keyword_or_field_order_with_defaults():
    assert Child(at=1.0) == Child(1.0) == Child(1.0, "", ())
    assert Child(at=1.0, name="x").name == "x" and Child(1.0, "x").items == ()
    with pytest.raises(TypeError, match="missing the field 'at'"):
        Child(name="x")
    with pytest.raises(TypeError, match="unknown fields: colour"):
        Child(at=1.0, colour="red")
    with pytest.raises(TypeError, match="got 'at' twice"):
        Child(1.0, at=2.0)
    with pytest.raises(TypeError, match="takes 3 fields, 4 were given"):
        Child(1.0, "x", (), "extra")


def test_equality_and_hash_by_type_and_values():
    assert Child(at=1.0, name="x") == Child(at=1.0, name="x")
    assert Child(at=1.0, name="x") != Child(at=1.0, name="y")
    assert Base(at=1.0) != Child(at=1.0)  # another type is never equal, even with the same values
    assert len({Child(at=1.0), Child(at=1.0), Child(at=2.0)}) == 2


def test_records_are_frozen_and_read_well():
    record = Child(at=1.0, name="x")
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.name = "y"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        del record.name  # type: ignore[misc]
    assert repr(record) == "Child(at=1.0, name='x', items=())"


def test_events_and_commands_keep_their_shape():
    assert ev.Tick(at=3.0) == ev.Tick(3.0, None)
    assert [f.name for f in record_fields(ev.QuotaProbed)] == ["at", "account", "snapshot"]
    assert cmd.SpawnChild(account="a", bind_to="s").resume_session_id is None
    assert ev.Tick.trigger == "tick" and "trigger" not in {f.name for f in record_fields(ev.Tick)}
