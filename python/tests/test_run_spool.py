"""The server killed mid-run, or down for the whole run: nothing lost, nothing twice, after ``simscope.sync()`` or
the Node CLI's ``simscope sync`` (which reads the spool the Python package writes)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path
from typing import Any, List

import pytest

import simscope
from simscope import Run
from simscope._spool import RECORD_KINDS, list_spools, spool_records
from _readback import events, get, series
from conftest import ROOT, TOKEN, ServerProcess

CLI = ROOT / "packages" / "cli" / "dist" / "main.js"


def quiet_run(server: ServerProcess, errors: List[BaseException], **config: Any) -> Run:
    return Run().config(url=server.url, token=TOKEN, queue_blocking=True, retries=1, on_error=errors.append, **config)


def assert_complete(server: ServerProcess, run_id: str, n: int) -> None:
    got = series(server.url, run_id, "x")
    assert got["steps"] == list(range(n))
    assert got["values"] == [float(i) for i in range(n)]
    assert series(server.url, run_id, "y")["values"] == [2.0 * i for i in range(n)]
    assert [e["message"] for e in events(server.url, run_id)] == ["begin", "end"]
    run = get(server.url, f"/runs/{run_id}")
    assert (run["status"], run["tags"], run["metadata"]) == ("completed", ["down"], {"k": 1})


def log_points(run: Run, start: int, end: int) -> None:
    for i in range(start, end):
        run.log_metrics({"x": float(i), "y": 2.0 * i})


def cli_sync(server: ServerProcess, spool: Path) -> List[Any]:
    if not CLI.exists():
        pytest.skip("packages/cli/dist is not built (npm run build)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIMSCOPE_")}
    out = subprocess.run(
        ["node", str(CLI), "sync", "--url", server.url, "--token", TOKEN, "--spool-dir", str(spool), "--format", "json"],
        env=env, capture_output=True, text=True, timeout=60, check=True,
    )
    result: List[Any] = json.loads(out.stdout)
    return result


@pytest.mark.parametrize("uploader", ["python", "node"])
def test_server_down_for_the_whole_run(own_server: ServerProcess, spool_dir: Path, uploader: str) -> None:
    own_server.kill(signal.SIGKILL)
    errors: List[BaseException] = []
    run = quiet_run(own_server, errors, flush_interval=0.05)
    assert run.init(name=f"down-{uploader}", metadata={"k": 1}, folder="/spool") is True
    run.log_event("begin")
    log_points(run, 0, 30_000)
    run.update_tags(["down"])
    run.log_event("end")
    result = run.close()
    assert (result.spooled_points, result.spooled_events, result.sent_points, result.dropped_points) == (60_000, 2, 0, 0)
    assert run.id is not None
    spools = list_spools(spool_dir)
    assert [meta["runId"] for _, meta in spools] == [run.id]
    directory, meta = spools[0]
    assert (meta["url"], meta["offline"], meta["version"]) == (own_server.url, True, 1)
    assert oct(directory.stat().st_mode & 0o777) == "0o700"
    assert oct((directory / "records").stat().st_mode & 0o777) == "0o600"
    assert not (directory / "lock").exists()
    kinds = [r.kind for r in spool_records(directory)]
    assert kinds[0] == "create" and kinds[-1] == "patch" and set(kinds) <= set(RECORD_KINDS)

    own_server.start()
    if uploader == "python":
        synced = simscope.sync(url=own_server.url, token=TOKEN)
        assert [(s.run_id, s.outcome, s.points, s.events, s.refused, s.torn) for s in synced] == [(run.id, "synced", 60_000, 2, 0, 0)]
    else:
        synced_node = cli_sync(own_server, spool_dir)
        assert [(s["runId"], s["outcome"], s["points"], s["events"], s["refused"]) for s in synced_node] == [(run.id, "synced", 60_000, 2, 0)]
    assert list_spools(spool_dir) == []
    assert_complete(own_server, run.id, 30_000)
    # Syncing again sends nothing: the spool is gone.
    assert simscope.sync(url=own_server.url, token=TOKEN) == []


@pytest.mark.parametrize("uploader", ["python", "node"])
def test_server_killed_mid_run(own_server: ServerProcess, spool_dir: Path, uploader: str) -> None:
    errors: List[BaseException] = []
    run = quiet_run(own_server, errors, flush_interval=0.02, batch_points=5_000)
    assert run.init(name=f"killed-{uploader}", metadata={"k": 1}) is True
    assert run.id is not None
    run.log_event("begin")
    log_points(run, 0, 40_000)
    own_server.kill(signal.SIGKILL)
    log_points(run, 40_000, 80_000)
    run.update_tags(["down"])
    run.log_event("end")
    result = run.close()
    assert result.dropped_points == 0 and result.failed_points == 0
    assert result.sent_points + result.spooled_points == 160_000
    assert result.spooled_points > 0
    assert any("spooling" in str(e) for e in errors)
    own_server.start()
    if uploader == "python":
        synced = simscope.sync(url=own_server.url, token=TOKEN)
        assert [(s.outcome, s.points, s.refused) for s in synced] == [("synced", result.spooled_points, 0)]
    else:
        synced_node = cli_sync(own_server, spool_dir)
        assert [(s["outcome"], s["points"], s["refused"]) for s in synced_node] == [("synced", result.spooled_points, 0)]
    assert_complete(own_server, run.id, 80_000)


def test_spool_replayed_while_the_run_goes_on(own_server: ServerProcess, spool_dir: Path) -> None:
    errors: List[BaseException] = []
    run = quiet_run(own_server, errors, flush_interval=0.02)
    run.init(name="back-online", metadata={"k": 1})
    assert run.id is not None
    run.log_event("begin")
    log_points(run, 0, 1_000)
    run.flush()
    own_server.kill(signal.SIGKILL)
    log_points(run, 1_000, 2_000)
    run.flush()
    assert run.spooling
    own_server.start()
    log_points(run, 2_000, 3_000)
    run.update_tags(["down"])
    run.log_event("end")
    result = run.close()
    assert (result.spooled_points, result.sent_points, result.spool_dir) == (0, 6_000, None)
    assert list_spools(spool_dir) == []
    assert_complete(own_server, run.id, 3_000)
