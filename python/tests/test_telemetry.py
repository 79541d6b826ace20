"""Telemetry for library authors against a real server: records, consent, registry, never blocking the caller."""

from __future__ import annotations

import re
import time
import types
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

from conftest import TOKEN, ServerProcess
from simscope._config import resolve_connection
from simscope._http import Transport
from simscope.telemetry import (
    ApiHandler,
    SessionID,
    Summariser,
    TelemetryError,
    TelemetryRegister,
    instrument,
    parse_registry,
    register_func,
    session_id,
    telemetry_status,
)


@pytest.fixture()
def handler(monkeypatch: pytest.MonkeyPatch) -> Iterator[ApiHandler]:
    monkeypatch.delenv("DO_NOT_TRACK", raising=False)
    api = ApiHandler._reset_for_tests(flush_interval=0.05)
    yield api
    api.close(0.2)


def new_service() -> str:
    return f"pytest/{uuid.uuid4().hex[:12]}"


def make_key(server: ServerProcess, endpoint: str) -> str:
    admin = Transport(resolve_connection(url=server.url, token=TOKEN))
    key: str = admin.request("POST", "/admin/telemetry/keys", json={"service": endpoint, "name": "t"}).json()["key"]
    return key


def records(server: ServerProcess, endpoint: str) -> List[Dict[str, Any]]:
    admin = Transport(resolve_connection(url=server.url, token=TOKEN))
    items: List[Dict[str, Any]] = admin.request(
        "GET", "/telemetry/records", query={"service": endpoint, "limit": 1000}
    ).json()["items"]
    return items


def test_register_func_records_reach_the_server(server: ServerProcess, handler: ApiHandler) -> None:
    endpoint = new_service()
    name = endpoint.replace("/", "_")

    @register_func(name, extra_fields=[{"catalog_version": "2025.1"}, {"site": "nci"}])
    def search(query: str, **kwargs: Any) -> str:
        return query.upper()

    handler.set_destination(name, url=server.url, key=make_key(server, endpoint))
    before = time.time_ns() // 1000
    assert search("tas", variable="tas", frequency="mon") == "TAS"
    assert search("x" * 300, data=list(range(50))) == "X" * 300
    assert handler.flush(5.0) == {"pending": 0, "sent": 2, "dropped": 0, "failed": 0}

    got = sorted(records(server, endpoint), key=lambda r: int(r["id"]))
    assert len(got) == 2
    first, second = got
    assert first["function"] == "search"
    assert first["args"] == ["tas"] and first["kwargs"] == {"variable": "tas", "frequency": "mon"}
    assert first["session_id"] == session_id() and re.fullmatch(r"[0-9a-f]{64}", first["session_id"])
    assert first["catalog_version"] == "2025.1" and first["site"] == "nci"
    assert before <= first["timestamp"] <= time.time_ns() // 1000
    assert second["args"] == ["x" * 200 + "…"]
    assert second["kwargs"]["data"] == list(range(20)) + ["… 30 more"]
    assert SessionID() == session_id()


def test_deregister_stops_records_and_pop_fields_drops_session(server: ServerProcess, handler: ApiHandler) -> None:
    endpoint = new_service()
    registry = TelemetryRegister(endpoint)

    @register_func(endpoint)
    def run_model(steps: int) -> int:
        return steps

    handler.set_destination(endpoint, url=server.url, key=make_key(server, endpoint))
    handler.pop_fields(endpoint, ["session_id"])
    assert str(registry) == '["run_model"]'
    registry.deregister(run_model)
    assert str(registry) == "[]"
    run_model(1)
    registry.register("run_model")
    run_model(2)
    handler.flush(5.0)
    got = records(server, endpoint)
    assert [(r["args"], r.get("session_id")) for r in got] == [([2], None)]


def test_unknown_services_and_reserved_fields_are_clear_errors(handler: ApiHandler) -> None:
    with pytest.raises(KeyError) as unknown:
        handler.add_extra_field("my_other_service", {"interesting_data": 1})
    assert isinstance(unknown.value, TelemetryError) and unknown.value.code == "not_found"
    assert str(unknown.value).startswith("Endpoint 'my_other_service' not found.")
    endpoint = new_service()
    TelemetryRegister(endpoint)
    with pytest.raises(TelemetryError, match=r"^extra_fields\.session_id: 'session_id' is a field of every record"):
        handler.add_extra_field(endpoint, {"session_id": "x"})
    with pytest.raises(TelemetryError, match="'function' is what a record is about"):
        handler.pop_fields(endpoint, ["function"])
    with pytest.raises(TelemetryError, match="'nope' is not registered"):
        TelemetryRegister(endpoint).deregister("nope")
    with pytest.raises(TypeError, match="unexpected keyword argument 'extra_field'"):
        register_func(endpoint, extra_field={})  # type: ignore[call-arg]


def test_calls_never_block_when_the_server_is_down(handler: ApiHandler) -> None:
    endpoint = new_service()

    @register_func(endpoint)
    def step(i: int) -> int:
        return i

    handler.set_destination(endpoint, url="http://127.0.0.1:9", key="stk_nothing")
    start = time.perf_counter()
    for i in range(10_000):
        step(i)
    per_call = (time.perf_counter() - start) / 10_000
    assert per_call < 50e-6
    start = time.perf_counter()
    stats = handler.flush(0.5)
    assert time.perf_counter() - start < 1.5
    assert stats["sent"] == 0 and stats["pending"] == 10_000 and stats["failed"] == 0


