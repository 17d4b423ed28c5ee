"""The statechart as data: parse, validate, expand, hash.

``statecharts/session.json`` is the single source of truth for orchestration. This module turns its
text into a ``Chart`` (pure: the caller reads the file) and refuses anything unsound, each failure a
``ChartError`` naming the row.

The chart has two kinds of rows:

- **transitions** move the session from one state to another; they are the diagram's edges. A
  transition never names its own source as its destination.
- **reactions** happen inside a state and leave it there (bookkeeping: a session id learnt, a turn
  begun, quota recorded, a tick with nothing due). They are listed with their state, never drawn
  as edges.

A row names where it applies as a state, a superstate (a named group of states, e.g.
``child_alive``) or a list of them, so behaviour shared by several states is written once. Both kinds
are expanded here to one ``Row`` per (state, trigger, destination) with one id.

**Priority is explicit, never file order.** The rows that can answer one trigger in one state (a
*cell*, with the superstates' rows included) must each be mutually exclusive by their guards (one
row requires a guard the other excludes), or carry distinct ``priority`` numbers (1 is tried first).
A cell may hold one row without guards: its ``[else]``, tried last. The loader refuses any other
cell, so reordering the file never changes what the session does.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Any, Iterable

from ..errors import ChartError
from . import policy
from .events import EVENTS_BY_TRIGGER

SCHEMA_VERSION = 2

REACTION = "reaction"
TRANSITION = "transition"
# State and superstate names become row ids, log fields and the diagrams' node ids: plain identifiers only.
_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")


@dataclass(frozen=True, slots=True)
class Row:
    id: str
    kind: str  # REACTION or TRANSITION
    index: int  # position in its list ("reactions" or "transitions"), 0-based
    declared_in: str  # the state or superstate the row was written for
    trigger: str
    source: str
    dest: str
    guards: tuple[str, ...]
    unless: tuple[str, ...]
    priority: int | None
    actions: tuple[str, ...]
    why: str

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.source, self.trigger, self.dest)

    @property
    def is_reaction(self) -> bool:
        return self.kind == REACTION

    @property
    def guarded(self) -> bool:
        return bool(self.guards or self.unless)

    @property
    def guard_label(self) -> str:
        parts = list(self.guards) + [f"not {u}" for u in self.unless]
        return " and ".join(parts)

    def excludes(self, other: Row) -> bool:
        """True when the two rows' guards can never hold together (one requires what the other excludes)."""
        return bool(set(self.guards) & set(other.unless) or set(self.unless) & set(other.guards))


@dataclass(frozen=True, slots=True)
class Chart:
    name: str
    initial: str
    final: frozenset[str]
    states: tuple[str, ...]
    state_docs: dict[str, str]
    state_deadlines: dict[str, tuple[str, ...]]
    superstates: dict[str, tuple[str, ...]]
    superstate_docs: dict[str, str]
    triggers: dict[str, str]
    # Every row, grouped by cell (states in chart order, triggers sorted), each cell in the order its
    # rows are tried: by priority, then the exclusive rows, then the [else].
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

    def is_else(self, row: Row) -> bool:
        """The unguarded row of a cell that has others: the fallback, tried last."""
        return not row.guarded and len(self.rows_for(row.source, row.trigger)) > 1

    @property
    def transitions(self) -> tuple[Row, ...]:
        return tuple(r for r in self.rows if not r.is_reaction)

    @property
    def reactions(self) -> tuple[Row, ...]:
        return tuple(r for r in self.rows if r.is_reaction)


def chart_hash(document: object) -> str:
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
    if document.get("schema") == 1:
        raise ChartError(f"{origin}: a schema 1 chart (rows with \"dest\": \"=\" and file-order priority); this "
                         f"codex-fsm reads schema {SCHEMA_VERSION}: reactions listed apart, explicit priorities")
    # marshmallow is imported here, not at the top: a start-up that finds its chart already
    # validated (``chart_from_cache``) never pays for it.
    from marshmallow import ValidationError

    from .chart_schema import ChartSchema

    try:
        data = ChartSchema().load(document)
    except ValidationError as exc:
        raise ChartError(f"{origin}: {_describe_errors(exc.messages, document)}") from None
    superstates = _check_superstates(data, origin)
    rows = _expand_rows(data, superstates, origin)
    chart = Chart(
        name=data["name"],
        initial=data["initial"],
        final=frozenset(data["final"]),
        states=tuple(data["states"]),
        state_docs={s: v["doc"] for s, v in data["states"].items()},
        state_deadlines={s: tuple(v["deadlines"]) for s, v in data["states"].items()},
        superstates=superstates,
        superstate_docs={s: v["doc"] for s, v in data["superstates"].items()},
        triggers=dict(data["triggers"]),
        rows=rows,
        sha256=chart_hash(document),
    )
    _check_graph(chart, origin)
    return chart


