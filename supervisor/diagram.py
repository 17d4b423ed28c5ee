"""Render the statechart for review: Mermaid (renders on GitHub), Graphviz DOT, SVG via ``dot``, and a
Markdown table of what the drawing leaves out.

Drawn straight from the chart's rows so the picture cannot drift from the table. Only transitions
(moves between states) are edges; reactions stay inside their state and are listed by
``render_table``. A transition written for a superstate is one edge from that superstate's box.
Each edge line is ``triggers [guards]``: rows with the same guards share a line, a row that wins by
priority carries its number (①, ②, ...), and the fallback of a cell with several rows says
``[else]``. Output is byte-stable: states in chart order, edges sorted.

A transition log's path (``render_path_*``) is drawn apart: the states it visited and its moves as
numbered steps with their times, so one session can be read as a story.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timezone

from .core.chart import Chart, Row
from .errors import DiagramError
from .terminal_text import for_terminal

_UNSAFE = re.compile(r"[:;#<>{}\"|]")
_CIRCLED = "①②③④⑤⑥⑦⑧⑨"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _clean(text: str) -> str:
    return _UNSAFE.sub("", text).strip()


@dataclass(frozen=True, slots=True)
class Edge:
    tail: str  # a state, or a superstate whose every member takes the row
    head: str
    lines: tuple[str, ...]


def _mark(row: Row) -> str:
    if row.priority is None:
        return ""
    return _CIRCLED[row.priority - 1] if row.priority <= len(_CIRCLED) else f"({row.priority})"


def _short(guard_label: str) -> str:
    """Guards as a reader of logic writes them: ``a ∧ ¬b``."""
    return guard_label.replace(" and not ", " ∧ ¬").replace(" and ", " ∧ ").replace("not ", "¬")


def _guard_text(chart: Chart, row: Row) -> str:
    mark = _mark(row)
    if chart.is_else(row):
        return "[else]"
    if row.guarded:
        return f"{mark}[{_short(row.guard_label)}]"
    return ""


def _without_complements(chart: Chart, rows: list[Row]) -> list[tuple[Row, str]]:
    """Each row with its guard text, where two rows of one trigger on one edge that differ only in
    one guard, required by one and excluded by the other (``[headless]`` / ``[¬headless]``), are one
    line: on this edge that guard decides only the actions (the table lists both), not the move."""
    result: list[tuple[Row, str]] = []
    merged: set[int] = set()
    for i, row in enumerate(rows):
        if i in merged:
            continue
        for j in range(i + 1, len(rows)):
            other = rows[j]
            if j in merged or other.trigger != row.trigger or row.priority or other.priority:
                continue
            split = (set(row.guards) ^ set(other.guards)) | (set(row.unless) ^ set(other.unless))
            if len(split) == 1 and split <= (set(row.guards) | set(other.guards)) \
                    and split <= (set(row.unless) | set(other.unless)):
                merged.add(j)
                common = [g for g in row.guards if g not in split], [u for u in row.unless if u not in split]
                label = " and ".join([*common[0], *(f"not {u}" for u in common[1])])
                result.append((row, f"[{_short(label)}]" if label else ""))
                break
        else:
            result.append((row, _guard_text(chart, row)))
    return result


def _declared_rows(chart: Chart) -> list[Row]:
    """Each transition once, as written (a superstate's row is not repeated for every member)."""
    seen: set[tuple[str, int]] = set()
    result = []
    for row in chart.transitions:
        if (row.kind, row.index) not in seen:
            seen.add((row.kind, row.index))
            result.append(row)
    return result


def edges(chart: Chart) -> list[Edge]:
    """The drawn edges: transitions grouped by (tail, head), one label line per guard text."""
    grouped: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for row in _declared_rows(chart):
        members = [r for r in chart.transitions if (r.kind, r.index) == (row.kind, row.index)]
        if row.declared_in in chart.superstates:
            grouped[(row.declared_in, row.dest)].append(row)
        else:
            for member in members:
                grouped[(member.source, member.dest)].append(member)
    # A superstate is drawn as a box only where it saves edges (two or more leave it); otherwise
    # its rows are drawn from each member like any other.
    leaving: dict[str, int] = defaultdict(int)
    for tail, _ in grouped:
        leaving[tail] += 1
    for (tail, head) in list(grouped):
        if tail in chart.superstates and leaving[tail] < 2:
            for member in chart.superstates[tail]:
                grouped[(member, head)].extend(
                    r for r in chart.transitions if r.source == member and (r.kind, r.index) in
                    {(x.kind, x.index) for x in grouped[(tail, head)]})
            del grouped[(tail, head)]
    order = {s: i for i, s in enumerate(chart.states)}
    order.update({s: -len(chart.superstates) + i for i, s in enumerate(chart.superstates)})
    result = []
    for (tail, head) in sorted(grouped, key=lambda k: (order[k[0]], order[k[1]])):
        by_guard: dict[str, list[str]] = {}
        for row, guard_text in _without_complements(chart, grouped[(tail, head)]):
            triggers = by_guard.setdefault(guard_text, [])
            if row.trigger not in triggers:
                triggers.append(row.trigger)
        lines = tuple(" ".join(part for part in (", ".join(triggers), guard) if part)
                      for guard, triggers in by_guard.items())
        result.append(Edge(tail, head, lines))
    return result


# ---------------------------------------------------------------------------------------------
# The chart


def render_mermaid(chart: Chart) -> str:
    """The same edges as the SVG; a superstate that edges leave is a composite state around its members."""
    drawn = edges(chart)
    out = ["stateDiagram-v2", f"    [*] --> {chart.initial}"]
    for box in dict.fromkeys(e.tail for e in drawn if e.tail in chart.superstates):
        out.append(f"    state {box} {{")
        out.extend(f"        {member}" for member in chart.superstates[box])
        out.append("    }")
    for edge in drawn:
        out.append(f"    {edge.tail} --> {edge.head}: {'<br/>'.join(edge.lines)}")
    for state in sorted(chart.final):
        out.append(f"    {state} --> [*]")
    return "\n".join(out) + "\n"


def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


_DOT_HEAD = [
    # Font sizes are in points; the SVG is shown at 4/3 px per point, so 9 pt is 12 px.
    "  rankdir=TB; newrank=true;",
    '  graph [fontname="Helvetica", fontsize=9, nodesep=0.15, ranksep=0.2, margin=0.1];',
    '  node [shape=box, style="rounded", fontname="Helvetica", fontsize=11, margin="0.1,0.04"];',
    '  edge [fontname="Helvetica", fontsize=9];',
]


def _superstate_tree(chart: Chart, drawn: set[str]) -> dict[str | None, list[str]]:
    """Each drawn superstate's parent (the smallest drawn one strictly containing it), None at the top.

    Only superstates that an edge leaves are boxes: the others' rows are all reactions, which the
    table lists, and a box around them would only add lines."""
    children: dict[str | None, list[str]] = defaultdict(list)
    boxes = {name: members for name, members in chart.superstates.items() if name in drawn}
    for name, members in boxes.items():
        parents = [p for p, m in boxes.items() if p != name and set(members) < set(m)]
        parent = min(parents, key=lambda p: len(chart.superstates[p])) if parents else None
        children[parent].append(name)
    return children


def _anchor(superstate: str) -> str:
    """The node inside a superstate's box that its edges leave from: "from any state in here".

    (Graphviz's own cluster-tail edges, ``ltail``, abort ``dot`` on some layouts.)"""
    return f"__any_{superstate}"


def render_dot(chart: Chart) -> str:
    out = ["digraph session {", *_DOT_HEAD, '  __start [shape=point, width=0.15, label=""];']
    drawn = {e.tail for e in edges(chart)}
    children = _superstate_tree(chart, drawn)
    placed: set[str] = set()

    def cluster(name: str, depth: int) -> None:
        pad = "  " * (depth + 1)
        out.append(f"{pad}subgraph cluster_{name} {{")
        out.append(f'{pad}  label={_dot_quote(name)}; labeljust=l; style="rounded,dashed"; color="#888888";'
                   f' fontcolor="#555555";')
        for child in sorted(children.get(name, []), key=lambda c: chart.states.index(chart.superstates[c][0])):
            cluster(child, depth + 1)
        for state in chart.superstates[name]:
            if state not in placed:
                placed.add(state)
                out.append(f"{pad}  {state};")
        if name in drawn:
            out.append(f'{pad}  {_anchor(name)} [label="any state", shape=plain, fontsize=9, '
                       f'fontcolor="#555555"];')
        out.append(f"{pad}}}")

    for state in chart.states:
        reactions = sum(1 for r in chart.reactions if r.source == state)
        sub = f"<br/><font point-size=\"9\">{_count(reactions, 'reaction')}</font>" if reactions else ""
        shape = ", shape=doubleoctagon" if state in chart.final else ""
        out.append(f"  {state} [label=<<b>{state}</b>{sub}>{shape}];")
    for top in sorted(children.get(None, []), key=lambda c: chart.states.index(chart.superstates[c][0])):
        cluster(top, 0)
    out.append(f"  __start -> {chart.initial};")
    # Each edge's label is a node of its own on the edge's way: Graphviz never lets nodes overlap,
    # while its edge labels between two states that point both ways land on each other.
    for number, edge in enumerate(edges(chart), start=1):
        tail = _anchor(edge.tail) if edge.tail in chart.superstates else edge.tail
        label = "\\n".join(_dot_quote(line)[1:-1] for line in _narrowed(edge.lines))
        out.append(f'  __label{number} [shape=plaintext, fontsize=9, label="{label}", margin=0, width=0, height=0];')
        out.append(f"  {tail} -> __label{number} [arrowhead=none];")
        out.append(f"  __label{number} -> {edge.head};")
    out.append("}")
    return "\n".join(out) + "\n"


# A label line longer than this is broken before its guard while the edge has lines to spare: the
# drawing stays narrow enough for a screen without a line more than LINE_BUDGET on any edge.
_WIDE_LINE = 40
LINE_BUDGET = 3


def _narrowed(lines: tuple[str, ...]) -> tuple[str, ...]:
    result = list(lines)
    while len(result) < LINE_BUDGET:
        widest = max(range(len(result)), key=lambda i: len(result[i]))
        line = result[widest]
        cut = line.find("[")
        while cut > 0 and line[cut - 1] in _CIRCLED:
            cut -= 1
        if len(line) <= _WIDE_LINE or cut <= 0:
            break
        result[widest:widest + 1] = [line[:cut].rstrip(), line[cut:]]
    return tuple(result)


def _run_dot(dot_text: str) -> str:
    dot = shutil.which("dot")
    if dot is None:
        raise DiagramError("Graphviz's 'dot' is not installed (run 'make graphviz' or apt-get install graphviz)")
    proc = subprocess.run([dot, "-Tsvg"], input=dot_text, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise DiagramError(f"dot failed (exit {proc.returncode}): {proc.stderr.strip()[:500]}")
    return proc.stdout


def render_svg(chart: Chart) -> str:
    return _run_dot(render_dot(chart))


def render_table(chart: Chart) -> str:
    """Markdown: the reactions (which the diagram does not draw) and the order of every cell with
    several rows, so a reviewer sees which row wins."""
    out = ["### Reactions (the state does not change)", "",
           "| in | trigger | guard | actions | why |", "| --- | --- | --- | --- | --- |"]
    for row in _declared_reactions(chart):
        members = [r for r in chart.reactions if r.index == row.index]
        fallback = any(chart.is_else(r) for r in members)
        guard = "[else]" if fallback else (f"{_mark(row)}[{row.guard_label}]" if row.guarded else "")
        where = row.declared_in.replace(",", ", ")
        out.append(f"| {where} | `{row.trigger}` | {guard} | {', '.join(row.actions) or '—'} | {row.why} |")
    out += ["", "### Cells with several rows, in the order they are tried", "",
            "| state | trigger | rows (first that holds wins) |", "| --- | --- | --- |"]
    cells: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for row in chart.rows:
        cells[(row.source, row.trigger)].append(row)
    for (state, trigger), rows in cells.items():
        if len(rows) < 2:
            continue
        parts = []
        for row in rows:
            guard = "else" if chart.is_else(row) else f"{_mark(row)}{row.guard_label}"
            goes = "stay" if row.is_reaction else f"→ {row.dest}"
            parts.append(f"{guard} {goes}")
        out.append(f"| {state} | `{trigger}` | {'; '.join(parts)} |")
    out += ["", "### Superstates", "", "| superstate | states | what they share |", "| --- | --- | --- |"]
    for name, members in chart.superstates.items():
        out.append(f"| {name} | {', '.join(members)} | {chart.superstate_docs[name]} |")
    return "\n".join(out) + "\n"


def _declared_reactions(chart: Chart) -> list[Row]:
    """Each reaction once, as written: superstates' first (outermost first), then each state's, then
    those written for a list of states; by trigger within each."""
    places = list(sorted(chart.superstates, key=lambda s: -len(chart.superstates[s]))) + list(chart.states)
    first: dict[int, Row] = {}
    for row in chart.reactions:
        first.setdefault(row.index, row)

    def place(row: Row) -> tuple[int, str, tuple[int, int, str, str]]:
        rank = places.index(row.declared_in) if row.declared_in in places else len(places)
        return (rank, row.trigger, (0, row.priority or 0, "", "") if row.priority else (1, 0, row.guard_label, ""))

    return sorted(first.values(), key=place)


RENDERERS = {"mermaid": render_mermaid, "dot": render_dot, "svg": render_svg, "table": render_table}


# ---------------------------------------------------------------------------------------------
# One session's path


@dataclass(frozen=True, slots=True)
class Step:
    """One move of a replayed session: a transition that changed the state."""

    number: int
    seq: int
    at: float
    trigger: str
    source: str
    dest: str


def moves(chart: Chart, fired: tuple[tuple[int, float, str], ...]) -> tuple[list[Step], dict[str, int]]:
    """The moves among the fired rows ``(seq, at, row_id)``, numbered, and the reactions per state."""
    steps: list[Step] = []
    reactions: dict[str, int] = defaultdict(int)
    for seq, at, row_id in fired:
        row = chart.row(row_id)
        if row.is_reaction:
            reactions[row.source] += 1
            continue
        steps.append(Step(len(steps) + 1, seq, at, row.trigger, row.source, row.dest))
    return steps, dict(reactions)


def _clock(at: float) -> str:
    return datetime.fromtimestamp(at, tz=timezone.utc).strftime("%H:%M:%S")


def summarize_moves(chart: Chart, fired: tuple[tuple[int, float, str], ...]) -> list[str]:
    """One line per move, for a person reading a terminal: ``3. 12:04:05 running → prewarming (quota_observed)``."""
    steps, reactions = moves(chart, fired)
    lines = [f"{s.number}. {_clock(s.at)} {s.source} → {s.dest} ({s.trigger})" for s in steps]
    total = sum(reactions.values())
    if total:
        lines.append(f"(and {_count(total, 'reaction')} that kept the state)")
    return lines


def render_path_dot(chart: Chart, fired: tuple[tuple[int, float, str], ...], title: str = "") -> str:
    steps, reactions = moves(chart, fired)
    visited = [chart.initial] + [s for s in chart.states if any(s in (m.source, m.dest) for m in steps)]
    start = _clock(fired[0][1]) if fired else ""
    day = datetime.fromtimestamp(fired[0][1], tz=timezone.utc).strftime("%Y-%m-%d") if fired else ""
    label = f"{_clean(for_terminal(title))} {day} (UTC)".strip()
    out = ["digraph session_path {", *_DOT_HEAD, f"  label={_dot_quote(label)}; labelloc=t;",
           '  __start [shape=point, width=0.15, label=""];']
    for state in chart.states:
        if state not in visited:
            continue
        count = reactions.get(state, 0)
        sub = f"<br/><font point-size=\"9\">{_count(count, 'reaction')}</font>" if count else ""
        shape = ", shape=doubleoctagon" if state in chart.final else ""
        out.append(f'  {state} [label=<<b>{state}</b>{sub}>, style="rounded,filled", fillcolor="#ffe08a"{shape}];')
    out.append(f"  __start -> {chart.initial} [label={_dot_quote(start)}];")
    for step in steps:
        text = f"{step.number}. {_clock(step.at)} {step.trigger}"
        out.append(f"  {step.source} -> {step.dest} [label={_dot_quote(text)}, color=\"#b8860b\", penwidth=2];")
    out.append("}")
    return "\n".join(out) + "\n"


def render_path_mermaid(chart: Chart, fired: tuple[tuple[int, float, str], ...], title: str = "") -> str:
    steps, _ = moves(chart, fired)
    out = ["stateDiagram-v2", f"    [*] --> {chart.initial}"]
    for step in steps:
        out.append(f"    {step.source} --> {step.dest}: {step.number}. {_clock(step.at)} {step.trigger}")
    return "\n".join(out) + "\n"


def render_path_table(chart: Chart, fired: tuple[tuple[int, float, str], ...], title: str = "") -> str:
    steps, reactions = moves(chart, fired)
    out = ["| step | time (UTC) | seq | trigger | from | to |", "| --- | --- | --- | --- | --- | --- |"]
    out += [f"| {s.number} | {_clock(s.at)} | {s.seq} | `{s.trigger}` | {s.source} | {s.dest} |" for s in steps]
    out.append("")
    out.append(f"Reactions that kept the state: {sum(reactions.values())}"
               + (" (" + ", ".join(f"{k} {v}" for k, v in reactions.items()) + ")" if reactions else ""))
    return "\n".join(out) + "\n"


def render_path_svg(chart: Chart, fired: tuple[tuple[int, float, str], ...], title: str = "") -> str:
    return _run_dot(render_path_dot(chart, fired, title))


PATH_RENDERERS = {"mermaid": render_path_mermaid, "dot": render_path_dot, "svg": render_path_svg,
                  "table": render_path_table}


def stable_svg(svg: str) -> str:
    """The SVG without the generator comment, which names the Graphviz build."""
    return re.sub(r"<!-- Generated by graphviz[^>]*-->\n?", "", svg)
