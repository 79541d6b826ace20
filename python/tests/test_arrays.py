"""Array series from Python against a real server: log_array, log_histogram, get_array, cells and HDF5 export."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path
from typing import Any, Dict, List

import numpy as np
import pytest

from conftest import TOKEN, ServerProcess
from simscope import Run
from simscope.client import Client
from simscope.errors import SimscopeError

ALL_DTYPES = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float32", "float64"]


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def started(server: ServerProcess, name: str, errors: List[BaseException]) -> Run:
    run = Run().config(url=server.url, token=TOKEN, system_info=False, on_error=errors.append)
    assert run.init(name=name)
    return run


def sample(dtype: str) -> Any:
    info = np.finfo(dtype) if dtype.startswith("float") else np.iinfo(dtype)
    if dtype.startswith("float"):
        return np.array([[info.min, np.nan, np.inf], [-np.inf, 0.1, info.max]], dtype=dtype)
    return np.array([[info.min, 0, 1], [2, info.max - 1, info.max]], dtype=dtype)


def test_log_array_round_trips_every_dtype_exactly_with_nan_and_inf(server: ServerProcess) -> None:
    name = unique("py-arrays")
    errors: List[BaseException] = []
    run = started(server, name, errors)
    big_endian = np.arange(12, dtype=">f8").reshape(3, 4)
    field = np.zeros((4, 5), dtype="float32")
    for dtype in ALL_DTYPES:
        run.log_array(f"a.{dtype}", sample(dtype), step=2, time=0.5)
    run.log_array("be", big_endian, step=0)
    for step in range(3):
        field[:] = step
        run.log_array("T", field, step=step, axes=[{"label": "y"}, {"label": "x", "values": [0, 1, 2, 3, 4]}])
    field[:] = 99  # logged arrays were copied when logged
    run.close()
    assert errors == []

    client = Client(url=server.url, token=TOKEN)
    for dtype in ALL_DTYPES:
        read = client.get_array(name, f"a.{dtype}")
        assert read.step == 2
        assert read.values.dtype == np.dtype(dtype)
        assert read.values.shape == (2, 3)
        assert read.values.tobytes() == sample(dtype).tobytes(), dtype
    assert client.get_array(name, "be").values.tolist() == big_endian.tolist()
    assert client.get_array(name, "T", step=1).values.tolist() == np.full((4, 5), 1, dtype="float32").tolist()
    assert client.get_array(name, "T", step=9, nearest=True).step == 2
    assert client.get_array(name, "T", step=0, region="1:3,::2").values.shape == (2, 3)
    cell = client.get_array_cell(name, "T", (3, -1))
    assert cell.steps == [0, 1, 2]
    assert cell.values.tolist() == [0.0, 1.0, 2.0]


def test_log_histogram_bins_values_and_takes_counted_bins(server: ServerProcess) -> None:
    name = unique("py-hist")
    errors: List[BaseException] = []
    run = started(server, name, errors)
    run.log_histogram("q", [0, 0.1, 0.2, 0.9, 1, float("nan")], step=3, bins=2)
    run.log_histogram("pairs", values=([0, 1, 1], [0, 0, 1]), step=3, bins=2)
    run.log_histogram("given", edges=[0, 1, 5], counts=[4, 2], step=0)
    run.close()
    assert errors == []
    client = Client(url=server.url, token=TOKEN)
    assert client.get_array(name, "q", step=3).values.tolist() == [3.0, 2.0]
    assert client.get_array(name, "pairs", step=3).values.tolist() == [[1.0, 0.0], [1.0, 1.0]]
    assert client.get_array(name, "given").values.tolist() == [4.0, 2.0]
    steps = client._transport.request("GET", f"/runs/{name}/arrays", query={"name": "given"}).json()["items"]
    assert steps[0]["axes"] == [{"edges": [0, 1, 5]}]


def test_bad_arrays_go_to_on_error_naming_the_field(server: ServerProcess) -> None:
    errors: List[BaseException] = []
    run = started(server, unique("py-bad-arrays"), errors)
    run.log_array("x", [1, 2, 3], step=0)
    run.log_array("x", np.zeros(3, dtype="complex64"), step=0)
    run.log_array("x", np.zeros((2, 2, 2, 2)), step=0)
    run.log_array("x", np.zeros(3), step=-1)
    run.log_array("x", np.zeros(3), step=0, axes=[{"values": [1, 2]}])
    run.close()
    assert [str(e) for e in errors] == [
        "log_array array: expected a numpy array, got list",
        "log_array array: dtype complex64 is not one of int8, int16, int32, int64, uint8, uint16, uint32, uint64, float32, float64",
        "log_array array: must have 1 to 3 dimensions, got 4",
        "log_array step: must be a whole number >= 0, got -1",
        f"PUT /runs/{run.id}/arrays: 400 query.axes[0].values: must list 3 numbers",
    ]
    assert all(isinstance(e, SimscopeError) and e.code == "invalid_field" for e in errors)


def test_export_arrays_writes_hdf5_that_h5py_reads_exactly(server: ServerProcess, tmp_path: Path) -> None:
    name = unique("py-export")
    errors: List[BaseException] = []
    run = started(server, name, errors)
    steps = [np.array([[s, np.nan], [np.inf, -s]], dtype="float64") for s in range(4)]
    for s, a in enumerate(steps):
        run.log_array("F", a, step=s * 10, time=s / 4)
    run.close()
    assert errors == []
    seen: List[Dict[str, Any]] = []
    path = Client(url=server.url, token=TOKEN).export_arrays(name, "F", str(tmp_path / "F.h5"), on_progress=seen.append)
    assert seen[-1]["state"] == "done" and seen[-1]["written"] == 4
    h5py = pytest.importorskip("h5py")
    with h5py.File(path, "r") as f:
        assert f["F/data"][()].tobytes() == np.stack(steps).tobytes()
        assert f["F/step"][()].tolist() == [0, 10, 20, 30]
        assert f["F/time"][()].tolist() == [0, 0.25, 0.5, 0.75]
