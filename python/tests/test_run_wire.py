"""Metric batches on the wire and in the spool: msgpack binary columns, written by the package itself with or
without the msgpack package (SIMSCOPE_PURE=1); each try of a batch carries a fresh ``clock``."""

from __future__ import annotations

import json
import math
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator, List

import pytest

import simscope
from simscope import Run
from simscope._config import Connection
from simscope._http import Transport
from simscope._msgpack import unpackb
from simscope._sender import send_record
from simscope._spool import list_spools, spool_records
from _readback import series
from conftest import TOKEN, ServerProcess

STAMP = datetime(2024, 5, 3, 14, 13, 27, 281920, tzinfo=timezone.utc)
STAMP_MICROS = int(STAMP.timestamp()) * 1_000_000 + 281920


def log_mixed(run: Run) -> None:
    run.log_metrics({"v": 1.5, "w": -2.0})
    run.log_metrics({"v": math.nan, "w": math.inf})  # the fast path: a known key set
    run.log_metrics({"v": -math.inf, "w": 1e-300})
    run.log_metrics({"v": 4.0}, step=10, time=2.5, timestamp=STAMP)
    run.log_metrics({"v": 5.0})


def assert_mixed(server: ServerProcess, run_id: str) -> None:
    v = series(server.url, run_id, "v")
    assert v["steps"] == [0, 1, 2, 10, 11]
    assert v["values"][:1] == [1.5] and v["values"][3:] == [4.0, 5.0]
    assert v["values"][1:3] == ["NaN", "-Infinity"]
    assert v["times"][3] == 2.5 and v["timestamps"][3] == STAMP_MICROS
    w = series(server.url, run_id, "w")
    assert (w["steps"], w["values"]) == ([0, 1, 2], [-2.0, "Infinity", 1e-300])


@pytest.mark.parametrize("pure", [False, True], ids=["msgpack", "pure"])
def test_batches_read_back_exactly(server: ServerProcess, monkeypatch: pytest.MonkeyPatch, pure: bool) -> None:
    if pure:
        monkeypatch.setenv("SIMSCOPE_PURE", "1")
    run = Run().config(suppress_errors=False, url=server.url, token=TOKEN, system_info=False, flush_interval=3600)
    run.init()
    assert run._sender is not None
    log_mixed(run)
    outgoing = run._sender._drain()  # what the sender would send now, taken by hand to look at the wire format
    assert [o.kind for o in outgoing] == ["metrics"]
    body = outgoing[0].body
    assert outgoing[0].later is None and [s["name"] for s in unpackb(body)["series"]] == ["v", "w"]
    for o in outgoing:
        run._sender._deliver(o)
    run.close()
    assert run.id is not None
    assert_mixed(server, run.id)


def test_pure_run_spools_msgpack_that_sync_uploads(server: ServerProcess, spool_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIMSCOPE_PURE", "1")
    run = Run("offline").config(suppress_errors=False, url=server.url, token=TOKEN, system_info=False)
    run.init(name="pure-offline")
    log_mixed(run)
    run.close()
    ((spool, _meta),) = list_spools(spool_dir)
    metrics = [r.body for r in spool_records(spool) if r.kind == "metrics"]
    assert len(metrics) == 1 and metrics[0][:1] != b"{"
    assert "clock" not in unpackb(metrics[0])
    synced = simscope.sync(url=server.url, token=TOKEN)
    assert [(s.outcome, s.points) for s in synced] == [("synced", 8)]
    assert run.id is not None
    assert_mixed(server, run.id)


class _Flaky(BaseHTTPRequestHandler):
    """Answers the first POST 503 with Retry-After 0.3, the next 200; keeps each body."""

    bodies: List[bytes] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.bodies.append(body)
        first = len(self.bodies) == 1
        data = b'{"code":"database_busy","message":"busy"}' if first else b'{"accepted":1}'
        self.send_response(503 if first else 200)
        if first:
            self.send_header("Retry-After", "0.3")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture()
def flaky() -> Iterator[str]:
    _Flaky.bodies = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.parametrize("pure", [False, True], ids=["msgpack", "pure"])
def test_each_try_carries_its_own_clock(flaky: str, monkeypatch: pytest.MonkeyPatch, pure: bool) -> None:
    if pure:
        monkeypatch.setenv("SIMSCOPE_PURE", "1")
    run = Run().config(url=flaky, token=TOKEN, mode="offline", system_info=False, flush_interval=3600)
    run.init()
    run.log_metrics({"x": 1.0})
    assert run._sender is not None
    (batch,) = run._sender._drain()
    transport = Transport(Connection(flaky, TOKEN, None, None, {}), retries=2)
    before = time.time_ns() / 1000
    send_record(transport, "r1", "metrics", batch.body, live=True)
    events = json.dumps({"writer": "w", "seq": 1, "events": [{"message": "m", "level": "info", "timestamp": 1}]}).encode()
    send_record(transport, "r1", "events", events, live=True)
    run.close()
    clocks = [unpackb(b)["clock"] for b in _Flaky.bodies[:2]]
    assert before <= clocks[0] and clocks[1] - clocks[0] >= 300_000  # the retry waited 0.3 s and says so
    assert [json.loads(b).get("clock") is not None for b in _Flaky.bodies[2:]] == [True]
    assert unpackb(_Flaky.bodies[1])["seq"] == unpackb(_Flaky.bodies[0])["seq"]
