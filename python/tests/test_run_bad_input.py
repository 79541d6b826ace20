"""Bad input: a clear SimscopeError with suppress_errors=False; a logged, counted warning otherwise; the points
that were fine still arrive."""

from __future__ import annotations

import math
import signal
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, List

import pytest

from simscope import Run, SimscopeError
from simscope._time import parse_duration, to_micros
from _readback import events, get, series
from conftest import TOKEN, ServerProcess


def strict(server: ServerProcess) -> Run:
    run = Run().config(suppress_errors=False, url=server.url, token=TOKEN)
    run.init()
    return run


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda r: r.log_metrics({"x": "1.0"}), "log_metrics: metric 'x': expected a number, got str '1.0'"),
        (lambda r: r.log_metrics({"x": None}), "log_metrics: metric 'x': expected a number, got NoneType None"),
        (lambda r: r.log_metrics({"x": True}), "log_metrics: metric 'x': expected a number, got bool True"),
        (lambda r: r.log_metrics([1.0]), "log_metrics: expected a dict of name: number, got list"),
        (lambda r: r.log_metrics({"x": 1.0}, timestamp=1_700_000_000), "log_metrics.timestamp: 1700000000 µs is before the year 2000"),
        (lambda r: r.log_metrics({"x": 1.0}, timestamp="yesterday"), "log_metrics.timestamp: 'yesterday' is not an ISO 8601 time"),
        (lambda r: r.log_metrics({"x": 1.0}, step=1.5), "log_metrics.step: expected a whole number, got 1.5"),
        (lambda r: r.update_tags("abc"), "update_tags.tags: expected a list of strings, got str"),
        (lambda r: r.update_metadata({"a": {1, 2}}), "update_metadata.metadata: Object of type set is not JSON serializable"),
        (lambda r: r.update_metadata({"a": math.nan}), "update_metadata.metadata: Out of range float values are not JSON compliant"),
        (lambda r: r.log_event("x", level="loud"), "log_event.level: must be one of debug, info, warning, error, critical, got 'loud'"),
        (lambda r: r.log_event("x", colour="red"), "log_event: unknown argument(s) colour"),
        (lambda r: r.save("/does/not/exist", "input"), "save: [Errno 2] No such file or directory: '/does/not/exist'"),
        (lambda r: r.save(__file__, "results"), "category: must be one of code, input, output, got 'results'"),
        (lambda r: r.add_alert("a", type="is above", metric="m", threshold=1, frequency="soon"), "add_alert.frequency: 'soon' is not a duration"),
    ],
)
def test_bad_input_raises_when_errors_are_not_suppressed(server: ServerProcess, call: Any, message: str) -> None:
    run = strict(server)
    with pytest.raises(SimscopeError) as caught:
        call(run)
    assert str(caught.value).startswith(message)
    run.close()


def test_bad_input_is_a_counted_warning_by_default(server: ServerProcess, caplog: pytest.LogCaptureFixture) -> None:
    run = Run().config(url=server.url, token=TOKEN)
    run.init(colour="red")  # an unknown argument: warned, the run still starts
    run.log_metrics({"x": 1.0, "bad": "1", "y": 2.0})
    run.log_metrics({"x": None, "y": math.nan})
    run.log_metrics({"x": math.inf, "y": 3})
    run.update_tags("abc")
    result = run.close()
    assert run.id is not None
    assert result.errors == 4
    assert [r.getMessage() for r in caplog.records if r.name == "simscope"] == [
        "simscope: init: unknown argument(s) colour",
        "simscope: log_metrics: metric 'bad': expected a number, got str '1'",
        "simscope: log_metrics: metric 'x': expected a number, got NoneType None",
        "simscope: update_tags.tags: expected a list of strings, got str",
    ]
    assert series(server.url, run.id, "x")["values"] == [1.0, "Infinity"]
    assert series(server.url, run.id, "y")["values"] == [2.0, "NaN", 3.0]