def _describe_errors(messages: object, document: dict[str, Any]) -> str:
    parts: list[str] = []

    def walk(node: object, path: list[object]) -> None:
        if isinstance(node, dict):
            for key, sub in node.items():
                walk(sub, path + [key])
        elif isinstance(node, list) and all(isinstance(m, str) for m in node):
            parts.append(f"{_name_path(path, document)}: {'; '.join(node)}")

    walk(messages, [])
    return "; ".join(parts) or "invalid"


def _name_path(path: list[object], document: dict[str, Any]) -> str:
    if len(path) >= 2 and path[0] in ("transitions", "reactions") and isinstance(path[1], int):
        listed = document.get(str(path[0]))
        raw = listed[path[1]] if isinstance(listed, list) and path[1] < len(listed) else None
        label = _raw_label(str(path[0]), path[1], raw if isinstance(raw, dict) else {})
        return ".".join([label] + [str(p) for p in path[2:]])
    return ".".join(str(p) for p in path)


def _raw_label(kind_list: str, index: int, raw: dict[str, Any]) -> str:
    if kind_list == "reactions":
        return f"reaction {index + 1} (in {raw.get('in', '?')}: {raw.get('trigger', '?')})"
    return f"transition {index + 1} ({raw.get('source', '?')} --{raw.get('trigger', '?')}--> {raw.get('dest', '?')})"


def row_label(row: Row) -> str:
    """How errors name a row: its list, its position there and what it says."""
    if row.is_reaction:
        return f"reaction {row.index + 1} (in {row.source}: {row.trigger})"
    return f"transition {row.index + 1} ({row.source} --{row.trigger}--> {row.dest})"


def _check_names(data: dict[str, Any], origin: str) -> None:
    for kind in ("states", "superstates"):
        for name in data[kind]:
            if not _NAME.fullmatch(name):
                raise ChartError(f"{origin}: {kind[:-1]} name {name!r} is not a lowercase identifier "
                                 f"(a-z, 0-9 and _, starting with a letter, at most 40 characters)")


def _check_superstates(data: dict[str, Any], origin: str) -> dict[str, tuple[str, ...]]:
    _check_names(data, origin)
    states, final = data["states"], set(data["final"])
    result: dict[str, tuple[str, ...]] = {}
    for name, spec in data["superstates"].items():
        if name in states:
            raise ChartError(f"{origin}: superstate {name!r} has the name of a state")
        for member in spec["states"]:
            if member not in states:
                raise ChartError(f"{origin}: superstate {name!r}: unknown state {member!r}")
            if member in final:
                raise ChartError(f"{origin}: superstate {name!r}: the final state {member!r} cannot be in a superstate")
        if len(set(spec["states"])) != len(spec["states"]):
            raise ChartError(f"{origin}: superstate {name!r} lists a state twice")
        result[name] = tuple(s for s in states if s in spec["states"])
    # Superstates are drawn as boxes: two of them either nest or are apart, never overlap.
    names = sorted(result)
    for position, first in enumerate(names):
        for second in names[position + 1:]:
            a, b = set(result[first]), set(result[second])
            if a & b and not (a <= b or b <= a):
                raise ChartError(f"{origin}: superstates {first!r} and {second!r} overlap without one "
                                 f"containing the other")
    return result


def _places(names: list[str], superstates: dict[str, tuple[str, ...]], states: dict[str, Any],
            label: str, origin: str) -> list[str]:
    leaves: list[str] = []
    for name in names:
        if name in superstates:
            members: Iterable[str] = superstates[name]
        elif name in states:
            members = (name,)
        else:
            raise ChartError(f"{origin}: {label}: unknown state or superstate {name!r}")
        for member in members:
            if member in leaves:
                raise ChartError(f"{origin}: {label}: names state {member!r} twice")
            leaves.append(member)
    return leaves


