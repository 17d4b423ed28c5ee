"""The statechart as data: parse, validate, expand, hash.

``statecharts/session.json`` is the single source of truth for orchestration. This module turns its
text into a ``Chart`` (pure: the caller reads the file) and refuses anything unsound, each failure a
``ChartError`` naming the row. Rows may list several sources and use ``"dest": "="`` for "stay";
both are expanded here so that every (source, trigger, dest) is one row with one id.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict, deque
from dataclasses import dataclass

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from ..errors import ChartError
from . import policy
from .events import EVENTS_BY_TRIGGER

SCHEMA_VERSION = 1
STAY = "="


class _SourceField(fields.Field):
    """A state name or a non-empty list of them."""

    def _deserialize(self, value, attr, data, **kwargs):
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


class _RowSchema(Schema):
    class Meta:
        unknown = RAISE

    trigger = fields.String(required=True)
    source = _SourceField(required=True)
    dest = fields.String(required=True)
    if_ = fields.List(fields.String(), data_key="if", load_default=list)
    unless = fields.List(fields.String(), load_default=list)
    actions = fields.List(fields.String(), load_default=list)
    why = fields.String(load_default="")


class _ChartSchema(Schema):
    class Meta:
        unknown = RAISE

    schema = fields.Integer(required=True, validate=validate.Equal(SCHEMA_VERSION))
    name = fields.String(required=True)
    initial = fields.String(required=True)
    final = fields.List(fields.String(), required=True, validate=validate.Length(min=1))
    states = fields.Dict(keys=fields.String(), values=fields.Nested(_StateSchema), required=True)
    triggers = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    transitions = fields.List(fields.Nested(_RowSchema), required=True, validate=validate.Length(min=1))


@dataclass(frozen=True, slots=True)
class Row:
    id: str
    index: int  # position of the JSON row it came from (0-based)
    trigger: str
    source: str
    dest: str
    guards: tuple[str, ...]
    unless: tuple[str, ...]
    actions: tuple[str, ...]
    why: str

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.source, self.trigger, self.dest)

    @property
    def guard_label(self) -> str:
        parts = list(self.guards) + [f"not {u}" for u in self.unless]
        return " and ".join(parts)


@dataclass(frozen=True, slots=True)
class Chart:
    name: str
    initial: str
    final: frozenset[str]
    states: tuple[str, ...]
    state_docs: dict
    state_deadlines: dict
    triggers: dict
    rows: tuple[Row, ...]
    sha256: str

    def rows_for(self, source: str, trigger: str) -> tuple[Row, ...]:
        return tuple(r for r in self.rows if r.source == source and r.trigger == trigger)

    def row_ids(self) -> list[str]:
        return [r.id for r in self.rows]

    def row(self, row_id: str) -> Row:
        for r in self.rows:
            if r.id == row_id:
                return r
        raise KeyError(row_id)


def chart_hash(document: dict) -> str:
    """Hash of the chart's meaning: key order and whitespace do not change it."""
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def parse_chart(text: str, origin: str = "statechart") -> Chart:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ChartError(f"{origin}: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    return load_chart(document, origin)


def load_chart(document: object, origin: str = "statechart") -> Chart:
    if not isinstance(document, dict):
        raise ChartError(f"{origin}: the top level must be a JSON object")
    try:
        data = _ChartSchema().load(document)
    except ValidationError as exc:
        raise ChartError(f"{origin}: {_describe_errors(exc.messages, document)}") from None
    rows = _expand_rows(data, origin)
    chart = Chart(
        name=data["name"],
        initial=data["initial"],
        final=frozenset(data["final"]),
        states=tuple(data["states"]),
        state_docs={s: v["doc"] for s, v in data["states"].items()},
        state_deadlines={s: tuple(v["deadlines"]) for s, v in data["states"].items()},
        triggers=dict(data["triggers"]),
        rows=rows,
        sha256=chart_hash(document),
    )
    _check_graph(chart, origin)
    return chart


def _describe_errors(messages: object, document: dict) -> str:
    parts: list[str] = []

    def walk(node: object, path: list) -> None:
        if isinstance(node, dict):
            for key, sub in node.items():
                walk(sub, path + [key])
        elif isinstance(node, list) and all(isinstance(m, str) for m in node):
            parts.append(f"{_name_path(path, document)}: {'; '.join(node)}")

    walk(messages, [])
    return "; ".join(parts) or "invalid"


def _name_path(path: list, document: dict) -> str:
    if len(path) >= 2 and path[0] == "transitions" and isinstance(path[1], int):
        row = (document.get("transitions") or [None] * (path[1] + 1))[path[1]]
        label = _row_label(path[1], row if isinstance(row, dict) else {})
        return ".".join([label] + [str(p) for p in path[2:]])
    return ".".join(str(p) for p in path)


def _row_label(index: int, row: dict) -> str:
    return f"row {index + 1} ({row.get('source', '?')} --{row.get('trigger', '?')}--> {row.get('dest', '?')})"


def _expand_rows(data: dict, origin: str) -> tuple[Row, ...]:
    states = data["states"]
    expanded: list[Row] = []
    for index, raw in enumerate(data["transitions"]):
        for source in raw["source"]:
            dest = source if raw["dest"] == STAY else raw["dest"]
            label = _row_label(index, {"source": source, "trigger": raw["trigger"], "dest": dest})
            if source not in states:
                raise ChartError(f"{origin}: {label}: unknown source state {source!r}")
            if dest not in states:
                raise ChartError(f"{origin}: {label}: unknown destination state {dest!r}")
            if raw["trigger"] not in data["triggers"]:
                raise ChartError(f"{origin}: {label}: trigger {raw['trigger']!r} is not declared in 'triggers'")
            for name in raw["if_"] + raw["unless"]:
                if name not in policy.GUARDS:
                    raise ChartError(f"{origin}: {label}: unknown guard {name!r}")
            for name in raw["actions"]:
                if name not in policy.ACTIONS:
                    raise ChartError(f"{origin}: {label}: unknown action {name!r}")
            expanded.append(Row(
                id="", index=index, trigger=raw["trigger"], source=source, dest=dest,
                guards=tuple(raw["if_"]), unless=tuple(raw["unless"]), actions=tuple(raw["actions"]),
                why=raw["why"]))
    counts: dict[tuple[str, str, str], int] = defaultdict(int)
    for row in expanded:
        counts[row.key] += 1
    result = []
    for row in expanded:
        base = f"{row.source}-{row.trigger}->{row.dest}"
        row_id = base if counts[row.key] == 1 else f"{base}[{row.guard_label or 'otherwise'}]"
        result.append(Row(row_id, row.index, row.trigger, row.source, row.dest, row.guards,
                          row.unless, row.actions, row.why))
    return tuple(result)


def _check_graph(chart: Chart, origin: str) -> None:
    def fail(message: str) -> None:
        raise ChartError(f"{origin}: {message}")

    if chart.initial not in chart.states:
        fail(f"initial state {chart.initial!r} is not a declared state")
    for name in sorted(chart.final):
        if name not in chart.states:
            fail(f"final state {name!r} is not a declared state")
    for trigger in chart.triggers:
        if trigger not in EVENTS_BY_TRIGGER:
            fail(f"trigger {trigger!r} has no event class in supervisor.core.events")
    for state, names in chart.state_deadlines.items():
        for name in names:
            if name not in policy.DEADLINES:
                fail(f"state {state!r}: unknown deadline {name!r}")

    ids = [r.id for r in chart.rows]
    for row in chart.rows:
        label = _row_label(row.index, {"source": row.source, "trigger": row.trigger, "dest": row.dest})
        if row.source in chart.final:
            fail(f"{label}: leaves final state {row.source!r}")
        if ids.count(row.id) > 1:
            fail(f"{label}: duplicates another row with the same guards")

    by_cell: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for row in chart.rows:
        by_cell[(row.source, row.trigger)].append(row)
    for (source, trigger), rows in by_cell.items():
        for earlier_pos, earlier in enumerate(rows[:-1]):
            if not earlier.guards and not earlier.unless:
                shadowed = rows[earlier_pos + 1]
                fail(f"{_row_label(shadowed.index, {'source': source, 'trigger': trigger, 'dest': shadowed.dest})}: "
                     f"can never fire, an unguarded row for {trigger!r} in {source!r} comes first "
                     f"(ambiguous unguarded duplicate)")
            for later in rows[earlier_pos + 1:]:
                if (earlier.guards, earlier.unless) == (later.guards, later.unless):
                    fail(f"{_row_label(later.index, {'source': source, 'trigger': trigger, 'dest': later.dest})}: "
                         f"same trigger, source and guards as an earlier row (ambiguous)")

    used = {r.trigger for r in chart.rows}
    for trigger in chart.triggers:
        if trigger not in used:
            fail(f"trigger {trigger!r} is declared but no row uses it")

    successors: dict[str, set[str]] = defaultdict(set)
    predecessors: dict[str, set[str]] = defaultdict(set)
    for row in chart.rows:
        successors[row.source].add(row.dest)
        predecessors[row.dest].add(row.source)
    reachable = _closure(chart.initial, successors)
    for state in chart.states:
        if state not in reachable:
            fail(f"state {state!r} is unreachable from {chart.initial!r}")
    for state in chart.states:
        if state in chart.final:
            continue
        if not (successors[state] - {state}):
            fail(f"non-final state {state!r} has no way out")
    can_finish: set[str] = set()
    for final in chart.final:
        can_finish |= _closure(final, predecessors)
    for state in chart.states:
        if state not in can_finish:
            fail(f"state {state!r} can never reach a final state")


def _closure(start: str, edges: dict[str, set[str]]) -> set[str]:
    seen = {start}
    queue = deque([start])
    while queue:
        for nxt in sorted(edges[queue.popleft()]):
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen
