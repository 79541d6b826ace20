"""The standard library alone (SIMSCOPE_PURE=1, or no optional package installed): metric batches are the
package's own msgpack with little-endian binary columns, and a real server stores exactly what was logged."""

from __future__ import annotations

import json
import math
import os
import struct
import subprocess
import sys
from typing import Any, Dict, List

import pytest

from simscope import Run
from _readback import series
from conftest import ROOT, TOKEN, ServerProcess

VALUES = [0.1, math.nan, math.inf, -math.inf, 5e-324, -1.7976931348623157e308, 1 / 3]
#: Steps past 32 bits up to the API's 2^53 − 1, and timestamps (µs, from 2000 on: what the server takes) past 2^32.
STEPS = [2**32 + 1, 2**40 + 7, 2**53 - 1]
STAMPS = [946_684_800_000_001, 1_700_000_000_123_457, 1_764_000_000_000_001]


def _api(value: float) -> Any:
    """A float as the read API gives it back (JSON, with NaN and ±Infinity as strings)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def _by_name(batch: Dict[str, Any]) -> Dict[str, Dict[str, Any]]:
    return {s["name"]: s for s in batch["series"]}


def test_pure_batches_are_binary_msgpack_and_read_back_exactly(server: ServerProcess, monkeypatch: pytest.MonkeyPatch) -> None:
    msgpack = pytest.importorskip("msgpack")
    monkeypatch.setenv("SIMSCOPE_PURE", "1")
    run = Run().config(suppress_errors=False, url=server.url, token=TOKEN, system_info=False, flush_interval=3600)
    run.init()
    assert run._sender is not None
    for value in VALUES:  # the first call takes the checked path, the rest the fast path
        run.log_metrics({"a": value, "b": -value})
    for k, (step, stamp) in enumerate(zip(STEPS, STAMPS)):
        run.log_metrics({"c": float(k)}, step=step, time=k * 0.25, timestamp=stamp)
    (outgoing,) = run._sender._drain()
    # Read by the msgpack package, not by the package's own reader: the columns are bin, little-endian.
    batch = _by_name(msgpack.unpackb(outgoing.body, raw=False))
    n = len(VALUES)
    assert batch["a"]["values"] == struct.pack(f"<{n}d", *VALUES)
    assert batch["b"]["values"] == struct.pack(f"<{n}d", *(-v for v in VALUES))
    assert batch["a"]["times"] == batch["b"]["times"] and len(batch["a"]["times"]) == 8 * n
    assert (batch["a"]["stepStart"], batch["b"]["stepStart"]) == (0, 0)
    assert batch["c"]["steps"] == struct.pack("<3q", *STEPS)
    assert batch["c"]["timestamps"] == struct.pack("<3q", *STAMPS)
    assert batch["c"]["times"] == struct.pack("<3d", 0.0, 0.25, 0.5)
    run._sender._deliver(outgoing)
    result = run.close()
    assert (result.sent_points, result.failed_points, result.errors) == (2 * n + 3, 0, 0)
    assert run.id is not None
    a = series(server.url, run.id, "a")
    assert (a["steps"], a["values"]) == (list(range(n)), [_api(v) for v in VALUES])
    assert series(server.url, run.id, "b")["values"] == [_api(-v) for v in VALUES]
    c = series(server.url, run.id, "c")
    assert (c["steps"], c["times"], c["timestamps"], c["values"]) == (STEPS, [0.0, 0.25, 0.5], STAMPS, [0.0, 1.0, 2.0])


_NO_EXTRAS = """
import json, math, sys
for name in ("numpy", "msgpack", "pandas", "tqdm"):
    try:
        __import__(name)
    except ImportError:
        continue
    raise SystemExit(name + " is importable")
import simscope
run = simscope.Run().config(url=sys.argv[1], token=sys.argv[2], system_info=False, suppress_errors=False, batch_points=700)
run.init(name="no-extras")
for i in range(2000):
    run.log_metrics({"x": i * 0.5, "y": math.nan if i % 2 else -math.inf})
run.log_metrics({"x": 1e308}, step=2**40, timestamp=1_700_000_000_000_001)
result = run.close()
print(json.dumps({"id": run.id, "sent": result.sent_points, "errors": result.errors}))
"""


def test_runs_with_no_optional_package_installed(server: ServerProcess) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("SIMSCOPE_PURE", "PYTHONPATH")}
    env["PYTHONPATH"] = str(ROOT / "python")
    # -S: without site-packages, where Debian's numpy, msgpack, pandas and tqdm live.
    done = subprocess.run(
        [sys.executable, "-S", "-c", _NO_EXTRAS, server.url, TOKEN], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout.splitlines()[-1])
    assert (doc["sent"], doc["errors"]) == (4001, 0)
    x = series(server.url, doc["id"], "x")
    assert x["steps"] == [*range(2000), 2**40] and x["values"] == [i * 0.5 for i in range(2000)] + [1e308]
    assert x["timestamps"][-1] == 1_700_000_000_000_001
    y = series(server.url, doc["id"], "y")
    expected: List[Any] = ["NaN" if i % 2 else "-Infinity" for i in range(2000)]
    assert (y["steps"], y["values"]) == (list(range(2000)), expected)
