"""The fake backend's own rules, checked over real HTTPS without Codex (fast)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from supervisor.demo.fake_backend import FakeChatGPTBackend, write_auth_json, write_codex_config
from supervisor.demo.fake_backend.tokens import jwt_claims
from tests.e2e.processes import wait_until


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1_800_000_000.0)


@pytest.fixture
def backend(tmp_path: Path, clock: FakeClock) -> Iterator[FakeChatGPTBackend]:
    with FakeChatGPTBackend(tmp_path, clock=clock, chunk_delay_s=0) as started:
        yield started


@pytest.fixture
def http(backend: FakeChatGPTBackend) -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.trust_env = False  # never a proxy, whatever the environment says
        session.verify = str(backend.ca_path)
        yield session


def turn(http: requests.Session, backend: FakeChatGPTBackend, account: str, prompt: str,
         **body: object) -> requests.Response:
    payload = {"input": [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "<environment_context>x"}]},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": prompt}]}], **body}
    return http.post(f"{backend.openai_base_url}/responses", json=payload, headers={"chatgpt-account-id": account})


def test_turn_streams_the_answer_with_rate_limit_headers(backend: FakeChatGPTBackend, http: requests.Session) -> None:
    state = backend.set_account("acct-a", primary_used_percent=42.0)
    response = turn(http, backend, "acct-a", "hi")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream"
    assert response.headers["x-codex-primary-used-percent"] == "42.0"
    assert response.headers["x-codex-primary-reset-at"] == str(state.primary.resets_at)
    assert response.headers["x-codex-secondary-window-minutes"] == "10080"
    events = [line.removeprefix("event: ") for line in response.text.splitlines() if line.startswith("event: ")]
    assert events[0] == "response.created" and events[-1] == "response.completed"
    assert "response.output_text.delta" in events
    [recorded] = backend.turns()
    assert recorded.prompt == "hi" and [i.role for i in recorded.conversation] == ["user"]


def test_exhaustion_answers_429_usage_limit_with_resets_at(backend: FakeChatGPTBackend, http: requests.Session) -> None:
    state = backend.set_account("acct-a", exhaust_after_turns=1)
    assert turn(http, backend, "acct-a", "one").status_code == 200
    refused = turn(http, backend, "acct-a", "two")
    assert refused.status_code == 429
    assert refused.json()["error"] == {"type": "usage_limit_reached", "message": "The usage limit has been reached",
                                       "plan_type": "plus", "resets_at": state.primary.resets_at}
    assert refused.headers["x-codex-primary-used-percent"] == "100.0"
    usage = http.get(f"{backend.chatgpt_base_url}wham/usage", headers={"chatgpt-account-id": "acct-a"}).json()
    assert usage["rate_limit"]["limit_reached"] is True
    assert turn(http, backend, "acct-b", "other account").status_code == 200


def test_exhausted_account_recovers_when_its_window_resets(backend: FakeChatGPTBackend, http: requests.Session,
                                                           clock: FakeClock) -> None:
    backend.set_account("acct-a", exhaust_after_turns=0, primary_resets_at=int(clock.now) + 5)
    assert turn(http, backend, "acct-a", "too early").status_code == 429
    clock.now += 5
    response = turn(http, backend, "acct-a", "after reset")
    assert response.status_code == 200
    assert response.headers["x-codex-primary-used-percent"] == "0.0"


def test_next_turn_reports_the_raised_used_percent_and_keeps_it(backend: FakeChatGPTBackend,
                                                                http: requests.Session) -> None:
    backend.set_account("acct-a", primary_used_percent=20.0, next_turn_used_percent=91.0)
    assert turn(http, backend, "acct-a", "raise").headers["x-codex-primary-used-percent"] == "91.0"
    assert turn(http, backend, "acct-a", "again").headers["x-codex-primary-used-percent"] == "91.0"


def test_each_turn_adds_the_used_percent_step_up_to_100(backend: FakeChatGPTBackend,
                                                        http: requests.Session) -> None:
    backend.set_account("acct-a", primary_used_percent=40.0, used_percent_step=35.0)
    reported = [turn(http, backend, "acct-a", f"turn {n}").headers["x-codex-primary-used-percent"] for n in range(3)]
    assert reported == ["75.0", "100.0", "100.0"]
    assert [r.status for r in backend.turns()] == [200, 200, 429]


def test_a_held_answer_is_recorded_at_once_and_streams_only_after_its_release(
        backend: FakeChatGPTBackend, http: requests.Session) -> None:
    backend.hold_answers("acct-a")
    answers: list[str] = []
    reader = threading.Thread(target=lambda: answers.append(turn(http, backend, "acct-a", "held").text), daemon=True)
    reader.start()
    wait_until(lambda: len(backend.turns()) == 1, 10, "the held turn's record")
    # Another account is not held, and the held stream does not block the server.
    assert "PONG-2 [acct-b]: free" in turn(http, backend, "acct-b", "free").text
    assert reader.is_alive() and answers == []
    backend.release_answers("acct-a")
    reader.join(10)
    assert not reader.is_alive() and "PONG-1 [acct-a]: held" in answers[0]
    assert "PONG-3 [acct-a]: after" in turn(http, backend, "acct-a", "after").text  # released for good
    assert backend.violations() == []


def test_title_request_is_never_a_turn_and_never_refused(backend: FakeChatGPTBackend, http: requests.Session) -> None:
    backend.set_account("acct-a", exhaust_after_turns=0)
    title_format = {"format": {"type": "json_schema", "name": "codex_output_schema",
                               "schema": {"properties": {"title": {"type": "string"}}}}}
    response = turn(http, backend, "acct-a", "name this thread", text=title_format)
    assert response.status_code == 200
    assert '\\"title\\"' in response.text
    assert backend.turns() == []
    assert [r.kind for r in backend.requests()] == ["title"]


def test_refresh_token_is_single_use(backend: FakeChatGPTBackend, http: requests.Session) -> None:
    credentials = backend.issue_credentials("acct-a", "a@example.invalid", access_token_expired=True)
    first = http.post(backend.refresh_token_url, json={"grant_type": "refresh_token",
                                                       "refresh_token": credentials.refresh_token})
    assert first.status_code == 200
    assert backend.label_of(first.json()["access_token"]) == "acct-a#2"
    assert jwt_claims(first.json()["id_token"])["https://api.openai.com/auth"]["chatgpt_account_id"] == "acct-a"
    assert backend.violations() == []

    again = http.post(backend.refresh_token_url, json={"refresh_token": credentials.refresh_token})
    assert again.status_code == 401
    assert again.json()["error"]["code"] == "refresh_token_invalidated"
    assert [r.outcome for r in backend.refreshes()] == ["refreshed", "reused"]
    assert backend.violations() == ["refresh token acct-a#1 presented again after it was spent"]


def test_non_loopback_host_is_a_violation(backend: FakeChatGPTBackend, http: requests.Session) -> None:
    http.get(f"{backend.chatgpt_base_url}wham/usage", headers={"Host": "chatgpt.com"})
    assert backend.violations() == ["non-loopback Host header 'chatgpt.com' on GET /backend-api/wham/usage"]


def test_websocket_attempt_gets_426_and_unknown_routes_404(backend: FakeChatGPTBackend,
                                                           http: requests.Session) -> None:
    upgrade = http.get(f"{backend.openai_base_url}/responses",
                       headers={"Upgrade": "websocket", "Connection": "Upgrade"})
    unknown = http.get(f"{backend.chatgpt_base_url}wham/security-setup")
    assert (upgrade.status_code, unknown.status_code) == (426, 404)
    assert [(r.kind, r.status) for r in backend.requests()] == [("websocket", 426), ("unrouted", 404)]


def test_codex_home_files_are_private_and_point_at_the_backend(backend: FakeChatGPTBackend, tmp_path: Path) -> None:
    home = tmp_path / "home"
    credentials = backend.issue_credentials("acct-a", "a@example.invalid")
    auth = write_auth_json(home / "auth.json", credentials)
    config = write_codex_config(home, backend.chatgpt_base_url, backend.openai_base_url, [tmp_path / "work"])
    assert (home.stat().st_mode & 0o777, auth.stat().st_mode & 0o777) == (0o700, 0o600)
    text = config.read_text()
    assert f'chatgpt_base_url = "{backend.chatgpt_base_url}"' in text
    assert f'openai_base_url = "{backend.openai_base_url}"' in text
    assert "daemon_auto_start = false" in text and "enable_request_compression = false" in text
    assert "a@example.invalid" not in repr(credentials) and credentials.access_token not in repr(credentials)
