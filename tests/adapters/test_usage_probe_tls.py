"""The usage probe against a real local HTTPS server on 127.0.0.1 with a test CA (trustme)."""

from __future__ import annotations

import http.server
import select
import socket
import ssl
import threading
from pathlib import Path

import pytest
import trustme

from supervisor.adapters.usage_probe import UsageProbe
from supervisor.core.events import ProbeFailed, QuotaProbed
from supervisor.core.quota import WindowKind

from ..fakes import quota as fakes
from ..fakes.quota import CredentialBook, ManualClock

ACCOUNT = "a-alpha00001"
WAIT_S = 10.0


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy",
                 "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def server(ca: trustme.CA, tmp_path: Path):
    book = CredentialBook(ACCOUNT)
    seen: list[dict[str, str]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append({"path": self.path, "auth": self.headers.get("Authorization", ""),
                         "account": self.headers.get("chatgpt-account-id", "")})
            expected = f"Bearer {book.tokens[ACCOUNT].access_token}"
            status, body = (200, fakes.usage_body(61, 9)) if seen[-1]["auth"] == expected else (401, b"{}")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    try:
        yield f"https://127.0.0.1:{httpd.server_address[1]}/backend-api", str(bundle), book, seen
    finally:
        httpd.shutdown()
        httpd.server_close()


def one_event(probe: UsageProbe):
    readable, _, _ = select.select([probe.fileno()], [], [], WAIT_S)
    assert readable, "the probe did not answer"
    [event] = probe.poll()
    return event


def test_a_probe_over_tls_with_the_configured_ca_bundle(server) -> None:
    base_url, bundle, book, seen = server
    probe = UsageProbe(book.get, book.refresh, base_url=base_url, ca_bundle=bundle, clock=ManualClock())
    try:
        probe.request_probe(ACCOUNT)
        event = one_event(probe)
    finally:
        probe.close()
    assert isinstance(event, QuotaProbed)
    assert event.snapshot.window(WindowKind.FIVE_HOUR).used_percent == 61
    assert seen == [{"path": "/backend-api/wham/usage", "auth": f"Bearer {book.tokens[ACCOUNT].access_token}",
                     "account": f"acct-{ACCOUNT}"}]


def test_an_untrusted_certificate_is_unavailable_not_a_crash(server) -> None:
    base_url, _, book, seen = server
    probe = UsageProbe(book.get, book.refresh, base_url=base_url, clock=ManualClock())
    try:
        probe.request_probe(ACCOUNT)
        event = one_event(probe)
    finally:
        probe.close()
    assert isinstance(event, ProbeFailed) and event.kind == "unavailable" and seen == []


def test_a_server_that_never_answers_times_out_as_unavailable(ca: trustme.CA, tmp_path: Path) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    book = CredentialBook(ACCOUNT)
    probe = UsageProbe(book.get, book.refresh, base_url=f"http://127.0.0.1:{listener.getsockname()[1]}",
                       connect_timeout_s=1.0, read_timeout_s=0.2, clock=ManualClock())
    try:
        probe.request_probe(ACCOUNT)
        event = one_event(probe)
    finally:
        probe.close()
        listener.close()
    assert isinstance(event, ProbeFailed) and event.kind == "unavailable"