def test_a_wrong_key_is_counted_as_failed_and_not_retried(server: ServerProcess, handler: ApiHandler) -> None:
    endpoint = new_service()
    errors: List[str] = []
    handler.on_error = lambda e: errors.append(f"{e.status} {e.code}")

    @register_func(endpoint)
    def f() -> None:
        return None

    handler.set_destination(endpoint, url=server.url, key="stk_wrong")
    f()
    f()
    assert handler.flush(5.0) == {"pending": 0, "sent": 0, "dropped": 0, "failed": 2}
    assert errors == ["401 unauthorized"]


def test_queue_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DO_NOT_TRACK", raising=False)
    api = ApiHandler._reset_for_tests(flush_interval=60, queue_size=3)
    try:
        endpoint = new_service()
        def nothing() -> None:
            return None

        tracked = register_func(endpoint)(nothing)
        for _ in range(5):
            tracked()
        assert api.stats()["dropped"] == 2 and api.stats()["pending"] == 3
    finally:
        api.close(0.1)


def test_off_means_the_function_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DO_NOT_TRACK", "1")
    api = ApiHandler._reset_for_tests()
    try:
        assert api.enabled is False

        def plain() -> int:
            return 1

        assert register_func(new_service())(plain) is plain
    finally:
        api.close(0.1)


def test_consent_follows_the_node_package(tmp_path: Path) -> None:
    user = tmp_path / "user.toml"
    env = {"SIMSCOPE_CONFIG": str(user)}
    assert telemetry_status(env, tmp_path).reason == "nothing turns it off (the default)"
    user.write_text("[telemetry]\nenabled = false\n")
    status = telemetry_status(env, tmp_path)
    assert (status.enabled, status.source, status.reason) == (False, "user", f"[telemetry] enabled = false in {user}")
    (tmp_path / "simscope.toml").write_text("[telemetry]\nenabled = true\n")
    assert telemetry_status(env, tmp_path).source == "project" and telemetry_status(env, tmp_path).enabled
    assert telemetry_status({**env, "SIMSCOPE_TELEMETRY": "off"}, tmp_path).enabled is False
    odd = telemetry_status({**env, "SIMSCOPE_TELEMETRY": "maybe"}, tmp_path)
    assert (odd.enabled, odd.reason) == (False, "SIMSCOPE_TELEMETRY=maybe is not one of 0, 1, true, false, yes, no, on, off")
    assert telemetry_status({**env, "DO_NOT_TRACK": "0"}, tmp_path).enabled is True
    dnt = telemetry_status({**env, "DO_NOT_TRACK": "1", "SIMSCOPE_TELEMETRY": "on"}, tmp_path)
    assert (dnt.enabled, dnt.source) == (False, "DO_NOT_TRACK")
    (tmp_path / "simscope.toml").write_text('[telemetry]\nenabled = "yes"\n')
    bad = telemetry_status(env, tmp_path)
    assert (bad.enabled, bad.reason) == (False, f"{tmp_path / 'simscope.toml'}: [telemetry] enabled must be true or false")


def test_registry_and_instrument(server: ServerProcess, handler: ApiHandler) -> None:
    unique = uuid.uuid4().hex[:8]
    handler.load_registry(
        f"""
lib{unique}:
  catalog:
    - search
    - Catalog.lookup
  other: [noop]
"""
    )
    assert handler.services[-2:] == [f"lib{unique}_catalog", f"lib{unique}_other"]
    assert str(TelemetryRegister(f"lib{unique}_catalog")) == '["search", "Catalog.lookup"]'

    module = types.ModuleType("fake_lib")

    def search(q: str) -> str:
        return q

    class Catalog:
        def lookup(self, key: str) -> str:
            return key * 2

        @staticmethod
        def untracked() -> int:
            return 0

    module.search = search  # type: ignore[attr-defined]
    module.Catalog = Catalog  # type: ignore[attr-defined]
    endpoint = f"lib{unique}/catalog"
    assert instrument(module, f"lib{unique}_catalog") == ["search", "Catalog.lookup"]
    handler.set_destination(endpoint, url=server.url, key=make_key(server, endpoint))
    assert module.search("a") == "a"
    assert module.Catalog().lookup("b") == "bb"
    assert module.Catalog.untracked() == 0
    handler.flush(5.0)
    got = sorted(records(server, endpoint), key=lambda r: int(r["id"]))
    assert [(r["function"], r["args"][-1]) for r in got] == [("search", "a"), ("Catalog.lookup", "b")]
    assert got[1]["args"][0] == "<Catalog>"

    with pytest.raises(TelemetryError, match=r"registry: line 2: expected 'key:' or '- name'"):
        parse_registry("a:\n  just text\n")
    assert parse_registry("payu:\n  run:\n    - Experiment.run\n") == {"payu": {"run": ["Experiment.run"]}}


def test_summaries_are_bounded_json() -> None:
    s = Summariser()
    nested = {"a": {"b": {"c": {"d": 1}}}}
    assert s.value(nested) == {"a": {"b": {"c": "<dict(1)>"}}}
    assert s.value(float("nan")) == "NaN" and s.value(float("-inf")) == "-Infinity"
    assert s.value(ValueError("bad")) == "<ValueError: bad>"
    assert s.value(2**60) == str(2**60)
    assert s.value(Path("/x")) == "/x"
    args, kwargs = s.call(tuple(range(300)), {})
    assert len(args) == 21 and args[-1] == "… 280 more"