def test_bad_token_and_unknown_config(server: ServerProcess) -> None:
    with pytest.raises(SimscopeError) as caught:
        Run().config(suppress_errors=False, url=server.url, token="ssk_wrong").init()
    assert caught.value.status == 401
    errors: List[BaseException] = []
    run = Run().config(url=server.url, token="ssk_wrong", on_error=errors.append, queue_sizes=5)
    assert run.init() is False
    assert [str(e).split(":")[0] for e in errors] == ["config", "POST /runs"]
    run.log_metrics({"x": 1.0})  # a run that never started takes points without raising
    assert run.close().status is None


def test_queue_full_drops_and_counts_without_blocking(server: ServerProcess) -> None:
    run = Run().config(url=server.url, token=TOKEN, queue_size=10, flush_interval="1h", batch_points=1000)
    run.init()
    for i in range(100):
        run.log_metrics({"x": float(i)})
    result = run.close()
    assert run.id is not None
    assert result.dropped_points + result.sent_points == 100
    assert result.dropped_points > 0
    assert get(server.url, f"/runs/{run.id}/metrics")["items"][0]["count"] == result.sent_points


def test_durations_and_timestamps() -> None:
    assert [parse_duration(v, "f") for v in ("1m", "30s", "1h30m", 45, "2.5")] == [60.0, 30.0, 5400.0, 45.0, 2.5]
    with pytest.raises(SimscopeError, match="must be more than 0 seconds"):
        parse_duration(0, "f")
    moment = datetime(2024, 2, 29, 12, 0, 0, 123456, tzinfo=timezone.utc)
    expected = 1709208000123456
    assert to_micros(moment, "t") == expected
    assert to_micros(moment.replace(tzinfo=None), "t") == expected
    assert to_micros("2024-02-29 12:00:00.123456", "t") == expected
    assert to_micros("2024-02-29T13:00:00.123456+01:00", "t") == expected
    assert to_micros("2024-02-29T12:00:00.123456Z", "t") == expected
    assert to_micros(expected, "t") == expected


def test_context_manager_ends_failed_with_the_traceback(server: ServerProcess) -> None:
    with pytest.raises(RuntimeError):
        with Run().config(url=server.url, token=TOKEN) as run:
            run.init()
            raise RuntimeError("mesh inverted")
    assert run.id is not None
    assert get(server.url, f"/runs/{run.id}")["status"] == "failed"
    [event] = events(server.url, run.id)
    assert event["level"] == "error" and event["message"].endswith("RuntimeError: mesh inverted")
    assert "Traceback (most recent call last)" in event["message"]


def test_sigterm_ends_the_run_terminated(server: ServerProcess) -> None:
    import os

    with pytest.raises(SystemExit) as caught:
        with Run().config(url=server.url, token=TOKEN) as run:
            run.init()
            os.kill(os.getpid(), signal.SIGTERM)
    assert caught.value.code == 128 + signal.SIGTERM
    assert run.id is not None
    assert get(server.url, f"/runs/{run.id}")["status"] == "terminated"
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


def test_abort_request_closes_the_run(server: ServerProcess) -> None:
    import json
    import urllib.request

    asked: List[Any] = []
    run = Run().config(url=server.url, token=TOKEN, heartbeat_interval=0.05, on_abort=lambda r, reason: (asked.append(reason), r.close("terminated")))
    run.init()
    request = urllib.request.Request(
        f"{server.url}/api/v1/runs/{run.id}/abort", data=json.dumps({"reason": "diverging"}).encode(),
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}, method="POST",
    )
    urllib.request.urlopen(request).read()
    import time

    deadline = time.monotonic() + 10
    # `aborted` turns True before on_abort's close() has ended the run: wait for the close too.
    while (not run.aborted or run.status != "terminated") and time.monotonic() < deadline:
        time.sleep(0.02)
    assert asked == ["diverging"]
    assert get(server.url, f"/runs/{run.id}")["status"] == "terminated"
