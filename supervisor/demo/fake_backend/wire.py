"""The JSON and SSE shapes Codex 0.169 expects from the ChatGPT backend (Responses API + wham)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping

from .accounts import AccountState, Window
from .records import ConversationItem

# Codex injects context (environment, permissions, AGENTS.md) as user messages wrapped in a tag.
_CONTEXT_PREFIXES = ("<environment_context>", "<user_instructions>", "<permissions", "# AGENTS.md")


def conversation_of(body: Mapping[str, object]) -> tuple[ConversationItem, ...]:
    """The user/assistant texts of a Responses request's `input`, without Codex's injected context."""
    items = body.get("input")
    if not isinstance(items, list):
        return ()
    conversation = []
    for item in items:
        if not isinstance(item, dict) or item.get("type") != "message" or item.get("role") not in ("user", "assistant"):
            continue
        parts = item.get("content")
        text = "".join(p.get("text", "") for p in parts if isinstance(p, dict)) if isinstance(parts, list) else ""
        if text.lstrip().startswith(_CONTEXT_PREFIXES):
            continue
        conversation.append(ConversationItem(role=str(item["role"]), text=text))
    return tuple(conversation)


def is_title_request(body: Mapping[str, object], turn_metadata: str | None) -> bool:
    """The TUI's follow-up request for a thread title: a JSON-schema output with a `title` property."""
    if turn_metadata and '"thread_title"' in turn_metadata:
        return True
    text = body.get("text")
    fmt = text.get("format") if isinstance(text, dict) else None
    schema = fmt.get("schema") if isinstance(fmt, dict) else None
    properties = schema.get("properties") if isinstance(schema, dict) else None
    return isinstance(properties, dict) and "title" in properties


def rate_limit_headers(state: AccountState, primary_used_percent: float | None = None) -> dict[str, str]:
    """`x-codex-*` headers; Codex 0.169 reads `*-reset-at` (epoch seconds) and ignores reset-after."""
    headers: dict[str, str] = {}
    for name, window in (("primary", state.primary), ("secondary", state.secondary)):
        used = primary_used_percent if name == "primary" and primary_used_percent is not None else window.used_percent
        headers[f"x-codex-{name}-used-percent"] = f"{used:.1f}"
        headers[f"x-codex-{name}-window-minutes"] = str(window.window_minutes)
        headers[f"x-codex-{name}-reset-at"] = str(window.resets_at)
    return headers


def usage_limit_body(state: AccountState) -> dict[str, object]:
    return {"error": {"type": "usage_limit_reached", "message": "The usage limit has been reached",
                      "plan_type": state.plan_type, "resets_at": state.limit_resets_at()}}


def _usage_window(window: Window, now: float) -> dict[str, object]:
    return {"used_percent": int(window.used_percent), "limit_window_seconds": window.window_minutes * 60,
            "reset_after_seconds": max(int(window.resets_at - now), 0), "reset_at": window.resets_at}


def usage_payload(state: AccountState, now: float) -> dict[str, object]:
    """`GET /wham/usage`: what `/status` shows and what a quota probe reads."""
    return {"plan_type": state.plan_type,
            "rate_limit": {"allowed": not state.exhausted, "limit_reached": state.exhausted,
                           "primary_window": _usage_window(state.primary, now),
                           "secondary_window": _usage_window(state.secondary, now)},
            "credits": None}


def accounts_check_payload(account_id: str, plan_type: str) -> dict[str, object]:
    """Workspace routing discovery: without an entry for the account, every turn fails."""
    return {"accounts": [{"id": account_id, "plan_type": plan_type, "name": "Fake workspace", "structure": "personal",
                          "workspace_backend_origin": "NO_CONSTRAINT", "account_routing_override": "NO_CONSTRAINT"}],
            "account_ordering": [account_id], "default_account_id": account_id}


def sse_event(event: Mapping[str, object]) -> bytes:
    return f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()


def answer_events(response_id: str, message_id: str, text: str, chunk_chars: int = 8) -> Iterator[dict[str, object]]:
    """A streamed assistant message: created, item added, text deltas, item done, completed with usage."""
    seq = 0

    def numbered(event: dict[str, object]) -> dict[str, object]:
        nonlocal seq
        seq += 1
        return {**event, "sequence_number": seq}

    yield numbered({"type": "response.created",
                    "response": {"id": response_id, "object": "response", "status": "in_progress", "output": []}})
    yield numbered({"type": "response.output_item.added", "output_index": 0,
                    "item": {"id": message_id, "type": "message", "role": "assistant", "status": "in_progress",
                             "content": []}})
    for start in range(0, len(text), chunk_chars):
        yield numbered({"type": "response.output_text.delta", "item_id": message_id, "output_index": 0,
                        "content_index": 0, "delta": text[start:start + chunk_chars]})
    yield numbered({"type": "response.output_item.done", "output_index": 0,
                    "item": {"id": message_id, "type": "message", "role": "assistant", "status": "completed",
                             "content": [{"type": "output_text", "text": text, "annotations": []}]}})
    yield numbered({"type": "response.completed",
                    "response": {"id": response_id, "object": "response", "status": "completed",
                                 "usage": {"input_tokens": 1200, "input_tokens_details": {"cached_tokens": 200},
                                           "output_tokens": 34, "output_tokens_details": {"reasoning_tokens": 0},
                                           "total_tokens": 1234}}})
