"""codex-fsm's status-line provider: a stdio MCP server that Codex starts with each supervised session.

``python -m supervisor.adapters.statusline_mcp --status FILE --snapshot FILE``

Codex (0.171+, feature ``tui_extensions_statusline``, ``tui.status_line_provider = {server, tool}``)
lists the server's tools, takes the one whose ``_meta["openai/ui"].entrypoints`` holds a ``statusline``
entry, and then reads that entry's resource (``resources/read``) again one second after each answer.
Every read carries Codex's own snapshot of the displayed thread in
``params._meta["com.openai/codex-statusline-state"]`` (thread id, model, the account's rate limits per
limit family). The answer is one ``application/json`` text resource holding a UI tree. A read slower
than one second, or an error, stops Codex's polling for the rest of the session: every answer here is
built from one small file read, and nothing waits.

The line comes from the session's status file (``status_file``: the account's label, its windows, the
last move). Codex's snapshot is also recorded in ``--snapshot`` (rate limits and thread id only, the
Codex process it came from, the moment it was read; rewritten only when they change): a quota reading
of the running account that cost no request.

MCP's stdio transport is one JSON-RPC message a line; this loop answers the few methods Codex calls and
``Method not found`` to the rest. It imports only the standard library and the small view module: Codex
starts it (twice: the session's MCP manager lists its tools too) with every session.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import IO, Any, Callable

from .statusline_view import plain_line, render

SERVER_NAME = "codex_fsm"
TOOL_NAME = "statusline"
RESOURCE_URI = "ui://codex-fsm/statusline"
STATE_META_KEY = "com.openai/codex-statusline-state"
PROTOCOL_VERSION = "2025-06-18"
# A status file larger than this is not one of ours (they are a few hundred bytes).
_MAX_STATUS_BYTES = 64 * 1024
_MAX_LIMIT_FAMILIES = 16

TOOL = {
    "name": TOOL_NAME,
    "title": "codex-fsm",
    "description": "codex-fsm's status line: the pool account this session runs on, its headroom, the last move.",
    "inputSchema": {"type": "object", "properties": {}},
    "_meta": {"openai/ui": {"entrypoints": [{"type": "statusline", "resourceUri": RESOURCE_URI}]}},
}


class _Invalid(Exception):
    """A request whose parameters are not what the method takes (JSON-RPC -32602)."""


class StatuslineServer:
    def __init__(self, status_path: Path, snapshot_path: Path | None, clock: Callable[[], float] = time.time,
                 codex_pid: int | None = None) -> None:
        self._status_path = status_path
        self._snapshot_path = snapshot_path
        self._clock = clock
        self._codex_pid = os.getppid() if codex_pid is None else codex_pid
        self._recorded: tuple[Any, Any] | None = None

    # -- reading what the line shows --------------------------------------------------------------

    def read_status(self) -> dict[str, Any] | None:
        """The session's status file, or None when it is missing, unreadable or not an object."""
        try:
            with open(self._status_path, "rb") as file:
                raw = file.read(_MAX_STATUS_BYTES + 1)
        except OSError:
            return None
        if len(raw) > _MAX_STATUS_BYTES:
            return None
        try:
            data = json.loads(raw.decode("utf-8"))
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    def record_snapshot(self, codex_state: dict[str, Any], now: float) -> None:
        """Keep Codex's rate limits and thread id where the supervisor can read them; only when they
        changed, and never fatal (the line matters more than the record)."""
        if self._snapshot_path is None:
            return
        account = codex_state.get("account")
        limits = account.get("rate_limits") if isinstance(account, dict) else None
        thread = codex_state.get("thread")
        thread_id = thread.get("id") if isinstance(thread, dict) else None
        if not isinstance(limits, list) or not limits or not isinstance(thread_id, str):
            return
        limits = [family for family in limits if isinstance(family, dict)][:_MAX_LIMIT_FAMILIES]
        if self._recorded == (thread_id, limits):
            return
        record = {"codex_pid": self._codex_pid, "thread_id": thread_id, "observed_at": now, "rate_limits": limits}
        temp = self._snapshot_path.with_name(f".{self._snapshot_path.name}.{os.getpid()}.tmp")
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                json.dump(record, file, sort_keys=True)
            os.replace(temp, self._snapshot_path)
        except (OSError, ValueError):
            try:
                os.unlink(temp)
            except OSError:
                pass
            return
        self._recorded = (thread_id, limits)

    # -- the protocol -----------------------------------------------------------------------------

    def answer(self, method: str, params: Any) -> Any:
        """The result of one request; raises KeyError for an unknown method, _Invalid for bad params."""
        if not isinstance(params, dict):
            raise _Invalid("params must be an object")
        if method == "initialize":
            asked = params.get("protocolVersion")
            return {"protocolVersion": asked if isinstance(asked, str) else PROTOCOL_VERSION,
                    "capabilities": {"tools": {}, "resources": {}},
                    "serverInfo": {"name": "codex-fsm-statusline", "version": "1"}}
        if method == "ping":
            return {}
        if method == "tools/list":
            return {"tools": [TOOL]}
        if method == "tools/call":
            if params.get("name") != TOOL_NAME:
                raise _Invalid("unknown tool")
            line = plain_line(self.read_status(), {}, self._clock())
            return {"content": [{"type": "text", "text": line}]}
        if method == "resources/list":
            return {"resources": [{"name": "statusline", "uri": RESOURCE_URI, "mimeType": "application/json"}]}
        if method == "resources/templates/list":
            return {"resourceTemplates": []}
        if method == "resources/read":
            if params.get("uri") != RESOURCE_URI:
                raise _Invalid("unknown resource")
            meta = params.get("_meta")
            codex_state = meta.get(STATE_META_KEY) if isinstance(meta, dict) else None
            codex_state = codex_state if isinstance(codex_state, dict) else {}
            now = self._clock()
            self.record_snapshot(codex_state, now)
            tree = render(self.read_status(), codex_state, now)
            return {"contents": [{"uri": RESOURCE_URI, "mimeType": "application/json",
                                  "text": json.dumps(tree, ensure_ascii=False)}]}
        raise KeyError(method)

    def handle_line(self, line: bytes) -> dict[str, Any] | None:
        """The reply to one line of input (None for a notification, which gets none)."""
        reply: dict[str, Any] = {"jsonrpc": "2.0", "id": None}
        try:
            request = json.loads(line)
        except ValueError:
            reply["error"] = {"code": -32700, "message": "Parse error"}
            return reply
        if not isinstance(request, dict) or not isinstance(request.get("method"), str):
            reply["error"] = {"code": -32600, "message": "Invalid request"}
            return reply
        if "id" not in request:
            return None
        reply["id"] = request["id"]
        try:
            reply["result"] = self.answer(request["method"], request.get("params", {}))
        except KeyError:
            reply["error"] = {"code": -32601, "message": "Method not found"}
        except _Invalid as exc:
            reply["error"] = {"code": -32602, "message": f"Invalid params: {exc}"}
        return reply

    def serve(self, stdin: IO[bytes], stdout: IO[bytes]) -> None:
        for line in stdin:
            if not line.strip():
                continue
            reply = self.handle_line(line)
            if reply is not None:
                stdout.write(json.dumps(reply).encode("utf-8") + b"\n")
                stdout.flush()


def server_args(status_path: Path, snapshot_path: Path) -> list[str]:
    """The arguments after the interpreter that start this server for one session."""
    return ["-m", __name__, "--status", str(status_path), "--snapshot", str(snapshot_path)]


def _parse_args(argv: list[str]) -> tuple[Path, Path | None]:
    status = snapshot = None
    rest = list(argv)
    while rest:
        name = rest.pop(0)
        if name in ("--status", "--snapshot") and rest:
            value = Path(rest.pop(0))
            status, snapshot = (value, snapshot) if name == "--status" else (status, value)
        else:
            raise SystemExit(f"codex-fsm statusline: unexpected argument {name!r} "
                             "(usage: --status FILE [--snapshot FILE])")
    if status is None:
        raise SystemExit("codex-fsm statusline: --status FILE is required")
    return status, snapshot


def main(argv: list[str] | None = None) -> int:
    status, snapshot = _parse_args(sys.argv[1:] if argv is None else argv)
    try:
        StatuslineServer(status, snapshot).serve(sys.stdin.buffer, sys.stdout.buffer)
    except (BrokenPipeError, KeyboardInterrupt):
        pass  # Codex went away: nothing left to answer
    return 0


if __name__ == "__main__":
    sys.exit(main())
