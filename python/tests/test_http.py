"""The HTTP transport against real loopback servers: retries, Retry-After, errors, keep-alive, downloads."""

from __future__ import annotations

import email.utils
import http.server
import json
import threading
import time
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Tuple

import pytest

from simscope._config import Connection
from simscope._http import Transport, encode_json, retry_after_seconds
from simscope.errors import ConnectionFailed, SimscopeError

Reply = Tuple[int, Dict[str, str], bytes]


class Scripted:
    """A real HTTP/1.1 server on loopback that answers from a script and records what it was sent."""

    def __init__(self, replies: List[Reply]) -> None:
        self.replies = replies
        self.seen: List[Tuple[str, str, Dict[str, str], bytes, int]] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                return None

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                outer.seen.append((self.command, self.path, dict(self.headers), body, self.client_address[1]))
                status, headers, data = outer.replies.pop(0) if outer.replies else (200, {}, b"{}")
                self.send_response(status)
                for k, v in headers.items():
                    if k == "x-then-close":
                        # Closes after answering without saying so, as a server's idle timeout does.
                        self.close_connection = True
                        continue
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _answer

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture()
def scripted() -> Iterator[Callable[[List[Reply]], Scripted]]:
    made: List[Scripted] = []

    def make(replies: List[Reply]) -> Scripted:
        server = Scripted(replies)
        made.append(server)
        return server

    yield make
    for server in made:
        server.close()


def error_body(code: str, message: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": message}}).encode()


def transport(url: str, **kw: float) -> Transport:
    return Transport(Connection(url=url, token="ssk_t", workspace="fluids"), **kw)  # type: ignore[arg-type]


def test_reads_retry_and_honour_retry_after(scripted: Callable[[List[Reply]], Scripted]) -> None:
    server = scripted([
        (503, {"Retry-After": "0.3"}, error_body("database_busy", "busy")),
        (429, {}, b"slow down"),
        (200, {"Content-Type": "application/json"}, b'{"ok": true}'),
    ])
    start = time.monotonic()
    answer = transport(server.url).request("GET", "/runs", query={"limit": 5, "next": None, "flag": True})
    elapsed = time.monotonic() - start
    assert answer.status == 200 and answer.json() == {"ok": True}
    assert 0.3 + 0.2 <= elapsed < 2.0
    assert [s[1] for s in server.seen] == ["/api/v1/runs?limit=5&flag=true"] * 3
    headers = server.seen[0][2]
    assert headers["Authorization"] == "Bearer ssk_t" and headers["Simscope-Workspace"] == "fluids"
    assert len({s[4] for s in server.seen}) == 1  # one kept-alive connection


def test_writes_are_not_retried_unless_idempotent(scripted: Callable[[List[Reply]], Scripted]) -> None:
    server = scripted([(503, {}, error_body("database_busy", "the database is busy")), (200, {}, b"{}")])
    t = transport(server.url)
    with pytest.raises(SimscopeError) as refused:
        t.request("POST", "/runs", json={"name": "a"})
    assert (refused.value.code, refused.value.status) == ("database_busy", 503)
    assert refused.value.message == "POST /runs: 503 the database is busy"
    assert len(server.seen) == 1 and server.seen[0][3] == b'{"name":"a"}'

    server.replies[:] = [(502, {}, b"bad gateway"), (200, {}, b'{"stored": true}')]
    answer = t.request("POST", "/runs/r/metrics", body=b"x", idempotency_key="k1")
    assert answer.json() == {"stored": True}
    assert server.seen[-1][2]["Idempotency-Key"] == "k1"


def test_error_answers_name_code_and_status(scripted: Callable[[List[Reply]], Scripted]) -> None:
    server = scripted([(400, {}, error_body("invalid_field", "body.name: too long")), (404, {}, b"<html>gone")])
    t = transport(server.url, retries=0)
    with pytest.raises(SimscopeError) as invalid:
        t.request("GET", "/runs")
    assert (invalid.value.code, invalid.value.status, invalid.value.message) == (
        "invalid_field", 400, "GET /runs: 400 body.name: too long")
    with pytest.raises(SimscopeError) as other:
        t.request("GET", "/x")
    assert (other.value.code, other.value.message) == ("bad_request", "GET /x: 404 <html>gone")


def test_unreachable_is_connection_failed_after_backoff() -> None:
    start = time.monotonic()
    with pytest.raises(ConnectionFailed) as failed:
        transport("http://127.0.0.1:9", retries=2).request("GET", "/runs")
    assert time.monotonic() - start >= 0.2 + 0.4
    assert failed.value.status == 0 and failed.value.code == "unavailable"
    assert failed.value.message.startswith("GET /runs: http://127.0.0.1:9 unreachable: ")
    with pytest.raises(ConnectionFailed):
        transport("http://127.0.0.1:9", retries=5).request("POST", "/runs", json={})


def test_a_connection_closed_while_idle_is_reopened(scripted: Callable[[List[Reply]], Scripted]) -> None:
    server = scripted([(200, {"x-then-close": "1"}, b"{}"), (201, {}, b'{"id": "r1"}')])
    t = transport(server.url, retries=0)
    assert t.request("GET", "/runs").status == 200
    time.sleep(0.1)
    made = t.request("POST", "/runs", json={"name": "after-idle"})
    assert (made.status, made.json()) == (201, {"id": "r1"})
    assert [s[0] for s in server.seen] == ["GET", "POST"]
    assert server.seen[0][4] != server.seen[1][4]


def test_bad_input_is_refused_before_sending() -> None:
    with pytest.raises(SimscopeError, match="^body: Out of range float values are not JSON compliant"):
        encode_json({"x": float("nan")})
    with pytest.raises(SimscopeError, match="^url: expected http"):
        Transport(Connection(url="ftp://x"))


def test_download_is_whole_or_absent(scripted: Callable[[List[Reply]], Scripted], tmp_path: Path) -> None:
    server = scripted([(200, {}, b"abc" * 1000), (404, {}, error_body("not_found", "no such artifact"))])
    t = transport(server.url)
    target = tmp_path / "d" / "f.bin"
    t.download("/runs/r/artifacts/content", target, query={"name": "f.bin"})
    assert target.read_bytes() == b"abc" * 1000
    with pytest.raises(SimscopeError):
        t.download("/runs/r/artifacts/content", tmp_path / "g.bin", query={"name": "g.bin"})
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["f.bin"]


def test_retry_after_forms() -> None:
    assert retry_after_seconds("2") == 2.0
    assert retry_after_seconds(None) is None and retry_after_seconds("soon") is None
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    seconds = retry_after_seconds(later)
    assert seconds is not None and 28 <= seconds <= 30
