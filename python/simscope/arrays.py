"""Array series (fields and histograms per step): ``Run.log_array``, ``Run.log_histogram`` and ``Client.get_array``.

Arrays are numpy arrays of 1 to 3 dimensions (int8–int64, uint8–uint64, float32, float64), sent as little-endian
bytes in C order to ``PUT /runs/:run/arrays``. Logging copies the array at once and sends it from background
threads, so the simulation may reuse its buffer; failures go to the run's ``on_error``.
"""

from __future__ import annotations

import json
import queue
import threading
import time
import urllib.parse
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple, Union

from ._http import Transport
from ._optional import optional
from .errors import SimscopeError

DTYPES = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float32", "float64")
#: Bytes of arrays waiting to be sent; an array that finds the queue full is dropped and counted.
QUEUE_BYTES = 256 << 20
#: Uploads under way at once, so the server compresses several steps in parallel.
UPLOADS = 3
#: How often an HDF5 export's progress is asked for, in seconds.
EXPORT_POLL = 0.25


class ArrayData(NamedTuple):
    """One step of an array series read back: its step and its elements as a numpy array of their shape."""

    step: int
    values: Any


class CellSeries(NamedTuple):
    """One element of an array series through its steps; NaN where a step's shape does not hold the cell."""

    steps: List[int]
    times: List[Optional[float]]
    values: Any


def _invalid(field: str, message: str) -> SimscopeError:
    return SimscopeError("invalid_field", f"{field}: {message}", 400)


def _numpy(field: str) -> Any:
    np = optional("numpy")
    if np is None:
        raise _invalid(field, "arrays need numpy (pip install simscope[numpy])")
    return np