def _expand_rows(data: dict[str, Any], superstates: dict[str, tuple[str, ...]], origin: str) -> tuple[Row, ...]:
    states = data["states"]
    expanded: list[Row] = []
    listed = [(REACTION, "reactions", raw, raw["in_"]) for raw in data["reactions"]] + \
             [(TRANSITION, "transitions", raw, raw["source"]) for raw in data["transitions"]]
    positions: dict[str, int] = defaultdict(int)
    for kind, list_name, raw, where in listed:
        index = positions[list_name]
        positions[list_name] += 1
        declared = ",".join(where)
        label = _raw_label(list_name, index, {"in": declared, "source": declared, "trigger": raw["trigger"],
                                              "dest": raw.get("dest")})
        if raw["trigger"] not in data["triggers"]:
            raise ChartError(f"{origin}: {label}: trigger {raw['trigger']!r} is not declared in 'triggers'")
        for name in raw["if_"] + raw["unless"]:
            if name not in policy.GUARDS:
                raise ChartError(f"{origin}: {label}: unknown guard {name!r}")
        for name in raw["actions"]:
            if name not in policy.ACTIONS:
                raise ChartError(f"{origin}: {label}: unknown action {name!r}")
        if set(raw["if_"]) & set(raw["unless"]):
            raise ChartError(f"{origin}: {label}: a guard is both required and excluded, the row can never fire")
        if raw["priority"] is not None and not (raw["if_"] or raw["unless"]):
            raise ChartError(f"{origin}: {label}: a row without guards is its cell's [else], tried last; "
                             f"it takes no priority")
        sources = _places(where, superstates, states, label, origin)
        if kind == TRANSITION:
            if raw["dest"] not in states:
                raise ChartError(f"{origin}: {label}: unknown destination state {raw['dest']!r}")
            if raw["dest"] in sources:
                raise ChartError(f"{origin}: {label}: a row that stays in {raw['dest']!r} is a reaction of that "
                                 f"state; list it under 'reactions'")
        for source in sources:
            expanded.append(Row(
                id="", kind=kind, index=index, declared_in=declared, trigger=raw["trigger"], source=source,
                dest=source if kind == REACTION else raw["dest"], guards=tuple(raw["if_"]),
                unless=tuple(raw["unless"]), priority=raw["priority"], actions=tuple(raw["actions"]),
                why=raw["why"]))
    cells: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for row in expanded:
        cells[(row.source, row.trigger)].append(row)
    for (source, trigger), cell in cells.items():
        _check_cell(source, trigger, cell, origin)
    order = {s: i for i, s in enumerate(states)}
    ordered: list[Row] = []
    for source, trigger in sorted(cells, key=lambda c: (order[c[0]], c[1])):
        ordered.extend(sorted(cells[(source, trigger)], key=_try_order))
    return _with_ids(ordered, origin)


def _try_order(row: Row) -> tuple[int, int, str, str]:
    """Rows with a priority first (1 first), then rows exclusive with all others, then the [else]."""
    if row.priority is not None:
        return (0, row.priority, row.guard_label, row.dest)
    return (1 if row.guarded else 2, 0, row.guard_label, row.dest)


def _check_cell(source: str, trigger: str, cell: list[Row], origin: str) -> None:
    fallbacks = [r for r in cell if not r.guarded]
    if len(fallbacks) > 1:
        raise ChartError(f"{origin}: {row_label(fallbacks[1])}: a second row without guards for {trigger!r} in "
                         f"{source!r} (the first: {row_label(fallbacks[0])}); a cell has at most one [else]")
    guarded = [r for r in cell if r.guarded]
    for position, first in enumerate(guarded):
        for second in guarded[position + 1:]:
            if first.excludes(second):
                continue
            if first.priority is None or second.priority is None or first.priority == second.priority:
                raise ChartError(
                    f"{origin}: {row_label(first)} and {row_label(second)} can both fire for {trigger!r} in "
                    f"{source!r}: give them different priorities, or guards that exclude each other")


