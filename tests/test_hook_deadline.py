"""A hook or audit sink that answers a byte at a time: httpx's timeout bounds each read, not the call, so the
trickle held an action (its model lock and lease) past `deadline_s` for as long as the server kept sending."""

from __future__ import annotations

import socket
import threading
import time

from console.actions import audit, hooks
from console.config import Webhook


class TrickleServer:
    """Answers every request with a 200 whose 100 kB body comes one byte every 0.2 s."""

    def __init__(self, status: bytes = b"200 OK"):
        self.status = status
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.uri = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.closed = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        try:
            conn.settimeout(5)
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(65536)
            conn.sendall(b"HTTP/1.1 " + self.status + b"\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 100000\r\n\r\n")
            while not self.closed.is_set():
                conn.sendall(b" ")
                time.sleep(0.2)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self):
        self.closed.set()
        self.sock.close()


def within(seconds: float, call):
    """`call()`'s value, failing (not hanging) when it takes longer than `seconds`."""
    out: list = []
    worker = threading.Thread(target=lambda: out.append(call()), daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"still waiting after {seconds} s: the trickle held the call past its deadline"
    return out[0]


def test_a_trickling_deploy_hook_ends_by_its_deadline():
    server = TrickleServer()
    try:
        hook = Webhook(url=server.uri + "/deploy", timeout_s=1.0, deadline_s=1.5)
        result = within(4, lambda: hooks.post("deploy", hook, {"action": "promote"}, "key", backoff_s=0.01))
        assert result.ok and result.status_code == 200 and result.attempts == 1, result
    finally:
        server.close()


def test_a_trickling_status_url_ends_by_its_timeout():
    server = TrickleServer()
    try:
        job = within(4, lambda: hooks.follow(server.uri + "/jobs/1", Webhook(url=server.uri + "/retrain",
                                                                            timeout_s=1.0)))
        assert job["state"] == "unknown"
    finally:
        server.close()


def test_a_trickling_audit_sink_costs_its_timeout_at_most(tmp_path):
    server = TrickleServer(b"500 Internal Server Error")
    try:
        log = audit.AuditLog(tmp_path / "audit.jsonl", sink=server.uri + "/audit")
        within(audit.SINK_TIMEOUT_S + 2, lambda: log.append({"phase": "refused", "action": "promote", "model": "m"}))
        assert log.sink_error and "HTTP 500" in log.sink_error
        assert audit.verify(log.path).ok
    finally:
        server.close()


class HeaderTrickleServer(TrickleServer):
    """Answers with a status line, then one byte of a header every 0.2 s, never ending the headers."""

    def _serve(self, conn):
        try:
            conn.settimeout(5)
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(65536)
            conn.sendall(b"HTTP/1.1 " + self.status + b"\r\nX-Progress: ")
            while not self.closed.is_set():
                conn.sendall(b".")
                time.sleep(0.2)
        except OSError:
            pass
        finally:
            conn.close()


def test_a_hook_or_sink_trickling_its_headers_ends_by_its_deadline(tmp_path):
    """Actions probe: the body was read until the deadline, but the headers were not: a hook sending its status line
    and then a header a byte at a time (each read inside `timeout_s`) held a promotion, its model lock and its lease
    for over a minute with `deadline_s = 2` (until httpx's header size limit), and an audit sink doing the same held
    every record. A request sent and not answered by the deadline is `unknown`."""
    server = HeaderTrickleServer()
    try:
        hook = Webhook(url=server.uri + "/deploy", timeout_s=1.0, deadline_s=1.5, retries=2)
        result = within(4, lambda: hooks.post("deploy", hook, {"action": "promote"}, "key", backoff_s=0.01))
        assert not result.ok and result.unknown and result.attempts == 1, result
        log = audit.AuditLog(tmp_path / "audit.jsonl", sink=server.uri + "/audit")
        within(audit.SINK_TIMEOUT_S + 2, lambda: log.append({"phase": "refused", "action": "promote", "model": "m"}))
        assert log.sink_error and audit.verify(log.path).ok
    finally:
        server.close()


def test_a_hook_that_redirects_is_said_to_redirect_not_to_refuse(httpserver):
    """Actions probe: a deploy hook whose URL moved (a 308 to https, a 307 to a new path) answered "deploy hook
    refused with 307; champion -> v1 unchanged", as if the deploy system had refused the release. Redirects are
    not followed (the payload and the hook's credentials go to the configured URL only): the message says so."""
    from werkzeug import Response

    httpserver.expect_request("/deploy", method="POST").respond_with_response(
        Response("", status=307, headers={"Location": "https://deploy.example/v2/deploy?token=abcdef123456"}))
    got = hooks.post("deploy", Webhook(url=httpserver.url_for("/deploy"), retries=2), {"action": "promote"}, "key",
                     backoff_s=0.01)
    assert not got.ok and not got.unknown and got.attempts == 1 and got.status_code == 307, got
    assert "refused" not in got.message and "redirect" in got.message and "not followed" in got.message, got.message
    assert "abcdef123456" not in got.message
