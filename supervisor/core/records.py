"""Transition records and the codec that turns events and commands into JSON-ready dicts and back.

The encoding is the transition log's wire format: ``{"type": <trigger or command name>, ...fields}``.
Quota snapshots encode as ``{"windows": [[used_percent, window_minutes, resets_at], ...], ...}``;
the main family's ``allowed`` and ``reached_type`` and the other ``families`` appear only when the
source reported them, so a snapshot of one plain family reads as it always has.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Mapping, TypeVar

from ..errors import EventDecodeError
from . import commands as cmd
from . import events as ev
from .frozen import record_fields
from .quota import LimitFamily, QuotaSnapshot, QuotaWindow, Thresholds
from .settings import SessionSettings

LOG_SCHEMA_VERSION = 1

# One JSON object of the log: an encoded event, command, snapshot or record.
JsonObject = dict[str, Any]
_Decoded = TypeVar("_Decoded", ev.Event, cmd.Command)


def _encode_windows(windows: tuple[QuotaWindow, ...]) -> list[list[Any]]:
    return [[w.used_percent, w.window_minutes, w.resets_at] for w in windows]


def _encode_flags(data: JsonObject, allowed: bool | None, reached_type: str | None) -> JsonObject:
    if allowed is not None:
        data["allowed"] = allowed
    if reached_type is not None:
        data["reached_type"] = reached_type
    return data


def _encode_family(family: LimitFamily) -> JsonObject:
    data: JsonObject = {"limit_id": family.limit_id, "limit_name": family.limit_name,
                        "windows": _encode_windows(family.windows), "limit_reached": family.limit_reached}
    return _encode_flags(data, family.allowed, family.reached_type)


def encode_snapshot(snapshot: QuotaSnapshot) -> JsonObject:
    data: JsonObject = {
        "windows": _encode_windows(snapshot.windows),
        "observed_at": snapshot.observed_at,
        "limit_reached": snapshot.limit_reached,
    }
    _encode_flags(data, snapshot.allowed, snapshot.reached_type)
    if snapshot.families:
        data["families"] = [_encode_family(f) for f in snapshot.families]
    return data


def _decode_windows(raw: Any) -> tuple[QuotaWindow, ...]:
    return tuple(QuotaWindow(float(u), int(m), None if r is None else float(r)) for u, m, r in raw)


def _optional(data: Any, key: str, kind: type) -> Any:
    value = data.get(key)
    if value is not None and not isinstance(value, kind):
        raise TypeError(f"{key} must be {kind.__name__} or null, got {value!r}")
    return value


def _decode_family(raw: Any) -> LimitFamily:
    limit_id = raw["limit_id"]
    if not isinstance(limit_id, str) or not limit_id:
        raise TypeError(f"limit_id must be a non-empty string, got {limit_id!r}")
    return LimitFamily(limit_id=limit_id, limit_name=_optional(raw, "limit_name", str),
                       windows=_decode_windows(raw["windows"]),
                       limit_reached=bool(raw.get("limit_reached", False)),
                       allowed=_optional(raw, "allowed", bool), reached_type=_optional(raw, "reached_type", str))


def decode_snapshot(data: Any) -> QuotaSnapshot:
    try:
        return QuotaSnapshot(windows=_decode_windows(data["windows"]),
                             observed_at=float(data.get("observed_at", 0.0)),
                             limit_reached=bool(data.get("limit_reached", False)),
                             allowed=_optional(data, "allowed", bool),
                             reached_type=_optional(data, "reached_type", str),
                             families=tuple(_decode_family(f) for f in data.get("families") or ()))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise EventDecodeError(f"malformed quota snapshot {data!r}: {exc}") from None


def _encode_value(value: Any) -> Any:
    if isinstance(value, QuotaSnapshot):
        return encode_snapshot(value)
    if isinstance(value, tuple):
        return [_encode_value(v) for v in value]
    return value


def _encode(obj: Any, type_name: str) -> JsonObject:
    data: JsonObject = {"type": type_name}
    for f in record_fields(obj):
        data[f.name] = _encode_value(getattr(obj, f.name))
    return data


def encode_event(event: ev.Event) -> JsonObject:
    return _encode(event, event.trigger)


def encode_command(command: cmd.Command) -> JsonObject:
    return _encode(command, command.name)


# JSON types each scalar field annotation accepts (bool is an int to Python, never to us). A wrong type
# must fail here, naming the field, not later as a TypeError deep inside a guard during replay.
_SCALAR_TYPES: dict[str, tuple[type, ...]] = {"int": (int,), "float": (int, float), "str": (str,)}


def _check_scalar(what: str, type_name: str, name: str, value: Any, annotation: str) -> None:
    base = annotation.removesuffix(" | None")
    if value is None and base != annotation:
        return
    accepted = _SCALAR_TYPES.get(base)
    if accepted is not None and (isinstance(value, bool) or not isinstance(value, accepted)):
        raise EventDecodeError(f"{what} {type_name!r}: {name} must be {annotation}, got {value!r}")


def _decode(data: Any, registry: Mapping[str, type[_Decoded]], what: str) -> _Decoded:
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise EventDecodeError(f"{what} must be an object with a 'type' string, got {data!r}")
    cls = registry.get(data["type"])
    if cls is None:
        raise EventDecodeError(f"unknown {what} type {data['type']!r}")
    known = {f.name: f for f in record_fields(cls)}
    extra = sorted(set(data) - set(known) - {"type"})
    if extra:
        raise EventDecodeError(f"{what} {data['type']!r} has unknown fields: {', '.join(extra)}")
    values: JsonObject = {}
    try:
        for name, value in data.items():
            if name == "type":
                continue
            _check_scalar(what, data["type"], name, value, str(known[name].type))
            if name == "snapshot":
                value = decode_snapshot(value)
            elif name == "params":
                value = tuple((str(k), v) for k, v in value)
            elif isinstance(value, list):
                value = tuple(value)
            values[name] = value
        return cls(**values)
    except (TypeError, ValueError) as exc:
        raise EventDecodeError(f"{what} {data['type']!r}: {exc}") from None


def decode_event(data: Any) -> ev.Event:
    return _decode(data, ev.EVENTS_BY_TRIGGER, "event")


def decode_command(data: Any) -> cmd.Command:
    return _decode(data, cmd.COMMANDS_BY_NAME, "command")


@dataclass(frozen=True, slots=True)
class TransitionRecord:
    """One handled event: where the machine was, where it went, what it asked for."""

    seq: int
    event: ev.Event
    source: str
    dest: str
    row: str
    commands: tuple[cmd.Command, ...]

    @property
    def trigger(self) -> str:
        return self.event.trigger

    def to_dict(self) -> JsonObject:
        return {
            "kind": "transition", "seq": self.seq, "at": self.event.at,
            "event": encode_event(self.event), "source": self.source, "dest": self.dest,
            "trigger": self.trigger, "row": self.row,
            "commands": [encode_command(c) for c in self.commands],
        }


@dataclass(frozen=True, slots=True)
class RejectedRecord:
    """An event no row accepted; the state did not change."""

    seq: int
    event: ev.Event
    state: str
    error: str

    def to_dict(self) -> JsonObject:
        return {"kind": "rejected", "seq": self.seq, "at": self.event.at,
                "event": encode_event(self.event), "state": self.state,
                "trigger": self.event.trigger, "error": self.error}


def _check_setting(where: str, value: Any, default: Any) -> None:
    """``value`` has the JSON type of the field whose default is ``default`` (bool is never a number)."""
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, (int, float)):
        ok = not isinstance(value, bool) and isinstance(value, (int, float) if isinstance(default, float) else int)
    else:
        ok = True
    if not ok:
        raise EventDecodeError(f"{where} must be {type(default).__name__}, got {value!r}")


def _decode_thresholds(where: str, data: Any) -> Thresholds:
    if not isinstance(data, dict):
        raise EventDecodeError(f"{where} must be an object, got {data!r}")
    defaults = Thresholds()
    known = {f.name for f in fields(Thresholds)}
    for name, value in data.items():
        if name not in known:
            raise EventDecodeError(f"{where}: unknown field {name!r}")
        _check_setting(f"{where}.{name}", value, getattr(defaults, name))
    return Thresholds(**{name: float(value) for name, value in data.items()})


def decode_settings(data: Any) -> SessionSettings:
    """A log header's ``settings`` back into SessionSettings, every field checked for its type and named."""
    if not isinstance(data, dict):
        raise EventDecodeError(f"settings must be an object, got {data!r}")
    defaults = SessionSettings()
    known = {f.name for f in fields(SessionSettings)}
    values: dict[str, Any] = {}
    for name, value in data.items():
        if name not in known:
            raise EventDecodeError(f"settings: unknown field {name!r}")
        where = f"settings.{name}"
        if name == "thresholds":
            values[name] = _decode_thresholds(where, value)
        elif name == "account_thresholds":
            if not isinstance(value, list):
                raise EventDecodeError(f"{where} must be a list of [account, thresholds], got {value!r}")
            pairs = []
            for index, pair in enumerate(value):
                if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str)):
                    raise EventDecodeError(f"{where}[{index}] must be [account, thresholds], got {pair!r}")
                pairs.append((pair[0], _decode_thresholds(f"{where}[{index}]", pair[1])))
            values[name] = tuple(pairs)
        else:
            _check_setting(where, value, getattr(defaults, name))
            values[name] = value
    return SessionSettings(**values)
