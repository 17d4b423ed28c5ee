"""Frozen value classes for the core's events and commands, without per-class code generation.

``dataclasses`` writes and compiles an ``__init__``, ``__eq__``, ``__hash__``, ``__repr__``,
``__setattr__`` and ``__delattr__`` for every class: for the core's 32 event and command classes that
was a quarter of a supervised start-up's import time. ``FrozenRecord`` gives the same behaviour
(construction by field order or keyword, with defaults; equality and hashing by type and values;
immutability; a readable repr) from one set of methods shared by all of them. ``dataclass_transform``
tells type checkers to treat subclasses as frozen dataclasses.

Fields are a subclass's annotated class attributes, in order, after its bases' fields; an attribute
annotated ``ClassVar[...]`` is not a field. A field without a default must be given.
"""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from typing import TYPE_CHECKING, Any, Callable, ClassVar, TypeVar

if TYPE_CHECKING:  # the type checker's view; at run time the decorator only marks the class
    from typing_extensions import dataclass_transform
else:
    _T = TypeVar("_T")

    def dataclass_transform(**_: object) -> Callable[[_T], _T]:
        return lambda cls: cls

_MISSING: Any = object()


class RecordField:
    """One field: its name, its annotation as written, and its default (``_MISSING`` when it has none)."""

    __slots__ = ("name", "type", "default")

    def __init__(self, name: str, annotation: str, default: Any) -> None:
        self.name = name
        self.type = annotation
        self.default = default


@dataclass_transform(frozen_default=True)
class FrozenRecord:
    __record_fields__: ClassVar[tuple[RecordField, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        inherited = {f.name: f for f in cls.__record_fields__}
        for name, annotation in cls.__dict__.get("__annotations__", {}).items():
            text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", str(annotation))
            if text.startswith(("ClassVar", "typing.ClassVar")):
                continue
            inherited[name] = RecordField(name, text, cls.__dict__.get(name, _MISSING))
        cls.__record_fields__ = tuple(inherited.values())

    def __init__(self, *positional: Any, **values: Any) -> None:
        fields = self.__record_fields__
        if len(positional) > len(fields):
            raise TypeError(f"{type(self).__name__}() takes {len(fields)} fields, {len(positional)} were given")
        for f, value in zip(fields, positional, strict=False):  # fewer values: the rest by keyword
            if f.name in values:
                raise TypeError(f"{type(self).__name__}() got {f.name!r} twice")
            values[f.name] = value
        for f in fields:
            if f.name in values:
                value = values.pop(f.name)
            elif f.default is not _MISSING:
                value = f.default
            else:
                raise TypeError(f"{type(self).__name__}() is missing the field {f.name!r}")
            object.__setattr__(self, f.name, value)
        if values:
            raise TypeError(f"{type(self).__name__}() got unknown fields: {', '.join(sorted(values))}")

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, f.name) for f in self.__record_fields__)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, FrozenRecord)
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash((type(self), self._values()))

    def __repr__(self) -> str:
        inner = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in self.__record_fields__)
        return f"{type(self).__name__}({inner})"

    def __setattr__(self, name: str, value: object) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")


def record_fields(record: FrozenRecord | type[FrozenRecord]) -> tuple[RecordField, ...]:
    """The fields of a record or record class, in order (what ``dataclasses.fields`` is to a dataclass)."""
    return record.__record_fields__
