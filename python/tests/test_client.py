"""The Client against a real server: runs, metrics, events, artifacts, folders, listers and bad input."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import math
import os
import uuid
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest

from conftest import TOKEN, ServerProcess
from simscope._config import resolve_connection
from simscope._http import Transport
from simscope.client import Client
from simscope.errors import ConnectionFailed, SimscopeError

_seq = itertools.count()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def admin(server: ServerProcess) -> Transport:
    return Transport(resolve_connection(url=server.url, token=TOKEN))


def make_run(server: ServerProcess, **fields: Any) -> Dict[str, Any]:
    run: Dict[str, Any] = admin(server).request("POST", "/runs", json=fields).json()
    return run


def log_metrics(server: ServerProcess, run: str, series: List[Dict[str, Any]]) -> None:
    body = {"writer": "py-test", "seq": next(_seq), "series": series}
    admin(server).request("POST", f"/runs/{run}/metrics", json=body)


def log_events(server: ServerProcess, run: str, events: List[Dict[str, Any]]) -> None:
    body = {"writer": "py-test", "seq": next(_seq), "events": events}
    admin(server).request("POST", f"/runs/{run}/events", json=body)


def put_artifact(server: ServerProcess, run: str, name: str, category: str, data: bytes) -> None:
    admin(server).request(
        "PUT",
        f"/runs/{run}/artifacts",
        query={"name": name, "category": category},
        body=data,
        content_type="application/octet-stream",
    )


@pytest.fixture()
def client(server: ServerProcess) -> Client:
    return Client(url=server.url, token=TOKEN, progress=False)


def test_get_run_and_get_runs_by_lookups_and_text(server: ServerProcess, client: Client) -> None:
    folder = "/" + unique("py-runs")
    a = make_run(server, name=unique("a"), folder=folder, tags=["x"], metadata={"re": 500}, status="running")
    b = make_run(server, name=unique("b"), folder=folder, tags=["x", "y"], metadata={"re": 2000}, status="created")
    assert client.get_run(a["name"])["id"] == a["id"]
    assert client.get_run(a["id"])["metadata"] == {"re": 500}

    names = [r["name"] for r in client.get_runs(folder=folder, sort="name")]
    assert names == sorted([a["name"], b["name"]])
    assert [r["name"] for r in client.get_runs(folder=folder, metadata__re__gt=1000)] == [b["name"]]
    assert [r["name"] for r in client.get_runs(f'folder == "{folder}" and has tag.y')] == [b["name"]]
    assert [r["name"] for r in client.get_runs(folder=folder, status__in=["running"])] == [a["name"]]
    assert [r["name"] for r in client.get_runs(folder=folder, tags__contains=["x", "y"])] == [b["name"]]
    assert [r["name"] for r in client.get_runs(folder=folder, created__gte="1h", sort="name")] == sorted(
        [a["name"], b["name"]]
    )
    assert client.get_runs(folder=folder, created__lt=dt.datetime(2000, 1, 1)) == []


def test_runs_lister_pages_resumes_and_keeps_failures(server: ServerProcess, client: Client) -> None:
    folder = "/" + unique("py-lister")
    made = [make_run(server, name=f"{folder[1:]}-{i}", folder=folder)["name"] for i in range(5)]

    page = client.runs.list({"folder": folder}, page_size=2, sort="name")
    assert [r["name"] for r in page] == made[:2]
    assert page.complete is False and page.next is not None and page.pages == 1

    part = client.runs.list_all({"folder": folder, "sort": "name"}, page_size=2, max_pages=2)
    assert [r["name"] for r in part.results] == made[:4]
    assert (part.complete, part.pages) == (False, 2)
    rest = client.runs.list_all({"folder": folder, "sort": "name"}, page_size=2, resume_from=part.to_dict())
    assert [r["name"] for r in rest.items] == made
    assert (rest.complete, rest.pages, rest.next) == (True, 3, None)

    with pytest.raises(SimscopeError) as other:
        client.runs.list_all({"folder": "/elsewhere"}, resume_from=part)
    assert other.value.code == "invalid_cursor"

    assert client.runs.get(made[0])["name"] == made[0]

    frame = rest.to_pandas()
    assert list(frame["name"]) == made
    assert str(frame["created"].dtype) == "datetime64[ns, UTC]"


def test_list_all_keep_failed_returns_what_was_fetched(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "srv")
    try:
        folder = "/" + unique("py-fail")
        for i in range(3):
            make_run(server, name=f"{folder[1:]}-{i}", folder=folder)
        client = Client(url=server.url, token=TOKEN, retries=0, progress=False)
        first = client.runs.list_all({"folder": folder}, page_size=1, max_pages=1, keep_failed=True)
        assert len(first) == 1
        server.stop()
        failed = client.runs.list_all({"folder": folder}, page_size=1, keep_failed=True, resume_from=first)
        assert len(failed.items) == 1 and failed.pages == 1 and failed.complete is False
        assert isinstance(failed.error, ConnectionFailed)
        assert failed.exc_type == "ConnectionFailed"
        assert failed.exc_formatted is not None and "ConnectionFailed" in failed.exc_formatted
        server.start()
        done = client.runs.list_all({"folder": folder}, page_size=1, keep_failed=True, resume_from=failed)
        assert (len(done.items), done.complete, done.error) == (3, True, None)
    finally:
        server.stop()


def test_metric_values_full_and_downsampled(server: ServerProcess, client: Client) -> None:
    run = make_run(server, name=unique("metrics"))["name"]
    values = [0.5, 0.25, float("nan"), 0.125]
    log_metrics(
        server,
        run,
        [
            {"name": "loss", "values": [0.5, 0.25, "NaN", 0.125], "steps": [0, 1, 2, 3], "times": [0.0, 1.5, 2.5, 3.5]},
            {"name": "acc", "values": [1, 2], "steps": [10, 20]},
        ],
    )
    names = sorted(m["name"] for m in client.get_metric_names(run))
    assert names == ["acc", "loss"]

    got = client.get_metric_values(run, ["loss", "acc"])
    assert list(got["run"]) == [run] * 6
    assert list(got["metric"]) == ["loss"] * 4 + ["acc"] * 2
    assert list(got["step"]) == [0, 1, 2, 3, 10, 20]
    assert str(got["step"].dtype) == "int64"
    assert list(got["value"][:2]) == values[:2] and math.isnan(got["value"][2])
    assert list(got["value"][3:]) == [0.125, 1.0, 2.0]

    by_time = client.get_metric_values(run, "loss", x="time")
    assert list(by_time["time"]) == [0.0, 1.5, 2.5, 3.5]

    frame = client.get_metric_values([run], ["loss"], as_dataframe=True)
    assert list(frame.columns) == ["run", "metric", "step", "value"]
    assert list(frame["step"]) == [0, 1, 2, 3]

    down = client.get_metric_values(run, "acc", max_points=4)
    assert list(down["step"]) == [10, 20] and list(down["value"]) == [1.0, 2.0]

    with pytest.raises(SimscopeError) as missing:
        client.get_metric_values(run, "nope")
    assert (missing.value.code, missing.value.status) == ("not_found", 404)
    with pytest.raises(SimscopeError, match="^x: expected 'step', 'time' or 'timestamp', got 'steps'$"):
        client.get_metric_values(run, "loss", x="steps")


def test_metric_values_without_optional_packages(
    server: ServerProcess, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIMSCOPE_PURE", "1")
    run = make_run(server, name=unique("pure"))["name"]
    log_metrics(server, run, [{"name": "m", "values": [3, 4], "steps": [5, 6]}])
    got = client.get_metric_values(run, "m")
    assert got["step"].tolist() == [5, 6] and got["step"].typecode == "q"
    assert got["value"].tolist() == [3.0, 4.0] and got["run"] == [run, run]


def test_events(server: ServerProcess, client: Client) -> None:
    run = make_run(server, name=unique("events"))["name"]
    log_events(
        server,
        run,
        [
            {"message": "started", "level": "info", "timestamp": 1_700_000_000_000_000},
            {"message": "diverging", "level": "warning", "timestamp": 1_700_000_001_000_000},
        ],
    )
    events = client.get_events(run)
    assert [(e["message"], e["level"], e["timestamp"]) for e in events] == [
        ("started", "info", 1_700_000_000_000_000),
        ("diverging", "warning", 1_700_000_001_000_000),
    ]
    assert [e["message"] for e in client.get_events(run, level="warning")] == ["diverging"]
    assert [e["message"] for e in client.get_events(run, contains="DIVER")] == ["diverging"]
    listed = client.events.list_all(run=run, timestamp__gt=1_700_000_000_000_000)
    assert [e["message"] for e in listed] == ["diverging"]


def test_simvue_client_blocks_call_for_call(server: ServerProcess, client: Client, tmp_path: Path) -> None:
    run_name = unique("simvue")
    make_run(server, name=run_name)
    files = {
        ("system/controlDict", "input"): b"application icoFoam;\n",
        ("system/fvSchemes", "input"): b"ddtSchemes {}\n",
        ("in.lj", "input"): b"units lj\n",
        ("data.png", "output"): b"\x89PNG\r\n\x1a\n" + bytes(range(256)),
        ("solver.py", "code"): b"print('hi')\n",
    }
    for (name, category), data in files.items():
        put_artifact(server, run_name, name, category, data)
    os.chdir(tmp_path)

    # artifacts = client.list_artifacts(run_name, category='input')
    artifacts = client.list_artifacts(run_name, category="input")
    assert sorted(a["name"] for a in artifacts) == ["in.lj", "system/controlDict", "system/fvSchemes"]
    assert {a["name"]: a["sha256"] for a in artifacts}["in.lj"] == hashlib.sha256(b"units lj\n").hexdigest()

    # client.get_artifact_as_file(run_name, artifact_name, path='/tmp')
    out = tmp_path / "tmp"
    got = client.get_artifact_as_file(run_name, "data.png", path=str(out))
    assert Path(got) == out / "data.png" and Path(got).read_bytes() == files[("data.png", "output")]
    assert Path(client.get_artifact_as_file(run_name, "in.lj")).read_bytes() == b"units lj\n"

    # client.get_artifacts_as_files(run_name, path='/tmp')
    every = tmp_path / "all"
    paths = client.get_artifacts_as_files(run_name, path=str(every))
    assert sorted(Path(p).relative_to(every).as_posix() for p in paths) == sorted(n for n, _ in files)
    for (name, _), data in files.items():
        assert (every / name).read_bytes() == data

    # client.get_artifacts_as_files(run_name, path='/tmp', category='output')
    outputs = tmp_path / "outputs"
    assert client.get_artifacts_as_files(run_name, path=str(outputs), category="output") == [
        str(outputs / "data.png")
    ]

    # client.get_artifacts_as_files(run_name, category='input', startswith='system/')
    system = client.get_artifacts_as_files(run_name, category="input", startswith="system/")
    assert sorted(system) == [str(tmp_path / "system" / "controlDict"), str(tmp_path / "system" / "fvSchemes")]
    assert (tmp_path / "system" / "fvSchemes").read_bytes() == b"ddtSchemes {}\n"
    assert [Path(p).name for p in client.get_artifacts_as_files(run_name, path=str(out), contains="Sch")] == [
        "fvSchemes"
    ]
    assert [Path(p).name for p in client.get_artifacts_as_files(run_name, path=str(out), endswith=".py")] == [
        "solver.py"
    ]
    assert client.get_artifact(run_name, "solver.py") == b"print('hi')\n"


def test_folders_and_deletes(server: ServerProcess, client: Client) -> None:
    base = "/" + unique("py-folders")
    client.create_folder(base + "/a", description="first", tags=["t"], metadata={"k": 1})
    assert [f["path"] for f in client.get_folders(prefix=base)] == [base, base + "/a"]
    assert [f["path"] for f in client.get_folders(parent=base)] == [base + "/a"]
    updated = client.update_folder(base + "/a", metadata={"j": 2})
    assert updated["metadata"] == {"k": 1, "j": 2} and updated["description"] == "first"
    assert client.get_folder(base + "/a")["tags"] == ["t"]

    runs = [make_run(server, name=unique("del"), folder=base + "/a")["name"] for _ in range(2)]
    client.delete_run(runs[0])
    with pytest.raises(SimscopeError) as gone:
        client.get_run(runs[0])
    assert (gone.value.code, gone.value.status) == ("not_found", 404)
    client.delete_runs(runs[1:])
    assert client.get_runs(folder=base + "/a") == []
    client.delete_folder(base, recursive=True)
    assert client.get_folders(prefix=base) == []


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: c.runs.list(stauts="failed"), "filters.stauts: unknown filter; use a field such as name"),
        (lambda c: c.runs.list(status__in=["failed", "broken"]), "filters.status__in: expected one of created"),
        (lambda c: c.runs.list(status__in=[]), "filters.status__in: must list at least one value"),
        (lambda c: c.runs.list(created__gte="yesterday"), "filters.created__gte: expected microseconds since"),
        (lambda c: c.runs.list(metrics__loss__lt=1), "filters.metrics__loss__lt: write metrics__NAME__STAT"),
        (lambda c: c.runs.list(metrics__loss__last__lt="x"), "filters.metrics__loss__last__lt: metrics compare"),
        (lambda c: c.runs.list(sort="size"), "filters.sort: expected one of created"),
        (lambda c: c.events.list(message="x"), "filters.message: unknown filter; this list takes run"),
        (lambda c: c.events.list(), "filters.run: required"),
        (lambda c: c.list_artifacts("r", category="inputs"), "category: expected one of code, input, output"),
    ],
)
def test_bad_filters_fail_before_any_request(call: Any, message: str) -> None:
    client = Client(url="http://127.0.0.1:9", token="x", retries=0)
    with pytest.raises(SimscopeError) as caught:
        call(client)
    assert caught.value.code == "invalid_field" and caught.value.message.startswith(message)


def test_unknown_keyword_arguments_are_type_errors(server: ServerProcess, client: Client) -> None:
    with pytest.raises(TypeError, match="unexpected keyword argument 'xaxis'"):
        client.get_metric_values("r", "m", xaxis="time")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="unexpected keyword argument 'urll'"):
        Client(urll=server.url)  # type: ignore[call-arg]


def test_bad_token_and_server_down(server: ServerProcess, tmp_path: Path) -> None:
    with pytest.raises(SimscopeError) as refused:
        Client(url=server.url, token="ssk_wrong").get_runs()
    assert refused.value.status == 401 and refused.value.code == "unauthorized"
    assert refused.value.message.startswith("GET /runs: 401 ")

    down = Client(url="http://127.0.0.1:9", token=TOKEN, retries=1)
    with pytest.raises(ConnectionFailed) as unreachable:
        down.get_run("x")
    assert unreachable.value.code == "unavailable"
    assert unreachable.value.message.startswith("GET /runs/x: http://127.0.0.1:9 unreachable: ")


def test_workspace_header_and_env_connection(
    server: ServerProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIMSCOPE_URL", server.url)
    monkeypatch.setenv("SIMSCOPE_TOKEN", TOKEN)
    monkeypatch.setenv("SIMSCOPE_WORKSPACE", unique("nowhere"))
    client = Client()
    assert client.connection.sources == {"url": "env:SIMSCOPE_URL", "token": "env:SIMSCOPE_TOKEN",
                                          "workspace": "env:SIMSCOPE_WORKSPACE"}
    with pytest.raises(SimscopeError) as caught:
        client.get_runs()
    assert caught.value.status in (403, 404)




def test_list_all_draws_progress_when_asked(
    server: ServerProcess, client: Client, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = "/" + unique("py-progress")
    for i in range(3):
        make_run(server, name=f"{folder[1:]}-{i}", folder=folder)
    capsys.readouterr()
    assert len(client.runs.list_all(folder=folder, page_size=1, progress=True)) == 3
    drawn = capsys.readouterr().err
    assert "runs" in drawn and "3/3" in drawn
    client.runs.list_all(folder=folder, page_size=1)
    assert capsys.readouterr().err == ""


def test_metric_values_against_timestamps(server: ServerProcess, client: Client) -> None:
    run = make_run(server, name=unique("stamps"))["name"]
    stamps = [1_700_000_000_000_000, 1_700_000_000_500_000]
    log_metrics(server, run, [{"name": "p", "values": [1.5, 2.5], "timestamps": stamps}])
    got = client.get_metric_values(run, "p", x="timestamp")
    assert list(got["timestamp"]) == stamps and list(got["value"]) == [1.5, 2.5]
    down = client.get_metric_values(run, "p", x="timestamp", max_points=8)
    assert list(down["timestamp"]) == stamps
