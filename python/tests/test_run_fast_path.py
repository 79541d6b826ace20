"""log_metrics' fast path (a known key set of floats, queued as rows without the lock) keeps every point, its
step and its order, whatever mix of key sets, explicit steps, slow-path values and threads the calls make."""

from __future__ import annotations

import threading

from simscope import Run
from _readback import series
from conftest import TOKEN, ServerProcess


def new_run(server: ServerProcess, **config: object) -> Run:
    run = Run().config(suppress_errors=False, url=server.url, token=TOKEN, system_info=False, **config)  # type: ignore[arg-type]
    run.init()
    return run


def test_key_sets_steps_and_slow_calls_keep_their_order(server: ServerProcess) -> None:
    run = new_run(server)
    run.log_metrics({"a": 0.0, "b": 10.0})  # slow: new metrics; the key set is remembered
    run.log_metrics({"a": 1.0, "b": 11.0})  # fast
    run.log_metrics({"b": 12.0, "a": 2.0})  # another order: a key set of its own
    run.log_metrics({"b": 13.0, "a": 3.0})  # fast, the second key set
    run.log_metrics({"a": 4.0})  # slow once, then fast
    run.log_metrics({"a": 5.0})
    run.log_metrics({"a": 6.0}, step=20)  # explicit: "a" keeps a steps column until the next drain
    run.log_metrics({"a": 7.0, "b": 14.0})  # fast again, after the explicit step
    run.log_metrics({"a": 8, "b": 15.0})  # an int: the slow path converts it
    run.log_metrics({"a": 9.0, "b": 16.0})
    assert run.flush() is not None
    run.log_metrics({"a": 10.0, "b": 17.0})  # after a drain, steps carry on
    result = run.close()
    assert (result.sent_points, result.dropped_points, result.errors) == (19, 0, 0)
    assert run.id is not None
    a = series(server.url, run.id, "a")
    assert a["steps"] == [0, 1, 2, 3, 4, 5, 20, 21, 22, 23, 24]
    assert a["values"] == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]
    b = series(server.url, run.id, "b")
    assert b["steps"] == [0, 1, 2, 3, 4, 5, 6, 7]
    assert b["values"] == [10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0]


def test_bad_values_in_a_known_key_set_still_raise(server: ServerProcess) -> None:
    run = new_run(server)
    run.log_metrics({"x": 1.0, "y": 2.0})
    for bad, message in [(True, "got bool True"), ("3", "got str '3'"), (None, "got NoneType None")]:
        try:
            run.log_metrics({"x": 3.0, "y": bad})  # type: ignore[dict-item]
        except Exception as error:
            assert str(error).endswith(message), error
        else:
            raise AssertionError(f"{bad!r} was taken")
    result = run.close()
    assert run.id is not None
    assert series(server.url, run.id, "x")["values"] == [1.0, 3.0, 3.0, 3.0]
    assert series(server.url, run.id, "y")["values"] == [2.0]
    assert result.sent_points == 5


def test_threads_logging_at_once_lose_nothing(server: ServerProcess) -> None:
    run = new_run(server, queue_blocking=True, queue_size=5_000, batch_points=1_000)
    per_thread = 20_000

    def log(name: str) -> None:
        for i in range(per_thread):
            run.log_metrics({name: float(i), "shared": float(i)})

    threads = [threading.Thread(target=log, args=(f"t{k}",)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result = run.close()
    assert (result.sent_points, result.dropped_points) == (8 * per_thread, 0)
    assert run.id is not None
    for k in range(4):
        got = series(server.url, run.id, f"t{k}")
        assert got["values"] == [float(i) for i in range(per_thread)]
        assert got["steps"] == list(range(per_thread))
    shared = series(server.url, run.id, "shared")
    assert sorted(shared["values"]) == sorted(float(i) for i in range(per_thread) for _ in range(4))
    assert shared["steps"] == list(range(4 * per_thread))