def _with_ids(rows: list[Row], origin: str) -> tuple[Row, ...]:
    counts: dict[tuple[str, str, str], int] = defaultdict(int)
    for row in rows:
        counts[row.key] += 1
    result = []
    seen: dict[str, Row] = {}
    for row in rows:
        base = f"{row.source}-{row.trigger}->{row.dest}"
        row_id = base if counts[row.key] == 1 else f"{base}[{row.guard_label or 'else'}]"
        if row_id in seen:
            raise ChartError(f"{origin}: {row_label(row)}: same trigger, state, destination and guards as "
                             f"{row_label(seen[row_id])}")
        named = Row(row_id, row.kind, row.index, row.declared_in, row.trigger, row.source, row.dest, row.guards,
                    row.unless, row.priority, row.actions, row.why)
        seen[row_id] = named
        result.append(named)
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

    for row in chart.rows:
        if row.source in chart.final:
            fail(f"{row_label(row)}: leaves final state {row.source!r}")

    used = {r.trigger for r in chart.rows}
    for trigger in chart.triggers:
        if trigger not in used:
            fail(f"trigger {trigger!r} is declared but no row uses it")

    successors: dict[str, set[str]] = defaultdict(set)
    predecessors: dict[str, set[str]] = defaultdict(set)
    for row in chart.transitions:
        successors[row.source].add(row.dest)
        predecessors[row.dest].add(row.source)
    reachable = _closure(chart.initial, successors)
    for state in chart.states:
        if state not in reachable:
            fail(f"state {state!r} is unreachable from {chart.initial!r}")
    for state in chart.states:
        if state in chart.final:
            continue
        if not successors[state]:
            fail(f"non-final state {state!r} has no way out")
    can_finish: set[str] = set()
    for final in chart.final:
        can_finish |= _closure(final, predecessors)
    for state in chart.states:
        if state not in can_finish:
            fail(f"state {state!r} can never reach a final state")


# ---------------------------------------------------------------------------------------------
# A validated chart, cached: the caller keys it by the chart text and codex-fsm's own version


def chart_to_cache(chart: Chart) -> dict[str, Any]:
    """Everything ``chart_from_cache`` needs, as JSON-ready data."""
    return {
        "name": chart.name, "initial": chart.initial, "final": sorted(chart.final), "states": list(chart.states),
        "state_docs": chart.state_docs, "state_deadlines": {k: list(v) for k, v in chart.state_deadlines.items()},
        "superstates": {k: list(v) for k, v in chart.superstates.items()}, "superstate_docs": chart.superstate_docs,
        "triggers": chart.triggers, "sha256": chart.sha256,
        "rows": [[r.id, r.kind, r.index, r.declared_in, r.trigger, r.source, r.dest, list(r.guards), list(r.unless),
                  r.priority, list(r.actions), r.why] for r in chart.rows],
    }


def chart_from_cache(data: object) -> Chart | None:
    """The chart ``chart_to_cache`` saved, or None when the data is not such a chart (then validate anew).

    The checks here are the ones a crash would need (shapes, and names that resolve to functions); the
    chart's soundness was established when it was cached."""
    try:
        assert isinstance(data, dict)
        rows = tuple(Row(str(i), str(k), int(x), str(w), str(t), str(s), str(d), tuple(map(str, g)),
                         tuple(map(str, u)), None if p is None else int(p), tuple(map(str, a)), str(y))
                     for i, k, x, w, t, s, d, g, u, p, a, y in data["rows"])
        chart = Chart(
            name=str(data["name"]), initial=str(data["initial"]), final=frozenset(map(str, data["final"])),
            states=tuple(map(str, data["states"])), state_docs=dict(data["state_docs"]),
            state_deadlines={str(k): tuple(map(str, v)) for k, v in data["state_deadlines"].items()},
            superstates={str(k): tuple(map(str, v)) for k, v in data["superstates"].items()},
            superstate_docs=dict(data["superstate_docs"]), triggers=dict(data["triggers"]), rows=rows,
            sha256=str(data["sha256"]))
    except (AssertionError, KeyError, TypeError, ValueError, AttributeError):
        return None
    names_resolve = all(
        r.kind in (REACTION, TRANSITION) and r.source in chart.states and r.dest in chart.states
        and r.trigger in EVENTS_BY_TRIGGER and all(g in policy.GUARDS for g in r.guards + r.unless)
        and all(a in policy.ACTIONS for a in r.actions) for r in rows)
    deadlines_resolve = all(d in policy.DEADLINES for names in chart.state_deadlines.values() for d in names)
    if not (names_resolve and deadlines_resolve and chart.initial in chart.states):
        return None
    return chart


def _closure(start: str, edges: dict[str, set[str]]) -> set[str]:
    seen = {start}
    queue = deque([start])
    while queue:
        for nxt in sorted(edges[queue.popleft()]):
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen
