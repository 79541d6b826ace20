"""Every Run code block of the Simvue reference (shared/references/simvue-python-client.md), translated call for
call, against a real server and read back exactly."""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from pathlib import Path

import simscope
from simscope import Run, SimscopeHandler
from _readback import events, get, series
from conftest import TOKEN, ServerProcess


def test_reference_run_blocks(server: ServerProcess, tmp_path: Path) -> None:
    (tmp_path / "data.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    (tmp_path / "in.lj").write_text("units lj\n")
    system = tmp_path / "system"
    system.mkdir()
    names = ["blockMeshDict", "controlDict", "fvSchemes", "fvSolution", "meshQualityDict", "snappyHexMeshDict", "surfaceFeaturesDict"]
    for name in names:
        (system / name).write_text(f"// {name}\n")
    (tmp_path / "file1").write_text("one")
    (tmp_path / "file2").write_text("two")
    (tmp_path / "directory1").mkdir()
    (tmp_path / "directory1" / "inner").write_text("three")

    with Run() as run:
        run.config(suppress_errors=False, url=server.url, token=TOKEN)
        run.init(name="my-first-run", metadata={"environment": "test"}, tags=["test"], description="This is a test", folder="/tests")
        run.update_tags(["unconverged"])
        run.update_metadata({"status": "unconverged"})
        run.log_metrics({"parameter1": 1.2, "parameter2": 3.5})
        run.log_metrics({"parameter1": 1.2}, timestamp="2021-05-03 14:13:27.281920")
        run.log_metrics({"parameter1": 1.2}, time=12.5)
        run.save("data.png", "output")
        run.save("in.lj", "input", "text/plain")
        run.save_directory("system", "input", preserve_path=True)
        run.save_all(["file1", "file2", "directory1"], "input", preserve_path=True)
        run.folder_details("/tests", metadata={"environment": "testing"}, tags=["test"], description="My first tests")
        try:
            raise ValueError("solver diverged")
        except Exception as exc:
            run.log_event(exc)
        run.log_event("a message", timestamp="2022-01-03 16:42:30.849617")
        logger = logging.getLogger("simvue-reference")
        logger.setLevel(logging.INFO)
        logger.addHandler(SimscopeHandler(run))
        logger.warning("from logging")
        alert = run.add_alert(name="quality too low", type="is below", metric="quality", frequency="1m", window="1m", threshold=0.4)
        assert alert is not None and alert["alert"]["name"] == "quality too low"
        run.add_alert(name="density invalid", type="is outside range", metric="density", frequency="1m", window="1m", range_low=1.0, range_high=5.0)
        run_id = run.id
    assert run_id is not None

    got = get(server.url, f"/runs/{run_id}")
    assert (got["name"], got["folder"], got["description"], got["status"]) == ("my-first-run", "/tests", "This is a test", "completed")
    assert got["tags"] == ["test", "unconverged"]
    assert got["metadata"] == {"environment": "test", "status": "unconverged"}
    assert got["heartbeatTimeout"] == 300

    p1 = series(server.url, run_id, "parameter1")
    assert p1["steps"] == [0, 1, 2] and p1["values"] == [1.2, 1.2, 1.2]
    stamp = int(datetime(2021, 5, 3, 14, 13, 27, 281920, tzinfo=timezone.utc).timestamp()) * 1_000_000 + 281920
    assert p1["timestamps"][1] == stamp
    assert p1["times"][2] == 12.5
    assert series(server.url, run_id, "parameter2")["values"] == [3.5]

    artifacts = get(server.url, f"/runs/{run_id}/artifacts", limit=100)["items"]
    by_name = {a["name"]: a for a in artifacts}
    expected = {"data.png", "in.lj", "file1", "file2", "directory1/inner"} | {f"system/{n}" for n in names}
    assert set(by_name) == expected
    assert by_name["data.png"]["category"] == "output"
    assert by_name["in.lj"]["mimeType"] == "text/plain"

    folder = get(server.url, "/folders", path="/tests")["items"][0]
    assert (folder["metadata"], folder["tags"], folder["description"]) == ({"environment": "testing"}, ["test"], "My first tests")

    logged = events(server.url, run_id)
    messages = {e["message"].splitlines()[-1]: e for e in logged}
    assert messages["ValueError: solver diverged"]["level"] == "error"
    assert messages["a message"]["timestamp"] == int(datetime(2022, 1, 3, 16, 42, 30, 849617, tzinfo=timezone.utc).timestamp() * 1_000_000)
    assert messages["from logging"]["level"] == "warning"

    alerts = {a["alert"]["name"]: a["alert"] for a in get(server.url, f"/runs/{run_id}/alerts")["items"]}
    assert (alerts["quality too low"]["rule"], alerts["quality too low"]["threshold"], alerts["quality too low"]["frequency"]) == ("is below", 0.4, 60)
    assert (alerts["density invalid"]["rangeLow"], alerts["density invalid"]["rangeHigh"]) == (1.0, 5.0)
    assert simscope.Run is Run
