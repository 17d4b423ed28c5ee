"""codex-fsm's status-line MCP server: the methods Codex calls, the rendered line, bad input."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

from supervisor.adapters.statusline_mcp import RESOURCE_URI, STATE_META_KEY, TOOL_NAME, StatuslineServer
from supervisor.adapters.statusline_view import plain_line

NOW = 1_800_000_000.0
REPO = Path(__file__).resolve().parents[2]


def codex_state(used_5h: float = 10.0, used_week: float = 5.0, model: str = "gpt-5.5") -> dict:
    """What Codex 0.171 sends with a read (recorded from the real binary, trimmed)."""
    return {"account": {"rate_limits": [
                {"limit_id": "codex", "limit_name": "codex",
                 "primary_limit": {"used_percent": used_5h, "window_minutes": 300, "resets_at": NOW + 3600},
                 "secondary_limit": {"used_percent": used_week, "window_minutes": 10080, "resets_at": NOW + 86400}},
                {"limit_id": "codex_bengalfox", "limit_name": "GPT-5.3-Codex-Spark",
                 "primary_limit": {"used_percent": 90.0, "window_minutes": 300, "resets_at": NOW + 3600},
                 "secondary_limit": None}]},
            "app": {"cli_version": "0.171.0", "display_mode": "standard"},
            "config": {"statusline_items": []},
            "thread": {"id": "01a23533-c57a-7ec3-8de1-904e23da1559", "name": None, "agent": {"state": "ready"},
                       "model": {"display_name": "GPT-5.5", "id": model, "provider": "openai"},
                       "workspace": {"cwd": "/w"}, "usage": {"context": {}}}}


def status(**fields) -> dict:
    base = {"pid": 4242, "state": "running", "account": "work-2", "session_id": None, "started_at": NOW - 600,
            "state_since": NOW - 600, "process_start": "1", "kind": "tui",
            "windows": [{"used_percent": 40.0, "window_minutes": 300, "resets_at": NOW + 3600}],
            "moved_from": "work-1", "moved_at": NOW - 180}
    return {**base, **fields}


def server(tmp_path: Path, content: dict | bytes | None) -> StatuslineServer:
    path = tmp_path / "4242.json"
    if content is not None:
        path.write_bytes(content if isinstance(content, bytes) else json.dumps(content).encode())
    return StatuslineServer(path, tmp_path / "4242.codex-limits", clock=lambda: NOW, codex_pid=777)


def ask(srv: StatuslineServer, method: str, params: dict | None = None, request_id: int = 1) -> dict:
    message = {"jsonrpc": "2.0", "id": request_id, "method": method}
    if params is not None:
        message["params"] = params
    reply = srv.handle_line(json.dumps(message).encode())
    assert reply is not None and reply["id"] == request_id
    return reply


def read_line(srv: StatuslineServer, state: dict | None = None) -> list[str]:
    reply = ask(srv, "resources/read", {"uri": RESOURCE_URI, "_meta": {STATE_META_KEY: state or {}}})
    (content,) = reply["result"]["contents"]
    assert content["uri"] == RESOURCE_URI and content["mimeType"] == "application/json"
    tree = json.loads(content["text"])
    assert tree["type"] == "row" and tree["props"]["gap"] == 1
    return [child["children"][0] for child in tree["children"]]


def test_initialize_answers_the_protocol_version_codex_asked_for(tmp_path):
    reply = ask(server(tmp_path, None), "initialize",
                {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "codex-mcp-client"}})
    assert reply["result"]["protocolVersion"] == "2025-06-18"
    assert set(reply["result"]["capabilities"]) == {"tools", "resources"}


def test_tools_list_advertises_one_statusline_entrypoint(tmp_path):
    (tool,) = ask(server(tmp_path, None), "tools/list", {"_meta": {"progressToken": 0}})["result"]["tools"]
    assert tool["name"] == TOOL_NAME
    assert tool["_meta"]["openai/ui"]["entrypoints"] == [{"type": "statusline", "resourceUri": RESOURCE_URI}]


def test_notifications_get_no_reply(tmp_path):
    assert server(tmp_path, None).handle_line(b'{"jsonrpc":"2.0","method":"notifications/initialized"}') is None


def test_the_line_shows_label_headroom_from_codex_and_the_last_move(tmp_path):
    parts = read_line(server(tmp_path, status()), codex_state(used_5h=18.0, used_week=36.0))
    assert parts == ["codex-fsm work-2", "5h 82% left", "weekly 64% left", "moved from work-1 3 min ago"]


def test_the_family_named_after_the_threads_model_gives_the_headroom(tmp_path):
    parts = read_line(server(tmp_path, status(moved_from=None, moved_at=None)),
                      codex_state(model="gpt-5.3-codex-spark"))
    assert parts == ["codex-fsm work-2", "5h 10% left"]


def test_without_codexs_snapshot_the_status_files_windows_are_shown(tmp_path):
    parts = read_line(server(tmp_path, status(moved_from=None, moved_at=None)))
    assert parts == ["codex-fsm work-2", "5h 60% left"]


def test_a_window_whose_reset_passed_counts_as_full(tmp_path):
    windows = [{"used_percent": 100.0, "window_minutes": 300, "resets_at": NOW - 1}]
    assert read_line(server(tmp_path, status(windows=windows, moved_from=None)))[1] == "5h 100% left"


def test_a_session_waiting_says_so(tmp_path):
    assert read_line(server(tmp_path, status(state="acquiring", windows=[], moved_from=None)))[-1] == "acquiring"


def test_a_hostile_label_is_shown_escaped_and_cut(tmp_path):
    parts = read_line(server(tmp_path, status(account="evil\x1b]52;c;AAAA\x07" + "x" * 80, moved_from="a\nb")))
    assert "\x1b" not in "".join(parts) and "\x07" not in "".join(parts) and "\n" not in "".join(parts)
    assert parts[0].startswith("codex-fsm evil\\x1b]52;c;AAAA\\x07") and parts[0].endswith("…")
    assert parts[-1] == "moved from a\\x0ab 3 min ago"


def test_a_missing_status_file_gives_a_line_not_an_error(tmp_path):
    assert read_line(server(tmp_path, None)) == ["codex-fsm: no session status"]


def test_a_garbage_status_file_is_treated_as_missing(tmp_path):
    assert read_line(server(tmp_path, b"\xff{not json")) == ["codex-fsm: no session status"]
    assert read_line(server(tmp_path, b"[1, 2]")) == ["codex-fsm: no session status"]


def test_garbage_requests_get_json_rpc_errors(tmp_path):
    srv = server(tmp_path, status())
    assert srv.handle_line(b"not json")["error"]["code"] == -32700
    assert srv.handle_line(b'["a"]')["error"]["code"] == -32600
    assert srv.handle_line(b'{"id": 3, "method": 7}')["error"]["code"] == -32600
    assert ask(srv, "sampling/createMessage", {})["error"]["code"] == -32601
    assert ask(srv, "resources/read", {"uri": "ui://other"})["error"]["code"] == -32602
    assert srv.handle_line(b'{"jsonrpc":"2.0","id":4,"method":"tools/list","params":[1]}')["error"]["code"] == -32602


def test_codexs_rate_limits_are_recorded_once_per_change(tmp_path):
    srv = server(tmp_path, status())
    read_line(srv, codex_state(used_5h=10.0))
    record_path = tmp_path / "4242.codex-limits"
    record = json.loads(record_path.read_text())
    assert record["codex_pid"] == 777 and record["observed_at"] == NOW
    assert record["thread_id"] == "01a23533-c57a-7ec3-8de1-904e23da1559"
    assert record["rate_limits"][0]["primary_limit"]["used_percent"] == 10.0
    assert oct(record_path.stat().st_mode & 0o777) == "0o600"
    first = record_path.stat().st_mtime_ns
    read_line(srv, codex_state(used_5h=10.0))
    assert record_path.stat().st_mtime_ns == first
    read_line(srv, codex_state(used_5h=12.0))
    assert json.loads(record_path.read_text())["rate_limits"][0]["primary_limit"]["used_percent"] == 12.0


def test_tools_call_returns_the_line_as_text(tmp_path):
    reply = ask(server(tmp_path, status()), "tools/call", {"name": TOOL_NAME, "arguments": {}})
    assert reply["result"]["content"] == [
        {"type": "text", "text": "codex-fsm work-2 · 5h 60% left · moved from work-1 3 min ago"}]


def test_the_server_runs_as_a_module_over_stdio(tmp_path):
    """The way Codex runs it: one request a line in, one reply a line out, garbage included."""
    lines = b"\n".join([json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}).encode(),
                        b"garbage",
                        json.dumps({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}).encode()]) + b"\n"
    done = subprocess.run([sys.executable, "-m", "supervisor.adapters.statusline_mcp", "--status",
                           str(tmp_path / "none.json")], input=lines, capture_output=True, cwd=REPO, timeout=30,
                          env={"PYTHONPATH": str(REPO)}, check=True)
    replies = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r.get("id") for r in replies] == [1, None, 2]
    assert replies[1]["error"]["code"] == -32700


def test_serve_skips_blank_lines(tmp_path):
    out = io.BytesIO()
    server(tmp_path, None).serve(io.BytesIO(b"\n" + json.dumps({"jsonrpc": "2.0", "id": 9, "method": "ping"}).encode()
                                            + b"\n"), out)
    assert [json.loads(line) for line in out.getvalue().splitlines()] == [{"jsonrpc": "2.0", "id": 9, "result": {}}]


def test_plain_line_minutes_hours_days():
    for moved_ago, said in ((30, "just now"), (7200, "2 h ago"), (3 * 86400, "3 d ago")):
        assert plain_line(status(windows=[], moved_at=NOW - moved_ago), {}, NOW).endswith(said)