def _step(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _invalid(field, f"must be a whole number >= 0, got {value!r}")
    return value


def array_upload(
    name: str, array: Any, step: Any, time_: Optional[float], axes: Optional[Sequence[Dict[str, Any]]], field: str
) -> Tuple[Dict[str, Any], bytes]:
    """The query and little-endian body of one step, checked; the body is a copy the caller may not change."""
    np = _numpy(f"{field} array")
    if not isinstance(name, str) or not name:
        raise _invalid(f"{field} name", "must be a non-empty string")
    if not isinstance(array, np.ndarray):
        raise _invalid(f"{field} array", f"expected a numpy array, got {type(array).__name__}")
    dtype = array.dtype.name
    if dtype not in DTYPES:
        raise _invalid(f"{field} array", f"dtype {dtype} is not one of {', '.join(DTYPES)}")
    if not 1 <= array.ndim <= 3:
        raise _invalid(f"{field} array", f"must have 1 to 3 dimensions, got {array.ndim}")
    query: Dict[str, Any] = {
        "name": name,
        "step": _step(step, f"{field} step"),
        "shape": ",".join(str(n) for n in array.shape),
        "dtype": dtype,
    }
    if time_ is not None:
        query["time"] = float(time_)
    if axes is not None:
        query["axes"] = json.dumps(list(axes), allow_nan=False)
    body: bytes = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()
    return query, body


def histogram_counts(
    values: Any, bins: int, range_: Optional[Sequence[Any]], edges: Optional[Any], counts: Optional[Any]
) -> Tuple[Any, List[Dict[str, Any]]]:
    """Float64 counts and one ``{"edges": [...]}`` axis per dimension: ``values`` binned with numpy (a tuple
    ``(x, y)`` for 2-D), or ``edges`` with ``counts`` already counted."""
    np = _numpy("log_histogram values")
    if counts is not None:
        if edges is None:
            raise _invalid("log_histogram edges", "required with counts")
        two_d = isinstance(edges, (list, tuple)) and len(edges) == 2 and np.ndim(edges[0]) == 1
        all_edges = list(edges) if two_d else [edges]
        c = np.asarray(counts, dtype="float64")
        shape = tuple(len(e) - 1 for e in all_edges)
        if c.size != int(np.prod(shape)):
            expected = int(np.prod(shape))
            raise _invalid("log_histogram counts", f"expected {expected} counts for these edges, got {c.size}")
        return c.reshape(shape), [{"edges": [float(v) for v in e]} for e in all_edges]
    if values is None:
        raise _invalid("log_histogram values", "give values, or edges and counts")
    if isinstance(values, tuple) and len(values) == 2:
        x, y = (np.asarray(v, dtype="float64") for v in values)
        keep = np.isfinite(x) & np.isfinite(y)
        h, ex, ey = np.histogram2d(x[keep], y[keep], bins=bins, range=range_)
        return h.astype("float64"), [{"edges": ex.tolist()}, {"edges": ey.tolist()}]
    v = np.asarray(values, dtype="float64")
    h, e = np.histogram(v[np.isfinite(v)], bins=bins, range=range_)
    return h.astype("float64"), [{"edges": e.tolist()}]


class ArraySender:
    """Sends logged arrays from ``UPLOADS`` background threads, in the order logged; never raises into the caller."""

    def __init__(self, transport: Transport, run_id: str, on_error: Callable[[BaseException], None]) -> None:
        self._transport = transport
        self._run_id = run_id
        self._on_error = on_error
        self._queue: "queue.Queue[Optional[Tuple[Dict[str, Any], bytes]]]" = queue.Queue()
        self._lock = threading.Lock()
        self._queued_bytes = 0
        self._threads: List[threading.Thread] = []
        self.dropped = 0
        self.sent = 0

    def add(self, query: Dict[str, Any], body: bytes) -> None:
        with self._lock:
            if self._queued_bytes + len(body) > QUEUE_BYTES and self._queued_bytes > 0:
                self.dropped += 1
                return
            self._queued_bytes += len(body)
            if not self._threads:
                for k in range(UPLOADS):
                    thread = threading.Thread(target=self._drain, name=f"simscope-arrays-{k}", daemon=True)
                    thread.start()
                    self._threads.append(thread)
        self._queue.put((query, body))

    def _drain(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                query, body = item
                self._transport.request(
                    "PUT", f"/runs/{self._run_id}/arrays", query=query, body=body,
                    content_type="application/octet-stream", idempotent=True,
                )
                with self._lock:
                    self.sent += 1
            except Exception as error:  # reported, never raised into the simulation
                self._on_error(error)
            finally:
                if item is not None:
                    with self._lock:
                        self._queued_bytes -= len(item[1])
                self._queue.task_done()

    def flush(self, timeout: Optional[float] = None) -> bool:
        """Waits until every array logged so far is sent or has failed; False when ``timeout`` passed first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(0.005)
        return True

    def close(self, timeout: Optional[float] = None) -> bool:
        done = self.flush(timeout)
        for _ in self._threads:
            self._queue.put(None)
        return done


def _typed(np: Any, dtype: str, body: bytes, shape: Sequence[int]) -> Any:
    return np.frombuffer(body, dtype=np.dtype(dtype).newbyteorder("<")).astype(dtype, copy=False).reshape(tuple(shape))


def read_array(
    transport: Transport, run: str, name: str, step: Optional[int], region: Optional[str], nearest: bool
) -> ArrayData:
    """One step (the last when ``step`` is None) as a numpy array, whole or ``region``."""
    np = _numpy("get_array")
    query: Dict[str, Union[str, int]] = {"name": name}
    if step is not None:
        query["step"] = _step(step, "step")
    if region is not None:
        query["region"] = region
    if nearest:
        query["nearest"] = "true"
    answer = transport.request("GET", f"/runs/{_enc(run)}/arrays/data", query=query, accept="application/octet-stream")
    shape = [int(n) for n in answer.headers["x-simscope-shape"].split(",")]
    values = _typed(np, answer.headers["x-simscope-dtype"], answer.body, shape)
    return ArrayData(int(answer.headers["x-simscope-step"]), values)


def read_cell(transport: Transport, run: str, name: str, cell: Sequence[int], start: Optional[int]) -> CellSeries:
    """The value of element ``cell`` at each step from ``start``, all pages."""
    np = _numpy("get_array_cell")
    steps: List[int] = []
    times: List[Optional[float]] = []
    values: List[float] = []
    cursor: Optional[str] = None
    while True:
        query: Dict[str, Union[str, int]] = {"name": name, "cell": ",".join(str(int(i)) for i in cell)}
        if start is not None:
            query["from"] = _step(start, "start")
        if cursor is not None:
            query["next"] = cursor
        page = transport.request("GET", f"/runs/{_enc(run)}/arrays/cell", query=query).json()
        steps.extend(page["steps"])
        times.extend(page["times"])
        values.extend(float("nan") if v is None else float(v) for v in page["values"])
        cursor = page["next"]
        if cursor is None:
            return CellSeries(steps, times, np.array(values, dtype="float64"))


def export_hdf5(
    transport: Transport, run: str, name: str, path: str, on_progress: Optional[Callable[[Dict[str, Any]], None]]
) -> str:
    """Has the server write series ``name`` to HDF5 and saves it at ``path``; returns ``path``."""
    base = f"/runs/{_enc(run)}/arrays/exports"
    view: Dict[str, Any] = transport.request("POST", base, query={"name": name}).json()
    while True:
        if on_progress is not None:
            on_progress(view)
        if view["state"] != "running":
            break
        time.sleep(EXPORT_POLL)
        view = transport.request("GET", f"{base}/{view['id']}").json()
    if view["state"] == "failed":
        raise SimscopeError("unavailable", f"export of {name}: {view['error']}")
    transport.download(f"{base}/{view['id']}/file", path)
    return path


def _enc(segment: str) -> str:
    return urllib.parse.quote(segment, safe="")
