"""Python client benchmarks against a running server: ``bench.py URL TOKEN``; prints one JSON object of figures.

``SIMSCOPE_PURE=1`` makes the package ignore numpy and msgpack, for the standard-library figures.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from simscope import Run  # noqa: E402


def new_run(url: str, token: str) -> Run:
    run = Run().config(url=url, token=token, queue_blocking=True, queue_size=1_000_000, system_info=False, suppress_errors=False)
    run.init()
    return run


def main(url: str, token: str) -> None:
    out = {}
    run = new_run(url, token)
    n = 1_000_000
    t0 = time.perf_counter()
    for i in range(n):
        run.log_metrics({"loss": i * 0.5})
    out["log_metrics.calls_per_s"] = round(n / (time.perf_counter() - t0))
    run.close()

    run = new_run(url, token)
    calls = 200_000
    names = [f"m{k}" for k in range(10)]
    t0 = time.perf_counter()
    for i in range(calls):
        v = i * 0.5
        run.log_metrics({names[0]: v, names[1]: v, names[2]: v, names[3]: v, names[4]: v, names[5]: v, names[6]: v, names[7]: v, names[8]: v, names[9]: v})
    out["log_metrics10.points_per_s"] = round(calls * 10 / (time.perf_counter() - t0))
    run.close()

    run = new_run(url, token)

    for i in range(100_000):
        run.log_metrics({"x": i * 0.5})
    t0 = time.perf_counter()
    result = run.close()
    out["close_flush_100k.ms"] = round((time.perf_counter() - t0) * 1000, 1)
    assert result.sent_points == 100_000, result

    run = new_run(url, token)
    n = 1_000_000
    t0 = time.perf_counter()
    for i in range(n):
        run.log_metrics({"e2e": i * 0.5})
    result = run.close()
    out["e2e.points_per_s"] = round(n / (time.perf_counter() - t0))
    assert result.sent_points == n, result
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
