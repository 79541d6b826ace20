"""Python client benchmarks against a running server: ``bench.py URL TOKEN``; prints one JSON object of figures.

Each figure is the median of ``ROUNDS`` fresh runs (the machines this runs on are shared and noisy).
``SIMSCOPE_PURE=1`` makes the package ignore numpy and msgpack, for the standard-library figures.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from simscope import Run  # noqa: E402

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))


def new_run(url: str, token: str) -> Run:
    run = Run().config(url=url, token=token, queue_blocking=True, queue_size=1_000_000, system_info=False, suppress_errors=False)
    run.init()
    return run


def log_one(url: str, token: str) -> float:
    run = new_run(url, token)
    n = 1_000_000
    t0 = time.perf_counter()
    for i in range(n):
        run.log_metrics({"loss": i * 0.5})
    rate = n / (time.perf_counter() - t0)
    run.close()
    return rate


def log_ten(url: str, token: str) -> float:
    run = new_run(url, token)
    calls = 200_000
    names = [f"m{k}" for k in range(10)]
    t0 = time.perf_counter()
    for i in range(calls):
        v = i * 0.5
        run.log_metrics({names[0]: v, names[1]: v, names[2]: v, names[3]: v, names[4]: v, names[5]: v, names[6]: v, names[7]: v, names[8]: v, names[9]: v})
    rate = calls * 10 / (time.perf_counter() - t0)
    run.close()
    return rate


def close_flush(url: str, token: str) -> float:
    run = new_run(url, token)
    for i in range(100_000):
        run.log_metrics({"x": i * 0.5})
    t0 = time.perf_counter()
    result = run.close()
    ms = (time.perf_counter() - t0) * 1000
    assert result.sent_points == 100_000, result
    return ms


def end_to_end(url: str, token: str) -> float:
    run = new_run(url, token)
    n = 1_000_000
    t0 = time.perf_counter()
    for i in range(n):
        run.log_metrics({"e2e": i * 0.5})
    result = run.close()
    rate = n / (time.perf_counter() - t0)
    assert result.sent_points == n, result
    return rate


#: Points each figure logs in a round.
POINTS = {
    "log_metrics.calls_per_s": 1_000_000,
    "log_metrics10.points_per_s": 2_000_000,
    "close_flush_100k.ms": 100_000,
    "e2e.points_per_s": 1_000_000,
}


def main(url: str, token: str) -> None:
    figures: Dict[str, Callable[[str, str], float]] = {
        "log_metrics.calls_per_s": log_one,
        "log_metrics10.points_per_s": log_ten,
        "close_flush_100k.ms": close_flush,
        "e2e.points_per_s": end_to_end,
    }
    out: Dict[str, float] = {}
    for name, measure in figures.items():
        rounds: List[float] = []
        cpu: List[float] = []
        for _ in range(ROUNDS):
            c0 = time.process_time()
            rounds.append(measure(url, token))
            cpu.append(time.process_time() - c0)
        out[name] = round(statistics.median(rounds), 1 if name.endswith(".ms") else None)
        shown = " ".join(f"{r:.1f}" if name.endswith(".ms") else f"{r / 1e6:.2f}M" for r in rounds)
        # CPU of this process per point (all threads, the run's set-up included): steadier than wall clock on a
        # loaded machine.
        per_point = " ".join(f"{c / POINTS[name] * 1e9:.0f}" for c in cpu)
        print(f"  {name}: {shown}  (CPU ns/point: {per_point})", file=sys.stderr)
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
